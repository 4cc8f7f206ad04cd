//! Saving a store to a directory and opening it again.
//!
//! A saved store is a directory with a `manifest.json` (format name and version, storage
//! format, purchase type, counts, and every data file's size and CRC-32) and data files whose
//! names carry the save's generation:
//!
//! - Arrow IPC storage (the default, format version 2): `customers.g<N>.arrow` holds
//!   `customer_id` (Int64 or Utf8, the keys in dense-index order) and `events` (each
//!   customer's event count); each event column is its own file `events.<column>.g<N>.arrow`
//!   (see [`columnar`](super::columnar): zstd-compressed buffers, batches of 65,536 rows, each
//!   block checksummed, the customers file's blocks indexed by first key in the manifest). A
//!   command opens only the columns it needs ([`EventStore::open_columns`]) and a point lookup
//!   reads only one customer's blocks ([`EventStore::open_customer`]).
//! - Parquet storage (format version 1): `customers.g<N>.parquet` (`customer_id`) and
//!   `events.g<N>.parquet` (the columns of [`EventStore::events`], zstd), readable by any
//!   Parquet tool. The manifest also checksums the events file's row groups and tail one by
//!   one, so that a point lookup reads and verifies only the row group that holds a customer
//!   (see [`parquet_blocks`](super::parquet_blocks)).
//!
//! Stores saved by earlier versions (IPC files in the version 1 layout) still open.
//! [`EventStore::open`] checks the manifest and verifies the ordering invariants, so a damaged
//! or hand-edited store is an error, never a wrong answer.

use std::collections::BTreeSet;
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

use super::columnar;
use super::columns::{StoreColumns, dictionary, floats};
use super::integrity::{self, FileEntry, Hashing};
use super::segments::{SegmentEntry, SourceFile};
use super::{CustomerKeys, EventStore};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::schema;
use crate::schema::Role;

/// How a store's columns are saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreFormat {
    /// Arrow IPC column files (format version 2, zstd-compressed buffers): a job opens only
    /// its columns and a lookup only one customer's blocks. The default.
    #[default]
    Ipc,
    /// Parquet files (zstd, format version 1: one customers and one events file), readable by
    /// any Parquet tool; commands open them whole, a point lookup reads one row group.
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
/// Rows per row group of a Parquet-storage events file.
const PARQUET_EVENT_ROWS: usize = 1 << 20;
/// One `customers` and one `events` file (Parquet storage, and IPC stores of earlier versions).
pub(super) const FORMAT_V1: u32 = 1;
/// Column files with per-block checksums (IPC storage).
pub(super) const FORMAT_V2: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Manifest {
    pub(super) format: String,
    pub(super) version: u32,
    pub(super) storage: StoreFormat,
    pub(super) purchase_type: String,
    pub(super) num_customers: u64,
    pub(super) num_events: u64,
    pub(super) created_by: String,
    /// Save generation: data files are named `customers.g<N>` / `events.g<N>`, so a save
    /// never overwrites the files the current manifest names (absent in stores saved before
    /// 0.1's integrity checks, whose files are `customers.<ext>` / `events.<ext>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) generation: Option<u64>,
    /// The data files with their sizes and checksums (empty in older stores: not verified).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) files: Vec<FileEntry>,
    /// The event columns saved, one file each (format version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) columns: Vec<String>,
    /// The latest event time, microseconds since the epoch (format version 2): what a
    /// one-customer open reports as the store's last event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) last_event: Option<i64>,
    /// The input files this save was ingested from (recognised again by size and CRC-32, so
    /// that an exact re-append is refused); empty when the saver did not say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) sources: Vec<SourceFile>,
    /// Segments appended since the last full save (format version 2), oldest first: each a
    /// store of its own in `appends/<name>/` that [`EventStore::open`] merges in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) segments: Vec<SegmentEntry>,
    /// CRC-32 of the fields above and the file list: an edited manifest is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) binding: Option<String>,
}

impl Manifest {
    /// The checksum of the fields that decide what the store means.
    fn binding(&self) -> String {
        let mut fields = vec![
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
        ];
        if !self.columns.is_empty() {
            fields.push(("columns", self.columns.join(",")));
        }
        if let Some(t) = self.last_event {
            fields.push(("last_event", t.to_string()));
        }
        for src in &self.sources {
            fields.push(("source", src.binding_line()));
        }
        for seg in &self.segments {
            fields.push(("segment", seg.binding_line()));
        }
        integrity::binding(&fields, &self.files)
    }

    /// The data file `stem` (`customers` or `events`): its name and, when recorded, its entry.
    pub(super) fn file(&self, stem: &str) -> (String, Option<&FileEntry>) {
        let ext = self.storage.extension();
        let name = match self.generation {
            Some(g) => format!("{stem}.g{g}.{ext}"),
            None => format!("{stem}.{ext}"),
        };
        let entry = self.files.iter().find(|f| f.name == name);
        (name, entry)
    }
}

pub(super) fn corrupt(dir: &Path, message: impl Into<String>) -> Error {
    Error::CorruptStore {
        path: dir.to_path_buf(),
        message: message.into(),
    }
}

