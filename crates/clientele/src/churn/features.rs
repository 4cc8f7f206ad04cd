//! Per-customer churn features, computed from the events strictly before the cutoff, and their
//! standardization.
//!
//! One row per customer with at least one purchase before the cutoff (the population of
//! [`churn_labels`](super::churn_labels)), in key order. Times are in days (fractional, from
//! microsecond differences) counted back from the cutoff's midnight (UTC). Columns, all Float64
//! and never null:
//!
//! | column | definition |
//! |---|---|
//! | `recency_days` | cutoff − last purchase |
//! | `frequency` | purchases |
//! | `monetary` | sum of purchase amounts, summed exactly in integer nano-units and rounded to cents |
//! | `tenure_days` | cutoff − first event of any type |
//! | `interpurchase_mean_days`, `interpurchase_sd_days` | mean and population standard deviation of the gaps between consecutive purchases; 0 without a gap (a single purchase) |
//! | `complaints` | events of `complaint_type` |
//! | `days_since_complaint` | cutoff − last complaint; `no_complaint_days` (default 3,650) when there is none |
//! | `service_calls` | events of `service_call_type` |
//! | `surveys` | survey answers with a score (events of `survey_type` with a non-null `score`) |
//! | `satisfaction_mean` | mean survey score; 0 when there is none (see `surveys`) |
//! | `satisfaction_trend` | least-squares slope of the survey score against time, per day; 0 with fewer than 2 answers or all at one instant |
//! | `campaign_responses` | events of `campaign_response_type` |
//! | `channel_share_<name>` | for each channel of the store's channel dictionary (name order): the share of the customer's events before the cutoff in that channel (events with no channel count in the denominator) |
//! | extra columns | the caller's numeric columns, joined by `customer_id` |
//!
//! Each customer's events are read once, in one parallel pass over fixed chunks of customers,
//! so the result does not depend on the thread count. Events on or after the cutoff are never
//! read (changing them cannot change a feature).
//!
//! [`Scaling`] standardizes the columns (mean and population standard deviation of the training
//! features); a fitted [`ChurnModel`](super::ChurnModel) stores it so that new data is scaled
//! like the training data.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::key_column;
use super::labels::per_active_customer;
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::kernels::summary::to_units;
use crate::kernels::summary::units_to_cents as round_cents;
use crate::schema::output::churn::{
    DAYS_SINCE_COMPLAINT, INTERPURCHASE_MEAN_DAYS, INTERPURCHASE_SD_DAYS, SATISFACTION_MEAN, SATISFACTION_TREND,
    SURVEYS,
};
use crate::schema::output::common::{CAMPAIGN_RESPONSES, COMPLAINTS, SERVICE_CALLS, TENURE_DAYS};
use crate::schema::output::rfm::{FREQUENCY, MONETARY, RECENCY_DAYS};
use crate::store::{EventStore, KeyRef};
use crate::time::{MICROS_PER_DAY, date_to_days};

/// The default of [`FeatureParams::no_complaint_days`]: ten years.
pub const DEFAULT_NO_COMPLAINT_DAYS: f64 = 3650.0;

/// The prefix of the channel-share columns.
pub use crate::schema::output::churn::CHANNEL_SHARE;

/// The fixed feature columns, in output order (channel shares and extra columns follow).
pub const BASE_FEATURES: [&str; 13] = [
    RECENCY_DAYS,
    FREQUENCY,
    MONETARY,
    TENURE_DAYS,
    INTERPURCHASE_MEAN_DAYS,
    INTERPURCHASE_SD_DAYS,
    COMPLAINTS,
    DAYS_SINCE_COMPLAINT,
    SERVICE_CALLS,
    SURVEYS,
    SATISFACTION_MEAN,
    SATISFACTION_TREND,
    CAMPAIGN_RESPONSES,
];

