//! RFM (`orders` convention) straight from a Parquet file, without building a store.
//!
//! The `orders` RFM of a customer needs four numbers: the purchase count, the exact sum of
//! amounts, and the first and last purchase times. They merge by addition, min and max, so
//! row groups can be decoded and aggregated in parallel in any order and still give the exact
//! answer. This path reads only `customer_id`, `event_time`, `event_type` and `amount`, keeps
//! the partial state in arrays indexed by `customer_id − min` (the key range comes from the
//! file's column statistics), and never orders events by customer and time, which is what
//! building a store costs.
//!
//! The file is read by the shared purchase scan ([`crate::kernels::scan`]), which decides
//! which files this path accepts and refuses any file with a row the ingestion would reject:
//! [`rfm_parquet`] then returns `None` and the caller takes the store path, which reports
//! those rows.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};

use super::kernel::{Axes, cents, score};
use super::params::{RfmConfig, RfmMode};
use crate::error::Result;
use crate::exec::Parallelism;
use crate::ingest::IngestOptions;
use crate::kernels::scan::{PurchaseScan, PurchaseSink};
use crate::kernels::summary::to_units;
use crate::time::MICROS_PER_DAY;

/// One customer's partial state. Kept together so that a purchase touches one cache line
/// (events arrive in time order, so customers are visited at random).
#[derive(Debug, Clone, Copy)]
struct Cell {
    units: i128,
    first: i64,
    last: i64,
    count: u64,
}

const EMPTY: Cell = Cell {
    units: 0,
    first: i64::MAX,
    last: i64::MIN,
    count: 0,
};

/// A purchase waiting to be applied.
#[derive(Debug, Clone, Copy)]
struct Purchase {
    customer: u32,
    time: i64,
    units: i128,
}

/// Purchases buffered before they are applied in customer-bucket order.
const FLUSH: usize = 1 << 18;
/// Customers per bucket (log2): 4,096 cells of 48 bytes stay in the L2 cache while a bucket's
/// purchases are applied, instead of one cache miss per purchase.
const BUCKET_SHIFT: u32 = 12;

/// Per-customer partial state over a key range.
struct Partial {
    cells: Vec<Cell>,
    pending: Vec<Purchase>,
    sorted: Vec<Purchase>,
}

impl Partial {
    fn new(n: usize) -> Partial {
        Partial {
            cells: vec![EMPTY; n],
            pending: Vec::with_capacity(FLUSH),
            sorted: Vec::new(),
        }
    }

    /// Applies the pending purchases, grouped by customer bucket (a counting sort, stable, so
    /// each customer's purchases keep their order; the result is the same in any order).
    fn flush(&mut self) {
        let buckets = (self.cells.len() >> BUCKET_SHIFT) + 1;
        let mut starts = vec![0usize; buckets + 1];
        for p in &self.pending {
            starts[(p.customer >> BUCKET_SHIFT) as usize + 1] += 1;
        }
        for b in 0..buckets {
            starts[b + 1] += starts[b];
        }
        self.sorted.clear();
        self.sorted.resize(
            self.pending.len(),
            Purchase {
                customer: 0,
                time: 0,
                units: 0,
            },
        );
        for p in &self.pending {
            let slot = &mut starts[(p.customer >> BUCKET_SHIFT) as usize];
            self.sorted[*slot] = *p;
            *slot += 1;
        }
        for p in &self.sorted {
            if let Some(cell) = self.cells.get_mut(p.customer as usize) {
                cell.count += 1;
                cell.units += p.units;
                cell.first = cell.first.min(p.time);
                cell.last = cell.last.max(p.time);
            }
        }
        self.pending.clear();
    }

    fn merge(mut self, o: &Partial) -> Partial {
        for (a, b) in self.cells.iter_mut().zip(&o.cells) {
            if b.count > 0 {
                a.count += b.count;
                a.units += b.units;
                a.first = a.first.min(b.first);
                a.last = a.last.max(b.last);
            }
        }
        self
    }
}

impl PurchaseSink for Partial {
    #[inline]
    fn push(&mut self, customer: u32, time: i64, amount: f64) {
        self.pending.push(Purchase {
            customer,
            time,
            units: to_units(amount),
        });
    }

    fn end_batch(&mut self) {
        if self.pending.len() >= FLUSH {
            self.flush();
        }
    }

    fn finish(&mut self) {
        self.flush();
    }
}

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
    let Some(scan) = PurchaseScan::open(path.as_ref(), ingest)? else {
        return Ok(None);
    };
    let (lo, range) = (scan.min_key, scan.customers);
    let as_of = cfg.as_of_micros;
    // One partial per worker thread, merged in a fixed order; the state is exact integers and
    // min / max, so the order cannot change the result.
    let Some(partials) = scan.run(as_of, par, || Partial::new(range))? else {
        return Ok(None);
    };
    let Some(p) = partials.into_iter().reduce(|m, p| m.merge(&p)) else {
        return Ok(None);
    };
    let cells = &p.cells;
    let customers: Vec<usize> = (0..cells.len()).filter(|&i| cells[i].count > 0).collect();
    let keys: ArrayRef = Arc::new(Int64Array::from(
        customers.iter().map(|&i| lo + i as i64).collect::<Vec<_>>(),
    ));
    let axes = Axes {
        keys,
        recency: customers
            .iter()
            .map(|&i| (as_of - cells[i].last).div_euclid(MICROS_PER_DAY))
            .collect(),
        frequency: customers
            .iter()
            .map(|&i| i64::try_from(cells[i].count).unwrap_or(i64::MAX))
            .collect(),
        money: customers.iter().map(|&i| cents(cells[i].units)).collect(),
        t_days: customers
            .iter()
            .map(|&i| (as_of - cells[i].first).div_euclid(MICROS_PER_DAY))
            .collect(),
    };
    score(axes, cfg).map(Some)
}
