//! The library's jobs (`clientele::pipeline`), one Python function each.
//!
//! Each function takes an Arrow object of events (or a summary table), runs one pipeline call
//! with the GIL released, and returns pyarrow tables plus the ingest report as JSON (`None`
//! when nothing was ingested); the Python layer turns rejected rows into a warning. Settings
//! that the library keeps in serde parameter structs (views, RFM) arrive as JSON built by the
//! Python layer from keyword arguments, so both sides share the library's own field names and
//! defaults.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use clientele::churn::ChurnModel;
use clientele::ingest::IngestReport;
use clientele::kernels::rfm::{RfmParams, Tiers};
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit};
use clientele::models::{DataWindow, Horizon, ModelKind};
use clientele::pipeline::{self, ClvParams, CustomerSummary, Discount, EventSource};
use clientele::views::{ChannelParams, CohortParams, Customer360Params};
use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use serde::de::DeserializeOwned;

use crate::convert::{EventsArg, batch_in, date, events, ingest_options, parallelism, table_out};
use crate::errors::{IntoPy, invalid};
use crate::model::{Model, Models};

/// The schema metadata key that carries a summary's data window (JSON).
pub const WINDOW_KEY: &str = "clientele.window";

type Report = Option<String>;

/// A view's tables by name.
type Tables = Vec<(String, Py<PyAny>)>;

/// The ingest report as JSON, with `key_typing_warning` when a few text keys made the keys
/// strings (`KeyTyping::warning`; Python raises it as a `KeyTypingWarning`).
fn report_json(r: Option<&IngestReport>) -> PyResult<Report> {
    r.map(|r| {
        let mut v = serde_json::to_value(r).map_err(|e| invalid("report", e))?;
        if let (Some(w), Some(obj)) = (r.key_typing.as_ref().and_then(|t| t.warning()), v.as_object_mut()) {
            obj.insert("key_typing_warning".into(), w.into());
        }
        serde_json::to_string(&v).map_err(|e| invalid("report", e))
    })
    .transpose()
}

fn params<P: DeserializeOwned>(field: &'static str, json: &str) -> PyResult<P> {
    serde_json::from_str(json).map_err(|e| invalid(field, e))
}

/// The summary table with its window in the schema metadata.
pub fn with_window(summary: &CustomerSummary) -> PyResult<RecordBatch> {
    let table = summary.table();
    let mut metadata = table.schema().metadata().clone();
    metadata.insert(
        WINDOW_KEY.into(),
        serde_json::to_string(summary.window()).map_err(|e| invalid("window", e))?,
    );
    let schema = table.schema().as_ref().clone().with_metadata(metadata);
    table
        .clone()
        .with_schema(schema.into())
        .map_err(|e| crate::errors::to_py(e.into()))
}

/// The data window of a summary table: from `time_unit` (the unit of recency and T: `day`,
/// `week`, or `period` with `period`) when given, else from the metadata `summary()` writes;
/// `None` when neither says.
fn window_of(table: &RecordBatch, time_unit: Option<&str>, period: Option<&str>) -> PyResult<Option<DataWindow>> {
    match (time_unit, table.schema().metadata().get(WINDOW_KEY)) {
        (Some(u), _) => Ok(Some(DataWindow::new(
            Period::parse(period.unwrap_or("day")).py()?,
            TimeUnit::parse(u).py()?,
        ))),
        (None, Some(json)) => Ok(Some(params("window", json)?)),
        (None, None) => Ok(None),
    }
}

/// A summary table from Python with its window (which must be known: CLV horizons in months
/// become time units through it).
fn summary_in(data: AnyRecordBatch, time_unit: Option<&str>, period: Option<&str>) -> PyResult<CustomerSummary> {
    let table = batch_in(data)?;
    let window = window_of(&table, time_unit, period)?.ok_or_else(|| {
        invalid(
            "time_unit",
            "the summary does not say its time unit (it was not made by clientele.summary): \
             pass time_unit='week', 'day' or 'period' (with period=...)",
        )
    })?;
    CustomerSummary::new(table, window).py()
}

