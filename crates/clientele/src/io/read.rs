//! Reading result tables back: the files [`write_batch`](super::write_batch) writes.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

use super::OutputFormat;
use crate::error::{Error, Result};

/// Reads a table written by [`write_batch`](super::write_batch) (or any file of the same
/// format) into one record batch, choosing the format by extension as [`OutputFormat::of`]
/// does.
///
/// Parquet and Arrow IPC keep their column types. CSV (with a header line) and JSON (an array
/// of objects) carry no types, so each column is typed from its values: `customer_id` is
/// Int64 when every value is an integer written canonically (no leading zeros or `+`, so string
/// keys such as `007` stay text) and Utf8 otherwise; any other column is Float64 when
/// every non-empty value is a number (empty values and JSON nulls are nulls) and Utf8
/// otherwise.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] for malformed content;
/// [`Error::Parquet`] / [`Error::Arrow`] from those readers.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use std::sync::Arc;
/// use clientele::arrow_array::{Float64Array, Int64Array, RecordBatch};
/// let t = RecordBatch::try_from_iter([
///     ("customer_id", Arc::new(Int64Array::from(vec![1, 2])) as _),
///     ("frequency", Arc::new(Float64Array::from(vec![0.0, 3.0])) as _),
/// ])?;
/// let dir = std::env::temp_dir().join(format!("clientele-doc-read-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).map_err(|e| clientele::Error::io(&dir, e))?;
/// for ext in ["parquet", "arrow", "csv", "json"] {
///     let path = dir.join(format!("t.{ext}"));
///     clientele::io::write_batch(&t, &path)?;
///     assert_eq!(clientele::io::read_table(&path)?, t);
/// }
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(()) }
/// ```
pub fn read_table(path: impl AsRef<Path>) -> Result<RecordBatch> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let format = OutputFormat::of(path)?;
    let file = || std::fs::File::open(path).map_err(|e| Error::io(path, e));
    match format {
        OutputFormat::Parquet => crate::error::guard_decode(&name, "parquet", || {
            use arrow_array::RecordBatchReader;
            // Read whole into memory first: the page reader parses page headers through its
            // reader, and over an unbuffered file a damaged header costs one system call per
            // byte it skips (14 s on a fuzzed 38 KB file); from memory it is an error at once.
            let bytes = bytes::Bytes::from(std::fs::read(path).map_err(|e| Error::io(path, e))?);
            let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes.clone())?;
            // and page headers that cannot be ones are refused before the crate walks them
            for (rg, group) in builder.metadata().row_groups().iter().enumerate() {
                if let Err(why) = super::page_headers::check_row_group(group, &bytes, 0, |_| true) {
                    return Err(Error::Format {
                        source_name: name.clone(),
                        format: "parquet",
                        message: format!("row group {rg}, {why}"),
                    });
                }
            }
            let reader = builder.build()?;
            let schema = reader.schema();
            let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(arrow_select::concat::concat_batches(&schema, &batches)?)
        }),
        OutputFormat::Ipc => crate::error::guard_decode(&name, "arrow", || {
            let reader = arrow_ipc::reader::FileReader::try_new(file()?, None)?;
            let schema = reader.schema();
            let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(arrow_select::concat::concat_batches(&schema, &batches)?)
        }),
        OutputFormat::Csv => {
            let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(file()?);
            let bad = |message: String| Error::Format {
                source_name: name.clone(),
                format: "csv",
                message,
            };
            let names: Vec<String> = r
                .headers()
                .map_err(|e| bad(e.to_string()))?
                .iter()
                .map(str::to_string)
                .collect();
            let mut cols: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
            for (line, rec) in r.records().enumerate() {
                let rec = rec.map_err(|e| bad(format!("row {}: {e}", line + 1)))?;
                if rec.len() != names.len() {
                    return Err(bad(format!(
                        "row {}: {} fields, the header has {}",
                        line + 1,
                        rec.len(),
                        names.len()
                    )));
                }
                for (c, v) in cols.iter_mut().zip(rec.iter()) {
                    c.push((!v.is_empty()).then(|| v.to_string()));
                }
            }
            typed(names, cols)
        }
        OutputFormat::Json => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let rows: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(&text)?;
            let mut names: Vec<String> = Vec::new();
            for row in &rows {
                for k in row.keys() {
                    if !names.contains(k) {
                        names.push(k.clone());
                    }
                }
            }
            let cols = names
                .iter()
                .map(|n| {
                    rows.iter()
                        .map(|row| match row.get(n) {
                            None | Some(serde_json::Value::Null) => None,
                            Some(serde_json::Value::String(s)) => Some(s.clone()),
                            Some(v) => Some(v.to_string()),
                        })
                        .collect()
                })
                .collect();
            typed(names, cols)
        }
    }
}

/// Types text columns as [`read_table`] documents.
fn typed(names: Vec<String>, cols: Vec<Vec<Option<String>>>) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(names.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(names.len());
    for (name, values) in names.into_iter().zip(cols) {
        let nullable = values.iter().any(Option::is_none);
        let ints: Option<Vec<Option<i64>>> = (name == crate::schema::CUSTOMER_ID)
            .then(|| {
                // Only canonical integers: "007" or "+7" stay text (a string-keyed store's key).
                values
                    .iter()
                    .map(|v| {
                        v.as_deref()
                            .map(|t| t.parse::<i64>().ok().filter(|n| n.to_string() == t).ok_or(()))
                            .transpose()
                            .ok()
                    })
                    .collect()
            })
            .flatten();
        let floats: Option<Vec<Option<f64>>> = values
            .iter()
            .map(|v| v.as_deref().map(str::parse::<f64>).transpose().ok())
            .collect();
        let (dt, array): (DataType, ArrayRef) = if let Some(v) = ints {
            (DataType::Int64, Arc::new(Int64Array::from(v)))
        } else if let (Some(v), false) = (floats, name == crate::schema::CUSTOMER_ID) {
            (DataType::Float64, Arc::new(Float64Array::from(v)))
        } else {
            (DataType::Utf8, Arc::new(StringArray::from(values)))
        };
        fields.push(Field::new(name, dt, nullable));
        arrays.push(array);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids_become_integers_only_when_canonical() {
        let t = typed(
            vec!["customer_id".into()],
            vec![vec![Some("7".into()), Some("12".into()), None]],
        )
        .unwrap();
        assert_eq!(t.schema().field(0).data_type(), &DataType::Int64);
        let t = typed(
            vec!["customer_id".into()],
            vec![vec![Some("007".into()), Some("12".into())]],
        )
        .unwrap();
        assert_eq!(t.schema().field(0).data_type(), &DataType::Utf8);
    }
}
