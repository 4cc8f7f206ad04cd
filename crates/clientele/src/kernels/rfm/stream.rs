//! RFM (`orders` convention) straight from a Parquet file, without building a store.
//!
//! The `orders` RFM of a customer needs four numbers: the purchase count, the exact sum of
//! amounts, and the first and last purchase times. They merge by addition, min and max, so
//! row groups can be decoded and aggregated in parallel in any order and still give the exact
//! answer. This path reads only `customer_id`, `event_time`, `event_type` and `amount`, drops
//! each purchase into the bucket of its `customer_id − min` (buckets of consecutive keys; the
//! key range comes from the file's column statistics; most purchases in 8-byte records),
//! aggregates the buckets in parallel, each in a small cache-resident array, and never orders
//! events by customer and time, which is what building a store costs.
//!
//! The file is read by the shared purchase scan (`kernels::scan`), which decides
//! which files this path accepts and refuses any file with a row the ingestion would reject:
//! [`rfm_parquet`] then returns `None` and the caller takes the store path, which reports
//! those rows.

use std::path::Path;

use rayon::prelude::*;

use arrow_array::RecordBatch;

use super::kernel::{Axes, cents, score};
use super::params::{RfmConfig, RfmMode};
use crate::error::Result;
use crate::exec::Parallelism;
use crate::ingest::IngestOptions;
use crate::kernels::scan::keys::KeyMap;
use crate::kernels::scan::{PurchaseScan, PurchaseSink, scan_batches};
use crate::kernels::summary::to_units;
use crate::time::MICROS_PER_DAY;

/// A purchase waiting to be applied, when it does not fit a [`Compact`] record: the customer
/// offset, the whole days from the purchase
/// to `as_of` (`(as_of − time).div_euclid(day)`, which falls as the time rises, so the last
/// purchase has the fewest days and the first the most) and the amount.
#[derive(Debug, Clone, Copy)]
struct Purchase {
    customer: u32,
    days: i32,
    amount: f64,
}

/// The usual purchase in 8 bytes: the customer's offset in its bucket and the days to
/// `as_of`, 16 bits each, and an amount that is a whole number of cents (its exact nano-units
/// are `cents × 10^7`). Anything else is kept as a [`Purchase`].
#[derive(Debug, Clone, Copy)]
struct Compact {
    offset_days: u32,
    cents: i32,
}

/// Nano-units per cent.
const UNITS_PER_CENT: i64 = 10_000_000;

/// Bytes per block of a bucket (64 KiB): buckets grow by whole blocks, never by copying.
const BLOCK_BYTES: usize = 1 << 16;

/// One bucket's purchases, in blocks.
#[derive(Default)]
struct Bucket {
    compact: Vec<Vec<Compact>>,
    wide: Vec<Vec<Purchase>>,
}

/// Appends `p` to the last of `blocks`, or to a new block when that one is full (inlined into
/// the scan's loop; the new block is the rare, out-of-line case).
#[inline(always)]
fn append<T>(blocks: &mut Vec<Vec<T>>, p: T) {
    match blocks.last_mut() {
        Some(block) if block.len() < block.capacity() => block.push(p),
        _ => append_to_new_block(blocks, p),
    }
}

/// [`append`] when the last block is full (or there is none).
#[cold]
#[inline(never)]
fn append_to_new_block<T>(blocks: &mut Vec<Vec<T>>, p: T) {
    let mut block = Vec::with_capacity(BLOCK_BYTES / size_of::<T>());
    block.push(p);
    blocks.push(block);
}

/// One worker's purchases before `as_of`, in buckets of 2^`shift` consecutive customers, so
/// that each bucket can be aggregated on its own, in the cache.
struct Buckets {
    shift: u32,
    as_of: i64,
    buckets: Vec<Bucket>,
}

impl Buckets {
    /// The purchases held.
    fn len(&self) -> usize {
        let count = |b: &Bucket| -> usize {
            b.compact.iter().map(Vec::len).sum::<usize>() + b.wide.iter().map(Vec::len).sum::<usize>()
        };
        self.buckets.iter().map(count).sum()
    }
}

