//! Purchases straight from a Parquet file (or from record batches in memory,
//! [`scan_batches`]), without building a store; and, for a sink that asks for them
//! ([`PurchaseSink::wants_events`]), every event too.
//!
//! Several kernels need only the purchases of an event log: for each one the customer, the
//! time and the amount. This module decodes exactly those columns (`customer_id`,
//! `event_time`, `event_type`, `amount`) row group by row group in parallel and hands each
//! purchase to a per-worker [`PurchaseSink`], whose partial states the caller then merges.
//! Kernels whose state merges exactly (integer sums, min / max, sets) therefore give the
//! same answer as over a store, in any decoding order and whatever the thread count, and skip
//! ordering all events by customer and time, which is most of what building a store costs.
//!
//! It applies to integer (Int64) customer keys (offsets from the smallest key when the row
//! groups' statistics show them at most 4 × the row count apart; without statistics, read once
//! first for their range, and ranked when that range is wider, see [`keys`]) and to text customer keys (any string layout; read once first: keys
//! that all read as integers are those integers, and other text keys are ranked in byte
//! order); event times as timestamps of any unit (nanoseconds, and Spark's INT96, are floored to
//! microseconds as ingestion does) or dates (Date32, Date64); an amount of any numeric or
//! decimal type (converted to f64 as ingestion converts it); an event-type column of strings
//! in any Arrow layout (Utf8, LargeUtf8, Utf8View, or a dictionary of those), or none (every
//! row a purchase). A kernel on this path must
//! give exactly the table the store path gives, so the scan also refuses any file with a row
//! the ingestion would reject (a null key or time, a time out of range, a null or blank event
//! type, an amount that is not finite or beyond ±10¹⁵, a negative purchase without
//! `allow_refunds`, a loaded score or cost column whose statistics do not prove it within
//! bounds): [`PurchaseScan::open`] or [`PurchaseScan::run`] then returns `None` and the caller
//! takes the store path, which reports those rows. Restrict `IngestOptions::roles` to the
//! roles the fallback loads so that both paths check the same columns.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::file::statistics::Statistics;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::ingest::{IngestOptions, KeyType, MAX_AMOUNT};
use crate::schema::Role;
use crate::time::{END_EVENT_MICROS, MIN_EVENT_MICROS};
use keys::{KeyMap, TextKeys, trim_key};

mod bitpack;
mod delta;
mod hybrid;
pub(crate) mod keys;
mod pages;
#[cfg(test)]
mod tests;

/// Receives the purchases one worker decodes. `customer` is the key's offset (below
/// [`PurchaseScan::customers`]; see [`KeyMap`]); `time` is in µs since the epoch.
pub(crate) trait PurchaseSink: Send {
    /// One purchase (only purchases before the scan's `until` reach the sink).
    fn push(&mut self, customer: u32, time: i64, amount: f64);
    /// Purchases of one batch, in row order (as many calls of [`push`](Self::push)).
    fn extend(&mut self, purchases: &[(u32, i64, f64)]) {
        for &(c, t, a) in purchases {
            self.push(c, t, a);
        }
    }
    /// Whether the sink also wants every event, of any type and at any time
    /// ([`events`](Self::events)). A scan then reads every row group through the Arrow
    /// reader, which decodes every row (the page decoder picks out the purchases only).
    fn wants_events(&self) -> bool {
        false
    }
    /// Every event of one batch, in row order, when [`wants_events`](Self::wants_events):
    /// (customer, time in µs, event type as an index into `names`). `names` are the batch's
    /// event types, trimmed as ingestion trims them; an index names a type of at least one
    /// event, and the same type may come under two indices. Without an event-type column every
    /// event is a purchase, named by the scan's purchase type.
    fn events(&mut self, names: &[&str], events: &[(u32, i64, u32)]) {
        let _ = (names, events);
    }
    /// Called after each decoded batch (a chance to flush buffers).
    fn end_batch(&mut self) {}
    /// Called once when the worker has decoded all its row groups.
    fn finish(&mut self) {}
}

/// A Parquet file accepted by this path, with its key range.
pub(crate) struct PurchaseScan {
    path: PathBuf,
    name: String,
    meta: ArrowReaderMetadata,
    mask: ProjectionMask,
    groups: usize,
    /// How keys become sink customers (offsets from the smallest integer key, or ranks of
    /// text keys).
    pub keys: KeyMap,
    /// The number of key offsets (largest − smallest key + 1, or the distinct text keys).
    pub customers: usize,
    /// Raw time units × `scale`, floor-divided by `div`, are µs (as ingestion converts them).
    scale: i64,
    div: i64,
    has_type: bool,
    has_amount: bool,
    purchase: String,
    allow_refunds: bool,
    /// The scan's columns among the file's leaves, when the page decoder can read them.
    layout: Option<pages::Layout>,
}

/// Why a batch cannot be aggregated on this path (the caller falls back).
struct Refuse;

