//! The purchase columns of the summary straight from a Parquet file, without building a store.
//!
//! The models need only the purchase statistics of each customer (frequency, recency, T,
//! monetary value and the holdout). [`summarize_parquet`] decodes the purchases with the
//! shared purchase scan (`kernels::scan`), groups them by customer with one counting
//! pass per bucket of consecutive customers (keys are dense integers, so no hashing and no sort
//! of the whole log; buckets are grouped in parallel and stay in the cache), orders each
//! customer's handful of purchases by time, and finishes each customer with the same code the
//! store pass uses. Money is summed in exact integer units, so the result does not depend on
//! the decoding order or the thread count, and equals [`summarize`](super::summarize) over a
//! store of the same file, column for column.

use std::path::Path;

use arrow_array::RecordBatch;
use rayon::prelude::*;

use super::activity::{Activity, MergedActivity};
use super::output::SummaryColumns;
use super::params::SummaryConfig;
use super::state::CustomerState;
use crate::error::Result;
use crate::exec::Parallelism;
use crate::ingest::IngestOptions;
use crate::kernels::scan::keys::KeyMap;
use crate::kernels::scan::{PurchaseScan, PurchaseSink, scan_batches};
use crate::schema::CUSTOMER_ID;
use crate::schema::output::common::{FIRST_PURCHASE, LAST_PURCHASE};
use crate::schema::output::summary::{
    DURATION_HOLDOUT, FREQUENCY_HOLDOUT, MONETARY_VALUE_HOLDOUT, PURCHASE_COUNT, TOTAL_SPEND,
};
use crate::schema::output::{FREQUENCY, MONETARY_VALUE, RECENCY, T};

/// The columns [`summarize_parquet`] gives, in order (the holdout three only with an
/// observation end). The event columns of the full summary (`first_event`, `last_event`,
/// `count_<type>`) need every event, not only purchases, and are left out.
pub const PURCHASE_COLUMNS: [&str; 12] = [
    CUSTOMER_ID,
    FIRST_PURCHASE,
    LAST_PURCHASE,
    PURCHASE_COUNT,
    FREQUENCY,
    RECENCY,
    T,
    MONETARY_VALUE,
    TOTAL_SPEND,
    FREQUENCY_HOLDOUT,
    MONETARY_VALUE_HOLDOUT,
    DURATION_HOLDOUT,
];

/// One worker's purchases, (customer offset, time, amount), in buckets of 2^`shift`
/// consecutive customers, so that each bucket can be grouped and finished on its own.
struct Purchases {
    shift: u32,
    buckets: Vec<Vec<(u32, i64, f64)>>,
}

impl PurchaseSink for Purchases {
    #[inline]
    fn push(&mut self, customer: u32, time: i64, amount: f64) {
        if let Some(b) = self.buckets.get_mut((customer >> self.shift) as usize) {
            b.push((customer, time, amount));
        }
    }
}

/// A worker's purchases and its activity (every event), for the full summary.
struct Everything {
    purchases: Purchases,
    activity: Activity,
}

impl PurchaseSink for Everything {
    #[inline]
    fn push(&mut self, customer: u32, time: i64, amount: f64) {
        self.purchases.push(customer, time, amount);
    }

    fn wants_events(&self) -> bool {
        true
    }

    fn events(&mut self, names: &[&str], events: &[(u32, i64, u32)]) {
        self.activity.update(names, events);
    }
}

/// log2 of the customers per bucket: at least 2^12, and at most 256 buckets.
fn bucket_shift(customers: usize) -> u32 {
    let mut shift = 12;
    while (customers >> shift) >= 256 {
        shift += 1;
    }
    shift
}

