//! The HTML report (`clientele-report`) from Python: one call, the page back as text.

use std::collections::HashMap;
use std::path::PathBuf;

use clientele::kernels::summary::TimeUnit;
use clientele_report::html::{DataFormat, ReportParams, build};
use pyo3::prelude::*;

use crate::convert::{EventsArg, date, events, ingest_options, parallelism};
use crate::errors::{ClienteleError, IntoPy, to_py};

/// The report's errors as Python exceptions: the engine's as every job raises them, the
/// report's own (bad dates, a chart, a file) with their variant as `kind`.
fn report_err(e: clientele_report::Error) -> PyErr {
    match e {
        clientele_report::Error::Engine(e) => to_py(e),
        other => {
            let kind = format!("{other:?}")
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .next()
                .unwrap_or_default()
                .to_string();
            let err = ClienteleError::new_err(other.to_string());
            Python::attach(|py| {
                let _ = err.value(py).setattr("kind", kind);
            });
            err
        }
    }
}

/// The self-contained HTML report over `data`; written to `out` and its tables to `data_dir`
/// (CSV) when given.
#[pyfunction]
#[pyo3(signature = (data, as_of, calibration_end, out=None, data_dir=None, title=None, time_unit="week", monthly_discount=0.01, churn_horizon_days=90, columns=None, purchase_type=None, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn report_html(
    py: Python<'_>,
    data: EventsArg,
    as_of: &str,
    calibration_end: &str,
    out: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    title: Option<String>,
    time_unit: &str,
    monthly_discount: f64,
    churn_horizon_days: u32,
    columns: Option<HashMap<String, String>>,
    purchase_type: Option<String>,
    threads: Option<usize>,
) -> PyResult<String> {
    let mut params = ReportParams::new(date("as_of", as_of)?, date("calibration_end", calibration_end)?)
        .time_unit(TimeUnit::parse(time_unit).py()?)
        .monthly_discount(monthly_discount)
        .churn_horizon_days(churn_horizon_days);
    if let Some(t) = title {
        params = params.title(t);
    }
    let cfg = params.validate().map_err(report_err)?;
    let source = events(data, ingest_options(columns, purchase_type)?)?;
    let par = parallelism(threads)?;
    py.detach(|| {
        let report = build(&source, &cfg, &par)?;
        let html = report.to_html()?;
        if let Some(path) = &out {
            clientele::io::write_bytes_atomically(path, html.as_bytes())?;
        }
        if let Some(dir) = &data_dir {
            report.write_data(dir, DataFormat::Csv)?;
        }
        Ok(html)
    })
    .map_err(report_err)
}