/// How a time column's raw integers become µs, as ingestion converts them: `(mul, div)` with
/// µs = floor(raw × mul / div); `None` for a type this path does not read.
fn time_scale(t: &DataType) -> Option<(i64, i64)> {
    match t {
        DataType::Timestamp(TimeUnit::Microsecond, _) => Some((1, 1)),
        DataType::Timestamp(TimeUnit::Millisecond, _) => Some((1_000, 1)),
        DataType::Timestamp(TimeUnit::Second, _) => Some((1_000_000, 1)),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => Some((1, 1_000)),
        DataType::Date32 => Some((crate::time::MICROS_PER_DAY, 1)),
        DataType::Date64 => Some((1_000, 1)),
        _ => None,
    }
}

/// A string column in any of Arrow's layouts (decoded here as a dictionary of Utf8).
fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View),
        _ => false,
    }
}

/// The scan's columns in a schema, by `ingest`'s mapping, when their types are in scope: an
/// Int64 key, a timestamp or date time (its conversion to µs), string event types and a
/// numeric amount (both optional).
struct Columns {
    key: usize,
    time: usize,
    event_type: Option<usize>,
    amount: Option<usize>,
    scale: i64,
    div: i64,
}

impl Columns {
    fn find(schema: &Schema, ingest: &IngestOptions) -> Option<Columns> {
        let m = &ingest.mapping;
        // a role the ingest does not load is not read here either
        let loads = |role: Role| ingest.roles.as_ref().is_none_or(|r| r.contains(&role));
        let find = |role: Role| schema.index_of(m.column(role)).ok();
        let (key, time) = (find(Role::CustomerId)?, find(Role::EventTime)?);
        let event_type = find(Role::EventType).filter(|_| loads(Role::EventType));
        let amount = find(Role::Amount).filter(|_| loads(Role::Amount));
        let field = |i: usize| schema.field(i).data_type();
        let (scale, div) = time_scale(field(time))?;
        let in_scope = (*field(key) == DataType::Int64 || is_text(field(key)))
            && amount.is_none_or(|i| field(i).is_numeric())
            && event_type.is_none_or(|i| is_text(field(i)));
        in_scope.then_some(Columns {
            key,
            time,
            event_type,
            amount,
            scale,
            div,
        })
    }
}

/// What the row groups' statistics say of Int64 customer keys.
enum KeyStats {
    /// Exact min / max on every row group, the range at most [`keys::dense_limit`]: the
    /// smallest key and the number of offsets.
    Dense(i64, usize),
    /// Exact min / max on every row group, the range wider: the keys are ranked.
    Sparse,
    /// A row group without them (or no such column): the key pass finds out.
    Unknown,
}

/// [`KeyStats`] of key column `key` from the row groups' statistics.
fn int_key_stats(meta: &ArrowReaderMetadata, key: &str, rows: usize) -> KeyStats {
    let Some(key_leaf) = meta
        .parquet_schema()
        .columns()
        .iter()
        .position(|c| c.path().parts().first().map(String::as_str) == Some(key))
    else {
        return KeyStats::Unknown;
    };
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for rg in meta.metadata().row_groups() {
        match rg.column(key_leaf).statistics() {
            Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                (Some(&a), Some(&b)) => {
                    lo = lo.min(a);
                    hi = hi.max(b);
                }
                _ => return KeyStats::Unknown,
            },
            _ => return KeyStats::Unknown,
        }
    }
    match usize::try_from(hi.wrapping_sub(lo)).ok().map(|r| r + 1) {
        Some(range) if range <= keys::dense_limit(rows) => KeyStats::Dense(lo, range),
        _ => KeyStats::Sparse,
    }
}

