//! Writes a [`RecordBatch`] to a file in the format its extension names.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, compute_leaves};
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

/// Rows per piece handed to a column writer: a multiple of the writer's 1024-row batches, so
/// that pages, dictionaries and statistics (and the file's bytes) do not depend on it.
const PIECE: usize = 1 << 16;

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
    if format == OutputFormat::Parquet {
        return write_parquet(schema, batches, path, par);
    }
    super::write_atomically(path, false, |file| {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        match format {
            OutputFormat::Parquet => {} // written above
            OutputFormat::Ipc => {
                let mut writer = arrow_ipc::writer::FileWriter::try_new(w, schema)?;
                for b in batches {
                    writer.write(b)?;
                }
                writer.finish()?;
                return Ok(());
            }
            OutputFormat::Csv => write_csv(schema, batches, &mut w).map_err(|e| Error::io(path, e))?,
            OutputFormat::Json => write_json(batches, &mut w).map_err(|e| Error::io(path, e))?,
        }
        w.flush().map_err(|e| Error::io(path, e))
    })
}

/// The writer settings of [`write_parquet`].
fn parquet_properties(schema: &SchemaRef) -> WriterProperties {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(ROW_GROUP));
    // Integer and time-stamp columns: delta encoding instead of a dictionary. Customer keys,
    // day counts and event times are mostly distinct or sorted, where a dictionary is hashed
    // for nothing; delta-packed ints are about as small after zstd and a third faster to write.
    for f in schema.fields() {
        if f.data_type().is_integer() || matches!(f.data_type(), DataType::Timestamp(..)) {
            let col = ColumnPath::from(f.name().as_str());
            props = props
                .set_column_dictionary_enabled(col.clone(), false)
                .set_column_encoding(col, Encoding::DELTA_BINARY_PACKED);
        }
    }
    props.build()
}

/// Parquet at `path` with the columns of each row group encoded in parallel, written under a
/// temporary name and renamed into place (see [`write_atomically`](super::write_atomically)).
fn write_parquet(schema: &SchemaRef, batches: &[RecordBatch], path: &Path, par: &Parallelism) -> Result<()> {
    // The column writers come from a writer over nothing: an encoded column chunk is appended
    // to the real file's row group afterwards, wherever it was encoded.
    let props = parquet_properties(schema);
    let (_, factory) =
        ArrowWriter::try_new(std::io::sink(), schema.clone(), Some(props.clone()))?.into_serialized_writer()?;
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    // One task per field of every row group: the field's column chunks (one per leaf; a
    // flat field has one leaf, a nested one more), encoded apart from everything else.
    let mut tasks = Vec::new();
    let mut groups = 0;
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
        let slices = Arc::new(slices);
        let mut writers = factory.create_column_writers(rg)?.into_iter();
        for (f, field) in schema.fields().iter().enumerate() {
            let leaves = match slices.first().and_then(|b| b.columns().get(f)) {
                Some(column) => compute_leaves(field, &column.slice(0, 0))?.len(),
                None => 0,
            };
            let writers: Vec<_> = writers.by_ref().take(leaves).collect();
            tasks.push(Task {
                group: rg,
                field: f,
                slices: slices.clone(),
                writers,
            });
        }
        groups = rg + 1;
    }
    let chunks = encode_tasks(schema, tasks, par)?;
    super::write_atomically(path, false, |created| {
        let w = BufWriter::with_capacity(1 << 20, created);
        let (mut file, _) = ArrowWriter::try_new(w, schema.clone(), Some(props))?.into_serialized_writer()?;
        let mut chunks = chunks.into_iter().peekable();
        for rg in 0..groups {
            let mut group = file.next_row_group()?;
            while let Some((_, field)) = chunks.next_if(|(g, _)| *g == rg) {
                for c in field {
                    c.append_to_row_group(&mut group)?;
                }
            }
            group.close()?;
        }
        file.close()?;
        Ok(())
    })
}