/// Summary parameters from the Python arguments (dates as ISO strings).
pub fn summary_params(
    calibration_end: &str,
    observation_end: Option<&str>,
    period: &str,
    time_unit: &str,
    include_non_buyers: bool,
) -> PyResult<SummaryParams> {
    let mut p = SummaryParams::new(date("calibration_end", calibration_end)?)
        .period(Period::parse(period).py()?)
        .time_unit(TimeUnit::parse(time_unit).py()?)
        .include_non_buyers(include_non_buyers);
    if let Some(o) = observation_end {
        p = p.observation_end(date("observation_end", o)?);
    }
    Ok(p)
}

/// Per-customer summary (`frequency`, `recency`, `T`, `monetary_value`, ... as lifetimes
/// names them).
#[pyfunction]
#[pyo3(signature = (data, calibration_end, observation_end=None, period="day", time_unit="period", include_non_buyers=false, all_columns=false, columns=None, purchase_type=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn summary(
    py: Python<'_>,
    data: EventsArg,
    calibration_end: &str,
    observation_end: Option<&str>,
    period: &str,
    time_unit: &str,
    include_non_buyers: bool,
    all_columns: bool,
    columns: Option<HashMap<String, String>>,
    purchase_type: Option<String>,
    threads: Option<usize>,
) -> PyResult<(Py<PyAny>, Report)> {
    let cfg = summary_params(calibration_end, observation_end, period, time_unit, include_non_buyers)?
        .validate()
        .py()?;
    let source = events(data, ingest_options(columns, purchase_type)?)?;
    let par = parallelism(threads)?;
    let run = py
        .detach(|| {
            if all_columns {
                pipeline::customer_summary_all(&source, &cfg, &par)
            } else {
                pipeline::customer_summary(&source, &cfg, &par)
            }
        })
        .py()?;
    let report = report_json(run.ingest.as_ref())?;
    Ok((table_out(py, with_window(&run.summary)?)?, report))
}

/// RFM scores; `params_json` is a serialized `RfmParams`.
#[pyfunction]
#[pyo3(signature = (data, params_json, columns=None, purchase_type=None, threads=None))]
pub fn rfm(
    py: Python<'_>,
    data: EventsArg,
    params_json: &str,
    columns: Option<HashMap<String, String>>,
    purchase_type: Option<String>,
    threads: Option<usize>,
) -> PyResult<(Py<PyAny>, Report)> {
    let cfg = params::<RfmParams>("rfm", params_json)?.validate().py()?;
    let source = events(data, ingest_options(columns, purchase_type)?)?;
    let par = parallelism(threads)?;
    let run = py.detach(|| pipeline::customer_rfm(&source, &cfg, &par)).py()?;
    let report = report_json(run.ingest.as_ref())?;
    Ok((table_out(py, run.table)?, report))
}

/// Value tiers (`pareto` with `top_share`, or `deciles`): (per-customer table, per-tier
/// summary, report).
#[pyfunction]
#[pyo3(signature = (data, params_json, tiers="pareto", top_share=0.2, columns=None, purchase_type=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn value_segments(
    py: Python<'_>,
    data: EventsArg,
    params_json: &str,
    tiers: &str,
    top_share: f64,
    columns: Option<HashMap<String, String>>,
    purchase_type: Option<String>,
    threads: Option<usize>,
) -> PyResult<(Py<PyAny>, Py<PyAny>, Report)> {
    let cfg = params::<RfmParams>("rfm", params_json)?.validate().py()?;
    let tiers = match tiers {
        "pareto" => Tiers::Pareto { top_share },
        "deciles" => Tiers::Deciles,
        other => {
            return Err(invalid(
                "tiers",
                format!("{other:?}: expected \"pareto\" or \"deciles\""),
            ));
        }
    };
    let source = events(data, ingest_options(columns, purchase_type)?)?;
    let par = parallelism(threads)?;
    let run = py
        .detach(|| pipeline::value_segments(&source, &cfg, tiers, &par))
        .py()?;
    let report = report_json(run.ingest.as_ref())?;
    Ok((table_out(py, run.table)?, table_out(py, run.summary)?, report))
}

