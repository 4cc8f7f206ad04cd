//! Saving a store to a directory and opening it again.
//!
//! A saved store is a directory with three files:
//!
//! - `manifest.json`: format name and version, storage format, purchase type, counts;
//! - `customers.{arrow,parquet}`: one column `customer_id` (Int64 or Utf8), the keys in
//!   dense-index order;
//! - `events.{arrow,parquet}`: the columns of [`EventStore::events`].
//!
//! Arrow IPC (the default) reloads at memory speed; Parquet (zstd) is smaller and readable by
//! any Parquet tool. [`EventStore::open`] checks the manifest and verifies the ordering
//! invariants, so a damaged or hand-edited store is an error, never a wrong answer.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType, UInt32Type};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use super::columns::{StoreColumns, dictionary, floats};
use super::integrity::{self, FileEntry, Hashing};
use super::{CustomerKeys, EventStore};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::schema;

/// How a store's columns are saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreFormat {
    /// Arrow IPC files: fastest to open.
    #[default]
    Ipc,
    /// Parquet files (zstd): smaller, readable by other tools.
    Parquet,
}

impl StoreFormat {
    fn extension(self) -> &'static str {
        match self {
            StoreFormat::Ipc => "arrow",
            StoreFormat::Parquet => "parquet",
        }
    }
}

const FORMAT_NAME: &str = "clientele-store";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    storage: StoreFormat,
    purchase_type: String,
    num_customers: u64,
    num_events: u64,
    created_by: String,
    /// Save generation: data files are named `customers.g<N>` / `events.g<N>`, so a save
    /// never overwrites the files the current manifest names (absent in stores saved before
    /// 0.1's integrity checks, whose files are `customers.<ext>` / `events.<ext>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generation: Option<u64>,
    /// The data files with their sizes and checksums (empty in older stores: not verified).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    files: Vec<FileEntry>,
    /// CRC-32 of the fields above and the file list: an edited manifest is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    binding: Option<String>,
}

impl Manifest {
    /// The checksum of the fields that decide what the store means.
    fn binding(&self) -> String {
        integrity::binding(
            &[
                ("format", self.format.clone()),
                ("version", self.version.to_string()),
                ("storage", self.storage.extension().to_string()),
                ("purchase_type", self.purchase_type.clone()),
                ("num_customers", self.num_customers.to_string()),
                ("num_events", self.num_events.to_string()),
                (
                    "generation",
                    self.generation.map_or_else(String::new, |g| g.to_string()),
                ),
            ],
            &self.files,
        )
    }

    /// The data file `stem` (`customers` or `events`): its name and, when recorded, its entry.
    fn file(&self, stem: &str) -> (String, Option<&FileEntry>) {
        let ext = self.storage.extension();
        let name = match self.generation {
            Some(g) => format!("{stem}.g{g}.{ext}"),
            None => format!("{stem}.{ext}"),
        };
        let entry = self.files.iter().find(|f| f.name == name);
        (name, entry)
    }
}

fn corrupt(dir: &Path, message: impl Into<String>) -> Error {
    Error::CorruptStore {
        path: dir.to_path_buf(),
        message: message.into(),
    }
}

/// Writes one store file atomically and durably (see [`write_atomically`](crate::io::write_atomically)).
/// Returns the file's manifest entry, hashed as it is written.
fn write_file(dir: &Path, name: String, format: StoreFormat, batch: &RecordBatch) -> Result<FileEntry> {
    let mut entry = None;
    crate::io::write_atomically(dir.join(&name), true, |file| {
        let mut w = Hashing::new(BufWriter::new(file));
        write_into(&mut w, format, batch)?;
        std::io::Write::flush(&mut w).map_err(|e| Error::io(dir.join(&name), e))?;
        entry = Some(w.entry(name.clone()));
        Ok(())
    })?;
    entry.ok_or_else(|| corrupt(dir, "a store file was not written"))
}

fn write_into<W: std::io::Write + Send>(w: W, format: StoreFormat, batch: &RecordBatch) -> Result<()> {
    const CHUNK: usize = 1 << 20;
    match format {
        StoreFormat::Ipc => {
            // One batch: it reopens without any concatenation.
            let mut writer = arrow_ipc::writer::FileWriter::try_new(w, &batch.schema())?;
            writer.write(batch)?;
            writer.finish()?;
        }
        StoreFormat::Parquet => {
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .set_max_row_group_row_count(Some(CHUNK))
                .build();
            let mut writer = ArrowWriter::try_new(w, batch.schema(), Some(props))?;
            writer.write(batch)?;
            writer.close()?;
        }
    }
    Ok(())
}