/// The column writers of one field of one row group, and the row group's batch slices.
struct Task {
    group: usize,
    field: usize,
    slices: Arc<Vec<RecordBatch>>,
    writers: Vec<ArrowColumnWriter>,
}

/// A task's index, row group and column chunks.
type Encoded = (usize, usize, Vec<ArrowColumnChunk>);

/// Encodes every task in `par`'s pool, the costliest kinds of column first (strings, then
/// floats, then the rest) so that the last tasks to start are short ones; returns each
/// task's row group and column chunks, in task order (the bytes do not depend on the pool).
fn encode_tasks(
    schema: &SchemaRef,
    tasks: Vec<Task>,
    par: &Parallelism,
) -> Result<Vec<(usize, Vec<ArrowColumnChunk>)>> {
    let cost = |t: &Task| match schema.fields().get(t.field).map(|f| f.data_type()) {
        Some(DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::Utf8View) => 0,
        Some(DataType::Float64 | DataType::Float32) => 1,
        _ => 2,
    };
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    order.sort_by_key(|&i| tasks.get(i).map_or(3, cost));
    let slots: Vec<std::sync::Mutex<Option<Task>>> =
        tasks.into_iter().map(|t| std::sync::Mutex::new(Some(t))).collect();
    let next = AtomicUsize::new(0);
    let workers = par.install(rayon::current_num_threads).clamp(1, slots.len().max(1));
    // Tasks are taken from a shared counter as workers free up.
    let done: Vec<Result<Vec<Encoded>>> = par.install(|| {
        (0..workers)
            .into_par_iter()
            .map(|_| {
                let mut out = Vec::new();
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let task = slots.get(i).and_then(|m| m.lock().ok().and_then(|mut t| t.take()));
                    let Some(Task {
                        group,
                        field,
                        slices,
                        mut writers,
                    }) = task
                    else {
                        continue;
                    };
                    let Some(arrow_field) = schema.fields().get(field) else {
                        continue;
                    };
                    // The leaves computed and written a piece at a time: the writer builds a
                    // list of row indices per leaf, which for a whole 1M-row column is 8 MB
                    // of fresh memory, where a piece's list is reused from piece to piece.
                    for b in slices.iter() {
                        let Some(column) = b.columns().get(field) else {
                            continue;
                        };
                        for at in (0..column.len()).step_by(PIECE) {
                            let piece = column.slice(at, PIECE.min(column.len() - at));
                            for (cw, leaf) in writers.iter_mut().zip(compute_leaves(arrow_field, &piece)?) {
                                cw.write(&leaf)?;
                            }
                        }
                    }
                    let chunks = writers
                        .into_iter()
                        .map(|cw| Ok(cw.close()?))
                        .collect::<Result<Vec<_>>>()?;
                    out.push((i, group, chunks));
                }
                Ok(out)
            })
            .collect()
    });
    let mut all = Vec::with_capacity(slots.len());
    for d in done {
        all.extend(d?);
    }
    all.sort_by_key(|&(i, _, _)| i);
    Ok(all.into_iter().map(|(_, group, chunks)| (group, chunks)).collect())
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
    use super::json::Scalar;
    use serde_json::Value;
    match super::json::scalar(col, i) {
        Scalar::Null => Value::Null,
        Scalar::Int(v) => Value::from(v),
        Scalar::UInt(v) => Value::from(v),
        Scalar::Float(v) => serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Text => Value::String(f.value(i).to_string()),
    }
}