impl PurchaseScan {
    /// Opens the Parquet file at `path` for a purchase scan with `ingest`'s column mapping,
    /// or `None` when the file is outside this path's scope (see the [module docs](self)).
    /// Text keys are read here, once, with `par`'s threads (see [`keys`]).
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::Format`] when the file cannot be read as Parquet;
    /// [`Error::InvalidParameter`] for ingest settings the ingest refuses.
    pub fn open(path: &Path, ingest: &IngestOptions, par: &Parallelism) -> Result<Option<PurchaseScan>> {
        // settings the ingest refuses are refused here too (e.g. a column mapped to two roles)
        ingest.validate()?;
        let name = path.display().to_string();
        let meta = crate::ingest::parquet_metadata(path)?;
        let schema = meta.schema().clone();
        let m = &ingest.mapping;
        let Some(Columns {
            key: key_i,
            time: time_i,
            event_type: type_i,
            amount: amount_i,
            scale,
            div,
        }) = Columns::find(&schema, ingest)
        else {
            return Ok(None);
        };
        let field = |i: usize| schema.field(i).data_type().clone();
        let int_keys = field(key_i) == DataType::Int64;
        if int_keys && ingest.key_type == KeyType::String {
            // the store formats integer keys as text, which orders them otherwise
            return Ok(None);
        }
        let rows: usize = meta
            .metadata()
            .row_groups()
            .iter()
            .map(|rg| usize::try_from(rg.num_rows()).unwrap_or(0))
            .sum();
        // Score and cost are not decoded here: their statistics must show no row ingestion
        // rejects (see `ingest::bounds` for what statistics cannot show).
        if !crate::ingest::bounds::score_cost_within_bounds(meta.metadata(), &schema, ingest) {
            return Ok(None);
        }
        if rows == 0 {
            return Ok(None);
        }
        // Integer keys: the range from the row groups' statistics (exact min / max), when they
        // have them and it is dense; other keys are read once first (see `keys`).
        let stats = if int_keys {
            int_key_stats(&meta, m.column(Role::CustomerId), rows)
        } else {
            KeyStats::Unknown
        };
        let range = match stats {
            KeyStats::Dense(lo, range) => Some((KeyMap::Range { min: lo }, range)),
            _ => None,
        };
        let known_sparse = matches!(stats, KeyStats::Sparse);
        // Decode event types as dictionaries: one comparison per distinct value, not per row;
        // text keys as views (no copy of short keys).
        let mut roots = vec![key_i, time_i];
        roots.extend(type_i);
        roots.extend(amount_i);
        let hinted: Vec<Field> = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if Some(i) == type_i {
                    f.as_ref().clone().with_data_type(DataType::Dictionary(
                        Box::new(DataType::Int32),
                        Box::new(DataType::Utf8),
                    ))
                } else if i == key_i && !int_keys {
                    f.as_ref().clone().with_data_type(DataType::Utf8View)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect();
        // A layout the reader cannot decode as a dictionary takes the store path.
        let Ok(meta) = ArrowReaderMetadata::try_new(
            meta.metadata().clone(),
            ArrowReaderOptions::new()
                .with_schema(Arc::new(Schema::new_with_metadata(hinted, schema.metadata().clone()))),
        ) else {
            return Ok(None);
        };
        let mut sorted_roots = roots.clone();
        sorted_roots.sort_unstable();
        if sorted_roots != roots {
            // Projected columns come back in file order; this path expects key, time, type, amount.
            return Ok(None);
        }
        let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
        let groups = meta.metadata().num_row_groups();
        let (keys, customers) = match range {
            Some(r) => r,
            None => {
                let key_mask = ProjectionMask::roots(meta.parquet_schema(), [key_i]);
                let read = |rg: usize, w: &mut keys::Worker<'_>| -> Result<std::result::Result<(), keys::Stop>> {
                    let reader = crate::ingest::row_group::reader(path, &meta, rg, &key_mask, 64 * 1024)?;
                    for b in reader {
                        let b = b.map_err(|e| Error::parquet(&name, e))?;
                        let Some(column) = b.columns().first() else {
                            return Ok(Err(keys::Stop::Refuse));
                        };
                        if let Err(stop) = w.feed(column) {
                            return Ok(Err(stop));
                        }
                    }
                    Ok(Ok(()))
                };
                let found = crate::error::guard_decode(&name, "parquet", || {
                    keys::key_map(groups, rows, ingest.key_type, known_sparse, par, read)
                })?;
                let Some(found) = found else {
                    return Ok(None);
                };
                found
            }
        };
        // The page decoder reads Int64 keys, raw integer timestamps scaled by a multiplier and
        // raw doubles: text keys, dates, nanoseconds (a division) and converted amounts take the
        // Arrow reader.
        let raw_pages = int_keys
            && matches!(field(time_i), DataType::Timestamp(..))
            && div == 1
            && amount_i.is_none_or(|i| field(i) == DataType::Float64);
        let layout = raw_pages
            .then(|| {
                pages::Layout::new(
                    meta.metadata(),
                    m.column(Role::CustomerId),
                    m.column(Role::EventTime),
                    type_i.map(|_| m.column(Role::EventType)),
                    amount_i.map(|_| m.column(Role::Amount)),
                )
            })
            .flatten();
        Ok(Some(PurchaseScan {
            path: path.to_path_buf(),
            name,
            meta,
            mask,
            groups,
            keys,
            customers,
            scale,
            div,
            has_type: type_i.is_some(),
            has_amount: amount_i.is_some(),
            purchase: ingest.purchase_type.clone(),
            allow_refunds: ingest.allow_refunds,
            layout,
        }))
    }

    /// Decodes the file in parallel (one sink per worker thread; each worker takes the next
    /// row group when it is free, so which sink sees which row group varies from run to run:
    /// sinks must merge exactly, in any order) and hands every purchase before `until` (µs,
    /// exclusive) to its worker's sink, and every event to a sink that wants them; `None`
    /// when a row is outside this path's scope.
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::Format`] when the file cannot be read or decoded.
    pub fn run<S: PurchaseSink>(
        &self,
        until: i64,
        par: &Parallelism,
        make: impl Fn() -> S + Sync,
    ) -> Result<Option<Vec<S>>> {
        let workers = par.install(rayon::current_num_threads).clamp(1, self.groups.max(1));
        // Row groups are taken from a shared counter as workers free up (a busy core slows
        // one worker, not the whole scan); a refusal stops the others early.
        let next = AtomicUsize::new(0);
        let refused = AtomicBool::new(false);
        let sinks: Vec<Result<Option<S>>> = crate::error::guard_decode(&self.name, "parquet", || {
            Ok(par.install(|| {
                (0..workers)
                    .into_par_iter()
                    .map(|_| -> Result<Option<S>> {
                        let mut sink = make();
                        let mut scratch = BatchScratch::default();
                        let mut page_scratch = pages::Scratch::default();
                        loop {
                            let rg = next.fetch_add(1, Ordering::Relaxed);
                            if rg >= self.groups || refused.load(Ordering::Relaxed) {
                                break;
                            }
                            let mut f = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
                            if let Some(layout) = self.layout.as_ref().filter(|_| !sink.wants_events()) {
                                match pages::row_group(self, layout, &mut f, rg, until, &mut sink, &mut page_scratch) {
                                    Ok(()) => continue,
                                    Err(pages::Stop::Refuse) => {
                                        refused.store(true, Ordering::Relaxed);
                                        return Ok(None);
                                    }
                                    // Decoded below by the Arrow reader, which decides.
                                    Err(pages::Stop::Fallback) => {}
                                }
                            }
                            // The Arrow reader gets the row group's bytes read ahead (see
                            // `ingest::row_group`: damaged page headers stay cheap).
                            let reader =
                                crate::ingest::row_group::reader(&self.path, &self.meta, rg, &self.mask, 64 * 1024)?;
                            for b in reader {
                                let b = b.map_err(|e| Error::parquet(&self.name, e))?;
                                if self.batch(&mut sink, &b, until, &mut scratch).is_err() {
                                    refused.store(true, Ordering::Relaxed);
                                    return Ok(None);
                                }
                                sink.end_batch();
                            }
                        }
                        sink.finish();
                        Ok(Some(sink))
                    })
                    .collect()
            }))
        })?;
        let mut out = Vec::with_capacity(sinks.len());
        for s in sinks {
            match s? {
                Some(s) => out.push(s),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// The checks of one decoded batch, with this file's settings.
    fn rules(&self) -> BatchRules<'_> {
        BatchRules {
            scale: self.scale,
            div: self.div,
            has_type: self.has_type,
            has_amount: self.has_amount,
            purchase: &self.purchase,
            allow_refunds: self.allow_refunds,
            keys: &self.keys,
            customers: self.customers,
        }
    }

    fn batch<S: PurchaseSink>(
        &self,
        sink: &mut S,
        batch: &RecordBatch,
        until: i64,
        scratch: &mut BatchScratch,
    ) -> std::result::Result<(), Refuse> {
        self.rules().batch(sink, batch, until, scratch)
    }
}

/// What a batch of (key, time, [type], [amount]) columns is checked against, and how its times
/// and keys convert: the settings of a [`PurchaseScan`] or of [`scan_batches`].
struct BatchRules<'a> {
    scale: i64,
    div: i64,
    has_type: bool,
    has_amount: bool,
    purchase: &'a str,
    allow_refunds: bool,
    keys: &'a KeyMap,
    customers: usize,
}

