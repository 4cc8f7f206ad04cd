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

use arrow_array::builder::{Float64Builder, TimestampMicrosecondBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit as ArrowTimeUnit};

use super::params::SummaryConfig;
use super::state::{CustomerState, from_units};
use crate::error::Result;

/// Column builders for one chunk of summary rows.
pub(crate) struct SummaryColumns {
    holdout: bool,
    first_event: Vec<i64>,
    last_event: Vec<i64>,
    first_purchase: Vec<Option<i64>>,
    last_purchase: Vec<Option<i64>>,
    purchase_count: Vec<u64>,
    frequency: Vec<Option<f64>>,
    recency: Vec<Option<f64>>,
    t: Vec<Option<f64>>,
    monetary: Vec<Option<f64>>,
    total_spend: Vec<f64>,
    frequency_holdout: Vec<f64>,
    monetary_holdout: Vec<f64>,
    duration_holdout: Vec<f64>,
    type_counts: Vec<Vec<u64>>,
}

impl SummaryColumns {
    pub fn new(cfg: &SummaryConfig, num_types: usize) -> Self {
        SummaryColumns {
            holdout: cfg.observation_end_excl.is_some(),
            first_event: Vec::new(),
            last_event: Vec::new(),
            first_purchase: Vec::new(),
            last_purchase: Vec::new(),
            purchase_count: Vec::new(),
            frequency: Vec::new(),
            recency: Vec::new(),
            t: Vec::new(),
            monetary: Vec::new(),
            total_spend: Vec::new(),
            frequency_holdout: Vec::new(),
            monetary_holdout: Vec::new(),
            duration_holdout: Vec::new(),
            type_counts: vec![Vec::new(); num_types],
        }
    }

    /// Whether `state` gives a row.
    pub fn includes(cfg: &SummaryConfig, state: &CustomerState) -> bool {
        state.is_buyer() || (cfg.params.include_non_buyers && state.has_events())
    }

    /// Finishes one customer's state into a row.
    pub fn push(&mut self, cfg: &SummaryConfig, s: &CustomerState) {
        let p = &cfg.params;
        let measure = |a: i64, b: i64| p.time_unit.measure(p.period, a, b);
        self.first_event.push(s.first_event);
        self.last_event.push(s.last_event);
        self.purchase_count.push(s.purchase_count);
        self.total_spend.push(from_units(s.spend));
        match (s.calibration.first(), s.calibration.last()) {
            (Some(first), Some(last)) => {
                let freq = s.calibration.len() - 1;
                self.first_purchase.push(Some(s.first_purchase));
                self.last_purchase.push(Some(s.last_purchase));
                self.frequency.push(Some(freq as f64));
                self.recency.push(Some(measure(first.0, last.0)));
                self.t.push(Some(measure(first.0, cfg.calibration_period)));
                let repeat: i128 = s
                    .calibration
                    .iter()
                    .skip(1)
                    .map(|e| e.1)
                    .fold(0i128, i128::saturating_add);
                self.monetary.push(Some(if freq > 0 {
                    from_units(repeat) / freq as f64
                } else {
                    0.0
                }));
            }
            _ => {
                self.first_purchase.push(None);
                self.last_purchase.push(None);
                self.frequency.push(None);
                self.recency.push(None);
                self.t.push(None);
                self.monetary.push(None);
            }
        }
        if let Some(obs) = cfg.observation_period {
            let n = s.holdout.len();
            let spend: i128 = s.holdout.iter().map(|e| e.1).fold(0i128, i128::saturating_add);
            self.frequency_holdout.push(n as f64);
            self.monetary_holdout
                .push(if n > 0 { from_units(spend) / n as f64 } else { 0.0 });
            self.duration_holdout.push(measure(cfg.calibration_period, obs));
        }
        for (code, col) in self.type_counts.iter_mut().enumerate() {
            col.push(s.type_counts.get(code).copied().unwrap_or(0));
        }
    }

