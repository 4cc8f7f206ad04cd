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
//! It applies to the common layout only: integer customer keys whose range is at most 4 ×
//! the row count (and 2²⁸), microsecond / millisecond / second timestamps, a float amount, an
//! event-type column of strings (or none: every row a purchase). It must give exactly the
//! table the store path gives, so it also refuses any file with a row the ingestion would
//! reject (a null key or time, a time out of range, a null event type, an amount that is not
//! finite or beyond ±10¹⁵, a negative purchase without `allow_refunds`): [`rfm_parquet`] then
//! returns `None` and the caller takes the store path, which reports those rows.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::statistics::Statistics;
use rayon::prelude::*;

use super::kernel::{Axes, cents, score};
use super::params::{RfmConfig, RfmMode};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::ingest::{IngestOptions, KeyType, MAX_AMOUNT};
use crate::kernels::summary::to_units;
use crate::schema::Role;
use crate::time::{END_EVENT_MICROS, MICROS_PER_DAY, MIN_EVENT_MICROS};

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

/// Why a batch cannot be aggregated on this path (the caller falls back).
struct Refuse;

/// The microseconds of a timestamp column's values, as a multiplier, if its unit is exact.
fn micros_per_unit(t: &DataType) -> Option<i64> {
    match t {
        DataType::Timestamp(TimeUnit::Microsecond, _) => Some(1),
        DataType::Timestamp(TimeUnit::Millisecond, _) => Some(1_000),
        DataType::Timestamp(TimeUnit::Second, _) => Some(1_000_000),
        _ => None,
    }
}

/// Adds one decoded batch (columns: key, time, [type], [amount]) to `acc`.
#[allow(clippy::too_many_arguments)]
fn update(
    acc: &mut Partial,
    batch: &RecordBatch,
    min_key: i64,
    as_of: i64,
    scale: i64,
    purchase: &str,
    has_type: bool,
    has_amount: bool,
    allow_refunds: bool,
) -> std::result::Result<(), Refuse> {
    let mut c = 0;
    let mut next = || {
        let col = batch.column(c).clone();
        c += 1;
        col
    };
    let keys = next();
    let keys = keys.as_primitive_opt::<Int64Type>().ok_or(Refuse)?;
    let times = next();
    let times = times
        .as_primitive_opt::<arrow_array::types::TimestampMicrosecondType>()
        .map(|a| a.values().clone());
    let times = match times {
        Some(t) => t,
        None => {
            let t = arrow_cast::cast(&batch.column(1).clone(), &DataType::Int64).map_err(|_| Refuse)?;
            t.as_primitive::<Int64Type>().values().clone()
        }
    };
    if keys.null_count() > 0 || batch.column(1).null_count() > 0 {
        return Err(Refuse);
    }
    let types = if has_type { Some(next()) } else { None };
    let is_purchase: Option<(Vec<bool>, &arrow_array::DictionaryArray<Int32Type>)> = match &types {
        None => None,
        Some(t) => {
            let d = t.as_dictionary_opt::<Int32Type>().ok_or(Refuse)?;
            if d.null_count() > 0 {
                return Err(Refuse);
            }
            let values = d.values().as_string_opt::<i32>().ok_or(Refuse)?;
            // As ingestion does: types are trimmed, and a blank type is a rejected row.
            let used_blank = d
                .keys()
                .iter()
                .flatten()
                .any(|k| values.is_null(k as usize) || values.value(k as usize).trim().is_empty());
            if used_blank {
                return Err(Refuse);
            }
            let flags = (0..values.len())
                .map(|i| values.is_valid(i) && values.value(i).trim() == purchase)
                .collect();
            Some((flags, d))
        }
    };
    let amounts = if has_amount { Some(next()) } else { None };
    let amounts = match &amounts {
        None => None,
        Some(a) => Some(a.as_primitive_opt::<Float64Type>().ok_or(Refuse)?),
    };
    let n = keys.len();
    let key_values = keys.values();
    for i in 0..n {
        let t = times[i].checked_mul(scale).ok_or(Refuse)?;
        if !(MIN_EVENT_MICROS..END_EVENT_MICROS).contains(&t) {
            return Err(Refuse);
        }
        let buy = match &is_purchase {
            None => true,
            Some((flags, d)) => flags.get(d.keys().value(i) as usize).copied().unwrap_or(false),
        };
        let amount = match amounts {
            Some(a) if a.is_valid(i) => {
                let x = a.value(i);
                if !x.is_finite() || x.abs() > MAX_AMOUNT || (buy && !allow_refunds && x < 0.0) {
                    return Err(Refuse);
                }
                x
            }
            _ => 0.0,
        };
        if buy && t < as_of {
            let k = u32::try_from(key_values[i].wrapping_sub(min_key)).map_err(|_| Refuse)?;
            if k as usize >= acc.cells.len() {
                return Err(Refuse);
            }
            acc.pending.push(Purchase {
                customer: k,
                time: t,
                units: to_units(amount),
            });
        }
    }
    if acc.pending.len() >= FLUSH {
        acc.flush();
    }
    Ok(())
}