/// Unchecked parameters of [`churn_features`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureParams {
    /// Only events strictly before this date's midnight (UTC) are read. No default.
    pub cutoff: NaiveDate,
    /// The event type of complaints (default `complaint`).
    #[serde(default = "default_complaint")]
    pub complaint_type: String,
    /// The event type of service calls (default `service_call`).
    #[serde(default = "default_service")]
    pub service_call_type: String,
    /// The event type whose `score` is a satisfaction answer (default `survey`).
    #[serde(default = "default_survey")]
    pub survey_type: String,
    /// The event type of campaign responses (default `campaign_response`).
    #[serde(default = "default_response")]
    pub campaign_response_type: String,
    /// `days_since_complaint` of a customer without complaints (default 3,650).
    #[serde(default = "default_no_complaint")]
    pub no_complaint_days: f64,
}

fn default_complaint() -> String {
    "complaint".into()
}
fn default_service() -> String {
    "service_call".into()
}
fn default_survey() -> String {
    "survey".into()
}
fn default_response() -> String {
    "campaign_response".into()
}
fn default_no_complaint() -> f64 {
    DEFAULT_NO_COMPLAINT_DAYS
}

impl FeatureParams {
    /// Defaults for `cutoff`.
    pub fn new(cutoff: NaiveDate) -> Self {
        FeatureParams {
            cutoff,
            complaint_type: default_complaint(),
            service_call_type: default_service(),
            survey_type: default_survey(),
            campaign_response_type: default_response(),
            no_complaint_days: DEFAULT_NO_COMPLAINT_DAYS,
        }
    }

    /// Sets `days_since_complaint` for customers without complaints.
    pub fn no_complaint_days(mut self, days: f64) -> Self {
        self.no_complaint_days = days;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty event type or a negative or non-finite
    /// `no_complaint_days`.
    pub fn validate(&self) -> Result<FeatureConfig> {
        for (field, v) in [
            ("complaint_type", &self.complaint_type),
            ("service_call_type", &self.service_call_type),
            ("survey_type", &self.survey_type),
            ("campaign_response_type", &self.campaign_response_type),
        ] {
            if v.trim().is_empty() {
                return Err(Error::param(field, "must not be empty"));
            }
        }
        if !self.no_complaint_days.is_finite() || self.no_complaint_days < 0.0 {
            return Err(Error::param(
                "no_complaint_days",
                format!("must be finite and non-negative, got {}", self.no_complaint_days),
            ));
        }
        Ok(FeatureConfig {
            params: self.clone(),
            cutoff_micros: date_to_days(self.cutoff) * MICROS_PER_DAY,
        })
    }
}

/// Validated [`FeatureParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureConfig {
    params: FeatureParams,
    cutoff_micros: i64,
}

impl FeatureConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &FeatureParams {
        &self.params
    }
}