/// Reads a store file whole; with `expect`, refuses bytes that are not the recorded ones.
fn read_file(dir: &Path, name: &str, format: StoreFormat, expect: Option<&FileEntry>) -> Result<Vec<RecordBatch>> {
    let path = dir.join(name);
    let shown = path.display().to_string();
    let fmt_err = |format: &'static str, e: String| Error::Format {
        source_name: shown.clone(),
        format,
        message: e,
    };
    let bytes = read_parallel(&path).map_err(|e| Error::io(&path, e))?;
    if let Some(why) = expect.and_then(|e| e.mismatch(&bytes)) {
        return Err(corrupt(dir, why));
    }
    match format {
        StoreFormat::Ipc => crate::error::guard_decode(&shown, "arrow-ipc", || {
            read_ipc_zero_copy(bytes).map_err(|e| fmt_err("arrow-ipc", e))
        }),
        StoreFormat::Parquet => crate::error::guard_decode(&shown, "parquet", || {
            let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
                .map_err(|e| fmt_err("parquet", e.to_string()))?;
            let schema = builder.schema().clone();
            let reader = builder
                .with_batch_size(1 << 20)
                .build()
                .map_err(|e| fmt_err("parquet", e.to_string()))?;
            let mut batches = reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fmt_err("parquet", e.to_string()))?;
            // A file without rows has no row groups: keep its schema as an empty batch.
            if batches.is_empty() {
                batches.push(RecordBatch::new_empty(schema));
            }
            Ok(batches)
        }),
    }
}

/// Reads a whole file into memory with positional reads of 16 MiB chunks in parallel (in the
/// current rayon pool): the copy from the page cache and the first touch of fresh memory (page
/// faults) are both spread over the pool's threads.
#[cfg(unix)]
fn read_parallel(path: &Path) -> std::io::Result<Vec<u8>> {
    use rayon::prelude::*;
    use std::os::unix::fs::FileExt;
    const CHUNK: usize = 16 << 20;
    let file = File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).map_err(std::io::Error::other)?;
    let mut buf = vec![0u8; len];
    buf.par_chunks_mut(CHUNK)
        .enumerate()
        .try_for_each(|(i, chunk)| file.read_exact_at(chunk, (i * CHUNK) as u64))?;
    Ok(buf)
}

/// Reads a whole file into memory: the portable fallback of the parallel positional reads
/// (one sequential read; the result is the same bytes).
#[cfg(not(unix))]
fn read_parallel(path: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
}

/// Reads an Arrow IPC file with one read into one buffer and decodes its batches without
/// copying them again. The footer is untrusted: every block range is checked before use.
fn read_ipc_zero_copy(bytes: Vec<u8>) -> std::result::Result<Vec<RecordBatch>, String> {
    use arrow_buffer::Buffer;
    use arrow_ipc::reader::{FileDecoder, read_footer_length};
    let buffer = Buffer::from_vec(bytes);
    let len = buffer.len();
    let trailer: [u8; 10] = buffer
        .get(len.saturating_sub(10)..)
        .and_then(|t| t.try_into().ok())
        .ok_or("file too short for an Arrow IPC footer")?;
    let footer_len = read_footer_length(trailer).map_err(|e| e.to_string())?;
    let footer_start = len
        .checked_sub(10 + footer_len)
        .ok_or("footer length beyond the file")?;
    let footer_bytes = buffer.get(footer_start..len - 10).ok_or("footer beyond the file")?;
    let footer = arrow_ipc::root_as_footer(footer_bytes).map_err(|e| e.to_string())?;
    let fb_schema = footer.schema().ok_or("footer has no schema")?;
    if fb_schema.endianness() != arrow_ipc::Endianness::Little {
        return Err("big-endian Arrow IPC files are not supported".into());
    }
    let schema = Arc::new(arrow_ipc::convert::fb_to_schema(fb_schema));
    let mut decoder = FileDecoder::new(schema.clone(), footer.version());
    let block_data = |block: &arrow_ipc::Block| -> std::result::Result<Buffer, String> {
        let start = usize::try_from(block.offset()).map_err(|_| "negative block offset")?;
        let size = usize::try_from(block.bodyLength()).map_err(|_| "negative block length")?
            + usize::try_from(block.metaDataLength()).map_err(|_| "negative metadata length")?;
        if size < 8 || start.checked_add(size).is_none_or(|end| end > len) {
            return Err("block beyond the end of the file, or too small".into());
        }
        Ok(buffer.slice_with_length(start, size))
    };
    for block in footer.dictionaries().iter().flatten() {
        decoder
            .read_dictionary(block, &block_data(block)?)
            .map_err(|e| e.to_string())?;
    }
    let mut out = Vec::new();
    let empty = RecordBatch::new_empty(schema);
    for block in footer.recordBatches().iter().flatten() {
        if let Some(b) = decoder
            .read_record_batch(block, &block_data(block)?)
            .map_err(|e| e.to_string())?
        {
            out.push(b);
        }
    }
    if out.is_empty() {
        out.push(empty);
    }
    Ok(out)
}