/// A batch's customer keys: Int64 values, or text.
enum RowKeys<'a> {
    Int(&'a [i64]),
    Text(TextKeys<'a>),
}

impl RowKeys<'_> {
    fn len(&self) -> usize {
        match self {
            RowKeys::Int(k) => k.len(),
            RowKeys::Text(k) => k.len(),
        }
    }
}

impl BatchRules<'_> {
    /// Checks one batch (columns: key, time, [type], [amount]) and passes its
    /// purchases before `until` to `sink`, through `scratch`.
    ///
    /// Two passes instead of one branchy loop: a branch-free pass over every row checks the
    /// type, the time range and the stored amounts and gathers the indices of the purchases
    /// before `until`; a pass over those purchases checks their keys against the statistics'
    /// range and reads null amounts as 0.0. It refuses exactly the batches a per-row check
    /// refuses (an amount flag on a column with nulls is settled by an exact per-row pass).
    fn batch<S: PurchaseSink>(
        &self,
        sink: &mut S,
        batch: &RecordBatch,
        until: i64,
        scratch: &mut BatchScratch,
    ) -> std::result::Result<(), Refuse> {
        let mut columns = batch.columns().iter();
        let keys = columns.next().ok_or(Refuse)?;
        let times = columns.next().ok_or(Refuse)?;
        let types = if self.has_type {
            Some(columns.next().ok_or(Refuse)?)
        } else {
            None
        };
        let amounts = if self.has_amount {
            Some(columns.next().ok_or(Refuse)?)
        } else {
            None
        };
        if keys.null_count() > 0 || times.null_count() > 0 {
            return Err(Refuse);
        }
        let keys = match keys.as_primitive_opt::<Int64Type>() {
            Some(k) => RowKeys::Int(k.values()),
            None => RowKeys::Text(TextKeys::of(keys).ok_or(Refuse)?),
        };
        let widened: Vec<i64>;
        let raw: &[i64] = match times.data_type() {
            DataType::Timestamp(TimeUnit::Microsecond, _) => times
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or(Refuse)?
                .values(),
            DataType::Timestamp(TimeUnit::Millisecond, _) => times
                .as_primitive_opt::<TimestampMillisecondType>()
                .ok_or(Refuse)?
                .values(),
            DataType::Timestamp(TimeUnit::Second, _) => {
                times.as_primitive_opt::<TimestampSecondType>().ok_or(Refuse)?.values()
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => times
                .as_primitive_opt::<TimestampNanosecondType>()
                .ok_or(Refuse)?
                .values(),
            DataType::Date64 => times.as_primitive_opt::<Date64Type>().ok_or(Refuse)?.values(),
            DataType::Date32 => {
                let days = times.as_primitive_opt::<Date32Type>().ok_or(Refuse)?.values();
                widened = days.iter().map(|&d| i64::from(d)).collect();
                &widened
            }
            _ => return Err(Refuse),
        };
        let n = raw.len();
        if keys.len() != n {
            return Err(Refuse);
        }
        let (scale, div) = (self.scale, self.div);
        let scaled: Vec<i64>;
        let times: &[i64] = if scale == 1 && div == 1 {
            raw
        } else {
            // A linear scale keeps the order, so the scaled extremes bound every value.
            let (lo, hi) = raw
                .iter()
                .fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            if n > 0 && (lo.checked_mul(scale).is_none() || hi.checked_mul(scale).is_none()) {
                return Err(Refuse);
            }
            // floor division, as ingestion converts (nanoseconds before 1970 round down)
            scaled = raw.iter().map(|&t| t.wrapping_mul(scale).div_euclid(div)).collect();
            &scaled
        };
        // Event types: per dictionary value 0 (another type), 1 (a purchase) or 2 (blank: a
        // rejected row; ingestion trims types, and a null or blank type is rejected). Plain
        // string columns (in-memory batches) get one code per row, with row keys 0..n.
        let row_keys: Vec<i32>;
        let code = |v: Option<&str>| {
            let v = v.map_or("", str::trim);
            if v.is_empty() { 2 } else { u8::from(v == self.purchase) }
        };
        let plain: Option<Vec<u8>> = match types.map(|t| t.data_type()) {
            Some(DataType::Utf8) => types
                .and_then(|t| t.as_string_opt::<i32>())
                .map(|a| a.iter().map(code).collect()),
            Some(DataType::LargeUtf8) => types
                .and_then(|t| t.as_string_opt::<i64>())
                .map(|a| a.iter().map(code).collect()),
            Some(DataType::Utf8View) => types
                .and_then(|t| t.as_string_view_opt())
                .map(|a| a.iter().map(code).collect()),
            _ => None,
        };
        let (codes, type_keys): (Vec<u8>, Option<&[i32]>) = match (types, plain) {
            (_, Some(codes)) => {
                if codes.len() != n || n > i32::MAX as usize {
                    return Err(Refuse);
                }
                row_keys = (0..n as i32).collect();
                (codes, Some(&row_keys))
            }
            (None, None) => (vec![1], None),
            (Some(t), None) => {
                let d = t.as_dictionary_opt::<Int32Type>().ok_or(Refuse)?;
                if d.null_count() > 0 {
                    return Err(Refuse);
                }
                let values = d.values().as_string_opt::<i32>().ok_or(Refuse)?;
                let codes = (0..values.len())
                    .map(|i| {
                        let v = if values.is_valid(i) { values.value(i).trim() } else { "" };
                        if v.is_empty() { 2 } else { u8::from(v == self.purchase) }
                    })
                    .collect();
                let k: &[i32] = d.keys().values();
                if k.len() != n {
                    return Err(Refuse);
                }
                (codes, Some(k))
            }
        };
        let cast_amounts: arrow_array::ArrayRef;
        let (values, nulls): (&[f64], Option<&arrow_buffer::NullBuffer>) = match amounts {
            None => (&[], None),
            Some(a) => {
                // Other numeric and decimal types convert as ingestion converts them.
                let a = if a.data_type() == &DataType::Float64 {
                    a
                } else {
                    cast_amounts = arrow_cast::cast(a, &DataType::Float64).map_err(|_| Refuse)?;
                    &cast_amounts
                };
                let a = a.as_primitive_opt::<Float64Type>().ok_or(Refuse)?;
                if a.len() != n {
                    return Err(Refuse);
                }
                (a.values(), a.nulls().filter(|b| b.null_count() > 0))
            }
        };
        let code_of = |i: usize| -> u8 {
            match type_keys {
                None => 1,
                Some(k) => k
                    .get(i)
                    .and_then(|&k| usize::try_from(k).ok())
                    .and_then(|k| codes.get(k))
                    .copied()
                    .unwrap_or(2),
            }
        };
        // Pass 1, every row, without branches: the type code, the time range, and the amounts
        // as stored (a null slot's stored value is arbitrary, so an amount flag is only a
        // suspicion when the column has nulls, settled by an exact pass below); the indices
        // of the purchases before `until` are gathered (every row is written to the next free
        // slot, which advances only for such a purchase).
        let (mut taken, mut flags) = (0usize, 0u8);
        // Reused from batch to batch: only grown, never cleared (slots past `taken` are stale).
        let index = &mut scratch.index;
        if index.len() < n {
            index.resize(n, 0);
        }
        for (i, &t) in times.iter().enumerate() {
            let code = code_of(i);
            let x = values.get(i).copied().unwrap_or(0.0);
            let buy = code == 1;
            flags |= code
                | (u8::from(!(MIN_EVENT_MICROS..END_EVENT_MICROS).contains(&t)) << 2)
                | ((1 - u8::from(x.abs() <= MAX_AMOUNT)) << 3)
                | (u8::from(buy & (x < 0.0)) << 4);
            if let Some(slot) = index.get_mut(taken) {
                *slot = i as u32;
            }
            taken += usize::from(buy & (t < until));
        }
        let refunds_ok = self.allow_refunds;
        let amount_flags = flags & (8 | (16 * u8::from(!refunds_ok)));
        let refused = flags & (2 | 4) != 0
            || (amount_flags != 0 && nulls.is_none())
            || (amount_flags != 0
                && (0..n).any(|i| {
                    let x = if nulls.is_some_and(|b| b.is_valid(i)) {
                        values.get(i).copied().unwrap_or(0.0)
                    } else {
                        0.0
                    };
                    x.is_nan() || x.abs() > MAX_AMOUNT || (!refunds_ok && code_of(i) == 1 && x < 0.0)
                }));
        if refused {
            return Err(Refuse);
        }
        // Pass 2, the gathered purchases only: the key offsets (a key outside the range
        // refuses), null amounts as 0.0.
        let gathered = index.get(..taken).unwrap_or_default();
        if !self.customers_of(&keys, gathered, &mut scratch.offsets, &mut scratch.ranking) {
            return Err(Refuse);
        }
        let amount = |i: usize| match nulls {
            Some(b) if !b.is_valid(i) => 0.0,
            _ => values.get(i).copied().unwrap_or(0.0),
        };
        let purchases = &mut scratch.purchases;
        purchases.clear();
        purchases.reserve(taken);
        for (&i, &c) in gathered.iter().zip(&scratch.offsets) {
            let i = i as usize;
            let t = times.get(i).copied().ok_or(Refuse)?;
            purchases.push((c, t, amount(i)));
        }
        sink.extend(purchases);
        if sink.wants_events() {
            self.every_event(sink, &keys, times, types, n, scratch)?;
        }
        Ok(())
    }

    /// Hands every row of a checked batch to `sink` as an event (see
    /// [`PurchaseSink::events`]).
    fn every_event<S: PurchaseSink>(
        &self,
        sink: &mut S,
        keys: &RowKeys<'_>,
        times: &[i64],
        types: Option<&arrow_array::ArrayRef>,
        n: usize,
        scratch: &mut BatchScratch,
    ) -> std::result::Result<(), Refuse> {
        let rows = u32::try_from(n).map_err(|_| Refuse)?;
        let all = &mut scratch.all;
        if all.len() < n {
            let from = all.len() as u32;
            all.extend(from..rows);
        }
        if !self.customers_of(
            keys,
            all.get(..n).unwrap_or_default(),
            &mut scratch.offsets,
            &mut scratch.ranking,
        ) {
            return Err(Refuse);
        }
        // The batch's type names and each row's index among them: a dictionary's values
        // (its keys are the indices), the distinct values of a plain string column, or the
        // purchase type alone without a type column.
        let dictionary_names: Vec<&str>;
        let (names, index): (Vec<&str>, Vec<u32>) = match types {
            None => (vec![self.purchase], vec![0; n]),
            Some(t) => match t.data_type() {
                DataType::Utf8 => {
                    plain_names(t.as_string_opt::<i32>().ok_or(Refuse)?.iter().map(trimmed)).ok_or(Refuse)?
                }
                DataType::LargeUtf8 => {
                    plain_names(t.as_string_opt::<i64>().ok_or(Refuse)?.iter().map(trimmed)).ok_or(Refuse)?
                }
                DataType::Utf8View => {
                    plain_names(t.as_string_view_opt().ok_or(Refuse)?.iter().map(trimmed)).ok_or(Refuse)?
                }
                _ => {
                    let d = t.as_dictionary_opt::<Int32Type>().ok_or(Refuse)?;
                    let values = d.values().as_string_opt::<i32>().ok_or(Refuse)?;
                    dictionary_names = (0..values.len())
                        .map(|i| if values.is_valid(i) { values.value(i).trim() } else { "" })
                        .collect();
                    // Negative keys were refused with the types (pass 1).
                    let index = d.keys().values().iter().map(|&k| k as u32).collect();
                    (dictionary_names, index)
                }
            },
        };
        if index.len() != n || scratch.offsets.len() != n {
            return Err(Refuse);
        }
        let events = &mut scratch.events;
        events.clear();
        events.extend(
            scratch
                .offsets
                .iter()
                .zip(times)
                .zip(&index)
                .map(|((&c, &t), &j)| (c, t, j)),
        );
        sink.events(&names, events);
        Ok(())
    }

    /// The sink customer of each of `rows` (row indices into `keys`), into `out`; false when
    /// a key is not one of the key map's (the batch is refused).
    fn customers_of(
        &self,
        keys: &RowKeys<'_>,
        rows: &[u32],
        out: &mut Vec<u32>,
        ranking: &mut keys::RankScratch,
    ) -> bool {
        out.clear();
        out.reserve(rows.len());
        let range = self.customers as u64;
        let mut outside = false;
        match (keys, self.keys) {
            (RowKeys::Int(keys), KeyMap::Range { min }) => {
                for &i in rows {
                    let k = keys
                        .get(i as usize)
                        .map_or(u64::MAX, |&key| key.wrapping_sub(*min) as u64);
                    outside |= k >= range;
                    out.push(k as u32);
                }
            }
            (keys, KeyMap::Sparse(sparse)) => {
                // ranked together (see `rank_all`); a text key that does not read as an
                // integer is not among them
                let wanted: Option<Vec<i64>> = rows
                    .iter()
                    .map(|&i| match keys {
                        RowKeys::Int(keys) => keys.get(i as usize).copied(),
                        RowKeys::Text(keys) => keys.get(i as usize).and_then(|k| trim_key(k).parse::<i64>().ok()),
                    })
                    .collect();
                match wanted {
                    Some(wanted) if sparse.rank_all(&wanted, ranking) => out.extend_from_slice(&ranking.ranks),
                    _ => outside = true,
                }
            }
            (RowKeys::Text(keys), map) => {
                for &i in rows {
                    let k = keys.get(i as usize).map(trim_key);
                    let k = match (k, map) {
                        (Some(k), KeyMap::Range { min }) => k.parse::<i64>().ok().map(|k| k.wrapping_sub(*min) as u64),
                        (Some(k), KeyMap::Ranked(r)) => r.rank(k).map(u64::from),
                        // ranked together in the arm above
                        (Some(_), KeyMap::Sparse(_)) => None,
                        (None, _) => None,
                    };
                    match k.filter(|&k| k < range) {
                        Some(k) => out.push(k as u32),
                        None => outside = true,
                    }
                }
            }
            (RowKeys::Int(_), KeyMap::Ranked(_)) => outside = true,
        }
        !outside && out.len() == rows.len()
    }
}