/// Writes one store file atomically and durably (see [`write_atomically`](crate::io::write_atomically)).
/// Returns the file's manifest entry, hashed as it is written.
/// Parquet files get row groups of `row_group_rows` rows.
fn write_file(
    dir: &Path,
    name: String,
    format: StoreFormat,
    batch: &RecordBatch,
    row_group_rows: usize,
) -> Result<FileEntry> {
    let mut entry = None;
    crate::io::write_atomically(dir.join(&name), true, |file| {
        let mut w = Hashing::new(BufWriter::new(file));
        write_into(&mut w, format, batch, row_group_rows)?;
        std::io::Write::flush(&mut w).map_err(|e| Error::io(dir.join(&name), e))?;
        entry = Some(w.entry(name.clone()));
        Ok(())
    })?;
    entry.ok_or_else(|| corrupt(dir, "a store file was not written"))
}

fn write_into<W: std::io::Write + Send>(
    w: W,
    format: StoreFormat,
    batch: &RecordBatch,
    row_group_rows: usize,
) -> Result<()> {
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
                .set_max_row_group_row_count(Some(row_group_rows))
                // Customer keys are unique: a dictionary only adds to them (2.9 MB instead of
                // 1.3 MB for 1M keys in row groups of 65,536).
                .set_column_dictionary_enabled(parquet::schema::types::ColumnPath::from(schema::CUSTOMER_ID), false)
                .build();
            let mut writer = ArrowWriter::try_new(w, batch.schema(), Some(props))?;
            writer.write(batch)?;
            writer.close()?;
        }
    }
    Ok(())
}

