//! Writes a [`RecordBatch`] to a file in the format its extension names.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowLeafColumn, compute_leaves};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::exec::Parallelism;

/// An output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Parquet with zstd compression (`.parquet`, `.pq`).
    Parquet,
    /// Comma-separated values with a header (`.csv`).
    Csv,
    /// A JSON array of row objects (`.json`); timestamps as RFC 3339 strings.
    Json,
    /// An Arrow IPC file (`.arrow`, `.ipc`, `.feather`).
    Ipc,
}

impl OutputFormat {
    /// The format named by `path`'s extension.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`out`) for an unknown extension.
    pub fn of(path: &Path) -> Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "parquet" | "pq" => Ok(OutputFormat::Parquet),
            "csv" => Ok(OutputFormat::Csv),
            "json" => Ok(OutputFormat::Json),
            "arrow" | "ipc" | "feather" => Ok(OutputFormat::Ipc),
            other => Err(Error::param(
                "out",
                format!(
                    "{}: unknown extension {other:?} (expected .parquet, .csv, .json or .arrow)",
                    path.display()
                ),
            )),
        }
    }
}

/// Writes `batch` to `path` in the format of its extension ([`OutputFormat::of`]).
///
/// # Errors
/// [`Error::InvalidParameter`] for an unknown extension, [`Error::Io`] when the file cannot be
/// written.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use std::sync::Arc;
/// use arrow_array::{Int64Array, RecordBatch};
/// let batch = RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1, 2])) as _)])?;
/// let path = std::env::temp_dir().join(format!("clientele-doc-{}.json", std::process::id()));
/// clientele::io::write_batch(&batch, &path)?;
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "[\n{\"x\":1},\n{\"x\":2}\n]\n");
/// # std::fs::remove_file(&path).ok();
/// # Ok(()) }
/// ```
pub fn write_batch(batch: &RecordBatch, path: impl AsRef<Path>) -> Result<()> {
    write_batches(&batch.schema(), std::slice::from_ref(batch), path)
}

/// Writes `batches` (all with `schema`) to one file, in the format of its extension, in the
/// caller's rayon pool ([`write_batches_in`] with [`Parallelism::current`]).
///
/// # Errors
/// As [`write_batch`].
pub fn write_batches(schema: &SchemaRef, batches: &[RecordBatch], path: impl AsRef<Path>) -> Result<()> {
    write_batches_in(schema, batches, path, &Parallelism::current())
}

/// Rows per Parquet row group.
const ROW_GROUP: usize = 1 << 20;

/// Writes `batches` (all with `schema`) to one file, in the format of its extension. Parquet
/// files get zstd compression, delta encoding for integer columns and dictionary encoding
/// for the others (each column falls back to plain encoding when its dictionary grows too
/// large), and row groups of 2²⁰ rows; the columns
/// of a row group are encoded and compressed in parallel in `par`'s pool (the file's bytes do
/// not depend on the thread count).
///
/// # Errors
/// As [`write_batch`].
pub fn write_batches_in(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    path: impl AsRef<Path>,
    par: &Parallelism,
) -> Result<()> {
    let path = path.as_ref();
    let format = OutputFormat::of(path)?;
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    match format {
        OutputFormat::Parquet => return write_parquet(schema, batches, w, par),
        OutputFormat::Ipc => {
            let mut writer = arrow_ipc::writer::FileWriter::try_new(w, schema)?;
            for b in batches {
                writer.write(b)?;
            }
            writer.finish()?;
            return Ok(());
        }
        OutputFormat::Csv => write_csv(schema, batches, &mut w).map_err(|e| Error::io(path, e))?,
        OutputFormat::Json => write_json(schema, batches, &mut w).map_err(|e| Error::io(path, e))?,
    }
    w.flush().map_err(|e| Error::io(path, e))
}

/// Parquet with the columns of each row group encoded in parallel.
fn write_parquet(schema: &SchemaRef, batches: &[RecordBatch], w: impl Write + Send, par: &Parallelism) -> Result<()> {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP));
    // Integer columns: delta encoding instead of a dictionary. Customer keys and day counts are
    // mostly distinct or sorted, where a dictionary is hashed for nothing; delta-packed ints
    // are about as small after zstd and a third faster to write.
    for f in schema.fields() {
        if f.data_type().is_integer() {
            let col = ColumnPath::from(f.name().as_str());
            props = props
                .set_column_dictionary_enabled(col.clone(), false)
                .set_column_encoding(col, Encoding::DELTA_BINARY_PACKED);
        }
    }
    let writer = ArrowWriter::try_new(w, schema.clone(), Some(props.build()))?;
    let (mut file, factory) = writer.into_serialized_writer()?;
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    for (rg, start) in (0..total).step_by(ROW_GROUP).enumerate() {
        let end = (start + ROW_GROUP).min(total);
        // the parts of the batches inside [start, end)
        let mut slices = Vec::new();
        let mut offset = 0;
        for b in batches {
            let (lo, hi) = (start.max(offset), end.min(offset + b.num_rows()));
            if lo < hi {
                slices.push(b.slice(lo - offset, hi - lo));
            }
            offset += b.num_rows();
        }
        let writers = factory.create_column_writers(rg)?;
        // The leaves of each field, computed in parallel: for a 1M-row column this builds
        // the writer's list of 1M row indices, which serially cost as much as encoding.
        let per_field: Vec<Result<Vec<Vec<ArrowLeafColumn>>>> = par.install(|| {
            schema
                .fields()
                .par_iter()
                .enumerate()
                .map(|(f, field)| {
                    let mut leaves: Vec<Vec<ArrowLeafColumn>> = Vec::new();
                    for b in &slices {
                        let Some(column) = b.columns().get(f) else {
                            continue;
                        };
                        for (j, leaf) in compute_leaves(field, column)?.into_iter().enumerate() {
                            if leaves.len() <= j {
                                leaves.push(Vec::new());
                            }
                            if let Some(l) = leaves.get_mut(j) {
                                l.push(leaf);
                            }
                        }
                    }
                    Ok(leaves)
                })
                .collect()
        });
        let mut leaves: Vec<Vec<ArrowLeafColumn>> = Vec::with_capacity(writers.len());
        for f in per_field {
            leaves.extend(f?);
        }
        let chunks: Vec<Result<ArrowColumnChunk>> = par.install(|| {
            writers
                .into_par_iter()
                .zip(leaves)
                .map(|(mut cw, parts)| {
                    for p in &parts {
                        cw.write(p)?;
                    }
                    Ok(cw.close()?)
                })
                .collect()
        });
        let mut group = file.next_row_group()?;
        for c in chunks {
            c?.append_to_row_group(&mut group)?;
        }
        group.close()?;
    }
    file.close()?;
    Ok(())
}

