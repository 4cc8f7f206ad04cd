//! Finishing partial states into the summary table.
//!
//! Columns, in order (`*` only with an observation end):
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `customer_id` | Int64 / Utf8 | the original key |
//! | `first_event`, `last_event` | Timestamp(µs, UTC) | first and last calibration event of any type |
//! | `first_purchase`, `last_purchase` | Timestamp(µs, UTC) | first and last calibration purchase (null for non-buyers) |
//! | `purchase_count` | UInt64 | calibration purchase events (before merging into periods) |
//! | `frequency` | Float64 | distinct calibration purchase periods − 1 |
//! | `recency` | Float64 | last − first purchase period, in the time unit |
//! | `T` | Float64 | calibration-end period − first purchase period, in the time unit |
//! | `monetary_value` | Float64 | mean spend per repeat period (first period excluded; 0 when `frequency` is 0) |
//! | `total_spend` | Float64 | sum of calibration purchase amounts |
//! | `frequency_holdout`* | Float64 | distinct holdout purchase periods |
//! | `monetary_value_holdout`* | Float64 | mean spend per holdout purchase period (0 when none) |
//! | `duration_holdout`* | Float64 | observation-end period − calibration-end period, in the time unit |
//! | `count_<type>` | UInt64 | calibration events of each event type (sorted by type) |

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, TimestampMicrosecondArray, UInt64Array};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, TimeUnit as ArrowTimeUnit};

use super::params::SummaryConfig;
use super::state::{CustomerState, from_units};
use crate::error::Result;
use crate::schema::output::common::{FIRST_PURCHASE, LAST_PURCHASE};
use crate::schema::output::summary::{
    COUNT_PREFIX, DURATION_HOLDOUT, FIRST_EVENT, FREQUENCY_HOLDOUT, LAST_EVENT, MONETARY_VALUE_HOLDOUT, PURCHASE_COUNT,
    TOTAL_SPEND,
};
use crate::schema::output::{FREQUENCY, MONETARY_VALUE, RECENCY, T};

/// One customer's totals, as a summary row needs them (from a [`CustomerState`], or from a
/// store's rollups).
pub(crate) struct Row<'a> {
    /// First and last calibration event (µs; `i64::MAX` / `i64::MIN` without one).
    pub first_event: i64,
    pub last_event: i64,
    /// First and last calibration purchase (µs; read only for a buyer).
    pub first_purchase: i64,
    pub last_purchase: i64,
    /// Calibration purchase events.
    pub purchase_count: u64,
    /// Their spend, in nano-units.
    pub spend: i128,
    /// The calibration purchase periods: (first period, last period, how many, the spend of
    /// all but the first); `None` for a customer without a calibration purchase.
    pub calibration: Option<(i64, i64, usize, i128)>,
    /// Holdout purchase periods and their spend (nano-units).
    pub holdout: (usize, i128),
    /// Calibration events per event type.
    pub type_counts: &'a [u64],
}

impl Row<'_> {
    /// Whether the row is listed (as [`SummaryColumns::includes`] for a state).
    pub fn included(&self, cfg: &SummaryConfig) -> bool {
        self.calibration.is_some() || (cfg.params.include_non_buyers && self.first_event != i64::MAX)
    }
}

/// Column vectors for summary rows. Arrow arrays are built from them without copying.
/// Purchase columns of non-buyers hold 0 and are masked by `buyer`.
pub(crate) struct SummaryColumns {
    holdout: bool,
    buyer: Vec<bool>,
    first_event: Vec<i64>,
    last_event: Vec<i64>,
    first_purchase: Vec<i64>,
    last_purchase: Vec<i64>,
    purchase_count: Vec<u64>,
    frequency: Vec<f64>,
    recency: Vec<f64>,
    t: Vec<f64>,
    monetary: Vec<f64>,
    total_spend: Vec<f64>,
    frequency_holdout: Vec<f64>,
    monetary_holdout: Vec<f64>,
    duration_holdout: Vec<f64>,
    type_counts: Vec<Vec<u64>>,
}