/// The summary's purchase columns ([`PURCHASE_COLUMNS`]) of the events in the Parquet file at
/// `path`, read with `ingest`'s column mapping and purchase type, or `None` when the file is
/// outside the purchase scan's scope (integer keys with a dense range, exact timestamps, a
/// float amount, string event types, and no row that ingestion would reject) or `cfg` lists
/// non-buyers (that needs every event). When it is `Some`, every column equals the same-named column of
/// [`summarize`](super::summarize) over a store of the file's events, row for row.
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) / [`Error::Format`](crate::Error::Format) when the file
/// cannot be read as Parquet.
pub fn summarize_parquet(
    path: impl AsRef<Path>,
    cfg: &SummaryConfig,
    ingest: &IngestOptions,
    par: &Parallelism,
) -> Result<Option<RecordBatch>> {
    if cfg.params.include_non_buyers {
        // Non-buyers are known from their other events only.
        return summarize_parquet_all(path, cfg, ingest, par)?
            .map(|full| purchase_columns(&full))
            .transpose();
    }
    let Some(scan) = PurchaseScan::open(path.as_ref(), ingest, par)? else {
        return Ok(None);
    };
    let until = cfg.observation_end_excl.unwrap_or(cfg.calibration_end_excl);
    let n = scan.customers;
    let shift = bucket_shift(n);
    let make = move || purchases(n, shift);
    let Some(workers) = scan.run(until, par, make)? else {
        return Ok(None);
    };
    let workers: Vec<&Purchases> = workers.iter().collect();
    finish_purchases(&workers, None, &scan.keys, n, shift, cfg, par)
        .and_then(|full| purchase_columns(&full))
        .map(Some)
}

/// Every column of [`summarize`](super::summarize) (the purchase columns and the activity
/// columns `first_event`, `last_event` and one `count_<type>` per event type, sorted by type)
/// straight from the Parquet file at `path`, or `None` when the file is outside the purchase
/// scan's scope (as for [`summarize_parquet`]) or has more than 256 event types. When it is `Some`, it equals
/// [`summarize`](super::summarize) over a store of the file's events (loaded with `ingest`),
/// column for column and row for row, with or without non-buyers.
///
/// This reads every row of the key, time, type and amount columns through the Arrow reader
/// (the activity columns count events of every type), where [`summarize_parquet`] picks the
/// purchases out of the pages. Besides the purchases, its memory grows with the customers
/// (per scan worker, a 64-byte record per customer, wider past 12 event types), not with the
/// events.
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) / [`Error::Format`](crate::Error::Format) when the file
/// cannot be read as Parquet.
///
/// # Example
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use clientele::chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::ingest::IngestOptions;
/// use clientele::kernels::summary::{SummaryParams, summarize_parquet_all};
/// use clientele::io::write_batches;
/// use clientele::synth::{GenerateParams, event_schema, generate};
/// let dir = std::env::temp_dir().join(format!("clientele-doc-all-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("events.parquet");
/// let events = generate(&GenerateParams::default().customers(100).seed(3).validate()?)?;
/// write_batches(&event_schema(), &events, &path)?;
/// let end = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default();
/// let cfg = SummaryParams::new(end).validate()?;
/// let ingest = IngestOptions::default();
/// let summary = summarize_parquet_all(&path, &cfg, &ingest, &Parallelism::current())?;
/// // A generated file is in the scan's scope.
/// let summary = summary.ok_or("the generated file is streamed")?;
/// assert!(summary.column_by_name("first_event").is_some());
/// assert!(summary.column_by_name("count_purchase").is_some());
/// std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
pub fn summarize_parquet_all(
    path: impl AsRef<Path>,
    cfg: &SummaryConfig,
    ingest: &IngestOptions,
    par: &Parallelism,
) -> Result<Option<RecordBatch>> {
    let Some(scan) = PurchaseScan::open(path.as_ref(), ingest, par)? else {
        return Ok(None);
    };
    let until = cfg.observation_end_excl.unwrap_or(cfg.calibration_end_excl);
    let n = scan.customers;
    let shift = bucket_shift(n);
    let end = cfg.calibration_end_excl;
    let make = move || Everything {
        purchases: purchases(n, shift),
        activity: Activity::new(n, end),
    };
    let Some(workers) = scan.run(until, par, make)? else {
        return Ok(None);
    };
    finish_everything(workers, &scan.keys, n, shift, cfg, par)
}