impl PurchaseSink for Buckets {
    // Called once per purchase from the scan's loop: inlined there, no call per purchase.
    #[inline(always)]
    fn push(&mut self, customer: u32, time: i64, amount: f64) {
        // The scan hands over times in [MIN_EVENT_MICROS, as_of) and `as_of` is a date, so
        // the difference is positive and far below i64::MAX, and the days fit an i32.
        let days = self.as_of.saturating_sub(time).div_euclid(MICROS_PER_DAY);
        let Some(bucket) = self.buckets.get_mut((customer >> self.shift) as usize) else {
            return;
        };
        // Compact when the offset and the days fit 16 bits and the amount is whole cents.
        let offset = customer & 1u32.checked_shl(self.shift).map_or(u32::MAX, |m| m - 1);
        let units = i64::try_from(to_units(amount)).unwrap_or(i64::MAX);
        let cents = (units % UNITS_PER_CENT == 0)
            .then(|| i32::try_from(units / UNITS_PER_CENT).ok())
            .flatten();
        match (u16::try_from(offset), u16::try_from(days), cents) {
            (Ok(offset), Ok(days), Some(cents)) => append(
                &mut bucket.compact,
                Compact {
                    offset_days: (u32::from(offset) << 16) | u32::from(days),
                    cents,
                },
            ),
            _ => {
                let days = i32::try_from(days).unwrap_or(i32::MAX);
                append(&mut bucket.wide, Purchase { customer, days, amount });
            }
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

/// One customer's aggregate inside a bucket.
#[derive(Debug, Clone, Copy)]
struct Cell {
    units: i128,
    count: u64,
    fewest_days: i32,
    most_days: i32,
}

const EMPTY: Cell = Cell {
    units: 0,
    count: 0,
    fewest_days: i32::MAX,
    most_days: i32::MIN,
};

/// The `orders` RFM table of the events in the Parquet file at `path`, read with `ingest`'s
/// column mapping and purchase type, or `None` when the file is outside this path's scope
/// (see the [module docs](self)); the table is then what [`rfm`](super::rfm) gives over a
/// store of the file's events, row for row.
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) / [`Error::Format`](crate::Error::Format) when the file cannot be read as Parquet; the scoring
/// errors of [`rfm`](super::rfm).
pub fn rfm_parquet(
    path: impl AsRef<Path>,
    cfg: &RfmConfig,
    ingest: &IngestOptions,
    par: &Parallelism,
) -> Result<Option<RecordBatch>> {
    if cfg.params.mode != RfmMode::Orders {
        return Ok(None);
    }
    let Some(scan) = PurchaseScan::open(path.as_ref(), ingest, par)? else {
        return Ok(None);
    };
    let n = scan.customers;
    let as_of = cfg.as_of_micros;
    let Some(workers) = scan.run(as_of, par, || sinks(n, as_of))? else {
        return Ok(None);
    };
    finish(&workers, &scan.keys, n, cfg, par).map(Some)
}

/// [`rfm_parquet`] for record batches in memory (`EventSource::Batches`, a table handed over
/// from Python): the same table, or `None` outside the streaming path's scope (as for a file,
/// and `ingest` loading only the key, time, type and amount).
///
/// # Errors
/// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for ingest settings the ingest
/// refuses; the scoring errors of [`rfm`](super::rfm).
pub fn rfm_batches(
    batches: &[RecordBatch],
    cfg: &RfmConfig,
    ingest: &IngestOptions,
    par: &Parallelism,
) -> Result<Option<RecordBatch>> {
    if cfg.params.mode != RfmMode::Orders {
        return Ok(None);
    }
    let as_of = cfg.as_of_micros;
    let Some((keys, n, workers)) = scan_batches(batches, ingest, as_of, par, |n| sinks(n, as_of))? else {
        return Ok(None);
    };
    finish(&workers, &keys, n, cfg, par).map(Some)
}

/// One worker's empty sink for `n` key offsets.
fn sinks(n: usize, as_of: i64) -> Buckets {
    let shift = bucket_shift(n);
    Buckets {
        shift,
        as_of,
        buckets: (0..(n >> shift) + 1).map(|_| Bucket::default()).collect(),
    }
}

/// Aggregates the workers' purchases and scores the customers.
fn finish(workers: &[Buckets], map: &KeyMap, n: usize, cfg: &RfmConfig, par: &Parallelism) -> Result<RecordBatch> {
    let lo = map.base();
    let shift = bucket_shift(n);
    // Each bucket in parallel: exact integer sums and min / max over its customers, so the
    // result does not depend on the decoding order; the bucket boundaries depend only on the
    // key range, so the output is the same for any pool.
    let purchases: usize = workers.iter().map(Buckets::len).sum();
    let columns = if n <= 2 * purchases {
        by_regions(workers, n, shift, lo, par)
    } else {
        by_parts(workers, n, shift, lo, par)
    };
    let [keys, recency, frequency, money, t_days] = columns;
    let axes = Axes {
        keys: map.column(keys),
        recency,
        frequency,
        money,
        t_days,
    };
    par.install(|| score(axes, cfg))
}

/// One customer's output row: key, recency days, frequency, money in cents, T days.
type Row = (i64, i64, i64, i64, i64);

/// Aggregates bucket `b` of every worker into `cells` (reset to `width` empty cells) and
/// calls `emit` with the output row of each customer with a purchase, in key order.
fn aggregate(
    workers: &[Buckets],
    b: usize,
    shift: u32,
    lo: i64,
    width: usize,
    cells: &mut Vec<Cell>,
    mut emit: impl FnMut(Row),
) {
    let base = b << shift;
    cells.clear();
    cells.resize(width, EMPTY);
    let mut add = |c: usize, days: i32, units: i128| {
        if let Some(cell) = cells.get_mut(c) {
            cell.count += 1;
            cell.units += units;
            cell.fewest_days = cell.fewest_days.min(days);
            cell.most_days = cell.most_days.max(days);
        }
    };
    for bucket in workers.iter().filter_map(|w| w.buckets.get(b)) {
        for p in bucket.compact.iter().flatten() {
            let units = i128::from(p.cents) * i128::from(UNITS_PER_CENT);
            add((p.offset_days >> 16) as usize, (p.offset_days & 0xffff) as i32, units);
        }
        for p in bucket.wide.iter().flatten() {
            add((p.customer as usize).wrapping_sub(base), p.days, to_units(p.amount));
        }
    }
    for (c, cell) in cells.iter().enumerate() {
        if cell.count > 0 {
            emit((
                lo + (base + c) as i64,
                i64::from(cell.fewest_days),
                i64::try_from(cell.count).unwrap_or(i64::MAX),
                cents(cell.units),
                i64::from(cell.most_days),
            ));
        }
    }
}

/// The output columns when most keys of the range have a purchase: bucket `b` writes its
/// customers to the front of its own region `b << shift ..` of columns with one slot per key,
/// and the regions are then closed up in place (no per-bucket vectors, no copy into fresh
/// columns).
fn by_regions(workers: &[Buckets], n: usize, shift: u32, lo: i64, par: &Parallelism) -> [Vec<i64>; 5] {
    let width = 1usize << shift;
    let mut columns: [Vec<i64>; 5] = std::array::from_fn(|_| vec![0i64; n]);
    let [keys, recency, frequency, money, t_days] = &mut columns;
    let regions: Vec<_> = keys
        .chunks_mut(width)
        .zip(recency.chunks_mut(width))
        .zip(frequency.chunks_mut(width))
        .zip(money.chunks_mut(width))
        .zip(t_days.chunks_mut(width))
        .enumerate()
        .collect();
    let counts: Vec<usize> = par.install(|| {
        regions
            .into_par_iter()
            // One cell array per rayon job, reset for each bucket (a fresh 2^12-cell array
            // is 128 KiB, which the allocator maps and the kernel zeroes every time).
            .map_init(
                Vec::new,
                |cells: &mut Vec<Cell>, (b, ((((keys, recency), frequency), money), t_days))| {
                    let mut out = keys
                        .iter_mut()
                        .zip(recency.iter_mut())
                        .zip(frequency.iter_mut())
                        .zip(money.iter_mut())
                        .zip(t_days.iter_mut());
                    let mut count = 0;
                    aggregate(workers, b, shift, lo, out.len(), cells, |(k, r, f, m, t)| {
                        if let Some(((((k0, r0), f0), m0), t0)) = out.next() {
                            (*k0, *r0, *f0, *m0, *t0) = (k, r, f, m, t);
                            count += 1;
                        }
                    });
                    count
                },
            )
            .collect()
    });
    // The regions closed up, the five columns in parallel.
    par.install(|| {
        columns.par_iter_mut().for_each(|column| {
            let mut end = 0;
            for (b, &count) in counts.iter().enumerate() {
                let from = b << shift;
                if from + count <= column.len() {
                    column.copy_within(from..from + count, end);
                }
                end += count;
            }
            column.truncate(end);
        });
    });
    columns
}

/// The output columns when the key range is sparse (more than twice as many keys as
/// purchases, where columns with a slot per key would mostly stay empty): each bucket's rows
/// in vectors of their own, then copied side by side into exact columns.
fn by_parts(workers: &[Buckets], n: usize, shift: u32, lo: i64, par: &Parallelism) -> [Vec<i64>; 5] {
    let buckets = n.div_ceil(1 << shift);
    let parts: Vec<Vec<Row>> = par.install(|| {
        (0..buckets)
            .into_par_iter()
            .map_init(Vec::new, |cells: &mut Vec<Cell>, b| {
                let width = (1usize << shift).min(n.saturating_sub(b << shift));
                let mut rows = Vec::new();
                aggregate(workers, b, shift, lo, width, cells, |row| rows.push(row));
                rows
            })
            .collect()
    });
    let total: usize = parts.iter().map(Vec::len).sum();
    let mut columns: [Vec<i64>; 5] = std::array::from_fn(|_| Vec::with_capacity(total));
    par.install(|| {
        columns.par_iter_mut().enumerate().for_each(|(i, column)| {
            for (k, r, f, m, t) in parts.iter().flatten().copied() {
                column.push(match i {
                    0 => k,
                    1 => r,
                    2 => f,
                    3 => m,
                    _ => t,
                });
            }
        });
    });
    columns
}