/// The churn features of the customers active before the cutoff (see the [module docs](self)),
/// joined with the numeric columns of `extra` when given.
///
/// `extra` has a `customer_id` column of the store's key type (Int64 or Utf8) and numeric
/// columns; every customer of the population must have exactly one row, with finite values.
///
/// # Errors
/// [`Error::InvalidParameter`] (`extra`): no or a mistyped `customer_id` column, a duplicate or
/// missing customer, a non-numeric column, a null or non-finite value, or a name that clashes
/// with a feature.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::chrono::NaiveDate;
/// use clientele::churn::{FeatureParams, churn_features};
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// let csv = "customer_id,event_time,event_type,amount,channel\n\
///            1,2024-01-01,purchase,10.10,web\n\
///            1,2024-01-11,purchase,0.20,store\n\
///            1,2024-01-21,complaint,,phone\n\
///            1,2024-03-01,purchase,99,web\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let cfg = FeatureParams::new(NaiveDate::from_ymd_opt(2024, 2, 1).unwrap()).validate()?;
/// let f = churn_features(&store, &cfg, None, &Parallelism::current())?;
/// let col = |name: &str| f.column_by_name(name).unwrap().as_any()
///     .downcast_ref::<clientele::arrow_array::Float64Array>().unwrap().value(0);
/// assert_eq!(col("recency_days"), 21.0);
/// assert_eq!(col("monetary"), 10.3);
/// assert_eq!(col("days_since_complaint"), 11.0);
/// assert_eq!(col("channel_share_phone"), 1.0 / 3.0);
/// # Ok(()) }
/// ```
pub fn churn_features(
    store: &EventStore,
    cfg: &FeatureConfig,
    extra: Option<&RecordBatch>,
    par: &Parallelism,
) -> Result<RecordBatch> {
    let p = &cfg.params;
    let types_dict = store.event_types();
    let code_of = |name: &str| types_dict.iter().position(|t| t == name).map(|i| i as i32);
    let (complaint, service, survey, response) = (
        code_of(&p.complaint_type),
        code_of(&p.service_call_type),
        code_of(&p.survey_type),
        code_of(&p.campaign_response_type),
    );
    let purchase = store.purchase_code();
    let cols = store.columns();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    let amounts = cols.amount.as_ref();
    let score = cols.score.as_ref();
    let channel = cols.channel.as_ref();
    let channel_names = channel.map(crate::store::columns::dict_values).unwrap_or_default();
    let nch = channel_names.len();
    let cutoff = cfg.cutoff_micros;
    let no_complaint = p.no_complaint_days;
    let days = |micros: i64| micros as f64 / MICROS_PER_DAY as f64;
    let width = BASE_FEATURES.len() + nch;
    let (ids, rows) = per_active_customer(store, cutoff, par, |start, before, _| {
        let mut row = vec![0.0; width];
        let (mut purchases, mut units) = (0u64, 0i128);
        let mut last_p = None::<i64>;
        // Welford over the inter-purchase gaps (in days).
        let (mut gaps, mut gap_mean, mut gap_m2) = (0u64, 0.0f64, 0.0f64);
        let (mut complaints, mut last_complaint, mut calls, mut responses) = (0u64, None::<i64>, 0u64, 0u64);
        let mut survey_pts: Vec<(f64, f64)> = Vec::new();
        let mut channels = vec![0u64; nch];
        for i in start..before {
            let (t, ty) = (times[i], Some(types[i]));
            if ty == purchase {
                purchases += 1;
                if let Some(a) = amounts
                    && a.is_valid(i)
                {
                    units += to_units(a.value(i));
                }
                if let Some(prev) = last_p {
                    let g = days(t - prev);
                    gaps += 1;
                    let delta = g - gap_mean;
                    gap_mean += delta / gaps as f64;
                    gap_m2 += delta * (g - gap_mean);
                }
                last_p = Some(t);
            }
            if ty == complaint {
                complaints += 1;
                last_complaint = Some(t);
            }
            calls += u64::from(ty == service);
            responses += u64::from(ty == response);
            if ty == survey
                && let Some(s) = score
                && s.is_valid(i)
            {
                survey_pts.push((days(t - cutoff), s.value(i)));
            }
            if let Some(ch) = channel
                && ch.is_valid(i)
                && let Some(k) = channels.get_mut(ch.keys().value(i) as usize)
            {
                *k += 1;
            }
        }
        let events = (before - start).max(1) as f64;
        let (mean_s, trend) = satisfaction(&survey_pts);
        let base = [
            last_p.map_or(0.0, |t| days(cutoff - t)),
            purchases as f64,
            round_cents(units) as f64 / 100.0,
            times.get(start).map_or(0.0, |&t| days(cutoff - t)),
            if gaps > 0 { gap_mean } else { 0.0 },
            if gaps > 0 { (gap_m2 / gaps as f64).sqrt() } else { 0.0 },
            complaints as f64,
            last_complaint.map_or(no_complaint, |t| days(cutoff - t)),
            calls as f64,
            survey_pts.len() as f64,
            mean_s,
            trend,
            responses as f64,
        ];
        row[..base.len()].copy_from_slice(&base);
        for (slot, &n) in row[base.len()..].iter_mut().zip(&channels) {
            *slot = n as f64 / events;
        }
        row
    });
    let keys = key_column(store, &ids)?;
    let mut names: Vec<String> = BASE_FEATURES.iter().map(|s| s.to_string()).collect();
    names.extend(channel_names.iter().map(|c| format!("{CHANNEL_SHARE}{c}")));
    let mut columns: Vec<Vec<f64>> = (0..width).map(|j| rows.iter().map(|r| r[j]).collect()).collect();
    if let Some(extra) = extra {
        for (name, values) in join_extra(store, &ids, extra)? {
            if names.contains(&name) || name == crate::schema::CUSTOMER_ID {
                return Err(Error::param("extra", format!("column `{name}` clashes with a feature")));
            }
            names.push(name);
            columns.push(values);
        }
    }
    let mut fields = vec![Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false)];
    fields.extend(names.iter().map(|n| Field::new(n, DataType::Float64, false)));
    let mut arrays: Vec<ArrayRef> = vec![keys];
    arrays.extend(columns.into_iter().map(|c| Arc::new(Float64Array::from(c)) as ArrayRef));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// Mean score and least-squares slope of score on time (0 with fewer than 2 points or no
