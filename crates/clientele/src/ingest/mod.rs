//! Validated ingestion: files and Arrow batches into an [`EventStore`].
//!
//! An [`Ingestor`] reads any number of sources, validates every row, and
//! [`finish`](Ingestor::finish)es into an [`EventStore`] and an [`IngestReport`] in which
//! `rows_read == rows_accepted + rows_rejected`, with every rejected row listed by source, row,
//! column and [`RejectReason`].
//!
//! | source | reader | notes |
//! |---|---|---|
//! | CSV / TSV / whitespace text | [`Ingestor::read_csv`] | header or not, any delimiter or runs of white space, explicit time formats |
//! | Parquet | [`Ingestor::read_parquet`] | only the mapped columns are decoded; row groups in parallel |
//! | Arrow IPC file / stream | [`Ingestor::read_ipc_file`], [`Ingestor::read_ipc_stream`] | |
//! | in-memory batches | [`Ingestor::read_batches`] | for services that already hold Arrow |
//!
//! Accepted column types per role:
//!
//! | role | types |
//! |---|---|
//! | `customer_id` | any integer type, any string type or string dictionary |
//! | `event_time` | any timestamp unit and time zone, Date32, Date64, strings (see [`TimeFormat`](crate::time::TimeFormat)) |
//! | `event_type`, `channel`, `product`, `campaign_id` | strings, string dictionaries, integers (as decimal text) |
//! | `amount`, `score`, `cost` | any integer, float or decimal type; strings holding numbers |
//!
//! A column of another type is an [`Error::ColumnType`]; a missing required column an
//! [`Error::MissingColumn`]. Blank channel, product and campaign values are null. Unknown event
//! types are kept.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), clientele::Error> {
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch, StringArray, Float64Array};
//! use clientele::ingest::{IngestOptions, Ingestor};
//!
//! let batch = RecordBatch::try_from_iter([
//!     ("customer_id", Arc::new(Int64Array::from(vec![1, 1, 2])) as _),
//!     ("event_time", Arc::new(StringArray::from(vec!["2024-01-01", "2024-02-01", "not a date"])) as _),
//!     ("amount", Arc::new(Float64Array::from(vec![10.0, 20.0, 5.0])) as _),
//! ])?;
//! let mut ingestor = Ingestor::new(&IngestOptions::default())?;
//! ingestor.read_batches("memory", [Ok(batch)])?;
//! let (store, report) = ingestor.finish()?;
//! assert_eq!((report.rows_read, report.rows_accepted, report.rows_rejected), (3, 2, 1));
//! assert_eq!(report.rejections[0].row, 3);
//! assert!(report.reconciles());
//! assert_eq!(store.num_customers(), 1);
//! # Ok(()) }
//! ```

mod accounting;
pub(crate) mod bounds;
mod csv;
mod ipc_stream;
pub mod layouts;
pub(crate) mod normalize;
mod options;
pub(crate) mod row_group;
pub(crate) mod typed_columns;

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use rayon::prelude::*;

pub use self::csv::{MAX_RECORD_BYTES, MAX_RECORD_LINES};
pub use accounting::{IngestReport, RejectReason, Rejection, SourceCounts};
pub use normalize::{MAX_AMOUNT, MAX_COST, MAX_SCORE};
pub use options::{CsvOptions, Delimiter, IngestConfig, IngestOptions, KeyType};

use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::schema::Role;
use crate::store::{EventStore, StoreBuilder};
use normalize::{NormalizedBatch, RowNumbers, normalize};

/// What a progress callback is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The source being read.
    pub source: String,
    /// Work done in this source so far.
    pub done: u64,
    /// Total work of this source, when known.
    pub total: Option<u64>,
    /// What `done` and `total` count.
    pub unit: ProgressUnit,
}

/// The unit of a [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressUnit {
    /// Rows.
    Rows,
    /// Bytes.
    Bytes,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// A unit of parallel work: a decoded batch with its row numbering.
struct Unit {
    batch: RecordBatch,
    rows: UnitRows,
    pre_rejections: Vec<Rejection>,
    rows_read: u64,
}

impl Unit {
    /// A batch whose rows are source rows `first`, `first + 1`, ...
    fn numbered_from(batch: RecordBatch, first: u64) -> Self {
        let rows_read = batch.num_rows() as u64;
        Unit {
            batch,
            rows: UnitRows::From(first),
            pre_rejections: Vec::new(),
            rows_read,
        }
    }
}