/// Reads a store file whole; with `expect`, refuses bytes that are not the recorded ones.
pub(super) fn read_file(
    dir: &Path,
    name: &str,
    format: StoreFormat,
    expect: Option<&FileEntry>,
) -> Result<Vec<RecordBatch>> {
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
        StoreFormat::Ipc => columnar::decode_file(&shown, bytes),
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
pub(super) fn read_parallel(path: &Path) -> std::io::Result<Vec<u8>> {
    use rayon::prelude::*;
    use std::os::unix::fs::FileExt;
    const CHUNK: usize = 16 << 20;
    let file = std::fs::File::open(path)?;
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
pub(super) fn read_parallel(path: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
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

/// The fast path of [`read_dict`] (every column file this version saves): each part a
/// dictionary with Int8, Int16 or Int32 keys over one shared, sorted Utf8 dictionary. The keys
/// are widened to Int32 into one array in parallel (no per-part cast, no concatenation) and
/// checked once; `None` when the parts are not like that.
fn shared_dictionary(cols: &[&ArrayRef]) -> Result<Option<arrow_array::DictionaryArray<Int32Type>>> {
    use arrow_array::types::{Int8Type, Int16Type};
    use rayon::prelude::*;
    let Some(first) = cols.first() else {
        return Ok(None);
    };
    let key_ok = |t: &DataType| match t {
        DataType::Dictionary(k, v) => {
            matches!(**k, DataType::Int8 | DataType::Int16 | DataType::Int32) && **v == DataType::Utf8
        }
        _ => false,
    };
    if !cols.iter().all(|c| key_ok(c.data_type())) {
        return Ok(None);
    }
    let values = first.as_any_dictionary().values().clone();
    let Some(v0) = values.as_string_opt::<i32>() else {
        return Ok(None);
    };
    let sorted = v0.null_count() == 0 && (1..v0.len()).all(|i| v0.value(i - 1) < v0.value(i));
    let shared = cols.iter().all(|c| {
        let v = c.as_any_dictionary().values();
        Arc::ptr_eq(v, &values) || v.as_ref() == values.as_ref()
    });
    if !sorted || !shared {
        return Ok(None);
    }
    let total: usize = cols.iter().map(|c| c.len()).sum();
    let mut keys = vec![0i32; total];
    let mut jobs = Vec::with_capacity(cols.len());
    let mut rest: &mut [i32] = &mut keys;
    for c in cols {
        let Some((here, later)) = rest.split_at_mut_checked(c.len()) else {
            return Ok(None);
        };
        jobs.push((*c, here));
        rest = later;
    }
    jobs.into_par_iter().for_each(|(c, out)| {
        let mut widen = |src: &mut dyn Iterator<Item = i32>| out.iter_mut().zip(src).for_each(|(o, k)| *o = k);
        if let Some(d) = c.as_dictionary_opt::<Int8Type>() {
            widen(&mut d.keys().values().iter().map(|&k| i32::from(k)));
        } else if let Some(d) = c.as_dictionary_opt::<Int16Type>() {
            widen(&mut d.keys().values().iter().map(|&k| i32::from(k)));
        } else if let Some(d) = c.as_dictionary_opt::<Int32Type>() {
            widen(&mut d.keys().values().iter().copied());
        }
    });
    let nulls = if cols.iter().any(|c| c.null_count() > 0) {
        let mut b = arrow_buffer::BooleanBufferBuilder::new(total);
        for c in cols {
            match c.nulls() {
                Some(n) => b.append_buffer(n.inner()),
                None => b.append_n(c.len(), true),
            }
        }
        Some(arrow_buffer::NullBuffer::new(b.finish()))
    } else {
        None
    };
    let keys = arrow_array::Int32Array::new(keys.into(), nulls);
    Ok(Some(arrow_array::DictionaryArray::try_new(keys, values)?))
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
    let mut cols = Vec::with_capacity(batches.len());
    for b in batches {
        let col = b
            .column_by_name(name)
            .ok_or_else(|| corrupt(dir, format!("column `{name}` missing in a batch")))?;
        cols.push(col);
    }
    if let Some(d) = shared_dictionary(&cols)? {
        return Ok(Some(d));
    }
    let mut parts = Vec::new();
    for col in cols {
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
    // Clean = every value finite (vectorized, in parallel) and every null slot 0.0 (only the
    // null positions are visited).
    let values = a.values();
    let finite = {
        use rayon::prelude::*;
        values.par_chunks(1 << 16).all(|c| c.iter().all(|v| v.is_finite()))
    };
    let clean = finite
        && a.nulls()
            .is_none_or(|n| (!n.inner()).set_indices().all(|i| values.get(i) == Some(&0.0)));
    if !clean {
        return Ok(Some(floats(
            a.iter()
                .map(|v| v.filter(|x| x.is_finite()).unwrap_or(f64::NAN))
                .collect(),
        )));
    }
    Ok(Some(a.clone()))
}

/// Reads and checks `manifest.json` of the store in `dir`.
pub(super) fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    read_manifest_text(dir, &text)
}

/// Parses and checks `text`, the `manifest.json` of the store in `dir`.
pub(super) fn read_manifest_text(dir: &Path, text: &str) -> Result<Manifest> {
    let m: Manifest = serde_json::from_str(text).map_err(|e| corrupt(dir, format!("manifest.json: {e}")))?;
    let known = match m.version {
        // Segments on a version 1 store: only on a verified Parquet-storage one (see
        // `segments`); its segments are version 2 stores of their own.
        FORMAT_V1 => {
            m.columns.is_empty()
                && (m.segments.is_empty() || (m.storage == StoreFormat::Parquet && !m.files.is_empty()))
        }
        FORMAT_V2 => m.storage == StoreFormat::Ipc && !m.files.is_empty(),
        _ => false,
    };
    if m.format != FORMAT_NAME || !known {
        return Err(corrupt(
            dir,
            format!("unsupported store format {} version {}", m.format, m.version),
        ));
    }
    if (!m.files.is_empty() || m.binding.is_some()) && m.binding.as_deref() != Some(m.binding().as_str()) {
        // Fields this build does not know are bound too: a newer build saved the store.
        if let Some(field) = unknown_field(text, &m) {
            return Err(corrupt(
                dir,
                format!(
                    "manifest.json has a field this build does not know ({field}): the store was saved by a newer Clientele; open it with that version, or re-ingest"
                ),
            ));
        }
        return Err(corrupt(
            dir,
            "manifest.json does not match its checksum (edited or damaged); re-ingest the data",
        ));
    }
    Ok(m)
}

/// The path of the first field of the manifest `text` that `m` (parsed from it) does not
/// hold, such as `files[2].blocks[0].first_key`; `None` when there is none.
fn unknown_field(text: &str, m: &Manifest) -> Option<String> {
    fn first(raw: &serde_json::Value, known: &serde_json::Value, at: &str) -> Option<String> {
        use serde_json::Value;
        match (raw, known) {
            (Value::Object(r), Value::Object(k)) => r.iter().find_map(|(name, v)| {
                let path = if at.is_empty() {
                    name.clone()
                } else {
                    format!("{at}.{name}")
                };
                // Absent, null and empty values are the same to a manifest (fields left out
                // when empty).
                let empty = match v {
                    Value::Null => true,
                    Value::Array(a) => a.is_empty(),
                    Value::Object(o) => o.is_empty(),
                    _ => false,
                };
                match k.get(name) {
                    None if !empty => Some(path),
                    None => None,
                    Some(kv) => first(v, kv, &path),
                }
            }),
            (Value::Array(r), Value::Array(k)) => r
                .iter()
                .zip(k)
                .enumerate()
                .find_map(|(i, (rv, kv))| first(rv, kv, &format!("{at}[{i}]"))),
            _ => None,
        }
    }
    let raw: serde_json::Value = serde_json::from_str(text).ok()?;
    let known = serde_json::to_value(m).ok()?;
    first(&raw, &known, "")
}

/// Binds `m` (its checksum) and writes it as `dir/manifest.json`, atomically and durably: the
/// one rename that switches the store to the files `m` names.
pub(super) fn write_manifest(dir: &Path, m: &mut Manifest) -> Result<()> {
    m.binding = Some(m.binding());
    let text = serde_json::to_string_pretty(&*m)?;
    let path = dir.join("manifest.json");
    crate::io::write_atomically(&path, true, |mut f| {
        std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| Error::io(&path, e))
    })
}

/// Whether event column `role` is wanted by a projection (`None`: every column). Time and
/// event type are always read.
fn wanted(roles: Option<&[Role]>, role: Role) -> bool {
    matches!(role, Role::EventTime | Role::EventType) || roles.is_none_or(|r| r.contains(&role))
}

/// The saved event columns of manifest `m` that `roles` want (as [`EventStore::open_columns`]
/// reads them).
pub(super) fn wanted_columns(m: &Manifest, roles: Option<&[Role]>) -> Vec<&'static str> {
    wanted_among(&m.columns, roles)
}

/// The event columns among `present` (column names) that `roles` want, in canonical order.
pub(super) fn wanted_among(present: &[String], roles: Option<&[Role]>) -> Vec<&'static str> {
    EVENT_COLUMNS
        .iter()
        .filter(|(role, name)| wanted(roles, *role) && present.iter().any(|c| c == name))
        .map(|(_, name)| *name)
        .collect()
}

