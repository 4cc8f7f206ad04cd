//! Time-split churn labels.
//!
//! The population is every customer with at least one purchase strictly before the cutoff's
//! midnight (UTC). A customer of the population is churned (`churned` = 1) when they make no
//! purchase in `[cutoff, cutoff + horizon_days)`, else 0. Output columns: `customer_id` (the
//! store's key type) and `churned` (UInt8), one row per customer in key order — the same rows,
//! in the same order, as [`churn_features`](super::churn_features) with the same cutoff.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, RecordBatch, UInt8Array};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{CHUNK, key_column};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::store::EventStore;
use crate::time::{MICROS_PER_DAY, date_to_days};

/// The name of the label column.
pub use crate::schema::output::churn::CHURNED;

/// The default horizon: 90 days.
pub const DEFAULT_HORIZON_DAYS: u32 = 90;

/// The longest horizon accepted (100 years).
const MAX_HORIZON_DAYS: u32 = 36_525;

/// Unchecked parameters of [`churn_labels`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelParams {
    /// Events strictly before this date's midnight (UTC) define the population. No default.
    pub cutoff: NaiveDate,
    /// Days after the cutoff in which a purchase means "not churned" (default 90).
    #[serde(default = "default_horizon")]
    pub horizon_days: u32,
}

fn default_horizon() -> u32 {
    DEFAULT_HORIZON_DAYS
}

impl LabelParams {
    /// Defaults for `cutoff` (a 90-day horizon).
    pub fn new(cutoff: NaiveDate) -> Self {
        LabelParams {
            cutoff,
            horizon_days: DEFAULT_HORIZON_DAYS,
        }
    }

    /// Sets the horizon in days.
    pub fn horizon_days(mut self, days: u32) -> Self {
        self.horizon_days = days;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `horizon_days` of 0 or above 36,525.
    pub fn validate(&self) -> Result<LabelConfig> {
        if self.horizon_days == 0 || self.horizon_days > MAX_HORIZON_DAYS {
            return Err(Error::param(
                "horizon_days",
                format!("must be between 1 and {MAX_HORIZON_DAYS}, got {}", self.horizon_days),
            ));
        }
        let cutoff_micros = date_to_days(self.cutoff) * MICROS_PER_DAY;
        Ok(LabelConfig {
            params: self.clone(),
            cutoff_micros,
            end_micros: cutoff_micros + i64::from(self.horizon_days) * MICROS_PER_DAY,
        })
    }
}

/// Validated [`LabelParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct LabelConfig {
    params: LabelParams,
    cutoff_micros: i64,
    end_micros: i64,
}

impl LabelConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &LabelParams {
        &self.params
    }
}

/// Per customer of the store (dense index order): `None` when not in the population (no
/// purchase before `cutoff_micros`), else `f(first row, end of the rows before the cutoff, end
/// of the customer's rows)`.
pub(crate) fn per_active_customer<T: Send>(
    store: &EventStore,
    cutoff_micros: i64,
    par: &Parallelism,
    f: impl Fn(usize, usize, usize) -> T + Sync,
) -> (Vec<u32>, Vec<T>) {
    let purchase = store.purchase_code();
    let times = store.columns().time.values();
    let types = store.columns().event_type.keys().values();
    let offsets = store.offsets();
    let n = store.num_customers();
    let parts: Vec<(Vec<u32>, Vec<T>)> = par.map_chunks(n, CHUNK, |range| {
        let (lo, hi) = (range.start, range.end);
        let (mut ids, mut out) = (Vec::new(), Vec::new());
        for c in lo..hi {
            let (start, end) = (offsets[c], offsets[c + 1]);
            let before = start + times[start..end].partition_point(|&t| t < cutoff_micros);
            if purchase.is_some() && types[start..before].iter().any(|&t| Some(t) == purchase) {
                ids.push(c as u32);
                out.push(f(start, before, end));
            }
        }
        (ids, out)
    });
    let (mut ids, mut out) = (Vec::new(), Vec::new());
    for (i, o) in parts {
        ids.extend(i);
        out.extend(o);
    }
    (ids, out)
}

/// The churn labels of the customers active before the cutoff (see the [module docs](self)).
///
/// # Errors
/// Only on an internal inconsistency of the store.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::chrono::NaiveDate;
/// use clientele::churn::{LabelParams, churn_labels, label_values};
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// let csv = "customer_id,event_time,event_type,amount\n\
///            1,2024-01-01,purchase,10\n\
///            1,2024-02-10,purchase,10\n\
///            2,2024-01-05,purchase,30\n\
///            3,2024-02-02,purchase,5\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let cfg = LabelParams::new(NaiveDate::from_ymd_opt(2024, 2, 1).unwrap()).horizon_days(30).validate()?;
/// let labels = churn_labels(&store, &cfg, &Parallelism::current())?;
/// // customer 3 first bought after the cutoff: not in the population
/// assert_eq!(label_values(&labels)?, vec![0.0, 1.0]);
/// # Ok(()) }
/// ```
pub fn churn_labels(store: &EventStore, cfg: &LabelConfig, par: &Parallelism) -> Result<RecordBatch> {
    let purchase = store.purchase_code();
    let times = store.columns().time.values();
    let types = store.columns().event_type.keys().values();
    let end_micros = cfg.end_micros;
    let (ids, labels) = per_active_customer(store, cfg.cutoff_micros, par, |_, before, end| {
        let bought = (before..end).any(|i| times[i] < end_micros && Some(types[i]) == purchase);
        u8::from(!bought)
    });
    let keys = key_column(store, &ids)?;
    let schema = Arc::new(Schema::new(vec![
        Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false),
        Field::new(CHURNED, DataType::UInt8, false),
    ]));
    let cols: Vec<ArrayRef> = vec![keys, Arc::new(UInt8Array::from(labels))];
    Ok(RecordBatch::try_new(schema, cols)?)
}

/// The `churned` column of a label batch as 0.0/1.0 values.
///
/// # Errors
/// [`Error::InvalidParameter`] when the batch has no numeric `churned` column;
/// [`Error::InvalidModelData`] for a null or a value other than 0 and 1.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use std::sync::Arc;
/// use clientele::arrow_array::{RecordBatch, UInt8Array};
/// let b = RecordBatch::try_from_iter([("churned", Arc::new(UInt8Array::from(vec![1, 0])) as _)])?;
/// assert_eq!(clientele::churn::label_values(&b)?, vec![1.0, 0.0]);
/// # Ok(()) }
/// ```
pub fn label_values(labels: &RecordBatch) -> Result<Vec<f64>> {
    let col = labels
        .column_by_name(CHURNED)
        .ok_or_else(|| Error::param("labels", format!("no `{CHURNED}` column")))?;
    let col = arrow_cast::cast(col, &DataType::Float64)
        .map_err(|e| Error::param("labels", format!("`{CHURNED}` is not numeric: {e}")))?;
    let a = col
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| Error::param("labels", "`churned` is not numeric"))?;
    (0..a.len())
        .map(|i| {
            let v = if a.is_valid(i) { a.value(i) } else { f64::NAN };
            if v == 0.0 || v == 1.0 {
                Ok(v)
            } else {
                Err(Error::InvalidModelData {
                    column: CHURNED,
                    row: i,
                    value: v,
                    reason: "a label must be 0 or 1",
                })
            }
        })
        .collect()
}