/// A string value trimmed as ingestion trims event types (null reads as blank).
fn trimmed(v: Option<&str>) -> &str {
    v.map_or("", str::trim)
}

/// The most distinct event types of a plain string column that a batch hands to a sink that
/// wants every event (more refuse the batch: event types are a short list, and the summary's
/// count columns one per type).
const MAX_PLAIN_TYPES: usize = 256;

/// The distinct values of a plain string column (trimmed) and each row's index among them, or
/// `None` past [`MAX_PLAIN_TYPES`] values.
fn plain_names<'a>(values: impl Iterator<Item = &'a str>) -> Option<(Vec<&'a str>, Vec<u32>)> {
    let mut names: Vec<&str> = Vec::new();
    let index = values
        .map(|v| match names.iter().position(|&n| n == v) {
            Some(j) => Some(j as u32),
            None if names.len() < MAX_PLAIN_TYPES => {
                names.push(v);
                Some((names.len() - 1) as u32)
            }
            None => None,
        })
        .collect::<Option<Vec<u32>>>()?;
    Some((names, index))
}

/// Buffers one worker reuses from batch to batch.
#[derive(Default)]
struct BatchScratch {
    /// Row indices of the purchases (only grown, never cleared: slots past the count are stale).
    index: Vec<u32>,
    /// The gathered purchases.
    purchases: Vec<(u32, i64, f64)>,
    /// Customer offsets of the rows asked for.
    offsets: Vec<u32>,
    /// Buffers of sparse keys' ranking.
    ranking: keys::RankScratch,
    /// 0, 1, 2, ...: every row's index.
    all: Vec<u32>,
    /// Every event of the batch (only with [`PurchaseSink::wants_events`]).
    events: Vec<(u32, i64, u32)>,
}