/// The store's event columns by role, with their column names, in canonical order.
const EVENT_COLUMNS: [(Role, &str); 8] = [
    (Role::EventTime, schema::EVENT_TIME),
    (Role::EventType, schema::EVENT_TYPE),
    (Role::Amount, schema::AMOUNT),
    (Role::Channel, schema::CHANNEL),
    (Role::Product, schema::PRODUCT),
    (Role::CampaignId, schema::CAMPAIGN_ID),
    (Role::Score, schema::SCORE),
    (Role::Cost, schema::COST),
];

/// Event columns from per-column batches (absent names: columns not present or not read).
pub(super) fn store_columns(dir: &Path, batches: &dyn Fn(&str) -> Option<Vec<RecordBatch>>) -> Result<StoreColumns> {
    let none = Vec::new;
    let get = |name: &str| batches(name).unwrap_or_else(none);
    let time = concat_column(&get(schema::EVENT_TIME), schema::EVENT_TIME)?
        .ok_or_else(|| corrupt(dir, "events have no event_time column"))?;
    let time = arrow_cast::cast(
        &time,
        &DataType::Timestamp(TimeUnit::Microsecond, Some(crate::time::UTC.into())),
    )?;
    let time: TimestampMicrosecondArray = time.as_primitive::<TimestampMicrosecondType>().clone();
    let event_type = read_dict(&get(schema::EVENT_TYPE), schema::EVENT_TYPE, dir)?
        .ok_or_else(|| corrupt(dir, "events have no event_type column"))?;
    let columns = StoreColumns {
        time,
        event_type,
        amount: read_floats(&get(schema::AMOUNT), schema::AMOUNT)?,
        channel: read_dict(&get(schema::CHANNEL), schema::CHANNEL, dir)?,
        product: read_dict(&get(schema::PRODUCT), schema::PRODUCT, dir)?,
        campaign_id: read_dict(&get(schema::CAMPAIGN_ID), schema::CAMPAIGN_ID, dir)?,
        score: read_floats(&get(schema::SCORE), schema::SCORE)?,
        cost: read_floats(&get(schema::COST), schema::COST)?,
    };
    // Each column is its own file: kernels index every column by the time column's rows.
    let n = columns.time.len();
    let c = &columns;
    let lengths = [
        Some(c.event_type.len()),
        c.amount.as_ref().map(Array::len),
        c.score.as_ref().map(Array::len),
        c.cost.as_ref().map(Array::len),
    ]
    .into_iter()
    .chain(
        [&c.channel, &c.product, &c.campaign_id]
            .into_iter()
            .map(|d| d.as_ref().map(Array::len)),
    );
    for len in lengths.flatten() {
        if len != n {
            return Err(corrupt(dir, format!("a column has {len} rows, event_time has {n}")));
        }
    }
    Ok(columns)
}

/// The customers file of a version 2 store: keys (checked strictly increasing) and event
/// counts.
pub(super) fn read_customers_v2(dir: &Path, m: &Manifest) -> Result<(CustomerKeys, Vec<u32>)> {
    let (name, entry) = m.file("customers");
    let entry = entry.ok_or_else(|| corrupt(dir, "manifest.json does not list the customers file"))?;
    let batches = read_file(dir, &name, m.storage, Some(entry))?;
    let (keys, counts) = customers_of(dir, &batches)?;
    if keys.len() as u64 != m.num_customers {
        return Err(corrupt(dir, "customer counts differ from the manifest"));
    }
    Ok((keys, counts))
}

/// The customer keys of the version 1 store (base) of manifest `m` in `dir`.
pub(super) fn read_keys_v1(dir: &Path, m: &Manifest) -> Result<CustomerKeys> {
    let (customers, entry) = m.file("customers");
    if !m.files.is_empty() && entry.is_none() {
        return Err(corrupt(dir, "manifest.json does not list the customers file"));
    }
    let batches = read_file(dir, &customers, m.storage, entry)?;
    read_keys(dir, &batches)
}

/// The keys (checked strictly increasing) and event counts of batches of a version 2
/// customers file (the whole file, or the blocks a lookup read).
pub(super) fn customers_of(dir: &Path, batches: &[RecordBatch]) -> Result<(CustomerKeys, Vec<u32>)> {
    let keys = read_keys(dir, batches)?;
    let counts =
        concat_column(batches, CUSTOMER_EVENTS)?.ok_or_else(|| corrupt(dir, "customers file has no events column"))?;
    let counts = counts
        .as_primitive_opt::<UInt32Type>()
        .filter(|c| c.null_count() == 0)
        .ok_or_else(|| corrupt(dir, "the customers' event counts are not non-null UInt32"))?;
    if counts.len() != keys.len() {
        return Err(corrupt(dir, "customer counts differ from the manifest"));
    }
    Ok((keys, counts.values().to_vec()))
}

