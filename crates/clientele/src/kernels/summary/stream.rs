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
        return Ok(None);
    }
    let Some(scan) = PurchaseScan::open(path.as_ref(), ingest, par)? else {
        return Ok(None);
    };
    let until = cfg.observation_end_excl.unwrap_or(cfg.calibration_end_excl);
    let n = scan.customers;
    let shift = bucket_shift(n);
    let make = move || Purchases {
        shift,
        buckets: (0..(n >> shift) + 1).map(|_| Vec::new()).collect(),
    };
    let Some(workers) = scan.run(until, par, make)? else {
        return Ok(None);
    };
    finish_purchases(&workers, &scan.keys, n, shift, cfg, par).map(Some)
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
        return Ok(None);
    }
    let until = cfg.observation_end_excl.unwrap_or(cfg.calibration_end_excl);
    let make = |n: usize| {
        let shift = bucket_shift(n);
        Purchases {
            shift,
            buckets: (0..(n >> shift) + 1).map(|_| Vec::new()).collect(),
        }
    };
    let Some((keys, n, workers)) = scan_batches(batches, ingest, until, par, make)? else {
        return Ok(None);
    };
    finish_purchases(&workers, &keys, n, bucket_shift(n), cfg, par).map(Some)
}

/// Groups the workers' purchases by customer and finishes every customer: the purchase
/// columns of the summary, keys of the `n` key offsets (see [`KeyMap`]), in buckets of
/// 2^`shift` customers.
fn finish_purchases(
    workers: &[Purchases],
    map: &KeyMap,
    n: usize,
    shift: u32,
    cfg: &SummaryConfig,
    par: &Parallelism,
) -> Result<RecordBatch> {
    let buckets = (n >> shift) + 1;
    let min_key = map.base();
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
                let mut out = SummaryColumns::with_capacity(cfg, 0, width);
                let mut keys = Vec::with_capacity(width);
                let mut state = CustomerState::default();
                let (mut times, mut amounts, mut types) = (Vec::new(), Vec::new(), Vec::new());
                for c in 0..width {
                    let Some(purchases) = grouped.get_mut(starts[c]..starts[c + 1]) else {
                        continue;
                    };
                    if purchases.is_empty() {
                        continue;
                    }
                    purchases.sort_unstable_by_key(|e| e.0);
                    times.clear();
                    amounts.clear();
                    types.clear();
                    times.extend(purchases.iter().map(|e| e.0));
                    amounts.extend(purchases.iter().map(|e| e.1));
                    types.resize(purchases.len(), 0i32);
                    state.clear();
                    state.fill_sorted(cfg, &times, &types, Some(&amounts), Some(0));
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
    let full = SummaryColumns::concat(cfg, 0, cols).finish(map.column(keys), &[])?;
    let schema = full.schema();
    let keep: Vec<usize> = PURCHASE_COLUMNS
        .iter()
        .filter_map(|name| schema.index_of(name).ok())
        .collect();
    Ok(full.project(&keep)?)
}