    /// Appends another chunk's rows.
    pub fn extend(&mut self, o: SummaryColumns) {
        self.first_event.extend(o.first_event);
        self.last_event.extend(o.last_event);
        self.first_purchase.extend(o.first_purchase);
        self.last_purchase.extend(o.last_purchase);
        self.purchase_count.extend(o.purchase_count);
        self.frequency.extend(o.frequency);
        self.recency.extend(o.recency);
        self.t.extend(o.t);
        self.monetary.extend(o.monetary);
        self.total_spend.extend(o.total_spend);
        self.frequency_holdout.extend(o.frequency_holdout);
        self.monetary_holdout.extend(o.monetary_holdout);
        self.duration_holdout.extend(o.duration_holdout);
        for (a, b) in self.type_counts.iter_mut().zip(o.type_counts) {
            a.extend(b);
        }
    }

    /// The summary batch, with `keys` (one per row) as `customer_id`.
    pub fn finish(self, keys: ArrayRef, type_names: &[String]) -> Result<RecordBatch> {
        let ts = || DataType::Timestamp(ArrowTimeUnit::Microsecond, Some(crate::time::UTC.into()));
        let times = |v: Vec<i64>| -> ArrayRef {
            let mut b = TimestampMicrosecondBuilder::with_capacity(v.len());
            b.append_slice(&v);
            Arc::new(b.finish().with_timezone(crate::time::UTC))
        };
        let opt_times = |v: Vec<Option<i64>>| -> ArrayRef {
            let mut b = TimestampMicrosecondBuilder::with_capacity(v.len());
            b.extend(v);
            Arc::new(b.finish().with_timezone(crate::time::UTC))
        };
        let f64s = |v: Vec<f64>| -> ArrayRef { Arc::new(arrow_array::Float64Array::from(v)) };
        let opt_f64s = |v: Vec<Option<f64>>| -> ArrayRef {
            let mut b = Float64Builder::with_capacity(v.len());
            b.extend(v);
            Arc::new(b.finish())
        };
        let u64s = |v: Vec<u64>| -> ArrayRef {
            let mut b = UInt64Builder::with_capacity(v.len());
            b.append_slice(&v);
            Arc::new(b.finish())
        };
        let nullable_purchase = self.first_purchase.iter().any(Option::is_none);
        let mut fields = vec![
            Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false),
            Field::new("first_event", ts(), false),
            Field::new("last_event", ts(), false),
            Field::new("first_purchase", ts(), nullable_purchase),
            Field::new("last_purchase", ts(), nullable_purchase),
            Field::new("purchase_count", DataType::UInt64, false),
            Field::new("frequency", DataType::Float64, nullable_purchase),
            Field::new("recency", DataType::Float64, nullable_purchase),
            Field::new("T", DataType::Float64, nullable_purchase),
            Field::new("monetary_value", DataType::Float64, nullable_purchase),
            Field::new("total_spend", DataType::Float64, false),
        ];
        let mut cols: Vec<ArrayRef> = vec![
            keys,
            times(self.first_event),
            times(self.last_event),
            opt_times(self.first_purchase),
            opt_times(self.last_purchase),
            u64s(self.purchase_count),
            opt_f64s(self.frequency),
            opt_f64s(self.recency),
            opt_f64s(self.t),
            opt_f64s(self.monetary),
            f64s(self.total_spend),
        ];
        if self.holdout {
            for (name, v) in [
                ("frequency_holdout", self.frequency_holdout),
                ("monetary_value_holdout", self.monetary_holdout),
                ("duration_holdout", self.duration_holdout),
            ] {
                fields.push(Field::new(name, DataType::Float64, false));
                cols.push(f64s(v));
            }
        }
        for (name, v) in type_names.iter().zip(self.type_counts) {
            fields.push(Field::new(format!("count_{name}"), DataType::UInt64, false));
            cols.push(u64s(v));
        }
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
    }
}
