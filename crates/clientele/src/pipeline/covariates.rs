//! Fit and score the Pareto/NBD and BG/NBD models with static covariates taken from a
//! per-customer table (one row per customer, a key column and numeric covariate columns).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use super::summary::CustomerSummary;
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::models::covariates::{CovariateConfig, CovariateData, CovariateModel};
use crate::models::{Horizon, ModelKind};
use crate::schema::output::{
    EXPECTED_PURCHASES, EXPECTED_PURCHASES_LOWER, EXPECTED_PURCHASES_UPPER, FREQUENCY, P_ALIVE, RECENCY, T,
};

/// Which columns of a covariate table are used, and how they are joined to the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CovariateColumns {
    /// The table's customer key column, matched to the summary's `customer_id` (compared as
    /// text, so an integer key matches the same digits in a text column). Default
    /// `customer_id`.
    pub key: String,
    /// Columns that shift the purchase process (`trans.NAME` coefficients).
    pub trans: Vec<String>,
    /// Columns that shift the dropout process (`life.NAME` coefficients).
    pub life: Vec<String>,
}

impl CovariateColumns {
    /// Transaction and lifetime covariate columns, keyed by `customer_id`.
    pub fn new(trans: Vec<String>, life: Vec<String>) -> Self {
        CovariateColumns {
            key: crate::schema::CUSTOMER_ID.to_owned(),
            trans,
            life,
        }
    }

    /// Sets the key column.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// The columns a saved model was fitted with (its coefficient names), keyed by `key`.
    pub fn of_model(model: &CovariateModel, key: impl Into<String>) -> Self {
        let names = |v: &[(String, f64)]| v.iter().map(|p| p.0.clone()).collect();
        CovariateColumns {
            key: key.into(),
            trans: names(&model.trans),
            life: names(&model.life),
        }
    }
}

/// [`Error::MissingColumn`] for `column` of `table`, listing the columns present.
fn missing_column(table: &RecordBatch, column: &str, source: &str) -> Error {
    crate::ingest::missing_column(
        source,
        column,
        table.schema().fields().iter().map(|f| f.name().as_str()),
    )
}

/// The key column of `table` as text (integers in decimal).
fn keys_as_text(table: &RecordBatch, column: &str, source: &str) -> Result<StringArray> {
    let col = table
        .column_by_name(column)
        .ok_or_else(|| missing_column(table, column, source))?;
    let text = arrow_cast::cast(col.as_ref(), &DataType::Utf8).map_err(|_| Error::ColumnType {
        source_name: source.to_owned(),
        column: column.to_owned(),
        found: col.data_type().to_string(),
        expected: "an integer or text customer key",
    })?;
    text.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| Error::param("key", "the key column did not convert to text"))
}

/// Covariate columns as f64, one vector per column.
type Columns = Vec<Vec<f64>>;

/// The covariate table's rows in the summary's customer order, and each covariate column as
/// f64 in that order.
fn aligned(summary: &CustomerSummary, table: &RecordBatch, columns: &CovariateColumns) -> Result<(Columns, Columns)> {
    let source = "covariate table";
    let keys = keys_as_text(table, &columns.key, source)?;
    let mut row_of: HashMap<&str, usize> = HashMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let Some(k) = k else {
            return Err(Error::param(
                "covariates",
                format!("{source}: row {} has no key in `{}`", i + 1, columns.key),
            ));
        };
        if row_of.insert(k, i).is_some() {
            return Err(Error::param(
                "covariates",
                format!("{source}: customer {k:?} has more than one row (row {})", i + 1),
            ));
        }
    }
    let wanted = keys_as_text(summary.table(), crate::schema::CUSTOMER_ID, "customer summary")?;
    let mut rows = Vec::with_capacity(wanted.len());
    let mut missing = 0usize;
    let mut first_missing = None;
    for k in wanted.iter().flatten() {
        match row_of.get(k) {
            Some(&r) => rows.push(r),
            None => {
                missing += 1;
                first_missing.get_or_insert_with(|| k.to_owned());
            }
        }
    }
    if let Some(first) = first_missing {
        return Err(Error::param(
            "covariates",
            format!(
                "{missing} of {} customers of the summary have no row in the {source} (first: {first:?}); every \
                 customer needs its covariates",
                wanted.len()
            ),
        ));
    }
    let column = |name: &String| -> Result<Vec<f64>> {
        let col = table
            .column_by_name(name)
            .ok_or_else(|| missing_column(table, name, source))?;
        let numeric = col.data_type().is_numeric() || *col.data_type() == DataType::Boolean;
        let cast = numeric
            .then(|| arrow_cast::cast(col.as_ref(), &DataType::Float64).ok())
            .flatten()
            .ok_or_else(|| Error::ColumnType {
                source_name: source.to_owned(),
                column: name.clone(),
                found: col.data_type().to_string(),
                expected: "a number or boolean per customer (encode categories as 0/1 columns)",
            })?;
        let v = cast
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| Error::param("covariates", format!("column `{name}` did not convert to numbers")))?;
        rows.iter()
            .map(|&r| {
                if v.is_null(r) {
                    Err(Error::param(
                        "covariates",
                        format!(
                            "{source}: row {}, column `{name}` is empty; every customer needs a value",
                            r + 1
                        ),
                    ))
                } else {
                    Ok(v.value(r))
                }
            })
            .collect()
    };
    let trans = columns.trans.iter().map(column).collect::<Result<Vec<_>>>()?;
    let life = columns.life.iter().map(column).collect::<Result<Vec<_>>>()?;
    Ok((trans, life))
}