enum UnitRows {
    From(u64),
    Explicit(Vec<u64>),
}

/// The [`Error::MissingColumn`] for `column`, listing the columns `present`.
pub(crate) fn missing_column<'a>(source: &str, column: &str, present: impl Iterator<Item = &'a str>) -> Error {
    Error::MissingColumn {
        source_name: source.to_string(),
        column: column.to_string(),
        present: present.collect::<Vec<_>>().join(", "),
    }
}

/// [`Error::MissingColumn`] unless every required role's column is among `present`.
fn require_columns<'a>(
    config: &IngestConfig,
    source: &str,
    present: impl Iterator<Item = &'a str> + Clone,
) -> Result<()> {
    for role in Role::ALL.into_iter().filter(|r| r.is_required()) {
        let col = config.options.mapping.column(role);
        if !present.clone().any(|p| p == col) {
            return Err(missing_column(source, col, present));
        }
    }
    Ok(())
}

/// Reads sources into a store, validating every row. See the [module docs](self).
pub struct Ingestor {
    config: IngestConfig,
    builder: StoreBuilder,
    report: IngestReport,
    parallelism: Parallelism,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for Ingestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor")
            .field("options", &self.config.options)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The input format a path's extension implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Delimited text (`.csv`, `.tsv`, `.txt`, `.dat`).
    Csv,
    /// Parquet (`.parquet`, `.pq`).
    Parquet,
    /// Arrow IPC file (`.arrow`, `.ipc`, `.feather`).
    IpcFile,
    /// Arrow IPC stream (`.arrows`).
    IpcStream,
}

impl InputFormat {
    /// The format of `path` by its extension.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`input`) for an unknown extension.
    pub fn of(path: &Path) -> Result<Self> {
        match extension(path).as_str() {
            "csv" | "tsv" | "txt" | "dat" => Ok(InputFormat::Csv),
            "parquet" | "pq" => Ok(InputFormat::Parquet),
            "arrow" | "ipc" | "feather" => Ok(InputFormat::IpcFile),
            "arrows" => Ok(InputFormat::IpcStream),
            other => Err(Error::param(
                "input",
                format!(
                    "{}: unknown extension {other:?} (expected .csv, .tsv, .txt, .parquet, .arrow or .arrows)",
                    path.display()
                ),
            )),
        }
    }
}

impl Ingestor {
    /// A new ingestor with validated `options`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] from [`IngestOptions::validate`].
    pub fn new(options: &IngestOptions) -> Result<Self> {
        let config = options.validate()?;
        Ok(Ingestor {
            builder: StoreBuilder::new(&config.options.purchase_type, config.options.key_type),
            config,
            report: IngestReport::default(),
            parallelism: Parallelism::current(),
            progress: None,
        })
    }

    /// An ingestor whose result holds every event of `store` plus what is read next.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] from [`IngestOptions::validate`], `purchase_type` when it
    /// differs from the store's, or `key_type` when integer keys are asked of a store with
    /// string keys.
    pub fn appending(store: &EventStore, options: &IngestOptions) -> Result<Self> {
        if store.purchase_type() != options.purchase_type {
            return Err(Error::param(
                "purchase_type",
                format!(
                    "the store's purchase type is {:?}, the options say {:?}",
                    store.purchase_type(),
                    options.purchase_type
                ),
            ));
        }
        if options.key_type == KeyType::Int && matches!(store.customer_keys(), crate::store::CustomerKeys::Str(_)) {
            return Err(Error::param(
                "key_type",
                "the store has string keys; integer keys cannot be appended to it",
            ));
        }
        let mut ing = Ingestor::new(options)?;
        ing.builder.append_store(store);
        Ok(ing)
    }