/// spread in time).
fn satisfaction(pts: &[(f64, f64)]) -> (f64, f64) {
    if pts.is_empty() {
        return (0.0, 0.0);
    }
    let n = pts.len() as f64;
    let mt = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let ms = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mt) * (p.0 - mt)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mt) * (p.1 - ms)).sum();
    let slope = if pts.len() >= 2 && sxx > 0.0 { sxy / sxx } else { 0.0 };
    (ms, slope)
}

/// The numeric columns of `extra`, reordered to the population `ids`.
fn join_extra(store: &EventStore, ids: &[u32], extra: &RecordBatch) -> Result<Vec<(String, Vec<f64>)>> {
    let key_col = extra
        .column_by_name(crate::schema::CUSTOMER_ID)
        .ok_or_else(|| Error::param("extra", "no `customer_id` column"))?;
    // Row of each dense customer index.
    let mut row_of: HashMap<u32, usize> = HashMap::with_capacity(extra.num_rows());
    for i in 0..extra.num_rows() {
        if key_col.is_null(i) {
            return Err(Error::param("extra", format!("row {}: `customer_id` is null", i + 1)));
        }
        let key = if let Some(a) = key_col.as_primitive_opt::<Int64Type>() {
            KeyRef::Int(a.value(i))
        } else if let Some(a) = key_col.as_string_opt::<i32>() {
            KeyRef::Str(a.value(i))
        } else {
            return Err(Error::param("extra", "`customer_id` must be Int64 or Utf8"));
        };
        if let Some(c) = store.customer_index(key)
            && row_of.insert(c, i).is_some()
        {
            return Err(Error::param("extra", format!("customer {key} has more than one row")));
        }
    }
    let rows: Vec<usize> = ids
        .iter()
        .map(|c| {
            row_of.get(c).copied().ok_or_else(|| {
                let key = store
                    .customer_keys()
                    .get(*c as usize)
                    .map(|k| k.to_string())
                    .unwrap_or_default();
                Error::param("extra", format!("customer {key} has no row"))
            })
        })
        .collect::<Result<_>>()?;
    let schema = extra.schema();
    let mut out = Vec::new();
    for (field, col) in schema.fields().iter().zip(extra.columns()) {
        if field.name() == crate::schema::CUSTOMER_ID {
            continue;
        }
        let name = field.name().clone();
        if !field.data_type().is_numeric() {
            return Err(Error::param("extra", format!("column `{name}` is not numeric")));
        }
        let cast = arrow_cast::cast(col, &DataType::Float64)
            .map_err(|e| Error::param("extra", format!("column `{name}`: {e}")))?;
        let a = cast
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| Error::param("extra", format!("column `{name}` is not numeric")))?;
        let mut values = Vec::with_capacity(rows.len());
        for &r in &rows {
            if a.is_null(r) || !a.value(r).is_finite() {
                return Err(Error::param(
                    "extra",
                    format!("column `{name}`, row {}: null or non-finite value", r + 1),
                ));
            }
            values.push(a.value(r));
        }
        out.push((name, values));
    }
    Ok(out)
}