/// Fits one model on a summary table; returns the model and the fit's counts as JSON.
#[pyfunction]
#[pyo3(signature = (summary, model="bgnbd", penalizer=0.0, time_unit=None, period=None, threads=None))]
pub fn fit(
    py: Python<'_>,
    summary: AnyRecordBatch,
    model: &str,
    penalizer: f64,
    time_unit: Option<&str>,
    period: Option<&str>,
    threads: Option<usize>,
) -> PyResult<(Model, String)> {
    let kind = ModelKind::parse(model).py()?;
    let table = batch_in(summary)?;
    // a window is optional here: a model fitted on a summary of unknown unit has none
    let window = window_of(&table, time_unit, period)?;
    let s = CustomerSummary::new(table, window.unwrap_or(DataWindow::new(Period::Day, TimeUnit::Period))).py()?;
    let par = parallelism(threads)?;
    let f = py.detach(|| pipeline::fit(&s, kind, penalizer, &par)).py()?;
    let info = serde_json::json!({
        "customers": f.customers,
        "one_time_buyers_excluded": f.one_time_buyers_excluded,
        "non_positive_spend_excluded": f.non_positive_spend_excluded,
        "frequency_spend_correlation": f.frequency_spend_correlation,
    });
    Ok((Model { model: f.model, window }, info.to_string()))
}

fn clv_config(
    model: &str,
    horizon: &str,
    monthly_discount: Option<f64>,
    continuous_discount: Option<f64>,
    cost_rate: Option<f64>,
    penalizers: (f64, f64),
    risk_model: Option<&str>,
) -> PyResult<ClvParams> {
    let discount = match (monthly_discount, continuous_discount) {
        (Some(rate), None) => Some(Discount::Monthly { rate }),
        (None, Some(rate_per_time_unit)) => Some(Discount::Continuous { rate_per_time_unit }),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(invalid(
                "discount",
                "give monthly_discount or continuous_discount, not both",
            ));
        }
    };
    let mut p = ClvParams::default()
        .model(ModelKind::parse(model).py()?)
        .horizon(Horizon::parse(horizon).py()?)
        .purchase_penalizer(penalizers.0)
        .spend_penalizer(penalizers.1);
    p.discount = discount;
    if let Some(c) = cost_rate {
        p = p.cost_rate(c);
    }
    if let Some(r) = risk_model {
        p = p.risk_model(ModelKind::parse(r).py()?);
    }
    Ok(p)
}

/// CLV of every customer of a summary: fits the models (or scores with `models`), returns
/// (table, models, report JSON).
#[pyfunction]
#[pyo3(signature = (summary, model="bgnbd", horizon="12m", monthly_discount=None, continuous_discount=None, cost_rate=None, purchase_penalizer=0.0, spend_penalizer=0.0, risk_model=None, models=None, time_unit=None, period=None, threads=None, intervals=None))]
#[allow(clippy::too_many_arguments)]
pub fn clv(
    py: Python<'_>,
    summary: AnyRecordBatch,
    model: &str,
    horizon: &str,
    monthly_discount: Option<f64>,
    continuous_discount: Option<f64>,
    cost_rate: Option<f64>,
    purchase_penalizer: f64,
    spend_penalizer: f64,
    risk_model: Option<&str>,
    models: Option<&Models>,
    time_unit: Option<&str>,
    period: Option<&str>,
    threads: Option<usize>,
    intervals: Option<f64>,
) -> PyResult<(Py<PyAny>, Models, String)> {
    let cfg = clv_config(
        model,
        horizon,
        monthly_discount,
        continuous_discount,
        cost_rate,
        (purchase_penalizer, spend_penalizer),
        risk_model,
    )
    .map(|p| ClvParams { intervals, ..p })?
    .validate()
    .py()?;
    let s = summary_in(summary, time_unit, period)?;
    let par = parallelism(threads)?;
    let saved = models.map(|m| m.set.clone());
    let run = py
        .detach(|| match &saved {
            Some(m) => pipeline::score_clv(&s, m, &cfg, &par),
            None => pipeline::clv(&s, &cfg, &par),
        })
        .py()?;
    let report = serde_json::to_string(&run.report).map_err(|e| invalid("report", e))?;
    Ok((table_out(py, run.table)?, Models { set: run.models }, report))
}