    /// Runs parallel work in `parallelism`.
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// Calls `f` as sources are read.
    pub fn with_progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }

    /// The report so far.
    pub fn report(&self) -> &IngestReport {
        &self.report
    }

    fn notify(&self, source: &str, done: u64, total: Option<u64>, unit: ProgressUnit) {
        if let Some(p) = &self.progress {
            p(&Progress {
                source: source.to_string(),
                done,
                total,
                unit,
            });
        }
    }

    /// Whether column `name` is mapped to some role that is loaded.
    fn wanted(&self, name: &str) -> bool {
        Role::ALL
            .iter()
            .any(|&r| self.config.loads(r) && self.config.options.mapping.column(r) == name)
    }

    /// Normalizes `units` in parallel and appends them in order.
    fn process(&mut self, source: &str, units: Vec<Unit>, counts: &mut SourceCounts) -> Result<()> {
        let config = &self.config;
        let results: Vec<Result<(NormalizedBatch, IngestReport)>> = self.parallelism.install(|| {
            units
                .into_par_iter()
                .map(|u| {
                    let rows = match &u.rows {
                        UnitRows::From(f) => RowNumbers::From(*f),
                        UnitRows::Explicit(v) => RowNumbers::Explicit(v),
                    };
                    let strict_error = |r: &Rejection| Error::RejectedRow {
                        source_name: r.source.clone(),
                        row: r.row,
                        column: r.column.clone(),
                        reason: r.reason,
                        value: r.value.clone(),
                    };
                    // In strict mode the earliest bad row wins, whether the text splitter or
                    // the normalizer found it.
                    let (nb, mut rep) = match normalize(&u.batch, source, rows, config) {
                        Err(Error::RejectedRow { row, .. })
                            if let Some(p) = u.pre_rejections.first().filter(|p| p.row < row) =>
                        {
                            return Err(strict_error(p));
                        }
                        other => other?,
                    };
                    if config.options.strict
                        && let Some(r) = u.pre_rejections.first()
                    {
                        return Err(strict_error(r));
                    }
                    // Rejections found while splitting text come first in row order.
                    let mut pre = IngestReport::default();
                    for r in u.pre_rejections {
                        pre.record_rejection(r);
                    }
                    pre.rows_read = u.rows_read - rep.rows_read;
                    rep.merge(pre);
                    rep.rejections.sort_by_key(|r| r.row);
                    Ok((nb, rep))
                })
                .collect()
        });
        for r in results {
            let (nb, rep) = r?;
            counts.rows_read += rep.rows_read;
            counts.rows_accepted += rep.rows_accepted;
            counts.rows_rejected += rep.rows_rejected;
            self.builder.append(&nb);
            self.report.merge(rep);
        }
        Ok(())
    }

    fn wave(&self) -> usize {
        (self.parallelism.num_threads() * 2).max(2)
    }

    /// Reads a file, choosing the reader by its extension ([`InputFormat::of`]).
    ///
    /// # Errors
    /// As the chosen reader.
    pub fn read_path(&mut self, path: impl AsRef<Path>, csv: &CsvOptions) -> Result<()> {
        let path = path.as_ref();
        match InputFormat::of(path)? {
            InputFormat::Csv => self.read_csv(path, csv),
            InputFormat::Parquet => self.read_parquet(path),
            InputFormat::IpcFile => self.read_ipc_file(path),
            InputFormat::IpcStream => {
                let file = File::open(path).map_err(|e| Error::io(path, e))?;
                self.read_ipc_stream(std::io::BufReader::new(file), &path.display().to_string())
            }
        }
    }

    /// Reads a delimited-text file.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be opened; see [`read_csv_reader`](Self::read_csv_reader).
    pub fn read_csv(&mut self, path: impl AsRef<Path>, csv: &CsvOptions) -> Result<()> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let total = file.metadata().ok().map(|m| m.len());
        self.read_csv_inner(file, &path.display().to_string(), csv, total)
    }

    /// Reads delimited text from any reader; `name` names it in reports and errors.
    ///
    /// # Errors
    /// [`Error::Format`] for unreadable input, [`Error::MissingColumn`], [`Error::ColumnType`],
    /// and in strict mode [`Error::RejectedRow`].
    pub fn read_csv_reader<R: Read>(&mut self, reader: R, name: &str, csv: &CsvOptions) -> Result<()> {
        self.read_csv_inner(reader, name, csv, None)
    }

    fn read_csv_inner<R: Read>(&mut self, reader: R, name: &str, csv: &CsvOptions, total: Option<u64>) -> Result<()> {
        self.atomically(|ing| ing.read_csv_source(reader, name, csv, total))
    }

    /// Reads one source; on error, everything it added is rolled back, so a failed source
    /// leaves the ingestor as it was (whatever the thread count).
    fn atomically(&mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let (builder, report) = (self.builder.mark(), self.report.mark());
        let result = f(self);
        if result.is_err() {
            self.builder.rollback(builder);
            self.report.rollback(report);
        }
        result
    }

    fn read_csv_source<R: Read>(&mut self, reader: R, name: &str, csv: &CsvOptions, total: Option<u64>) -> Result<()> {
        let mut text = csv::TextReader::new(reader, name, csv, &|n| self.wanted(n))?;
        // Required columns must be in the header even when the file has no data rows.
        require_columns(&self.config, name, text.header().iter().map(String::as_str))?;
        let mut counts = SourceCounts {
            source: name.to_string(),
            ..Default::default()
        };
        loop {
            let mut units = Vec::new();
            let mut bytes = 0;
            while units.len() < self.wave() {
                match text.next_chunk()? {
                    Some(c) => {
                        bytes = c.bytes;
                        units.push(Unit {
                            batch: c.batch,
                            rows: UnitRows::Explicit(c.rows),
                            pre_rejections: c.rejections,
                            rows_read: c.rows_read,
                        });
                    }
                    None => break,
                }
            }
            if units.is_empty() {
                break;
            }
            self.process(name, units, &mut counts)?;
            self.notify(name, bytes, total, ProgressUnit::Bytes);
        }
        self.report.sources.push(counts);
        Ok(())
    }

    /// Reads a Parquet file: only the mapped columns are decoded, row groups in parallel.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Format`] for a file that is not Parquet or is truncated,
    /// [`Error::MissingColumn`], [`Error::ColumnType`], and in strict mode
    /// [`Error::RejectedRow`].
    pub fn read_parquet(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        self.atomically(|ing| ing.read_parquet_source(path))
    }

    fn read_parquet_source(&mut self, path: &Path) -> Result<()> {
        let name = path.display().to_string();
        let meta = parquet_metadata(path)?;
        // Read label columns (event type, channel, product, campaign, string keys) as
        // dictionaries: Parquet stores them dictionary-encoded, so validation then interns each
        // distinct value once instead of hashing every row.
        let hinted = self.dictionary_hint(meta.schema());
        let meta = match hinted {
            Some(schema) => {
                ArrowReaderMetadata::try_new(meta.metadata().clone(), ArrowReaderOptions::new().with_schema(schema))
                    .unwrap_or(meta)
            }
            None => meta,
        };
        let schema = meta.schema().clone();
        require_columns(&self.config, &name, schema.fields().iter().map(|f| f.name().as_str()))?;
        let roots: Vec<usize> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| self.wanted(f.name()))
            .map(|(i, _)| i)
            .collect();
        let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
        let groups: Vec<(usize, u64, u64)> = {
            let mut first = 1u64;
            meta.metadata()
                .row_groups()
                .iter()
                .enumerate()
                .map(|(i, rg)| {
                    let n = u64::try_from(rg.num_rows()).unwrap_or(0);
                    let g = (i, first, n);
                    first += n;
                    g
                })
                .collect()
        };
        let total: u64 = groups.iter().map(|g| g.2).sum();
        let mut counts = SourceCounts {
            source: name.clone(),
            ..Default::default()
        };
        let wave = self.wave();
        let mut done = 0;
        for chunk in groups.chunks(wave) {
            let decoded: Vec<Result<Vec<Unit>>> = self.parallelism.install(|| {
                chunk
                    .par_iter()
                    .map(|&(rg, first, n)| {
                        crate::error::guard_decode(&name, "parquet", || {
                            // Each task reads its row group's bytes ahead (its own handle:
                            // a cloned handle would share the seek offset with the others).
                            let batch = usize::try_from(n).unwrap_or(1 << 20).clamp(1, 1 << 20);
                            let reader = row_group::reader(path, &meta, rg, &mask, batch)?;
                            let mut units = Vec::new();
                            let mut row = first;
                            for b in reader {
                                let unit = Unit::numbered_from(b.map_err(|e| Error::parquet(&name, e))?, row);
                                row += unit.rows_read;
                                units.push(unit);
                            }
                            Ok(units)
                        })
                    })
                    .collect()
            });
            let mut units = Vec::new();
            for d in decoded {
                units.extend(d?);
            }
            self.process(&name, units, &mut counts)?;
            done += chunk.iter().map(|g| g.2).sum::<u64>();
            self.notify(&name, done, Some(total), ProgressUnit::Rows);
        }
        self.report.sources.push(counts);
        Ok(())
    }

    /// The schema with string label columns as `Dictionary(Int32, Utf8)`, if any changes.
    fn dictionary_hint(&self, schema: &arrow_schema::SchemaRef) -> Option<arrow_schema::SchemaRef> {
        use arrow_schema::{DataType, Field, Schema};
        let m = &self.config.options.mapping;
        let labels = [
            Role::CustomerId,
            Role::EventType,
            Role::Channel,
            Role::Product,
            Role::CampaignId,
        ];
        let mut changed = false;
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| {
                let is_label = labels.iter().any(|&r| m.column(r) == f.name());
                if is_label && matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
                    changed = true;
                    f.as_ref().clone().with_data_type(DataType::Dictionary(
                        Box::new(DataType::Int32),
                        Box::new(f.data_type().clone()),
                    ))
                } else {
                    f.as_ref().clone()
                }
            })
            .collect();
        changed.then(|| Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())))
    }

    /// Reads an Arrow IPC file.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Format`], and the errors of [`read_batches`](Self::read_batches).
    pub fn read_ipc_file(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = crate::error::guard_decode(&name, "arrow-ipc", || {
            arrow_ipc::reader::FileReader::try_new(std::io::BufReader::new(file), None).map_err(|e| Error::Format {
                source_name: name.clone(),
                format: "arrow-ipc",
                message: e.to_string(),
            })
        })?;
        self.read_batches_as(&name, reader, "arrow-ipc")
    }

    /// Reads an Arrow IPC stream from any reader; `name` names it in reports and errors.
    ///
    /// # Errors
    /// [`Error::Format`], and the errors of [`read_batches`](Self::read_batches).
    pub fn read_ipc_stream<R: Read>(&mut self, reader: R, name: &str) -> Result<()> {
        let reader = ipc_stream::IpcStreamBatches::new(reader);
        self.read_batches_as(name, reader, "arrow-ipc-stream")
    }

    /// Reads in-memory record batches; `name` names the source in reports and errors. Batches
    /// may have different schemas as long as each has the required columns.
    ///
    /// # Errors
    /// [`Error::Format`] when the iterator yields an error, [`Error::MissingColumn`],
    /// [`Error::ColumnType`], and in strict mode [`Error::RejectedRow`].
    pub fn read_batches<I>(&mut self, name: &str, batches: I) -> Result<()>
    where
        I: IntoIterator<Item = Result<RecordBatch, ArrowError>>,
    {
        self.read_batches_as(name, batches, "arrow")
    }

    fn read_batches_as<I>(&mut self, name: &str, batches: I, format: &'static str) -> Result<()>
    where
        I: IntoIterator<Item = Result<RecordBatch, ArrowError>>,
    {
        self.atomically(|ing| ing.read_batches_source(name, batches, format))
    }

    fn read_batches_source<I>(&mut self, name: &str, batches: I, format: &'static str) -> Result<()>
    where
        I: IntoIterator<Item = Result<RecordBatch, ArrowError>>,
    {
        let mut counts = SourceCounts {
            source: name.to_string(),
            ..Default::default()
        };
        let mut iter = batches.into_iter();
        let mut row = 1u64;
        loop {
            let mut units = Vec::new();
            while units.len() < self.wave() {
                // Decoders behind the iterator may panic on malformed bytes: contained.
                match crate::error::guard_decode(name, format, || Ok(iter.next()))? {
                    Some(Ok(b)) => {
                        let unit = Unit::numbered_from(b, row);
                        row += unit.rows_read;
                        units.push(unit);
                    }
                    Some(Err(e)) => {
                        return Err(Error::Format {
                            source_name: name.to_string(),
                            format,
                            message: e.to_string(),
                        });
                    }
                    None => break,
                }
            }
            if units.is_empty() {
                break;
            }
            self.process(name, units, &mut counts)?;
            self.notify(name, row - 1, None, ProgressUnit::Rows);
        }
        self.report.sources.push(counts);
        Ok(())
    }

    /// Orders everything read into an [`EventStore`] and returns it with the report.
    ///
    /// # Errors
    /// [`Error::Capacity`] beyond `u32::MAX` events.
    pub fn finish(self) -> Result<(EventStore, IngestReport)> {
        let builder = self.builder;
        let (store, typing) = self.parallelism.install(move || builder.finish_typed())?;
        let mut report = self.report;
        report.key_typing = Some(typing);
        Ok((store, report))
    }
}

/// Opens the Parquet file at `path` and reads its metadata (footer, schema, statistics).
///
/// # Errors
/// [`Error::Io`] when the file cannot be opened, [`Error::Format`] when it is not Parquet.
pub(crate) fn parquet_metadata(path: &Path) -> Result<ArrowReaderMetadata> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let name = path.display().to_string();
    // arrow-rs can panic on a damaged footer (e.g. its embedded Arrow schema)
    crate::error::guard_decode(&name, "parquet", || {
        ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| Error::parquet(&name, e))
    })
}