/// The customer keys of a customers file, checked strictly increasing.
pub(super) fn read_keys(dir: &Path, batches: &[RecordBatch]) -> Result<CustomerKeys> {
    let keys = concat_column(batches, schema::CUSTOMER_ID)?
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
    Ok(keys)
}

/// The name of the per-customer event count column in a version 2 customers file.
const CUSTOMER_EVENTS: &str = "events";

/// Checks that `columns` (time and type without nulls) are ordered by time within each of the
/// customers `offsets` delimit.
pub(super) fn check_order(dir: &Path, offsets: &[usize], columns: &StoreColumns) -> Result<()> {
    use rayon::prelude::*;
    if columns.time.null_count() > 0 || columns.event_type.null_count() > 0 {
        return Err(corrupt(dir, "event_time and event_type must not be null"));
    }
    let tv = columns.time.values();
    let bad = offsets.par_windows(2).position_any(|w| {
        tv.get(w[0]..w[1])
            .is_none_or(|slice| slice.windows(2).any(|p| p[0] > p[1]))
    });
    match bad {
        Some(c) => Err(corrupt(
            dir,
            format!("the events of customer {c} are not ordered by time"),
        )),
        None => Ok(()),
    }
}

/// Offsets from per-customer event counts (each at least 1), checked against `num_events`.
fn offsets_from_counts(dir: &Path, counts: &[u32], num_events: u64) -> Result<Vec<usize>> {
    let mut offsets = Vec::with_capacity(counts.len() + 1);
    let mut at = 0usize;
    offsets.push(0);
    for (c, &n) in counts.iter().enumerate() {
        if n == 0 {
            return Err(corrupt(dir, format!("customer {c} has no events")));
        }
        at += n as usize;
        offsets.push(at);
    }
    if at as u64 != num_events {
        return Err(corrupt(dir, "event counts differ from the manifest"));
    }
    Ok(offsets)
}

/// The event columns of a version 2 store that `roles` want, each column file read by
/// `read(file name, its manifest entry)`.
fn load_columns(
    dir: &Path,
    m: &Manifest,
    roles: Option<&[Role]>,
    read: impl Fn(&str, &FileEntry) -> Result<Vec<RecordBatch>>,
) -> Result<StoreColumns> {
    let mut loaded = Vec::new();
    for (role, name) in EVENT_COLUMNS {
        if !wanted(roles, role) || !m.columns.iter().any(|x| x == name) {
            continue;
        }
        let (file, entry) = m.file(&format!("events.{name}"));
        let entry = entry.ok_or_else(|| corrupt(dir, format!("manifest.json does not list {file}")))?;
        loaded.push((name, read(&file, entry)?));
    }
    store_columns(dir, &|name| {
        loaded.iter().find(|(n, _)| *n == name).map(|(_, b)| b.clone())
    })
}