/// An empty [`Purchases`] for `n` customers in buckets of 2^`shift`.
fn purchases(n: usize, shift: u32) -> Purchases {
    Purchases {
        shift,
        buckets: (0..(n >> shift) + 1).map(|_| Vec::new()).collect(),
    }
}

/// Merges the workers' activity and finishes every customer with it (`None` when a count
/// overflows).
fn finish_everything(
    workers: Vec<Everything>,
    map: &KeyMap,
    n: usize,
    shift: u32,
    cfg: &SummaryConfig,
    par: &Parallelism,
) -> Result<Option<RecordBatch>> {
    let (purchases, activity): (Vec<Purchases>, Vec<Activity>) =
        workers.into_iter().map(|w| (w.purchases, w.activity)).unzip();
    let Some(activity) = par.install(|| MergedActivity::merge(activity)) else {
        return Ok(None);
    };
    let purchases: Vec<&Purchases> = purchases.iter().collect();
    finish_purchases(&purchases, Some(&activity), map, n, shift, cfg, par).map(Some)
}

/// The purchase columns ([`PURCHASE_COLUMNS`]) of a full summary.
fn purchase_columns(full: &RecordBatch) -> Result<RecordBatch> {
    let schema = full.schema();
    let keep: Vec<usize> = PURCHASE_COLUMNS
        .iter()
        .filter_map(|name| schema.index_of(name).ok())
        .collect();
    Ok(full.project(&keep)?)
}

/// [`summarize_parquet`] for record batches in memory (a pyarrow or Polars table handed to
/// the engine, `EventSource::Batches`): the same purchase columns, equal to
/// [`summarize`](super::summarize) over a store of the batches, or `None` when the batches are
/// outside the streaming path's scope (as for a file: integer keys with a dense range,
/// timestamp or date times, a numeric amount, string event types, no row that ingestion
/// would reject, and `ingest` loading only the key, time, type and amount).
///
/// # Errors
/// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for ingest settings the ingest
/// refuses (a column mapped to two roles, a blank purchase type, ...).
pub fn summarize_batches(
    batches: &[RecordBatch],
    cfg: &SummaryConfig,
    ingest: &IngestOptions,
    par: &Parallelism,
) -> Result<Option<RecordBatch>> {
    if cfg.params.include_non_buyers {
        // Non-buyers are known from their other events only.
        return summarize_batches_all(batches, cfg, ingest, par)?
            .map(|full| purchase_columns(&full))
            .transpose();
    }
    let until = cfg.observation_end_excl.unwrap_or(cfg.calibration_end_excl);
    let make = |n: usize| purchases(n, bucket_shift(n));
    let Some((keys, n, workers)) = scan_batches(batches, ingest, until, par, make)? else {
        return Ok(None);
    };
    let workers: Vec<&Purchases> = workers.iter().collect();
    finish_purchases(&workers, None, &keys, n, bucket_shift(n), cfg, par)
        .and_then(|full| purchase_columns(&full))
        .map(Some)
}

/// [`summarize_parquet_all`] for record batches in memory: every column of
/// [`summarize`](super::summarize), equal to it over a store of the batches, or `None` when
/// the batches are outside the streaming path's scope (as for [`summarize_batches`]).
///
/// # Errors
/// As [`summarize_batches`].
pub fn summarize_batches_all(
    batches: &[RecordBatch],
    cfg: &SummaryConfig,
    ingest: &IngestOptions,
    par: &Parallelism,
) -> Result<Option<RecordBatch>> {
    let until = cfg.observation_end_excl.unwrap_or(cfg.calibration_end_excl);
    let end = cfg.calibration_end_excl;
    let make = |n: usize| Everything {
        purchases: purchases(n, bucket_shift(n)),
        activity: Activity::new(n, end),
    };
    let Some((keys, n, workers)) = scan_batches(batches, ingest, until, par, make)? else {
        return Ok(None);
    };
    finish_everything(workers, &keys, n, bucket_shift(n), cfg, par)
}