/// The CLV job from events to a file, as `clientele clv --input ... --out ...`: the summary
/// of `data`, the models fitted (or `models` scored), the table written to `out` with the
/// engine's writer. Returns (models, report JSON `{"clv": ..., "ingest": ..., "out": ...}`);
/// no table crosses into Python.
#[pyfunction]
#[pyo3(signature = (data, calibration_end, out, period="day", time_unit="period", model="bgnbd", horizon="12m", monthly_discount=None, continuous_discount=None, cost_rate=None, purchase_penalizer=0.0, spend_penalizer=0.0, risk_model=None, models=None, columns=None, purchase_type=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn clv_job(
    py: Python<'_>,
    data: EventsArg,
    calibration_end: &str,
    out: std::path::PathBuf,
    period: &str,
    time_unit: &str,
    model: &str,
    horizon: &str,
    monthly_discount: Option<f64>,
    continuous_discount: Option<f64>,
    cost_rate: Option<f64>,
    purchase_penalizer: f64,
    spend_penalizer: f64,
    risk_model: Option<&str>,
    models: Option<&Models>,
    columns: Option<HashMap<String, String>>,
    purchase_type: Option<String>,
    threads: Option<usize>,
) -> PyResult<(Models, String)> {
    // the CLI's rule: no output over an input (or inside an input store)
    if let EventsArg::Path(input) = &data {
        clientele::io::check_outputs(std::slice::from_ref(input), std::slice::from_ref(&out)).py()?;
    }
    let prep = summary_params(calibration_end, None, period, time_unit, false)?
        .validate()
        .py()?;
    let cfg = clv_config(
        model,
        horizon,
        monthly_discount,
        continuous_discount,
        cost_rate,
        (purchase_penalizer, spend_penalizer),
        risk_model,
    )?
    .validate()
    .py()?;
    let source = events(data, ingest_options(columns, purchase_type)?)?;
    let par = parallelism(threads)?;
    let saved = models.map(|m| m.set.clone());
    let (run, ingest) = py
        .detach(|| -> clientele::Result<_> {
            let summary = pipeline::customer_summary(&source, &prep, &par)?;
            let run = match &saved {
                Some(m) => pipeline::score_clv(&summary.summary, m, &cfg, &par)?,
                None => pipeline::clv(&summary.summary, &cfg, &par)?,
            };
            clientele::io::write_batches_in(&run.table.schema(), std::slice::from_ref(&run.table), &out, &par)?;
            Ok((run, summary.ingest))
        })
        .py()?;
    let ingest: Option<serde_json::Value> = report_json(ingest.as_ref())?
        .map(|j| serde_json::from_str(&j).map_err(|e| invalid("report", e)))
        .transpose()?;
    let report = serde_json::json!({
        "clv": run.report,
        "ingest": ingest,
        "out": out.display().to_string(),
    });
    Ok((Models { set: run.models }, report.to_string()))
}

/// A trained churn classifier.
#[pyclass(module = "clientele._native", name = "ChurnModel", frozen)]
#[derive(Clone)]
pub struct PyChurnModel {
    model: ChurnModel,
}