/// The `orders` RFM table of the events in the Parquet file at `path`, read with `ingest`'s
/// column mapping and purchase type, or `None` when the file is outside this path's scope
/// (see the [module docs](self)); the table is then what [`rfm`](super::rfm) gives over a
/// store of the file's events, row for row.
///
/// # Errors
/// [`Error::Io`] / [`Error::Format`] when the file cannot be read as Parquet; the scoring
/// errors of [`rfm`](super::rfm).
pub fn rfm_parquet(
    path: impl AsRef<Path>,
    cfg: &RfmConfig,
    ingest: &IngestOptions,
    par: &Parallelism,
) -> Result<Option<RecordBatch>> {
    if cfg.params.mode != RfmMode::Orders || ingest.key_type == KeyType::String {
        return Ok(None);
    }
    let path = path.as_ref();
    let name = path.display().to_string();
    let fmt = |e: &dyn std::fmt::Display| Error::Format {
        source_name: name.clone(),
        format: "parquet",
        message: e.to_string(),
    };
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| fmt(&e))?;
    let schema = meta.schema().clone();
    let m = &ingest.mapping;
    let find = |role: Role| schema.index_of(m.column(role)).ok();
    let (Some(key_i), Some(time_i)) = (find(Role::CustomerId), find(Role::EventTime)) else {
        return Ok(None);
    };
    let (type_i, amount_i) = (find(Role::EventType), find(Role::Amount));
    let field = |i: usize| schema.field(i).data_type().clone();
    if field(key_i) != DataType::Int64
        || micros_per_unit(&field(time_i)).is_none()
        || amount_i.is_some_and(|i| field(i) != DataType::Float64)
        || type_i.is_some_and(|i| !matches!(field(i), DataType::Utf8))
    {
        return Ok(None);
    }
    let scale = micros_per_unit(&field(time_i)).unwrap_or(1);
    // The key range from the row groups' statistics (exact min / max of the key column).
    let key_leaf = meta
        .parquet_schema()
        .columns()
        .iter()
        .position(|c| c.path().parts().first().map(String::as_str) == Some(m.column(Role::CustomerId)));
    let Some(key_leaf) = key_leaf else {
        return Ok(None);
    };
    let (mut lo, mut hi, mut rows) = (i64::MAX, i64::MIN, 0usize);
    for rg in meta.metadata().row_groups() {
        rows += usize::try_from(rg.num_rows()).unwrap_or(0);
        match rg.column(key_leaf).statistics() {
            Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                (Some(&a), Some(&b)) => {
                    lo = lo.min(a);
                    hi = hi.max(b);
                }
                _ => return Ok(None),
            },
            _ => return Ok(None),
        }
    }
    // Score and cost are not read here: their statistics must show no row ingestion rejects.
    if !crate::ingest::bounds::score_cost_within_bounds(meta.metadata(), &schema, ingest) {
        return Ok(None);
    }
    if rows == 0 {
        return Ok(None);
    }
    let range = usize::try_from(hi.wrapping_sub(lo)).ok().map(|r| r + 1);
    let Some(range) = range.filter(|&r| r <= (rows.saturating_mul(4)).min(1 << 28)) else {
        return Ok(None);
    };
    // Decode event types as dictionaries: one comparison per distinct value, not per row.
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
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let meta = ArrowReaderMetadata::try_new(
        meta.metadata().clone(),
        ArrowReaderOptions::new().with_schema(Arc::new(Schema::new_with_metadata(hinted, schema.metadata().clone()))),
    )
    .map_err(|e| fmt(&e))?;
    let mut sorted_roots = roots.clone();
    sorted_roots.sort_unstable();
    if sorted_roots != roots {
        // Projected columns come back in file order; this path expects key, time, type, amount.
        return Ok(None);
    }
    let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
    let groups: Vec<usize> = (0..meta.metadata().num_row_groups()).collect();
    let as_of = cfg.as_of_micros;
    let purchase = ingest.purchase_type.as_str();
    let allow_refunds = ingest.allow_refunds;
    // One partial per worker thread (row groups dealt round-robin), merged in a fixed order;
    // the state is exact integers and min / max, so the order cannot change the result.
    let workers = par.install(rayon::current_num_threads).clamp(1, groups.len().max(1));
    let partials: Vec<Result<Option<Partial>>> = crate::error::guard_decode(&name, "parquet", || {
        Ok(par.install(|| {
            (0..workers)
                .into_par_iter()
                .map(|w| -> Result<Option<Partial>> {
                    let mut acc = Partial::new(range);
                    for &rg in groups.iter().skip(w).step_by(workers) {
                        let f = File::open(path).map_err(|e| Error::io(path, e))?;
                        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(f, meta.clone())
                            .with_projection(mask.clone())
                            .with_row_groups(vec![rg])
                            .with_batch_size(64 * 1024)
                            .build()
                            .map_err(|e| fmt(&e))?;
                        for b in reader {
                            let b = b.map_err(|e| fmt(&e))?;
                            let step = update(
                                &mut acc,
                                &b,
                                lo,
                                as_of,
                                scale,
                                purchase,
                                type_i.is_some(),
                                amount_i.is_some(),
                                allow_refunds,
                            );
                            if step.is_err() {
                                return Ok(None);
                            }
                        }
                    }
                    acc.flush();
                    Ok(Some(acc))
                })
                .collect()
        }))
    })?;
    let mut merged: Option<Partial> = None;
    for p in partials {
        let Some(p) = p? else {
            return Ok(None);
        };
        merged = Some(match merged {
            None => p,
            Some(m) => m.merge(&p),
        });
    }
    let partial = merged;
    let Some(p) = partial else {
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