impl EventStore {
    /// Saves the store into directory `dir` (created if needed; existing store files are
    /// replaced), on the calling thread: IPC storage compresses its column files one after
    /// the other, or in parallel when called inside a pool ([`save_in`](Self::save_in)).
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
        self.save_sourced(dir, format, &[])
    }

    /// [`save`](Self::save), recording the input files the store was ingested from, so that
    /// [`append_saved`](Self::append_saved) refuses them later.
    ///
    /// # Errors
    /// As [`save`](Self::save).
    pub fn save_sourced(&self, dir: impl AsRef<Path>, format: StoreFormat, sources: &[SourceFile]) -> Result<()> {
        self.save_blocks(dir.as_ref(), format, sources, columnar::BLOCK_ROWS)
    }

    /// [`save_sourced`](Self::save_sourced) with IPC column files in blocks of `block_rows`
    /// rows (appended segments use small blocks: a lookup decodes one block per column).
    pub(super) fn save_blocks(
        &self,
        dir: &Path,
        format: StoreFormat,
        sources: &[SourceFile],
        block_rows: usize,
    ) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        // A new generation of files beside the current one; the manifest switches to it in one
        // rename, so a save killed at any point leaves the old store or the new one.
        let path = dir.join("manifest.json");
        let previous = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Manifest>(&t).ok());
        let generation = previous.as_ref().and_then(|m| m.generation).map_or(1, |g| g + 1);
        let mut manifest = Manifest {
            format: FORMAT_NAME.into(),
            version: FORMAT_V1,
            storage: format,
            purchase_type: self.purchase_type.clone(),
            num_customers: self.num_customers() as u64,
            num_events: self.num_events() as u64,
            created_by: format!("clientele {}", env!("CARGO_PKG_VERSION")),
            generation: Some(generation),
            files: Vec::new(),
            columns: Vec::new(),
            last_event: None,
            sources: sources.to_vec(),
            segments: Vec::new(),
            binding: None,
        };
        match format {
            StoreFormat::Ipc => {
                manifest.version = FORMAT_V2;
                // The saved columns' own latest event (a one-customer store answers for the
                // store it came from, which is not what its files hold).
                manifest.last_event = self.columns.time.values().iter().max().copied();
                self.save_columns(dir, &mut manifest, block_rows)?;
            }
            StoreFormat::Parquet => {
                let ext = format.extension();
                let keys_schema = Arc::new(Schema::new(vec![Field::new(
                    schema::CUSTOMER_ID,
                    self.keys.data_type(),
                    false,
                )]));
                let keys = RecordBatch::try_new(keys_schema, vec![self.keys.array()])?;
                // Keys in row groups of a column file's block: a point lookup reads and
                // verifies the one whose first key (in the manifest) can hold its key. Events
                // in row groups of 1M rows; a lookup reads and verifies the one (or few) that
                // can hold the customer.
                for (stem, batch, rows) in [
                    ("customers", keys, columnar::BLOCK_ROWS),
                    ("events", self.events()?, PARQUET_EVENT_ROWS),
                ] {
                    let name = format!("{stem}.g{generation}.{ext}");
                    let mut entry = write_file(dir, name, format, &batch, rows)?;
                    entry.blocks = super::parquet_blocks::blocks_of(&dir.join(&entry.name), &entry)?;
                    if stem == "customers" {
                        super::lookup::index_customer_blocks(&mut entry.blocks, &self.keys, &self.event_counts()?);
                    }
                    manifest.files.push(entry);
                }
            }
        }
        write_manifest(dir, &mut manifest)?;
        // Appended segments are part of the old store: the new base holds their events.
        let appends = dir.join(super::segments::APPENDS);
        if appends.exists() {
            let _ = std::fs::remove_dir_all(&appends);
        }
        // The old generation's files (and those of any save killed before its manifest).
        let keep: BTreeSet<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let ours = [
                    "customers.",
                    "events.",
                    "rollup.",
                    "activity.",
                    ".customers.",
                    ".events.",
                    ".rollup.",
                    ".activity.",
                ]
                .iter()
                .any(|p| name.starts_with(p));
                if ours && !keep.contains(name.as_str()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }

    /// [`save`](Self::save) with the column files compressed and checksummed in parallel in
    /// `par`'s pool (only).
    ///
    /// # Errors
    /// As [`save`](Self::save).
    pub fn save_in(&self, dir: impl AsRef<Path>, format: StoreFormat, par: &Parallelism) -> Result<()> {
        let dir = dir.as_ref();
        par.install(|| self.save(dir, format))
    }

    /// Each customer's number of events, in key order.
    fn event_counts(&self) -> Result<Vec<u32>> {
        self.offsets
            .windows(2)
            .map(|w| u32::try_from(w[1] - w[0]))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::Capacity {
                message: "a customer has more than 4,294,967,295 events".into(),
            })
    }

    /// Writes the format version 2 files (customers with event counts, one file per event
    /// column) and records them in `m`.
    fn save_columns(&self, dir: &Path, m: &mut Manifest, block_rows: usize) -> Result<()> {
        use rayon::prelude::*;
        let counts = arrow_array::UInt32Array::from(self.event_counts()?);
        let customers = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new(schema::CUSTOMER_ID, self.keys.data_type(), false),
                Field::new(CUSTOMER_EVENTS, DataType::UInt32, false),
            ])),
            vec![self.keys.array(), Arc::new(counts.clone())],
        )?;
        let mut parts = vec![("customers".to_string(), customers)];
        // The purchase totals per customer (see `rollup`): kernels that need only those read
        // one row per customer instead of the events.
        let rollup = if rayon::current_thread_index().is_some() {
            super::rollup::PurchaseRollup::of(self, &crate::exec::Parallelism::current())
        } else {
            super::rollup::PurchaseRollup::of_sequential(self)
        };
        let rollup = (super::rollup::ROLLUP.to_string(), rollup.to_batch()?);
        // Each customer's activity and purchase periods (see `activity`): the summary of the
        // whole store reads one row per customer.
        let activity = (
            super::activity::ACTIVITY.to_string(),
            super::activity::ActivityRollup::of(self).to_batch()?,
        );
        let event_schema = self.events_schema();
        for (field, column) in event_schema.fields().iter().skip(1).zip(self.event_columns()) {
            let column = whole_seconds(narrow_keys(column)?);
            let field = Field::new(field.name(), column.data_type().clone(), field.is_nullable());
            let batch = RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![column])?;
            m.columns.push(batch.schema().field(0).name().clone());
            parts.push((format!("events.{}", batch.schema().field(0).name()), batch));
        }
        parts.push(rollup);
        parts.push(activity);
        let encode = |(stem, batch): (String, RecordBatch)| -> Result<(String, Vec<u8>, Vec<columnar::BlockEntry>)> {
            let (bytes, blocks) = columnar::encode(&batch, block_rows)?;
            Ok((stem, bytes, blocks))
        };
        // In the caller's pool when there is one (see `save_in`); never in rayon's global pool.
        let encoded: Vec<(String, Vec<u8>, Vec<columnar::BlockEntry>)> = if rayon::current_thread_index().is_some() {
            parts.into_par_iter().map(encode).collect::<Result<_>>()?
        } else {
            parts.into_iter().map(encode).collect::<Result<_>>()?
        };
        for (stem, bytes, mut blocks) in encoded {
            if stem == "customers" {
                // A point lookup reads only the block that can hold its key.
                super::lookup::index_customer_blocks(&mut blocks, &self.keys, counts.values());
            }
            let (name, _) = m.file(&stem);
            let path = dir.join(&name);
            crate::io::write_atomically(&path, true, |mut f| {
                std::io::Write::write_all(&mut f, &bytes).map_err(|e| Error::io(&path, e))
            })?;
            m.files.push(FileEntry {
                name,
                bytes: bytes.len() as u64,
                crc32: format!("{:08x}", integrity::checksum(&bytes)),
                blocks,
            });
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
        Self::open_columns(dir, None, par)
    }

    /// [`open`](Self::open) reading only the event columns of `roles` (`None`: all; time and
    /// event type always). A version 2 store (IPC) reads only those columns' files; an older
    /// store reads everything and drops the rest, so the result is the same either way: the
    /// store a file ingest restricted to the same roles would build.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_columns(dir: impl AsRef<Path>, roles: Option<&[Role]>, par: &Parallelism) -> Result<Self> {
        let dir = dir.as_ref();
        par.install(|| Self::open_manifest(dir, &read_manifest(dir)?, roles))
    }

    /// [`open_columns`](Self::open_columns) of the store in `dir` whose manifest is `m`, in
    /// the current pool.
    fn open_manifest(dir: &Path, m: &Manifest, roles: Option<&[Role]>) -> Result<Self> {
        if m.segments.is_empty() {
            return if m.version == FORMAT_V2 {
                Self::open_v2(dir, m, roles)
            } else {
                Self::open_v1(dir, m).map(|s| s.project(roles))
            };
        }
        // Merging orders ties by amount: read it for the merge, drop it after.
        let merge_roles = super::segments::merge_roles(roles);
        let base = if m.version == FORMAT_V2 {
            Self::open_v2(dir, m, merge_roles.as_deref())?
        } else {
            Self::open_v1(dir, m)?.project(merge_roles.as_deref())
        };
        super::segments::with_segments(dir, m, base, merge_roles.as_deref()).map(|s| s.project(roles))
    }

    /// This store with only the event columns of `roles` (`None`: all).
    pub(super) fn project(mut self, roles: Option<&[Role]>) -> Self {
        let c = &mut self.columns;
        for (role, slot) in [
            (Role::Amount, &mut c.amount),
            (Role::Score, &mut c.score),
            (Role::Cost, &mut c.cost),
        ] {
            if !wanted(roles, role) {
                *slot = None;
            }
        }
        let dicts = [
            (Role::Channel, &mut c.channel),
            (Role::Product, &mut c.product),
            (Role::CampaignId, &mut c.campaign_id),
        ];
        for (role, slot) in dicts {
            if !wanted(roles, role) {
                *slot = None;
            }
        }
        self
    }

    /// Opens one customer of a saved store: a store holding only the customer with `key` and
    /// its events (the columns of `roles`, as [`open_columns`](Self::open_columns)), or `None`
    /// when the store does not hold the key. A version 2 store reads the customers file and,
    /// of each column file, only the footer, the dictionaries and the blocks that hold the
    /// customer's rows, each verified against the manifest: a lookup costs milliseconds
    /// whatever the store's size. Older stores are opened whole.
    ///
    /// The one-customer store gives the same per-customer answers (a 360 card, say) as the
    /// whole store: dictionaries and purchase type are the store's.
    ///
    /// # Errors
    /// As [`open`](Self::open), for the parts read.
    pub fn open_customer(
        dir: impl AsRef<Path>,
        key: super::KeyRef<'_>,
        roles: Option<&[Role]>,
        par: &Parallelism,
    ) -> Result<Option<Self>> {
        let dir = dir.as_ref();
        par.install(|| {
            let m = read_manifest(dir)?;
            if m.version != FORMAT_V2 {
                // A Parquet-storage store decodes the customer's rows only, where it can.
                if let Some(found) = super::lookup_parquet::lookup_v1(dir, &m, key, roles)? {
                    return Ok(found);
                }
                // Otherwise a version 1 store (and its segments) is opened whole.
                let store = Self::open_manifest(dir, &m, roles)?;
                return match store.customer_index(key) {
                    Some(c) => store.customer_subset(c as usize).map(Some),
                    None => Ok(None),
                };
            }
            super::segments::lookup(dir, &m, key, roles)
        })
    }

    /// The one-customer store of `key` in the version 2 store (base or segment) of manifest
    /// `m` in `dir`, without its segments; `None` when it does not hold the key.
    pub(super) fn lookup_v2(
        dir: &Path,
        m: &Manifest,
        key: super::KeyRef<'_>,
        roles: Option<&[Role]>,
    ) -> Result<Option<Self>> {
        let Some(found) = super::lookup::find_customer(dir, m, key)? else {
            return Ok(None);
        };
        let (start, n) = (found.first_event, found.events);
        if n == 0 {
            return Err(corrupt(dir, format!("customer {key} has no events")));
        }
        let rows = start..start + n;
        let columns = load_columns(dir, m, roles, |file, entry| {
            columnar::read_rows(&dir.join(file), &entry.blocks, rows.clone())
        })?;
        if columns.len() != n {
            return Err(corrupt(dir, "a column has other rows than the customer's count"));
        }
        let offsets = vec![0, n];
        check_order(dir, &offsets, &columns)?;
        Ok(Some(EventStore::from_parts(
            found.key,
            offsets,
            columns,
            m.purchase_type.clone(),
        )?))
    }

    /// A store of dense customer `c` alone (an index past the last gives an error).
    pub(crate) fn customer_subset(&self, c: usize) -> Result<Self> {
        if c >= self.num_customers() {
            return Err(Error::Capacity {
                message: format!("internal: customer {c} beyond {}", self.num_customers()),
            });
        }
        let r = self.customer_range(c);
        let cols = &self.columns;
        let dict = |d: &Option<arrow_array::DictionaryArray<Int32Type>>| d.as_ref().map(|d| d.slice(r.start, r.len()));
        let float = |f: &Option<Float64Array>| f.as_ref().map(|f| f.slice(r.start, r.len()));
        let columns = StoreColumns {
            time: cols.time.slice(r.start, r.len()),
            event_type: cols.event_type.slice(r.start, r.len()),
            amount: float(&cols.amount),
            channel: dict(&cols.channel),
            product: dict(&cols.product),
            campaign_id: dict(&cols.campaign_id),
            score: float(&cols.score),
            cost: float(&cols.cost),
        };
        let one = EventStore::from_parts(
            self.keys.slice(c, 1),
            vec![0, r.len()],
            columns,
            self.purchase_type.clone(),
        )?;
        Ok(one.with_last_event(self.last_event))
    }

    /// Opens a format version 2 store: the customers file and the wanted column files, each
    /// read whole and verified, their batches decoded in parallel.
    pub(super) fn open_v2(dir: &Path, m: &Manifest, roles: Option<&[Role]>) -> Result<Self> {
        let (keys, counts) = read_customers_v2(dir, m)?;
        let offsets = offsets_from_counts(dir, &counts, m.num_events)?;
        drop(counts);
        let columns = load_columns(dir, m, roles, |file, entry| {
            read_file(dir, file, m.storage, Some(entry))
        })?;
        if columns.len() as u64 != m.num_events {
            return Err(corrupt(dir, "event or customer counts differ from the manifest"));
        }
        check_order(dir, &offsets, &columns)?;
        let store = EventStore::from_parts(keys, offsets, columns, m.purchase_type.clone())?;
        if store.last_event_micros() != m.last_event {
            return Err(corrupt(dir, "the latest event time differs from the manifest"));
        }
        Ok(store)
    }

    /// Opens a format version 1 store (one customers and one events file), without its
    /// segments.
    fn open_v1(dir: &Path, m: &Manifest) -> Result<Self> {
        let verified = !m.files.is_empty();
        let (customers, customers_entry) = m.file("customers");
        let (events, events_entry) = m.file("events");
        if verified && (customers_entry.is_none() || events_entry.is_none()) {
            return Err(corrupt(dir, "manifest.json does not list the store's data files"));
        }
        let key_batches = read_file(dir, &customers, m.storage, customers_entry)?;
        let keys = read_keys(dir, &key_batches)?;
        let batches = read_file(dir, &events, m.storage, events_entry)?;
        let idx = concat_column(&batches, super::CUSTOMER_INDEX)?
            .ok_or_else(|| corrupt(dir, "events have no customer_index column"))?;
        let idx = idx
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| corrupt(dir, "customer_index is not UInt32"))?
            .clone();
        let columns = store_columns(dir, &|_| Some(batches.clone()))?;
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
        EventStore::from_parts(keys, offsets, columns, m.purchase_type.clone())
    }
}

