//! Purchases straight from a Parquet file, without building a store.
//!
//! Several kernels need only the purchases of an event log: for each one the customer, the
//! time and the amount. This module decodes exactly those columns (`customer_id`,
//! `event_time`, `event_type`, `amount`) row group by row group in parallel and hands each
//! purchase to a per-worker [`PurchaseSink`], whose partial states the caller then merges.
//! Kernels whose state merges exactly (integer sums, min / max, sets) therefore give the
//! same answer as over a store, in any decoding order and whatever the thread count, and skip
//! ordering all events by customer and time, which is most of what building a store costs.
//!
//! It applies to the common layout only: integer customer keys whose range is at most 4 ×
//! the row count (and 2²⁸), microsecond / millisecond / second timestamps, a float amount,
//! an event-type column of strings (or none: every row a purchase). A kernel on this path must
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

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::statistics::Statistics;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::ingest::{IngestOptions, KeyType, MAX_AMOUNT};
use crate::schema::Role;
use crate::time::{END_EVENT_MICROS, MIN_EVENT_MICROS};

/// Receives the purchases one worker decodes. `customer` is the key minus the file's smallest
/// key (below [`PurchaseScan::customers`]); `time` is in µs since the epoch.
pub(crate) trait PurchaseSink: Send {
    /// One purchase (only purchases before the scan's `until` reach the sink).
    fn push(&mut self, customer: u32, time: i64, amount: f64);
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
    /// The smallest customer key; sink customers are offsets from it.
    pub min_key: i64,
    /// The number of key offsets (largest − smallest key + 1).
    pub customers: usize,
    scale: i64,
    has_type: bool,
    has_amount: bool,
    purchase: String,
    allow_refunds: bool,
}

/// Why a batch cannot be aggregated on this path (the caller falls back).
struct Refuse;

/// What an event-type dictionary value is.
#[derive(Clone, Copy)]
enum Kind {
    Purchase,
    Other,
    Blank,
}

/// The microseconds of a timestamp column's values, as a multiplier, if its unit is exact.
fn micros_per_unit(t: &DataType) -> Option<i64> {
    match t {
        DataType::Timestamp(TimeUnit::Microsecond, _) => Some(1),
        DataType::Timestamp(TimeUnit::Millisecond, _) => Some(1_000),
        DataType::Timestamp(TimeUnit::Second, _) => Some(1_000_000),
        _ => None,
    }
}