/// Groups the workers' purchases by customer and finishes every customer: the summary of
/// [`SummaryColumns::finish`] (every column, the activity columns from `activity`, or from the
/// purchases alone without it), keys of the `n` key offsets (see [`KeyMap`]), in buckets of
/// 2^`shift` customers.
fn finish_purchases(
    workers: &[&Purchases],
    activity: Option<&MergedActivity>,
    map: &KeyMap,
    n: usize,
    shift: u32,
    cfg: &SummaryConfig,
    par: &Parallelism,
) -> Result<RecordBatch> {
    let buckets = (n >> shift) + 1;
    let min_key = map.base();
    let num_types = activity.map_or(0, |a| a.names.len());
    // Each bucket in parallel: group its purchases by customer (count, prefix sums, scatter),
    // order each customer's handful of purchases by time, finish each customer. The bucket
    // boundaries depend only on the key range, so the output is the same for any pool.
    let parts: Vec<(SummaryColumns, Vec<i64>)> = par.install(|| {
        (0..buckets)
            .into_par_iter()
            .map(|b| {
                let base = b << shift;
                let width = (1usize << shift).min(n.saturating_sub(base));
                let mut starts = vec![0usize; width + 1];
                let records = || workers.iter().filter_map(|w| w.buckets.get(b)).flatten();
                for r in records() {
                    if let Some(s) = starts.get_mut(r.0 as usize - base + 1) {
                        *s += 1;
                    }
                }
                for c in 0..width {
                    starts[c + 1] += starts[c];
                }
                let mut grouped = vec![(0i64, 0f64); starts[width]];
                let mut fill = starts.clone();
                for &(c, t, a) in records() {
                    if let Some(slot) = fill.get_mut(c as usize - base)
                        && let Some(g) = grouped.get_mut(*slot)
                    {
                        *g = (t, a);
                        *slot += 1;
                    }
                }
                let mut out = SummaryColumns::with_capacity(cfg, num_types, width);
                let mut keys = Vec::with_capacity(width);
                let mut state = CustomerState::default();
                let (mut times, mut amounts, mut types) = (Vec::new(), Vec::new(), Vec::new());
                for c in 0..width {
                    let Some(purchases) = grouped.get_mut(starts[c]..starts[c + 1]) else {
                        continue;
                    };
                    let active = activity.is_some_and(|a| a.first.get(base + c).is_some_and(|&f| f != i64::MAX));
                    if purchases.is_empty() && !active {
                        continue;
                    }
                    state.clear();
                    if !purchases.is_empty() {
                        purchases.sort_unstable_by_key(|e| e.0);
                        times.clear();
                        amounts.clear();
                        types.clear();
                        times.extend(purchases.iter().map(|e| e.0));
                        amounts.extend(purchases.iter().map(|e| e.1));
                        types.resize(purchases.len(), 0i32);
                        state.fill_sorted(cfg, &times, &types, Some(&amounts), Some(0));
                    }
                    if let Some(a) = activity {
                        // Every event's, where the purchases gave their own.
                        let g = base + c;
                        state.first_event = a.first.get(g).copied().unwrap_or(i64::MAX);
                        state.last_event = a.last.get(g).copied().unwrap_or(i64::MIN);
                        state.type_counts.clear();
                        state
                            .type_counts
                            .extend(a.counts.iter().map(|v| v.get(g).map_or(0, |&k| u64::from(k))));
                    }
                    if SummaryColumns::includes(cfg, &state) {
                        out.push(cfg, &state);
                        keys.push(min_key + (base + c) as i64);
                    }
                }
                (out, keys)
            })
            .collect()
    });
    let mut keys: Vec<i64> = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
    let mut cols = Vec::with_capacity(parts.len());
    for (p, k) in parts {
        cols.push(p);
        keys.extend(k);
    }
    let names = activity.map_or(&[][..], |a| &a.names[..]);
    SummaryColumns::concat(cfg, num_types, cols).finish(map.column(keys), names)
}