/// A dictionary column with the narrowest key type its dictionary allows (Int8 up to 127
/// values, Int16 up to 32,767): the keys are most of a dictionary column's bytes. Other
/// columns pass unchanged.
fn narrow_keys(column: ArrayRef) -> Result<ArrayRef> {
    let DataType::Dictionary(_, value) = column.data_type() else {
        return Ok(column);
    };
    let values = column.as_any_dictionary().values().len();
    let key = if values <= i8::MAX as usize {
        DataType::Int8
    } else if values <= i16::MAX as usize {
        DataType::Int16
    } else {
        return Ok(column);
    };
    Ok(arrow_cast::cast(
        &column,
        &DataType::Dictionary(Box::new(key), value.clone()),
    )?)
}

/// A time column whose every value is a whole second, in seconds (others pass unchanged).
/// Microseconds of whole seconds are multiples of 10⁶, a regularity a byte compressor cannot
/// see: in seconds the event-time file of the generated 1M-customer store is a third smaller.
/// Opening casts every time column to microseconds, so readers see no difference.
fn whole_seconds(column: ArrayRef) -> ArrayRef {
    use arrow_array::types::TimestampSecondType;
    match column.as_primitive_opt::<TimestampMicrosecondType>() {
        Some(t) if t.null_count() == 0 && t.values().iter().all(|v| v % 1_000_000 == 0) => {
            let seconds = t.unary::<_, TimestampSecondType>(|v| v / 1_000_000);
            Arc::new(seconds.with_timezone_opt(t.timezone().map(str::to_string)))
        }
        _ => column,
    }
}