/// Concatenates column `name` of `batches`, or `None` when absent from the first batch.
fn concat_column(batches: &[RecordBatch], name: &str) -> Result<Option<ArrayRef>> {
    let mut parts = Vec::with_capacity(batches.len());
    for b in batches {
        match b.column_by_name(name) {
            Some(c) => parts.push(c.clone()),
            None => return Ok(None),
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    if let [one] = parts.as_slice() {
        return Ok(Some(one.clone()));
    }
    let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
    Ok(Some(arrow_select::concat::concat(&refs)?))
}

/// Reads a dictionary (or plain string) column into one sorted dictionary.
fn read_dict(
    batches: &[RecordBatch],
    name: &str,
    dir: &Path,
) -> Result<Option<arrow_array::DictionaryArray<Int32Type>>> {
    let Some(first) = batches.first() else {
        return Ok(None);
    };
    if first.column_by_name(name).is_none() {
        return Ok(None);
    }
    let mut parts = Vec::new();
    for b in batches {
        let col = b
            .column_by_name(name)
            .ok_or_else(|| corrupt(dir, format!("column `{name}` missing in a batch")))?;
        let col = arrow_cast::cast(
            col,
            &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        )?;
        parts.push(col);
    }
    // Fast path (every IPC store, and Parquet files with one dictionary): all batches share one
    // sorted, duplicate-free dictionary, so the keys are already the store's codes.
    if let Some(first) = parts.first() {
        let v0 = first.as_dictionary::<Int32Type>().values().as_string::<i32>().clone();
        let sorted = v0.null_count() == 0 && (1..v0.len()).all(|i| v0.value(i - 1) < v0.value(i));
        let shared = parts.iter().all(|p| {
            let v = p.as_dictionary::<Int32Type>().values().as_string::<i32>();
            v.len() == v0.len() && (0..v.len()).all(|i| v.is_valid(i) && v.value(i) == v0.value(i))
        });
        if sorted && shared {
            let keys = if let [one] = parts.as_slice() {
                one.as_dictionary::<Int32Type>().keys().clone()
            } else {
                let keys: Vec<&dyn Array> = parts
                    .iter()
                    .map(|p| p.as_dictionary::<Int32Type>().keys() as &dyn Array)
                    .collect();
                arrow_select::concat::concat(&keys)?.as_primitive::<Int32Type>().clone()
            };
            return Ok(Some(arrow_array::DictionaryArray::try_new(keys, Arc::new(v0))?));
        }
    }
    let mut values = BTreeSet::new();
    for p in &parts {
        let d = p.as_dictionary::<Int32Type>();
        for v in d.values().as_string::<i32>().iter().flatten() {
            values.insert(v.to_string());
        }
    }
    let values: Vec<String> = values.into_iter().collect();
    let mut codes = Vec::new();
    for p in &parts {
        let d = p.as_dictionary::<Int32Type>();
        let local = d.values().as_string::<i32>();
        let table: Vec<u32> = local
            .iter()
            .map(|v| {
                v.and_then(|v| values.binary_search_by(|x| x.as_str().cmp(v)).ok())
                    .map_or(super::batch::NULL_CODE, |i| i as u32)
            })
            .collect();
        codes.extend(d.keys().iter().map(|k| {
            k.and_then(|k| table.get(usize::try_from(k).ok()?).copied())
                .unwrap_or(super::batch::NULL_CODE)
        }));
    }
    Ok(Some(dictionary(codes, values)?))
}

fn read_floats(batches: &[RecordBatch], name: &str) -> Result<Option<Float64Array>> {
    let Some(a) = concat_column(batches, name)? else {
        return Ok(None);
    };
    let a = if a.data_type() == &DataType::Float64 {
        a
    } else {
        arrow_cast::cast(&a, &DataType::Float64)?
    };
    let a = a.as_primitive::<arrow_array::types::Float64Type>();
    // Kernels rely on finite values with 0.0 in null slots (see `StoreColumns`). Clientele
    // saves them that way; anything else (another writer, or damage) is normalized here:
    // non-finite values become nulls, null slots become 0.0.
    let clean = match a.nulls() {
        None => a.values().iter().all(|v| v.is_finite()),
        Some(n) => a
            .values()
            .iter()
            .zip(n.iter())
            .all(|(v, ok)| if ok { v.is_finite() } else { *v == 0.0 }),
    };
    if !clean {
        return Ok(Some(floats(
            a.iter()
                .map(|v| v.filter(|x| x.is_finite()).unwrap_or(f64::NAN))
                .collect(),
        )));
    }
    Ok(Some(a.clone()))
}

impl EventStore {
    /// Saves the store into directory `dir` (created if needed; existing store files are
    /// replaced).
    ///
    /// # Errors
    /// [`Error::Io`] when the directory or a file cannot be written.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::store::{EventStore, StoreFormat};
    /// let dir = std::env::temp_dir().join(format!("clientele-doc-{}", std::process::id()));
    /// let store = EventStore::empty("purchase")?;
    /// store.save(&dir, StoreFormat::Ipc)?;
    /// let again = EventStore::open(&dir, &clientele::exec::Parallelism::current())?;
    /// assert_eq!(again.num_events(), 0);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok(()) }
    /// ```
    pub fn save(&self, dir: impl AsRef<Path>, format: StoreFormat) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let ext = format.extension();
        let keys_schema = Arc::new(Schema::new(vec![Field::new(
            schema::CUSTOMER_ID,
            self.keys.data_type(),
            false,
        )]));
        let keys = RecordBatch::try_new(keys_schema, vec![self.keys.array()])?;
        // A new generation of files beside the current one; the manifest switches to it in one
        // rename, so a save killed at any point leaves the old store or the new one.
        let path = dir.join("manifest.json");
        let previous = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Manifest>(&t).ok());
        let generation = previous.as_ref().and_then(|m| m.generation).map_or(1, |g| g + 1);
        let mut files = Vec::new();
        for (stem, batch) in [("customers", keys), ("events", self.events()?)] {
            files.push(write_file(dir, format!("{stem}.g{generation}.{ext}"), format, &batch)?);
        }
        let mut manifest = Manifest {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            storage: format,
            purchase_type: self.purchase_type.clone(),
            num_customers: self.num_customers() as u64,
            num_events: self.num_events() as u64,
            created_by: format!("clientele {}", env!("CARGO_PKG_VERSION")),
            generation: Some(generation),
            files,
            binding: None,
        };
        manifest.binding = Some(manifest.binding());
        let text = serde_json::to_string_pretty(&manifest)?;
        crate::io::write_atomically(&path, true, |mut f| {
            std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| Error::io(&path, e))
        })?;
        // The old generation's files (and those of any save killed before its manifest).
        let keep: BTreeSet<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let ours = ["customers.", "events.", ".customers.", ".events."]
                    .iter()
                    .any(|p| name.starts_with(p));
                if ours && !keep.contains(name.as_str()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }

    /// Opens a store saved by [`save`](Self::save), verifying its invariants. Files are read
    /// and checked in `par`'s pool only.
    ///
    /// # Errors
    /// [`Error::Io`] for unreadable files, [`Error::Format`] for undecodable ones, and
    /// [`Error::CorruptStore`] when the manifest, the keys and the events disagree.
    pub fn open(dir: impl AsRef<Path>, par: &Parallelism) -> Result<Self> {
        let dir = dir.as_ref();
        par.install(|| Self::open_here(dir))
    }

    /// [`open`](Self::open) in the current pool.
    fn open_here(dir: &Path) -> Result<Self> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| corrupt(dir, format!("manifest.json: {e}")))?;
        if m.format != FORMAT_NAME || m.version != FORMAT_VERSION {
            return Err(corrupt(
                dir,
                format!("unsupported store format {} version {}", m.format, m.version),
            ));
        }
        if (!m.files.is_empty() || m.binding.is_some()) && m.binding.as_deref() != Some(m.binding().as_str()) {
            return Err(corrupt(
                dir,
                "manifest.json does not match its checksum (edited or damaged); re-ingest the data",
            ));
        }
        let verified = !m.files.is_empty();
        let (customers, customers_entry) = m.file("customers");
        let (events, events_entry) = m.file("events");
        if verified && (customers_entry.is_none() || events_entry.is_none()) {
            return Err(corrupt(dir, "manifest.json does not list the store's data files"));
        }
        let key_batches = read_file(dir, &customers, m.storage, customers_entry)?;
        let keys = concat_column(&key_batches, schema::CUSTOMER_ID)?
            .ok_or_else(|| corrupt(dir, "customers file has no customer_id column"))?;
        let keys = match keys.data_type() {
            DataType::Int64 => CustomerKeys::Int(keys.as_primitive().clone()),
            DataType::Utf8 => CustomerKeys::Str(keys.as_string::<i32>().clone()),
            other => return Err(corrupt(dir, format!("customer_id has type {other}"))),
        };
        let sorted = match &keys {
            CustomerKeys::Int(a) => a.null_count() == 0 && a.values().windows(2).all(|w| w[0] < w[1]),
            CustomerKeys::Str(a) => a.null_count() == 0 && (1..a.len()).all(|i| a.value(i - 1) < a.value(i)),
        };
        if !sorted {
            return Err(corrupt(dir, "customer keys are not strictly increasing"));
        }
        let batches = read_file(dir, &events, m.storage, events_entry)?;
        let idx = concat_column(&batches, super::CUSTOMER_INDEX)?
            .ok_or_else(|| corrupt(dir, "events have no customer_index column"))?;
        let idx = idx
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| corrupt(dir, "customer_index is not UInt32"))?
            .clone();
        let time = concat_column(&batches, schema::EVENT_TIME)?
            .ok_or_else(|| corrupt(dir, "events have no event_time column"))?;
        let time = arrow_cast::cast(
            &time,
            &DataType::Timestamp(TimeUnit::Microsecond, Some(crate::time::UTC.into())),
        )?;
        let time: TimestampMicrosecondArray = time.as_primitive::<TimestampMicrosecondType>().clone();
        let event_type = read_dict(&batches, schema::EVENT_TYPE, dir)?
            .ok_or_else(|| corrupt(dir, "events have no event_type column"))?;
        let columns = StoreColumns {
            time,
            event_type,
            amount: read_floats(&batches, schema::AMOUNT)?,
            channel: read_dict(&batches, schema::CHANNEL, dir)?,
            product: read_dict(&batches, schema::PRODUCT, dir)?,
            campaign_id: read_dict(&batches, schema::CAMPAIGN_ID, dir)?,
            score: read_floats(&batches, schema::SCORE)?,
            cost: read_floats(&batches, schema::COST)?,
        };
        // Invariants: counts, index order and range, time order within each customer.
        let n = columns.len();
        if n as u64 != m.num_events || keys.len() as u64 != m.num_customers || idx.len() != n {
            return Err(corrupt(dir, "event or customer counts differ from the manifest"));
        }
        if idx.null_count() > 0 || columns.time.null_count() > 0 || columns.event_type.null_count() > 0 {
            return Err(corrupt(
                dir,
                "customer_index, event_time and event_type must not be null",
            ));
        }
        let mut offsets = vec![0usize; keys.len() + 1];
        let iv = idx.values();
        let tv = columns.time.values();
        for i in 0..n {
            let c = iv[i] as usize;
            if c >= keys.len() {
                return Err(corrupt(
                    dir,
                    format!("event {i} refers to customer {c}, beyond {}", keys.len()),
                ));
            }
            if i > 0 && (iv[i - 1] > iv[i] || (iv[i - 1] == iv[i] && tv[i - 1] > tv[i])) {
                return Err(corrupt(
                    dir,
                    format!("events are not ordered by (customer, time) at row {i}"),
                ));
            }
            offsets[c + 1] += 1;
        }
        for c in 1..offsets.len() {
            if offsets[c] == 0 {
                return Err(corrupt(dir, format!("customer {} has no events", c - 1)));
            }
            offsets[c] += offsets[c - 1];
        }
        EventStore::from_parts(keys, offsets, columns, m.purchase_type)
    }
}