/// Per-feature standardization: `(x − mean) / sd`, with the population standard deviation
/// (1 in place of 0 for a constant column), learned on training features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// Feature names, in column order.
    pub names: Vec<String>,
    /// Training means.
    pub means: Vec<f64>,
    /// Training standard deviations (1 for a constant column).
    pub sds: Vec<f64>,
}

impl Scaling {
    /// Learns the scaling of every Float64 column of `features` except `customer_id`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`features`) for no rows, a non-Float64 feature column, a
    /// null or a non-finite value.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use std::sync::Arc;
    /// use clientele::arrow_array::{Float64Array, RecordBatch};
    /// use clientele::churn::Scaling;
    /// let b = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![1.0, 3.0])) as _)])?;
    /// let s = Scaling::fit(&b)?;
    /// assert_eq!((s.means[0], s.sds[0]), (2.0, 1.0));
    /// assert_eq!(s.transform(&b)?, vec![-1.0, 1.0]);
    /// # Ok(()) }
    /// ```
    pub fn fit(features: &RecordBatch) -> Result<Scaling> {
        if features.num_rows() == 0 {
            return Err(Error::param("features", "no rows"));
        }
        let mut s = Scaling {
            names: Vec::new(),
            means: Vec::new(),
            sds: Vec::new(),
        };
        for (name, v) in feature_columns(features)? {
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
            let sd = var.sqrt();
            s.names.push(name);
            s.means.push(mean);
            s.sds.push(if sd > 0.0 { sd } else { 1.0 });
        }
        Ok(s)
    }

    /// The standardized features, row-major (`rows × names.len()`), columns found by name
    /// (other columns are ignored). A missing `channel_share_<name>` column counts as 0 (new
    /// data whose store has no event in that channel).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`features`) for a missing (other than a channel share),
    /// non-Float64, null or non-finite feature column.
    pub fn transform(&self, features: &RecordBatch) -> Result<Vec<f64>> {
        let d = self.names.len();
        let n = features.num_rows();
        let mut x = vec![0.0; n * d];
        for (j, name) in self.names.iter().enumerate() {
            let v = if name.starts_with(CHANNEL_SHARE) && features.column_by_name(name).is_none() {
                vec![0.0; n]
            } else {
                float_column(features, name)?
            };
            for (i, &value) in v.iter().enumerate() {
                x[i * d + j] = (value - self.means[j]) / self.sds[j];
            }
        }
        Ok(x)
    }
}

/// The values of a non-null, finite Float64 column.
fn float_column(features: &RecordBatch, name: &str) -> Result<Vec<f64>> {
    let col = features
        .column_by_name(name)
        .ok_or_else(|| Error::param("features", format!("no `{name}` column")))?;
    let a = col
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| Error::param("features", format!("column `{name}` is not Float64")))?;
    if a.null_count() > 0 || a.values().iter().any(|v| !v.is_finite()) {
        return Err(Error::param(
            "features",
            format!("column `{name}` has a null or non-finite value"),
        ));
    }
    Ok(a.values().to_vec())
}

/// Every feature column (all but `customer_id`) with its values.
fn feature_columns(features: &RecordBatch) -> Result<Vec<(String, Vec<f64>)>> {
    features
        .schema()
        .fields()
        .iter()
        .filter(|f| f.name() != crate::schema::CUSTOMER_ID)
        .map(|f| Ok((f.name().clone(), float_column(features, f.name())?)))
        .collect()
}