impl SummaryColumns {
    /// Empty columns with room for `rows` rows.
    pub fn with_capacity(cfg: &SummaryConfig, num_types: usize, rows: usize) -> Self {
        let holdout = cfg.observation_end_excl.is_some();
        let h = if holdout { rows } else { 0 };
        SummaryColumns {
            holdout,
            buyer: Vec::with_capacity(rows),
            first_event: Vec::with_capacity(rows),
            last_event: Vec::with_capacity(rows),
            first_purchase: Vec::with_capacity(rows),
            last_purchase: Vec::with_capacity(rows),
            purchase_count: Vec::with_capacity(rows),
            frequency: Vec::with_capacity(rows),
            recency: Vec::with_capacity(rows),
            t: Vec::with_capacity(rows),
            monetary: Vec::with_capacity(rows),
            total_spend: Vec::with_capacity(rows),
            frequency_holdout: Vec::with_capacity(h),
            monetary_holdout: Vec::with_capacity(h),
            duration_holdout: Vec::with_capacity(h),
            type_counts: (0..num_types).map(|_| Vec::with_capacity(rows)).collect(),
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.buyer.len()
    }

    /// Whether `state` gives a row.
    pub fn includes(cfg: &SummaryConfig, state: &CustomerState) -> bool {
        state.is_buyer() || (cfg.params.include_non_buyers && state.has_events())
    }

    /// Finishes one customer's state into a row.
    #[inline]
    pub fn push(&mut self, cfg: &SummaryConfig, s: &CustomerState) {
        let calibration = match (s.calibration.first(), s.calibration.last()) {
            (Some(first), Some(last)) => {
                let repeat: i128 = s
                    .calibration
                    .iter()
                    .skip(1)
                    .map(|e| e.1)
                    .fold(0i128, i128::saturating_add);
                Some((first.0, last.0, s.calibration.len(), repeat))
            }
            _ => None,
        };
        let holdout = s.holdout.iter().map(|e| e.1).fold(0i128, i128::saturating_add);
        self.push_row(
            cfg,
            &Row {
                first_event: s.first_event,
                last_event: s.last_event,
                first_purchase: s.first_purchase,
                last_purchase: s.last_purchase,
                purchase_count: s.purchase_count,
                spend: s.spend,
                calibration,
                holdout: (s.holdout.len(), holdout),
                type_counts: &s.type_counts,
            },
        );
    }

    /// Finishes one customer's totals into a row.
    #[inline]
    pub fn push_row(&mut self, cfg: &SummaryConfig, s: &Row<'_>) {
        let p = &cfg.params;
        let measure = |a: i64, b: i64| p.time_unit.measure(p.period, a, b);
        self.first_event.push(s.first_event);
        self.last_event.push(s.last_event);
        self.purchase_count.push(s.purchase_count);
        self.total_spend.push(from_units(s.spend));
        match s.calibration {
            Some((first, last, periods, repeat)) => {
                let freq = periods.saturating_sub(1);
                self.buyer.push(true);
                self.first_purchase.push(s.first_purchase);
                self.last_purchase.push(s.last_purchase);
                self.frequency.push(freq as f64);
                self.recency.push(measure(first, last));
                self.t.push(measure(first, cfg.calibration_period));
                self.monetary.push(if freq > 0 {
                    from_units(repeat) / freq as f64
                } else {
                    0.0
                });
            }
            None => {
                self.buyer.push(false);
                self.first_purchase.push(0);
                self.last_purchase.push(0);
                self.frequency.push(0.0);
                self.recency.push(0.0);
                self.t.push(0.0);
                self.monetary.push(0.0);
            }
        }
        if let Some(obs) = cfg.observation_period {
            let (n, spend) = s.holdout;
            self.frequency_holdout.push(n as f64);
            self.monetary_holdout
                .push(if n > 0 { from_units(spend) / n as f64 } else { 0.0 });
            self.duration_holdout.push(measure(cfg.calibration_period, obs));
        }
        for (code, col) in self.type_counts.iter_mut().enumerate() {
            col.push(s.type_counts.get(code).copied().unwrap_or(0));
        }
    }

    /// Concatenates chunks in order, into vectors allocated once.
    pub fn concat(cfg: &SummaryConfig, num_types: usize, parts: Vec<SummaryColumns>) -> Self {
        let rows = parts.iter().map(SummaryColumns::len).sum();
        let mut out = SummaryColumns::with_capacity(cfg, num_types, rows);
        for o in parts {
            out.buyer.extend(o.buyer);
            out.first_event.extend(o.first_event);
            out.last_event.extend(o.last_event);
            out.first_purchase.extend(o.first_purchase);
            out.last_purchase.extend(o.last_purchase);
            out.purchase_count.extend(o.purchase_count);
            out.frequency.extend(o.frequency);
            out.recency.extend(o.recency);
            out.t.extend(o.t);
            out.monetary.extend(o.monetary);
            out.total_spend.extend(o.total_spend);
            out.frequency_holdout.extend(o.frequency_holdout);
            out.monetary_holdout.extend(o.monetary_holdout);
            out.duration_holdout.extend(o.duration_holdout);
            for (a, b) in out.type_counts.iter_mut().zip(o.type_counts) {
                a.extend(b);
            }
        }
        out
    }

    /// The summary batch of chunks of rows in order, each with the customer indices of its
    /// rows into `keys` (a store's customer keys), and `type_names` for the count columns.
    ///
    /// # Errors
    /// An Arrow error from taking the keys or assembling the batch.
    pub fn assemble(
        cfg: &SummaryConfig,
        parts: Vec<(SummaryColumns, Vec<u32>)>,
        keys: &dyn arrow_array::Array,
        type_names: &[String],
    ) -> Result<RecordBatch> {
        let mut rows: Vec<u32> = Vec::with_capacity(parts.iter().map(|p| p.1.len()).sum());
        let mut chunks = Vec::with_capacity(parts.len());
        for (p, r) in parts {
            chunks.push(p);
            rows.extend(r);
        }
        let out = SummaryColumns::concat(cfg, type_names.len(), chunks);
        let keys = arrow_select::take::take(keys, &arrow_array::UInt32Array::from(rows), None)?;
        out.finish(keys, type_names)
    }

    /// The summary batch, with `keys` (one per row) as `customer_id`.
    pub fn finish(self, keys: ArrayRef, type_names: &[String]) -> Result<RecordBatch> {
        let ts = || DataType::Timestamp(ArrowTimeUnit::Microsecond, Some(crate::time::UTC.into()));
        let nulls = if self.buyer.iter().all(|&b| b) {
            None
        } else {
            Some(NullBuffer::from(self.buyer))
        };
        let nullable = nulls.is_some();
        let times = |v: Vec<i64>, n: Option<NullBuffer>| -> ArrayRef {
            Arc::new(TimestampMicrosecondArray::new(ScalarBuffer::from(v), n).with_timezone(crate::time::UTC))
        };
        let f64s =
            |v: Vec<f64>, n: Option<NullBuffer>| -> ArrayRef { Arc::new(Float64Array::new(ScalarBuffer::from(v), n)) };
        let u64s = |v: Vec<u64>| -> ArrayRef { Arc::new(UInt64Array::new(ScalarBuffer::from(v), None)) };
        let mut fields = vec![
            Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false),
            Field::new(FIRST_EVENT, ts(), false),
            Field::new(LAST_EVENT, ts(), false),
            Field::new(FIRST_PURCHASE, ts(), nullable),
            Field::new(LAST_PURCHASE, ts(), nullable),
            Field::new(PURCHASE_COUNT, DataType::UInt64, false),
            Field::new(FREQUENCY, DataType::Float64, nullable),
            Field::new(RECENCY, DataType::Float64, nullable),
            Field::new(T, DataType::Float64, nullable),
            Field::new(MONETARY_VALUE, DataType::Float64, nullable),
            Field::new(TOTAL_SPEND, DataType::Float64, false),
        ];
        let mut cols: Vec<ArrayRef> = vec![
            keys,
            times(self.first_event, None),
            times(self.last_event, None),
            times(self.first_purchase, nulls.clone()),
            times(self.last_purchase, nulls.clone()),
            u64s(self.purchase_count),
            f64s(self.frequency, nulls.clone()),
            f64s(self.recency, nulls.clone()),
            f64s(self.t, nulls.clone()),
            f64s(self.monetary, nulls),
            f64s(self.total_spend, None),
        ];
        if self.holdout {
            for (name, v) in [
                (FREQUENCY_HOLDOUT, self.frequency_holdout),
                (MONETARY_VALUE_HOLDOUT, self.monetary_holdout),
                (DURATION_HOLDOUT, self.duration_holdout),
            ] {
                fields.push(Field::new(name, DataType::Float64, false));
                cols.push(f64s(v, None));
            }
        }
        for (name, v) in type_names.iter().zip(self.type_counts) {
            fields.push(Field::new(format!("{COUNT_PREFIX}{name}"), DataType::UInt64, false));
            cols.push(u64s(v));
        }
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
    }
}