#[pymethods]
impl PyChurnModel {
    /// The model as the CLI's JSON document (`clientele churn train --model-out`).
    fn to_json(&self) -> PyResult<String> {
        self.model.to_json().py()
    }

    /// Reads a churn model document.
    #[staticmethod]
    fn from_json(json: &str) -> PyResult<PyChurnModel> {
        Ok(PyChurnModel {
            model: ChurnModel::from_json(json).py()?,
        })
    }

    /// The feature names and coefficients (standardized features), by name.
    #[getter]
    fn coefficients(&self) -> Vec<(String, f64)> {
        self.model
            .scaling
            .names
            .iter()
            .cloned()
            .zip(self.model.coefficients.iter().copied())
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("<clientele.ChurnModel {} features>", self.model.coefficients.len())
    }
}

/// Trains the churn classifier on features up to `cutoff` and labels over the next
/// `horizon_days`; returns (model, training-fit metrics JSON).
#[pyfunction]
#[pyo3(signature = (data, cutoff, horizon_days=90, btyd_weeks=None, c=1.0, balanced=false, columns=None, purchase_type=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn churn_train(
    py: Python<'_>,
    data: EventsArg,
    cutoff: &str,
    horizon_days: u32,
    btyd_weeks: Option<f64>,
    c: f64,
    balanced: bool,
    columns: Option<HashMap<String, String>>,
    purchase_type: Option<String>,
    threads: Option<usize>,
) -> PyResult<(PyChurnModel, String, Report)> {
    let cutoff = date("cutoff", cutoff)?;
    let source = events(data, ingest_options(columns, purchase_type)?)?;
    let par = parallelism(threads)?;
    let (t, report) = py
        .detach(|| -> clientele::Result<_> {
            let (store, report) = pipeline::load_events(&source, None, &par)?;
            let t = pipeline::churn_train(&store, cutoff, horizon_days, btyd_weeks, c, balanced, &par)?;
            Ok((t, report))
        })
        .py()?;
    let fit = serde_json::to_string(&t.training_fit).map_err(|e| invalid("report", e))?;
    Ok((PyChurnModel { model: t.model }, fit, report_json(report.as_ref())?))
}

/// Churn probabilities of every customer as of `as_of` with a trained model.
#[pyfunction]
#[pyo3(signature = (data, model, as_of, btyd_weeks=None, columns=None, purchase_type=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn churn_score(
    py: Python<'_>,
    data: EventsArg,
    model: &PyChurnModel,
    as_of: &str,
    btyd_weeks: Option<f64>,
    columns: Option<HashMap<String, String>>,
    purchase_type: Option<String>,
    threads: Option<usize>,
) -> PyResult<(Py<PyAny>, Report)> {
    let as_of = date("as_of", as_of)?;
    let source = events(data, ingest_options(columns, purchase_type)?)?;
    let par = parallelism(threads)?;
    let m = &model.model;
    // the features the model was trained on, unless the caller says otherwise
    let btyd_weeks = btyd_weeks.or(match m.btyd {
        Some(clientele::churn::BtydFeatures::Used { weeks }) => Some(weeks),
        _ => None,
    });
    let (table, report) = py
        .detach(|| -> clientele::Result<_> {
            let (store, report) = pipeline::load_events(&source, None, &par)?;
            Ok((pipeline::churn_score(&store, m, as_of, btyd_weeks, &par)?, report))
        })
        .py()?;
    Ok((table_out(py, table)?, report_json(report.as_ref())?))
}