fn formatters(batch: &RecordBatch) -> std::io::Result<Vec<ArrayFormatter<'_>>> {
    let opts = FormatOptions::default();
    batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).map_err(std::io::Error::other))
        .collect()
}

fn write_csv(schema: &SchemaRef, batches: &[RecordBatch], w: &mut impl Write) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(schema.fields().iter().map(|f| f.name().as_str()))?;
    let mut row: Vec<String> = Vec::new();
    for batch in batches {
        let fmts = formatters(batch)?;
        for i in 0..batch.num_rows() {
            row.clear();
            for (f, c) in fmts.iter().zip(batch.columns()) {
                row.push(if c.is_null(i) {
                    String::new()
                } else {
                    f.value(i).to_string()
                });
            }
            out.write_record(&row)?;
        }
    }
    out.flush()
}

/// One cell as a JSON value: numbers as numbers (non-finite as null), everything else as text.
fn json_value(col: &dyn Array, f: &ArrayFormatter<'_>, i: usize) -> serde_json::Value {
    use serde_json::Value;
    if col.is_null(i) {
        return Value::Null;
    }
    match col.data_type() {
        DataType::Int64 => Value::from(col.as_primitive::<Int64Type>().value(i)),
        DataType::UInt64 => Value::from(col.as_primitive::<UInt64Type>().value(i)),
        DataType::UInt32 => Value::from(col.as_primitive::<UInt32Type>().value(i)),
        DataType::Float64 => {
            serde_json::Number::from_f64(col.as_primitive::<Float64Type>().value(i)).map_or(Value::Null, Value::Number)
        }
        DataType::Boolean => Value::Bool(col.as_boolean().value(i)),
        _ => Value::String(f.value(i).to_string()),
    }
}

fn write_json(schema: &SchemaRef, batches: &[RecordBatch], w: &mut impl Write) -> std::io::Result<()> {
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut written = 0;
    w.write_all(b"[\n")?;
    for batch in batches {
        let fmts = formatters(batch)?;
        for i in 0..batch.num_rows() {
            let mut obj = serde_json::Map::new();
            for ((field, f), c) in schema.fields().iter().zip(&fmts).zip(batch.columns()) {
                obj.insert(field.name().clone(), json_value(c.as_ref(), f, i));
            }
            serde_json::to_writer(&mut *w, &obj)?;
            written += 1;
            w.write_all(if written < total { b",\n" } else { b"\n" })?;
        }
    }
    w.write_all(b"]\n")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    /// Three batches whose rows straddle a row-group boundary, with nulls and strings.
    fn batches(schema: &SchemaRef) -> Vec<RecordBatch> {
        [(0usize, 700_000usize), (700_000, 5), (700_005, 400_000)]
            .into_iter()
            .map(|(lo, n)| {
                let ids = Int64Array::from_iter_values((lo..lo + n).map(|i| i as i64));
                let v = Float64Array::from_iter((lo..lo + n).map(|i| (i % 7 != 0).then_some(i as f64 * 0.5)));
                let s = StringArray::from_iter_values((lo..lo + n).map(|i| ["a", "b", "c"][i % 3]));
                RecordBatch::try_new(schema.clone(), vec![Arc::new(ids), Arc::new(v), Arc::new(s)]).unwrap()
            })
            .collect()
    }

    #[test]
    fn parallel_parquet_row_groups_hold_every_row_in_order_for_any_pool() {
        let schema: SchemaRef = Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("id", DataType::Int64, false),
            arrow_schema::Field::new("v", DataType::Float64, true),
            arrow_schema::Field::new("s", DataType::Utf8, false),
        ]));
        let input = batches(&schema);
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for threads in [1, 3] {
            let path = dir.path().join(format!("t{threads}.parquet"));
            write_batches_in(&schema, &input, &path, &Parallelism::threads(threads).unwrap()).unwrap();
            files.push(std::fs::read(&path).unwrap());
            let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
            assert_eq!(
                reader.metadata().num_row_groups(),
                2,
                "1,100,005 rows in groups of 2^20"
            );
            let back: Vec<RecordBatch> = reader.build().unwrap().collect::<std::result::Result<_, _>>().unwrap();
            let back = arrow_select::concat::concat_batches(&schema, &back).unwrap();
            let whole = arrow_select::concat::concat_batches(&schema, &input).unwrap();
            assert_eq!(back, whole);
        }
        assert_eq!(files[0], files[1], "the bytes do not depend on the thread count");
    }
}
