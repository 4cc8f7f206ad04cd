//! Fitted models as Python objects.
//!
//! `Model` holds one fitted model (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB, Gamma-Gamma or sBG)
//! with the data window of the summary it was fitted on; `Models` holds the set a CLV run
//! fits (purchase, spend, risk). Both read and write the same JSON documents as the CLI
//! (`clientele fit --model-out`, `clientele clv --model-out`), so a model fitted in Python
//! scores from the command line and back.
//!
//! The array methods take contiguous `float64` NumPy arrays (the Python layer converts lists,
//! pandas and polars columns) and release the GIL while they compute.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use clientele::models::clv::{Discounting, PurchaseModel, customer_lifetime_value};
use clientele::models::{DataWindow, FittedModel, SavedModels};
use clientele::pipeline::{expected_purchases_of, p_alive_of};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::table_out;
use crate::errors::{IntoPy, invalid};

/// One fitted model.
#[pyclass(module = "clientele._native", name = "Model", frozen)]
#[derive(Clone)]
pub struct Model {
    pub(crate) model: FittedModel,
    pub(crate) window: Option<DataWindow>,
}

fn values(a: &PyReadonlyArray1<'_, f64>, name: &'static str) -> PyResult<Vec<f64>> {
    a.as_slice()
        .map(<[f64]>::to_vec)
        .map_err(|_| invalid(name, "must be a contiguous float64 array"))
}

fn same_len(lens: &[usize]) -> PyResult<()> {
    if lens.windows(2).any(|w| w[0] != w[1]) {
        return Err(invalid("frequency", format!("the arrays differ in length: {lens:?}")));
    }
    Ok(())
}

impl Model {
    fn purchase(&self) -> PyResult<&FittedModel> {
        match &self.model {
            FittedModel::BgNbd(_) | FittedModel::MbgNbd(_) | FittedModel::ParetoNbd(_) | FittedModel::BgBb(_) => {
                Ok(&self.model)
            }
            other => Err(invalid(
                "model",
                format!("{} does not model purchases", other.kind().title()),
            )),
        }
    }
}