/// The summary's histories with their covariates from `table`.
///
/// # Errors
/// [`Error::MissingColumn`] / [`Error::ColumnType`] for an absent or non-numeric column;
/// [`Error::InvalidParameter`] (`covariates`) for a customer of the summary without a row, a
/// customer with two rows, a row without a key, or an empty covariate;
/// [`CovariateData::new`]'s errors (e.g. a constant column).
pub fn covariate_data(
    summary: &CustomerSummary,
    table: &RecordBatch,
    columns: &CovariateColumns,
) -> Result<CovariateData> {
    let (trans, life) = aligned(summary, table, columns)?;
    let named = |names: &'_ [String], values: &'_ [Vec<f64>]| -> Vec<(String, Vec<f64>)> {
        names.iter().cloned().zip(values.iter().cloned()).collect()
    };
    let (t, l) = (named(&columns.trans, &trans), named(&columns.life, &life));
    let tr: Vec<(&str, &[f64])> = t.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    let li: Vec<(&str, &[f64])> = l.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    CovariateData::new(
        &summary.column(FREQUENCY)?,
        &summary.column(RECENCY)?,
        &summary.column(T)?,
        &tr,
        &li,
    )
}

/// Fits `cfg`'s model (Pareto/NBD or BG/NBD) with the static covariates of `table` on
/// `summary`, in `par`; the model carries the summary's data window.
///
/// # Errors
/// As [`covariate_data`]; the fit's errors ([`Error::FitFailed`] with the diagnostics).
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use std::sync::Arc;
/// use clientele::arrow_array::{Float64Array, Int64Array, RecordBatch};
/// use clientele::chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::kernels::summary::{SummaryParams, TimeUnit};
/// use clientele::models::ModelKind;
/// use clientele::models::covariates::CovariateParams;
/// use clientele::pipeline::{CovariateColumns, EventSource, customer_summary, fit_with_covariates};
/// use clientele::synth::{GenerateParams, generate};
/// let par = Parallelism::current();
/// let events = generate(&GenerateParams::default().customers(2_000).seed(3).validate()?)?;
/// let end = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default();
/// let cfg = SummaryParams::new(end).time_unit(TimeUnit::Week).validate()?;
/// let summary = customer_summary(&EventSource::batches("synth", events), &cfg, &par)?.summary;
/// // one covariate per customer (the generated keys start at 1,000,001): odd ids are 1
/// let ids = Int64Array::from_iter_values(1_000_001..=1_002_000);
/// let odd = Float64Array::from_iter_values((1_000_001..=1_002_000).map(|i| f64::from(i % 2)));
/// let table = RecordBatch::try_from_iter([("customer_id", Arc::new(ids) as _), ("odd", Arc::new(odd) as _)])?;
/// let cols = CovariateColumns::new(vec!["odd".into()], vec![]);
/// let model = fit_with_covariates(&summary, &table, &cols, &CovariateParams::new(ModelKind::BgNbd).validate()?, &par)?;
/// assert_eq!(model.trans[0].0, "odd");
/// # Ok(()) }
/// ```
pub fn fit_with_covariates(
    summary: &CustomerSummary,
    table: &RecordBatch,
    columns: &CovariateColumns,
    cfg: &CovariateConfig,
    par: &Parallelism,
) -> Result<CovariateModel> {
    par.install(|| {
        let data = covariate_data(summary, table, columns)?;
        let mut m = cfg.fit(&data)?;
        m.window = Some(*summary.window());
        Ok(m)
    })
}

/// Scores `summary` with a covariate model and the covariates of `table` (the model's columns,
/// joined on `key`): `customer_id, frequency, recency, T, p_alive, expected_purchases` over
/// `horizon`, and with `intervals` (a level, 0.95 for 95 %) the delta-method interval of
/// `expected_purchases` in `expected_purchases_lower` and `expected_purchases_upper`.
///
/// # Errors
/// [`Error::InvalidParameter`] (`window`) when the model was fitted on a summary prepared with
/// another period or time unit, (`intervals`) for a model without a covariance; as
/// [`covariate_data`].
pub fn predict_with_covariates(
    summary: &CustomerSummary,
    model: &CovariateModel,
    table: &RecordBatch,
    key: &str,
    horizon: Horizon,
    intervals: Option<f64>,
    par: &Parallelism,
) -> Result<RecordBatch> {
    if let Some(w) = &model.window {
        w.check_compatible(summary.window())?;
    }
    let horizon = summary.window().time_units(horizon)?;
    let columns = CovariateColumns::of_model(model, key);
    let (alive, expected, iv) = par.install(|| -> Result<_> {
        let data = covariate_data(summary, table, &columns)?;
        let iv = intervals
            .map(|level| model.expected_purchases_intervals(horizon, &data, level))
            .transpose()?;
        Ok((
            model.p_alive(&data)?,
            model.conditional_expected_purchases(horizon, &data)?,
            iv,
        ))
    })?;
    let keys = summary.keys()?;
    let mut fields = vec![Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false)];
    let mut cols: Vec<ArrayRef> = vec![keys];
    let mut out = vec![
        (FREQUENCY, summary.column(FREQUENCY)?),
        (RECENCY, summary.column(RECENCY)?),
        (T, summary.column(T)?),
        (P_ALIVE, alive),
        (EXPECTED_PURCHASES, expected),
    ];
    if let Some(iv) = iv {
        out.push((EXPECTED_PURCHASES_LOWER, iv.lower));
        out.push((EXPECTED_PURCHASES_UPPER, iv.upper));
    }
    for (name, v) in out {
        fields.push(Field::new(name, DataType::Float64, false));
        cols.push(Arc::new(Float64Array::from(v)));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

/// True for the kinds that take covariates.
pub fn takes_covariates(kind: ModelKind) -> bool {
    matches!(kind, ModelKind::BgNbd | ModelKind::ParetoNbd)
}
