//! The mergeable summary (`SummaryAccumulator`) as a Python object, for engines that split the
//! events across processes (Spark's `mapInArrow`, Dask, Ray): `update` with each partition's
//! batches, `state()` to ship the partial state as an Arrow table, `merge_state` on the other
//! side, `finish()` for the summary.

use std::collections::HashMap;

use clientele::kernels::summary::SummaryAccumulator;
use clientele::models::DataWindow;
use clientele::pipeline::CustomerSummary;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;

use crate::convert::{batches_in, ingest_options, table_out};
use crate::errors::{IntoPy, invalid};
use crate::jobs::{summary_params, with_window};

/// A summary being computed from partitions of the events.
#[pyclass(module = "clientele._native", name = "SummaryState")]
pub struct PySummaryState {
    acc: Option<SummaryAccumulator>,
    window: DataWindow,
}

impl PySummaryState {
    fn acc(&mut self) -> PyResult<&mut SummaryAccumulator> {
        self.acc
            .as_mut()
            .ok_or_else(|| invalid("state", "finish() was called: this state is spent"))
    }
}

#[pymethods]
impl PySummaryState {
    #[new]
    #[pyo3(signature = (calibration_end, observation_end=None, period="day", time_unit="period", include_non_buyers=false, columns=None, purchase_type=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        calibration_end: &str,
        observation_end: Option<&str>,
        period: &str,
        time_unit: &str,
        include_non_buyers: bool,
        columns: Option<HashMap<String, String>>,
        purchase_type: Option<String>,
    ) -> PyResult<Self> {
        let params = summary_params(calibration_end, observation_end, period, time_unit, include_non_buyers)?;
        let cfg = params.validate().py()?;
        let acc = SummaryAccumulator::new(&cfg, &ingest_options(columns, purchase_type)?).py()?;
        Ok(PySummaryState {
            acc: Some(acc),
            window: DataWindow::new(params.period, params.time_unit).calibration_end(params.calibration_end),
        })
    }

    /// Adds events (every batch of an Arrow object). Any invalid row is an error: an aggregate
    /// cannot drop rows and stay mergeable.
    fn update(&mut self, py: Python<'_>, data: AnyRecordBatch) -> PyResult<()> {
        let (_, batches) = batches_in(data)?;
        let acc = self.acc()?;
        py.detach(|| batches.iter().try_for_each(|b| acc.update(b))).py()
    }

    /// The partial state: one row per customer (see the engine's
    /// `kernels::summary::partial` docs for the columns).
    fn state(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let acc = self.acc()?;
        let batch = py.detach(|| acc.state()).py()?;
        table_out(py, batch)
    }

    /// Merges partial states (every batch of an Arrow object written by `state()`).
    fn merge_state(&mut self, py: Python<'_>, data: AnyRecordBatch) -> PyResult<()> {
        let (_, batches) = batches_in(data)?;
        let acc = self.acc()?;
        py.detach(|| batches.iter().try_for_each(|b| acc.merge_state(b))).py()
    }

    /// The customers seen so far.
    #[getter]
    fn num_customers(&self) -> usize {
        self.acc.as_ref().map_or(0, SummaryAccumulator::num_customers)
    }

    /// The summary (as `clientele.summary` with `all_columns=True` gives it); spends the state.
    fn finish(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let acc = self
            .acc
            .take()
            .ok_or_else(|| invalid("state", "finish() was called already"))?;
        let window = self.window;
        let summary = py.detach(|| CustomerSummary::new(acc.finish()?, window)).py()?;
        table_out(py, with_window(&summary)?)
    }
}