#[pymethods]
impl Model {
    /// The model's name: `bgnbd`, `mbgnbd`, `pnbd`, `bgbb`, `gg` or `sbg`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.model.kind().as_str()
    }

    /// The parameters by name, in the model's order.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.model.params() {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// The fit's diagnostics as JSON (`None` for a model built from given parameters).
    fn diagnostics_json(&self) -> PyResult<Option<String>> {
        self.model
            .diagnostics()
            .map(|d| serde_json::to_string(d).map_err(|e| invalid("diagnostics", e)))
            .transpose()
    }

    /// The data window as JSON (`None` when unknown).
    fn window_json(&self) -> PyResult<Option<String>> {
        self.window
            .map(|w| serde_json::to_string(&w).map_err(|e| invalid("window", e)))
            .transpose()
    }

    /// The estimates as a table: `param, coef, se(coef), lower 95% bound, upper 95% bound`
    /// (lifetimes' `summary` columns; bounds are coef ± 1.96 se, null where the standard error
    /// does not exist).
    fn summary(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let params = self.model.params();
        let se: Vec<Option<f64>> = match self.model.diagnostics() {
            Some(d) => (0..params.len())
                .map(|i| d.standard_errors.get(i).copied().flatten())
                .collect(),
            None => vec![None; params.len()],
        };
        let coef: Vec<f64> = params.iter().map(|p| p.1).collect();
        let bound = |sign: f64| -> Float64Array {
            coef.iter()
                .zip(&se)
                .map(|(c, s)| s.map(|s| c + sign * 1.96 * s))
                .collect()
        };
        let batch = RecordBatch::try_from_iter([
            (
                "param",
                Arc::new(StringArray::from_iter_values(params.iter().map(|p| p.0))) as ArrayRef,
            ),
            ("coef", Arc::new(Float64Array::from(coef.clone())) as ArrayRef),
            ("se(coef)", Arc::new(Float64Array::from(se.clone())) as ArrayRef),
            ("lower 95% bound", Arc::new(bound(-1.0)) as ArrayRef),
            ("upper 95% bound", Arc::new(bound(1.0)) as ArrayRef),
        ])
        .map_err(|e| crate::errors::to_py(e.into()))?;
        table_out(py, batch)
    }

    /// The estimates with standard errors and confidence intervals at `level` on the log scale
    /// (exp(ln p ± z·se/p): positive, as the CLI's `fit` prints them): a table `param,
    /// estimate, se, lower, upper` (null bounds without a covariance, e.g. a model given by hand).
    #[pyo3(signature = (level=0.95))]
    fn intervals(&self, py: Python<'_>, level: f64) -> PyResult<Py<PyAny>> {
        let rows =
            clientele::models::uncertainty::parameter_intervals(&self.model, level).map_err(crate::errors::to_py)?;
        let f = |g: fn(&clientele::models::uncertainty::ParameterEstimate) -> Option<f64>| -> ArrayRef {
            Arc::new(rows.iter().map(g).collect::<Float64Array>())
        };
        let batch = RecordBatch::try_from_iter([
            (
                "param",
                Arc::new(StringArray::from_iter_values(rows.iter().map(|p| p.name.as_str()))) as ArrayRef,
            ),
            ("estimate", f(|p| Some(p.estimate))),
            ("se", f(|p| p.standard_error)),
            ("lower", f(|p| p.lower)),
            ("upper", f(|p| p.upper)),
        ])
        .map_err(|e| crate::errors::to_py(e.into()))?;
        table_out(py, batch)
    }

    /// P(alive | x, t_x, T) per customer.
    fn p_alive<'py>(
        &self,
        py: Python<'py>,
        frequency: PyReadonlyArray1<'py, f64>,
        recency: PyReadonlyArray1<'py, f64>,
        t: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (x, tx, t) = (
            values(&frequency, "frequency")?,
            values(&recency, "recency")?,
            values(&t, "T")?,
        );
        same_len(&[x.len(), tx.len(), t.len()])?;
        let m = self.model.clone();
        let out = py.detach(move || p_alive_of(&m, &x, &tx, &t)).py()?;
        Ok(out.into_pyarray(py))
    }

    /// E[Y(t) | x, t_x, T]: expected purchases in the next `t` time units per customer.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        t: f64,
        frequency: PyReadonlyArray1<'py, f64>,
        recency: PyReadonlyArray1<'py, f64>,
        t_cal: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (x, tx, tc) = (
            values(&frequency, "frequency")?,
            values(&recency, "recency")?,
            values(&t_cal, "T")?,
        );
        same_len(&[x.len(), tx.len(), tc.len()])?;
        let m = self.model.clone();
        let out = py.detach(move || expected_purchases_of(&m, t, &x, &tx, &tc)).py()?;
        Ok(out.into_pyarray(py))
    }

    /// E[X(t)]: expected purchases of a new customer in `t` time units.
    fn expected_purchases(&self, t: f64) -> PyResult<f64> {
        match self.purchase()? {
            FittedModel::BgBb(b) => Ok(b.expected_purchases(t)),
            other => other.expected_purchases(t).py(),
        }
    }

    /// P(X(t) = n): probability that a new customer makes `n` purchases in `t` time units.
    fn probability_of_purchases(&self, t: f64, n: u32) -> PyResult<f64> {
        match self.purchase()? {
            FittedModel::BgBb(_) => Err(invalid("model", "probability_of_purchases is not available for BG/BB")),
            other => other.probability_of_purchases(t, n).py(),
        }
    }

    /// Gamma-Gamma: E[M | x, m̄] per customer (one-time buyers get the population mean).
    fn expected_spend<'py>(
        &self,
        py: Python<'py>,
        frequency: PyReadonlyArray1<'py, f64>,
        monetary_value: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let FittedModel::GammaGamma(gg) = &self.model else {
            return Err(invalid("model", "expected_spend needs a Gamma-Gamma model"));
        };
        let (x, m) = (
            values(&frequency, "frequency")?,
            values(&monetary_value, "monetary_value")?,
        );
        same_len(&[x.len(), m.len()])?;
        let gg = gg.clone();
        let out = py
            .detach(move || gg.conditional_expected_average_spend_batch(&x, &m))
            .py()?;
        Ok(out.into_pyarray(py))
    }

    /// Gamma-Gamma: CLV per customer with `purchase_model`, summed over `months` months
    /// discounted at `monthly_rate` a month, `time_units_per_month` model time units a month
    /// (lifetimes' `customer_lifetime_value` convention).
    #[allow(clippy::too_many_arguments)]
    fn clv<'py>(
        &self,
        py: Python<'py>,
        purchase_model: &Model,
        frequency: PyReadonlyArray1<'py, f64>,
        recency: PyReadonlyArray1<'py, f64>,
        t: PyReadonlyArray1<'py, f64>,
        monetary_value: PyReadonlyArray1<'py, f64>,
        months: u32,
        monthly_rate: f64,
        time_units_per_month: f64,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let FittedModel::GammaGamma(gg) = &self.model else {
            return Err(invalid("model", "clv is computed by the Gamma-Gamma spend model"));
        };
        let purchase = purchase_model.purchase()?.clone();
        if !purchase.kind().is_purchase_model() {
            return Err(invalid("purchase_model", "must be bgnbd, mbgnbd or pnbd"));
        }
        let (x, tx, tc, m) = (
            values(&frequency, "frequency")?,
            values(&recency, "recency")?,
            values(&t, "T")?,
            values(&monetary_value, "monetary_value")?,
        );
        same_len(&[x.len(), tx.len(), tc.len(), m.len()])?;
        let d = Discounting::DiscreteMonthly {
            months,
            monthly_rate,
            time_units_per_month,
        };
        let gg = gg.clone();
        let out = py
            .detach(move || customer_lifetime_value(&purchase, &gg, &x, &tx, &tc, &m, &d, None))
            .py()?;
        Ok(out.gross.into_pyarray(py))
    }

    /// The model as the CLI's one-model JSON document (with its data window).
    fn to_json(&self) -> PyResult<String> {
        SavedModels::single(self.model.clone(), self.window).to_json().py()
    }

    /// Reads a one-model JSON document (as `clientele fit --model-out` writes).
    #[staticmethod]
    fn from_json(json: &str) -> PyResult<Model> {
        let set = SavedModels::from_json(json).py()?;
        let window = set.window;
        match (set.purchase, set.spend, set.risk) {
            (Some(m), None, None) => Ok(Model { model: m, window }),
            (None, Some(g), None) => Ok(Model {
                model: FittedModel::GammaGamma(g),
                window,
            }),
            _ => Err(invalid(
                "model",
                "the document holds a model set: read it with Models.from_json",
            )),
        }
    }

    /// A model from given parameters: `kind` and its parameters by name (`r, alpha, a, b` for
    /// BG/NBD and MBG/NBD, `r, alpha, s, beta` for Pareto/NBD, `alpha, beta, gamma, delta` for
    /// BG/BB, `p, q, gamma` for Gamma-Gamma, `alpha, beta` for sBG).
    #[staticmethod]
    fn from_params(kind: &str, params: std::collections::HashMap<String, f64>) -> PyResult<Model> {
        use clientele::models::{BgBb, BgNbd, GammaGamma, MbgNbd, ModelKind, ParetoNbd, Sbg};
        let kind = ModelKind::parse(kind).py()?;
        let names: &[&str] = match kind {
            ModelKind::BgNbd | ModelKind::MbgNbd => &["r", "alpha", "a", "b"],
            ModelKind::ParetoNbd => &["r", "alpha", "s", "beta"],
            ModelKind::BgBb => &["alpha", "beta", "gamma", "delta"],
            ModelKind::GammaGamma => &["p", "q", "gamma"],
            ModelKind::Sbg => &["alpha", "beta"],
        };
        if let Some(extra) = params.keys().find(|k| !names.contains(&k.as_str())) {
            return Err(invalid(
                "params",
                format!(
                    "{extra:?} is not a {} parameter (expected {})",
                    kind.title(),
                    names.join(", ")
                ),
            ));
        }
        let v = names
            .iter()
            .map(|n| {
                params
                    .get(*n)
                    .copied()
                    .ok_or_else(|| invalid("params", format!("{} needs {n}", kind.title())))
            })
            .collect::<PyResult<Vec<f64>>>()?;
        let p = |i: usize| v.get(i).copied().unwrap_or(f64::NAN);
        let model = match kind {
            ModelKind::BgNbd => FittedModel::BgNbd(BgNbd::new(p(0), p(1), p(2), p(3)).py()?),
            ModelKind::MbgNbd => FittedModel::MbgNbd(MbgNbd::new(p(0), p(1), p(2), p(3)).py()?),
            ModelKind::ParetoNbd => FittedModel::ParetoNbd(ParetoNbd::new(p(0), p(1), p(2), p(3)).py()?),
            ModelKind::BgBb => FittedModel::BgBb(BgBb::new(p(0), p(1), p(2), p(3)).py()?),
            ModelKind::GammaGamma => FittedModel::GammaGamma(GammaGamma::new(p(0), p(1), p(2)).py()?),
            ModelKind::Sbg => FittedModel::Sbg(Sbg::new(p(0), p(1)).py()?),
        };
        Ok(Model { model, window: None })
    }

    fn __repr__(&self) -> String {
        let params = self
            .model
            .params()
            .iter()
            .map(|(k, v)| format!("{k}={v:.6}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("<clientele.Model {} ({params})>", self.model.kind().as_str())
    }
}

/// The models of a CLV run: purchase, spend and (when it differs) risk.
#[pyclass(module = "clientele._native", name = "Models", frozen)]
#[derive(Clone)]
pub struct Models {
    pub(crate) set: SavedModels,
}

#[pymethods]
impl Models {
    /// The purchase model (or `None`).
    #[getter]
    fn purchase(&self) -> Option<Model> {
        self.set.purchase.clone().map(|model| Model {
            model,
            window: self.set.window,
        })
    }

    /// The Gamma-Gamma spend model (or `None`).
    #[getter]
    fn spend(&self) -> Option<Model> {
        self.set.spend.clone().map(|g| Model {
            model: FittedModel::GammaGamma(g),
            window: self.set.window,
        })
    }

    /// The model behind churn risk when it is not the purchase model (or `None`).
    #[getter]
    fn risk(&self) -> Option<Model> {
        self.set.risk.clone().map(|model| Model {
            model,
            window: self.set.window,
        })
    }

    /// The set as the CLI's model-set JSON (`clientele clv --model-out`).
    fn to_json(&self) -> PyResult<String> {
        self.set.to_json().py()
    }

    /// Reads a model file written by the CLI or by `to_json` (one model or a set).
    #[staticmethod]
    fn from_json(json: &str) -> PyResult<Models> {
        Ok(Models {
            set: SavedModels::from_json(json).py()?,
        })
    }

    fn __repr__(&self) -> String {
        format!("<clientele.Models {}>", self.set.kinds())
    }
}