impl PurchaseScan {
    /// Opens the Parquet file at `path` for a purchase scan with `ingest`'s column mapping,
    /// or `None` when the file is outside this path's scope (see the [module docs](self)).
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::Format`] when the file cannot be read as Parquet.
    pub fn open(path: &Path, ingest: &IngestOptions) -> Result<Option<PurchaseScan>> {
        if ingest.key_type == KeyType::String {
            return Ok(None);
        }
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
        // Score and cost are not decoded here: their statistics must show no row ingestion
        // rejects (see `ingest::bounds` for what statistics cannot show).
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
            ArrowReaderOptions::new()
                .with_schema(Arc::new(Schema::new_with_metadata(hinted, schema.metadata().clone()))),
        )
        .map_err(|e| fmt(&e))?;
        let mut sorted_roots = roots.clone();
        sorted_roots.sort_unstable();
        if sorted_roots != roots {
            // Projected columns come back in file order; this path expects key, time, type, amount.
            return Ok(None);
        }
        let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
        let groups = meta.metadata().num_row_groups();
        Ok(Some(PurchaseScan {
            path: path.to_path_buf(),
            name,
            meta,
            mask,
            groups,
            min_key: lo,
            customers: range,
            scale,
            has_type: type_i.is_some(),
            has_amount: amount_i.is_some(),
            purchase: ingest.purchase_type.clone(),
            allow_refunds: ingest.allow_refunds,
        }))
    }

    /// Decodes the file in parallel (row groups dealt round-robin to one sink per worker
    /// thread, so the sinks come back in a fixed order) and hands every purchase before
    /// `until` (µs, exclusive) to its worker's sink; `None` when a row is outside this path's
    /// scope.
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::Format`] when the file cannot be read or decoded.
    pub fn run<S: PurchaseSink>(
        &self,
        until: i64,
        par: &Parallelism,
        make: impl Fn() -> S + Sync,
    ) -> Result<Option<Vec<S>>> {
        let fmt = |e: &dyn std::fmt::Display| Error::Format {
            source_name: self.name.clone(),
            format: "parquet",
            message: e.to_string(),
        };
        let workers = par.install(rayon::current_num_threads).clamp(1, self.groups.max(1));
        let sinks: Vec<Result<Option<S>>> = crate::error::guard_decode(&self.name, "parquet", || {
            Ok(par.install(|| {
                (0..workers)
                    .into_par_iter()
                    .map(|w| -> Result<Option<S>> {
                        let mut sink = make();
                        for rg in (0..self.groups).skip(w).step_by(workers) {
                            let f = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
                            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(f, self.meta.clone())
                                .with_projection(self.mask.clone())
                                .with_row_groups(vec![rg])
                                .with_batch_size(64 * 1024)
                                .build()
                                .map_err(|e| fmt(&e))?;
                            for b in reader {
                                let b = b.map_err(|e| fmt(&e))?;
                                if self.batch(&mut sink, &b, until).is_err() {
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

    /// Checks one decoded batch (columns: key, time, [type], [amount]) and passes its
    /// purchases before `until` to `sink`.
    fn batch<S: PurchaseSink>(&self, sink: &mut S, batch: &RecordBatch, until: i64) -> std::result::Result<(), Refuse> {
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
        let types = if self.has_type { Some(next()) } else { None };
        // Per dictionary value: a purchase, another type, or blank (a rejected row: ingestion
        // trims types, and a null or blank type is rejected). One check per distinct value.
        let kinds: Option<(Vec<Kind>, &arrow_array::DictionaryArray<Int32Type>)> = match &types {
            None => None,
            Some(t) => {
                let d = t.as_dictionary_opt::<Int32Type>().ok_or(Refuse)?;
                if d.null_count() > 0 {
                    return Err(Refuse);
                }
                let values = d.values().as_string_opt::<i32>().ok_or(Refuse)?;
                let kinds = (0..values.len())
                    .map(|i| {
                        let v = if values.is_valid(i) { values.value(i).trim() } else { "" };
                        if v.is_empty() {
                            Kind::Blank
                        } else if v == self.purchase {
                            Kind::Purchase
                        } else {
                            Kind::Other
                        }
                    })
                    .collect();
                Some((kinds, d))
            }
        };
        let amounts = if self.has_amount { Some(next()) } else { None };
        let amounts = match &amounts {
            None => None,
            Some(a) => Some(a.as_primitive_opt::<Float64Type>().ok_or(Refuse)?),
        };
        let n = keys.len();
        let key_values = keys.values();
        let (scale, lo, range) = (self.scale, self.min_key, self.customers);
        for i in 0..n {
            let t = times[i].checked_mul(scale).ok_or(Refuse)?;
            if !(MIN_EVENT_MICROS..END_EVENT_MICROS).contains(&t) {
                return Err(Refuse);
            }
            let buy = match &kinds {
                None => true,
                Some((kinds, d)) => match kinds.get(d.keys().value(i) as usize) {
                    Some(Kind::Purchase) => true,
                    Some(Kind::Other) => false,
                    Some(Kind::Blank) | None => return Err(Refuse),
                },
            };
            let amount = match amounts {
                Some(a) if a.is_valid(i) => {
                    let x = a.value(i);
                    if !x.is_finite() || x.abs() > MAX_AMOUNT || (buy && !self.allow_refunds && x < 0.0) {
                        return Err(Refuse);
                    }
                    x
                }
                _ => 0.0,
            };
            if buy && t < until {
                let k = u32::try_from(key_values[i].wrapping_sub(lo)).map_err(|_| Refuse)?;
                if k as usize >= range {
                    return Err(Refuse);
                }
                sink.push(k, t, amount);
            }
        }
        Ok(())
    }
}