/// The rows of `batch` as JSON objects (`{"customer_id":7,"clv":12.5}`), as `.json` outputs
/// hold them: how a service answers with a table or embeds rows in a larger document.
///
/// Integers, floats and booleans are JSON numbers and booleans; nulls and non-finite floats
/// (JSON has no NaN) are `null`; every other type is its Arrow display text (timestamps in
/// ISO 8601).
///
/// # Errors
/// [`Error::Arrow`] for a column type Arrow cannot display.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch};
/// let batch = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![1.5, f64::NAN])) as _)])?;
/// let rows = clientele::io::json_rows(&batch)?;
/// assert_eq!(serde_json::Value::Array(rows).to_string(), r#"[{"x":1.5},{"x":null}]"#);
/// # Ok(()) }
/// ```
pub fn json_rows(batch: &RecordBatch) -> Result<Vec<serde_json::Value>> {
    let fmts = formatters(batch).map_err(|e| Error::Arrow(arrow_schema::ArrowError::ExternalError(Box::new(e))))?;
    let schema = batch.schema();
    Ok((0..batch.num_rows())
        .map(|i| {
            let mut obj = serde_json::Map::new();
            for ((field, f), c) in schema.fields().iter().zip(&fmts).zip(batch.columns()) {
                obj.insert(field.name().clone(), json_value(c.as_ref(), f, i));
            }
            serde_json::Value::Object(obj)
        })
        .collect())
}

fn write_json(batches: &[RecordBatch], w: &mut impl Write) -> std::io::Result<()> {
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut written = 0;
    let mut row = Vec::with_capacity(512);
    w.write_all(b"[\n")?;
    for batch in batches {
        let rows = super::JsonRowWriter::try_new(batch).map_err(std::io::Error::other)?;
        for i in 0..batch.num_rows() {
            row.clear();
            rows.write_row(i, &mut row);
            w.write_all(&row)?;
            written += 1;
            w.write_all(if written < total { b",\n" } else { b"\n" })?;
        }
    }
    w.write_all(b"]\n")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
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
                // A nested field: two leaves written by one task.
                let pair = arrow_array::StructArray::from(vec![
                    (
                        Arc::new(arrow_schema::Field::new("x", DataType::Int64, false)),
                        Arc::new(Int64Array::from_iter_values((lo..lo + n).map(|i| (i % 1000) as i64))) as ArrayRef,
                    ),
                    (
                        Arc::new(arrow_schema::Field::new("y", DataType::Float64, true)),
                        Arc::new(Float64Array::from_iter(
                            (lo..lo + n).map(|i| (i % 5 != 0).then_some(i as f64)),
                        )) as _,
                    ),
                ]);
                RecordBatch::try_new(
                    schema.clone(),
                    vec![Arc::new(ids), Arc::new(v), Arc::new(s), Arc::new(pair)],
                )
                .unwrap()
            })
            .collect()
    }

    fn schema() -> SchemaRef {
        Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("id", DataType::Int64, false),
            arrow_schema::Field::new("v", DataType::Float64, true),
            arrow_schema::Field::new("s", DataType::Utf8, false),
            arrow_schema::Field::new_struct(
                "pair",
                vec![
                    arrow_schema::Field::new("x", DataType::Int64, false),
                    arrow_schema::Field::new("y", DataType::Float64, true),
                ],
                false,
            ),
        ]))
    }

    /// Leaves computed and written a piece at a time give the very bytes of the arrow-rs
    /// writer fed the same batches with the same settings.
    #[test]
    fn pieces_write_the_bytes_of_the_plain_arrow_writer() {
        let schema = schema();
        let input = batches(&schema);
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("ours.parquet");
        write_batches_in(&schema, &input, &ours, &Parallelism::threads(2).unwrap()).unwrap();
        let mut plain = Vec::new();
        let mut w = ArrowWriter::try_new(&mut plain, schema.clone(), Some(parquet_properties(&schema))).unwrap();
        for b in &input {
            w.write(b).unwrap();
        }
        w.close().unwrap();
        assert_eq!(std::fs::read(&ours).unwrap(), plain);
    }

    #[test]
    fn parallel_parquet_row_groups_hold_every_row_in_order_for_any_pool() {
        let schema = schema();
        let input = batches(&schema);
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for threads in [1, 3] {
            let path = dir.path().join(format!("t{threads}.parquet"));
            write_batches_in(&schema, &input, &path, &Parallelism::threads(threads).unwrap()).unwrap();
            files.push(std::fs::read(&path).unwrap());
            let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
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