/// One CRM view by name (`cohorts`, `channels`, `acquisition`, `attribution`, `campaigns`,
/// `cross_sell`, `satisfaction`, `customer360`), its parameters as JSON (the view's serde
/// `*Params`); `table` is the CLV table of `acquisition` or the segment table of `campaigns` and
/// `satisfaction`. Returns the view's tables by name and the report.
#[pyfunction]
#[pyo3(signature = (name, data, params_json, table=None, columns=None, purchase_type=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn view(
    py: Python<'_>,
    name: &str,
    data: EventsArg,
    params_json: &str,
    table: Option<AnyRecordBatch>,
    columns: Option<HashMap<String, String>>,
    purchase_type: Option<String>,
    threads: Option<usize>,
) -> PyResult<(Tables, Report)> {
    use clientele::views::{AttributionParams, CampaignParams, CrossSellParams, SatisfactionParams};
    let source: EventSource<'static> = events(data, ingest_options(columns, purchase_type)?)?;
    let par = parallelism(threads)?;
    let table = table.map(batch_in).transpose()?;
    let table = table.as_ref();
    let (tables, report): (Vec<(&str, RecordBatch)>, _) = match name {
        "cohorts" => {
            let cfg = params::<CohortParams>("cohorts", params_json)?.validate().py()?;
            let r = py.detach(|| pipeline::cohort_view(&source, &cfg, &par)).py()?;
            (vec![("cohorts", r.output)], r.ingest)
        }
        "channels" => {
            let cfg = params::<ChannelParams>("channels", params_json)?.validate().py()?;
            let r = py.detach(|| pipeline::channel_view(&source, &cfg, &par)).py()?;
            (
                vec![("channels", r.output.channels), ("preferred", r.output.preferred)],
                r.ingest,
            )
        }
        "acquisition" => {
            let cfg = params::<ChannelParams>("acquisition", params_json)?.validate().py()?;
            let r = py
                .detach(|| pipeline::acquisition_view(&source, table, &cfg, &par))
                .py()?;
            (vec![("acquisition", r.output)], r.ingest)
        }
        "attribution" => {
            let cfg = params::<AttributionParams>("attribution", params_json)?
                .validate()
                .py()?;
            let r = py.detach(|| pipeline::attribution_view(&source, &cfg, &par)).py()?;
            (vec![("attribution", r.output)], r.ingest)
        }
        "campaigns" => {
            let cfg = params::<CampaignParams>("campaigns", params_json)?.validate().py()?;
            let r = py.detach(|| pipeline::campaign_view(&source, table, &cfg, &par)).py()?;
            (vec![("campaigns", r.output)], r.ingest)
        }
        "cross_sell" => {
            let cfg = params::<CrossSellParams>("cross_sell", params_json)?.validate().py()?;
            let r = py.detach(|| pipeline::cross_sell_view(&source, &cfg, &par)).py()?;
            (
                vec![("rules", r.output.rules), ("next_best", r.output.next_best)],
                r.ingest,
            )
        }
        "satisfaction" => {
            let cfg = params::<SatisfactionParams>("satisfaction", params_json)?
                .validate()
                .py()?;
            let r = py
                .detach(|| pipeline::satisfaction_view(&source, table, &cfg, &par))
                .py()?;
            (
                vec![("summary", r.output.summary), ("distribution", r.output.distribution)],
                r.ingest,
            )
        }
        "customer360" => {
            let cfg = params::<Customer360Params>("customer360", params_json)?
                .validate()
                .py()?;
            let r = py
                .detach(|| pipeline::customer360_view(&source, table, &cfg, &par))
                .py()?;
            (vec![("customer360", r.output)], r.ingest)
        }
        other => {
            return Err(invalid(
                "view",
                format!(
                    "unknown view {other:?}: expected cohorts, channels, acquisition, attribution, campaigns, \
                     cross_sell, satisfaction or customer360"
                ),
            ));
        }
    };
    let report = report_json(report.as_ref())?;
    let tables = tables
        .into_iter()
        .map(|(n, t)| Ok((n.to_string(), table_out(py, t)?)))
        .collect::<PyResult<_>>()?;
    Ok((tables, report))
}