/// Purchases of in-memory record batches, checked as [`PurchaseScan`] checks a file's: the
/// batches (all with one schema, the columns found by `ingest`'s mapping) are handed to
/// per-worker sinks (`make` gets the number of key offsets) in parallel, each purchase before
/// `until` once. Returns how keys became offsets (text keys are read once first),
/// the number of key offsets and the sinks, or `None` when the batches are outside the
/// streaming path's scope (the [module docs](self); also a roles setting that loads more than
/// the key, time, type and amount, whose columns ingestion would check) and the caller must
/// ingest them.
///
/// # Errors
/// [`Error::InvalidParameter`] for ingest settings the ingest refuses.
pub(crate) fn scan_batches<S: PurchaseSink>(
    batches: &[RecordBatch],
    ingest: &IngestOptions,
    until: i64,
    par: &Parallelism,
    make: impl Fn(usize) -> S + Sync + Send,
) -> Result<Option<(KeyMap, usize, Vec<S>)>> {
    ingest.validate()?;
    let purchase_roles = [Role::CustomerId, Role::EventTime, Role::EventType, Role::Amount];
    if ingest
        .roles
        .as_ref()
        .is_none_or(|r| r.iter().any(|role| !purchase_roles.contains(role)))
    {
        return Ok(None);
    }
    let Some(first) = batches.first() else {
        return Ok(None);
    };
    let schema = first.schema();
    if batches.iter().any(|b| b.schema() != schema) {
        return Ok(None);
    }
    let Some(Columns {
        key: key_i,
        time: time_i,
        event_type: type_i,
        amount: amount_i,
        scale,
        div,
    }) = Columns::find(&schema, ingest)
    else {
        return Ok(None);
    };
    let int_keys = *schema.field(key_i).data_type() == DataType::Int64;
    if int_keys && ingest.key_type == KeyType::String {
        // the store formats integer keys as text, which orders them otherwise
        return Ok(None);
    }
    // Text keys in a layout the scan reads (other dictionaries are cast to views).
    let key_column = |b: &RecordBatch| -> Option<arrow_array::ArrayRef> {
        let k = b.column(key_i);
        if int_keys || TextKeys::of(k).is_some() {
            Some(Arc::clone(k))
        } else {
            arrow_cast::cast(k, &DataType::Utf8View).ok()
        }
    };
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows == 0 {
        return Ok(None);
    }
    // The keys read once (integer keys for their range; a null key is a row ingestion rejects).
    let (map, customers) = {
        let read = |u: usize, w: &mut keys::Worker<'_>| -> Result<std::result::Result<(), keys::Stop>> {
            let column = batches.get(u).and_then(key_column);
            Ok(column.map_or(Err(keys::Stop::Refuse), |c| w.feed(&c)))
        };
        let Some(found) = keys::key_map(batches.len(), rows, ingest.key_type, false, par, read)? else {
            return Ok(None);
        };
        found
    };
    let rules = BatchRules {
        scale,
        div,
        has_type: type_i.is_some(),
        has_amount: amount_i.is_some(),
        purchase: &ingest.purchase_type,
        allow_refunds: ingest.allow_refunds,
        keys: &map,
        customers,
    };
    // key, time, type (plain strings as they are; dictionaries with Int32 keys over Utf8),
    // amount
    let project = |b: &RecordBatch| -> Option<RecordBatch> {
        let mut cols = vec![key_column(b)?, Arc::clone(b.column(time_i))];
        if let Some(i) = type_i {
            let t = b.column(i);
            let t = match t.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Arc::clone(t),
                DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => Arc::clone(t),
                _ => arrow_cast::cast(
                    t,
                    &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                )
                .ok()?,
            };
            cols.push(t);
        }
        cols.extend(amount_i.map(|i| Arc::clone(b.column(i))));
        let fields: Vec<Field> = cols
            .iter()
            .enumerate()
            .map(|(j, c)| Field::new(format!("c{j}"), c.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).ok()
    };
    let workers = par.install(rayon::current_num_threads).clamp(1, batches.len());
    let next = AtomicUsize::new(0);
    let refused = AtomicBool::new(false);
    let sinks: Vec<Option<S>> = par.install(|| {
        (0..workers)
            .into_par_iter()
            .map(|_| {
                let mut sink = make(customers);
                let mut scratch = BatchScratch::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(b) = batches.get(i) else {
                        break;
                    };
                    if refused.load(Ordering::Relaxed) {
                        return None;
                    }
                    let ok = project(b).is_some_and(|p| rules.batch(&mut sink, &p, until, &mut scratch).is_ok());
                    if !ok {
                        refused.store(true, Ordering::Relaxed);
                        return None;
                    }
                    sink.end_batch();
                }
                sink.finish();
                Some(sink)
            })
            .collect()
    });
    Ok(sinks
        .into_iter()
        .collect::<Option<Vec<S>>>()
        .map(|s| (map, customers, s)))
}
