//! Time-invariant (static) covariates for the Pareto/NBD and BG/NBD purchase models.
//!
//! A covariate is a number per customer that does not change over the window (gender, the
//! acquisition channel as 0/1, age, …). As in the static-covariate models of `CLVTools`
//! (Meierer et al., *CLVTools: a package for customer lifetime value*; the Pareto/NBD form in
//! Fader & Hardie's note *Incorporating time-invariant covariates into the Pareto/NBD and
//! BG/NBD models*, 2007), covariates move the scale of the gamma and beta mixing
//! distributions, customer by customer:
//!
//! | model | transaction covariates z | lifetime covariates w |
//! |---|---|---|
//! | Pareto/NBD | α_i = α₀·exp(−γ_transᵀ z_i) | β_i = β₀·exp(−γ_lifeᵀ w_i) |
//! | BG/NBD | α_i = α₀·exp(−γ_transᵀ z_i) | a_i = a₀·exp(γ_lifeᵀ w_i), b_i = b₀·exp(γ_lifeᵀ w_i) |
//!
//! A positive transaction coefficient raises the mean purchase rate r/α_i by the factor
//! e^(γ·Δz); a positive Pareto/NBD lifetime coefficient raises the mean dropout rate s/β_i. A
//! BG/NBD lifetime coefficient scales a and b together: the mean dropout probability
//! a/(a+b) stays, and a positive coefficient makes customers more alike in it (a and b
//! larger), a negative one more spread out.
//! With every coefficient 0 the models are the plain ones. Coefficient names follow
//! `CLVTools`: `trans.NAME` and `life.NAME`.
//!
//! **Fitting** maximises the same likelihood as the plain model, with each customer's own
//! α_i (β_i, a_i, b_i), over (ln r, ln α₀, ln s | ln a₀, ln β₀ | ln b₀, γ_trans, γ_life), by BFGS
//! with the analytic gradient (chain rule through the per-customer parameters), starting from
//! the plain model's fit and γ = 0, each covariate divided by its root mean square while
//! fitting (so the search bound on a coefficient does not depend on the covariate's units).
//! Customers with the same history and the same covariates share one weighted row; with
//! continuous covariates or times that is one row per customer. A covariate that is constant
//! over every customer is refused by a fit: it cannot be told apart from α₀.
//! **Predictions** are the plain model's with the customer's own parameters
//! ([`CovariateModel::customer_model`]).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::kind::{FittedModel, ModelKind};
use super::optim::Objective;
use super::uncertainty::{Interval, ParameterEstimate, STEP, delta_variances, estimates, log_interval, z_of_level};
use super::window::DataWindow;
use super::{
    BgNbd, BgNbdParams, CHUNK, FitDiagnostics, ParetoNbd, ParetoNbdParams, RfmData, from_json_named, run_fit,
    to_json_named,
};
use crate::error::{Error, Result};

/// Customer histories with their covariates, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CovariateData {
    x: Vec<f64>,
    t_x: Vec<f64>,
    t_cal: Vec<f64>,
    /// Row-major customers × transaction covariates.
    trans: Vec<f64>,
    /// Row-major customers × lifetime covariates.
    life: Vec<f64>,
    trans_names: Vec<String>,
    life_names: Vec<String>,
}

fn collect_columns(
    field: &'static str,
    columns: &[(&str, &[f64])],
    n: usize,
    seen: &mut Vec<String>,
) -> Result<(Vec<f64>, Vec<String>)> {
    let k = columns.len();
    let mut out = vec![0.0; n * k];
    let mut names = Vec::with_capacity(k);
    for (j, (name, values)) in columns.iter().enumerate() {
        if name.is_empty() {
            return Err(Error::param(field, "a covariate needs a name"));
        }
        let full = format!("{}.{name}", if field == "trans" { "trans" } else { "life" });
        if seen.contains(&full) {
            return Err(Error::param(field, format!("covariate {name:?} is given twice")));
        }
        seen.push(full);
        if values.len() != n {
            return Err(Error::param(
                field,
                format!("covariate {name:?} has {} values for {n} customers", values.len()),
            ));
        }
        if let Some((row, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::param(
                field,
                format!("covariate {name:?}: row {row} is {v}; every value must be finite"),
            ));
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(slot) = out.get_mut(i * k + j) {
                *slot = *v;
            }
        }
        names.push((*name).to_owned());
    }
    Ok((out, names))
}

impl CovariateData {
    /// Histories (x, t_x, T) of n customers and their covariates, each given as
    /// `(name, values)` with one value per customer: `trans` shift the purchase process,
    /// `life` the dropout process (either may be empty).
    ///
    /// # Errors
    /// [`Error::InvalidModelData`] for an invalid history (as [`RfmData::from_slices`]);
    /// [`Error::InvalidParameter`] (`trans` / `life`) for a covariate of the wrong length, with
    /// a value that is not finite, unnamed or named twice. (A covariate with one value for
    /// every customer is fine to score with; a fit refuses it.)
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::covariates::CovariateData;
    /// let d = CovariateData::new(&[0.0, 2.0, 1.0], &[0.0, 10.0, 3.0], &[20.0, 30.0, 25.0], &[("gender", &[0.0, 1.0, 1.0])], &[])?;
    /// assert_eq!(d.len(), 3);
    /// # Ok(()) }
    /// ```
    pub fn new(
        frequency: &[f64],
        recency: &[f64],
        t: &[f64],
        trans: &[(&str, &[f64])],
        life: &[(&str, &[f64])],
    ) -> Result<Self> {
        // the same checks as the plain models' data, with the same errors
        RfmData::from_slices_uncompressed(frequency, recency, t, None)?;
        let n = frequency.len();
        let mut seen = Vec::new();
        let (trans_values, trans_names) = collect_columns("trans", trans, n, &mut seen)?;
        let (life_values, life_names) = collect_columns("life", life, n, &mut seen)?;
        Ok(CovariateData {
            x: frequency.to_vec(),
            t_x: recency.to_vec(),
            t_cal: t.to_vec(),
            trans: trans_values,
            life: life_values,
            trans_names,
            life_names,
        })
    }

    /// The number of customers.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True when there is no customer.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The transaction covariates' names, in order.
    pub fn trans_names(&self) -> &[String] {
        &self.trans_names
    }

    /// The lifetime covariates' names, in order.
    pub fn life_names(&self) -> &[String] {
        &self.life_names
    }

    fn trans_row(&self, i: usize) -> &[f64] {
        let k = self.trans_names.len();
        self.trans.get(i * k..(i + 1) * k).unwrap_or(&[])
    }

    fn life_row(&self, i: usize) -> &[f64] {
        let k = self.life_names.len();
        self.life.get(i * k..(i + 1) * k).unwrap_or(&[])
    }

    /// The largest T (times are divided by it while fitting); 1 when every T is 0.
    fn scale(&self) -> f64 {
        let m = self.t_cal.iter().copied().fold(0.0, f64::max);
        if m > 0.0 { m } else { 1.0 }
    }
}

/// Unchecked settings of a covariate fit; [`CovariateParams::validate`] checks them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CovariateParams {
    /// The model: `bgnbd` or `pnbd`.
    pub model: ModelKind,
    /// L2 penalty c: adds c·N·(Σ base parameter² (α₀, β₀ rescaled by the largest T) + Σ γ'²),
    /// with γ' a coefficient times its covariate's root mean square (the fitted coordinates).
    pub penalizer: f64,
    /// BFGS iteration cap.
    pub max_iterations: usize,
    /// Convergence tolerance on the gradient (as the plain models').
    pub tolerance: f64,
}

impl Default for CovariateParams {
    fn default() -> Self {
        CovariateParams {
            model: ModelKind::ParetoNbd,
            penalizer: 0.0,
            max_iterations: 500,
            tolerance: 1e-9,
        }
    }
}

impl CovariateParams {
    /// The defaults for `model` (no penalty, 500 iterations, tolerance 1e-9).
    pub fn new(model: ModelKind) -> Self {
        CovariateParams {
            model,
            ..Self::default()
        }
    }

    /// Sets the penalizer.
    pub fn penalizer(mut self, c: f64) -> Self {
        self.penalizer = c;
        self
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the field: `model` other than `bgnbd` or `pnbd`,
    /// `penalizer` negative or not finite, `max_iterations` 0, `tolerance` not positive.
    pub fn validate(&self) -> Result<CovariateConfig> {
        if !matches!(self.model, ModelKind::BgNbd | ModelKind::ParetoNbd) {
            return Err(Error::param(
                "model",
                format!("covariates are supported for bgnbd and pnbd, not {}", self.model),
            ));
        }
        let opts = super::validate_options(self.penalizer, self.max_iterations, self.tolerance, None)?;
        Ok(CovariateConfig {
            model: self.model,
            opts,
        })
    }
}

/// Validated [`CovariateParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct CovariateConfig {
    model: ModelKind,
    opts: super::FitOptions,
}

/// The negative log-likelihood over (ln base, γ_trans, γ_life), on times divided by the
/// largest T, over distinct (x, t_x, T, covariates) rows with their counts as weights.
struct Likelihood {
    kind: ModelKind,
    /// Transaction and lifetime covariates per row.
    kt: usize,
    kl: usize,
    /// x, t_x / scale, T / scale of each distinct row
    rows: Vec<[f64; 3]>,
    /// How many customers share each row.
    weight: Vec<f64>,
    /// Row-major distinct rows × (kt + kl) covariates.
    cov: Vec<f64>,
    customers: f64,
    penalizer: f64,
}

impl Likelihood {
    /// Rows of `data` with times divided by `scale` and covariate k divided by `cov_scales[k]`,
    /// customers with bit-identical histories and covariates merged (first-seen order): exact,
    /// and much shorter when T is counted in whole periods and the covariates are categories.
    fn new(data: &CovariateData, kind: ModelKind, scale: f64, cov_scales: &[f64], penalizer: f64) -> Self {
        use std::collections::HashMap;
        let (kt, kl) = (data.trans_names.len(), data.life_names.len());
        let mut index: HashMap<Vec<u64>, usize> = HashMap::new();
        let (mut rows, mut weight, mut cov) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..data.len() {
            let (z, w) = (data.trans_row(i), data.life_row(i));
            let row = [data.x[i], data.t_x[i], data.t_cal[i]];
            let key: Vec<u64> = row.iter().chain(z).chain(w).map(|v| v.to_bits()).collect();
            match index.get(&key) {
                Some(&r) => {
                    if let Some(wt) = weight.get_mut(r) {
                        *wt += 1.0;
                    }
                }
                None => {
                    index.insert(key, rows.len());
                    rows.push([row[0], row[1] / scale, row[2] / scale]);
                    weight.push(1.0);
                    let scaled = z.iter().chain(w).zip(cov_scales.iter().chain(std::iter::repeat(&1.0)));
                    cov.extend(scaled.map(|(v, s)| v / s));
                }
            }
        }
        Likelihood {
            kind,
            kt,
            kl,
            rows,
            weight,
            cov,
            customers: data.len() as f64,
            penalizer,
        }
    }

    fn dim(&self) -> usize {
        4 + self.kt + self.kl
    }

    /// One row's weighted log-likelihood and its gradient in the fitted coordinates, added to `acc`.
    fn add_row(&self, i: usize, base: [f64; 4], gamma: (&[f64], &[f64]), acc: &mut [f64]) -> Result<()> {
        let k = self.kt + self.kl;
        let covs = self.cov.get(i * k..(i + 1) * k).unwrap_or(&[]);
        let (z, w) = covs.split_at(self.kt.min(covs.len()));
        let et: f64 = z.iter().zip(gamma.0).map(|(a, b)| a * b).sum();
        let el: f64 = w.iter().zip(gamma.1).map(|(a, b)| a * b).sum();
        let [x, t_x, t] = self.rows.get(i).copied().unwrap_or([f64::NAN; 3]);
        let wt = self.weight.get(i).copied().unwrap_or(f64::NAN);
        let [r, al0, p3, p4] = base;
        let al = al0 * (-et).exp();
        let (ll, dl, dlife) = if self.kind == ModelKind::ParetoNbd {
            let be = p4 * (-el).exp();
            let (ll, g) = super::pareto_nbd::row_log_likelihood_grad(r, al, p3, be, x, t_x, t)?;
            let dl = [r * g[0], al * g[1], p3 * g[2], be * g[3]];
            (ll, dl, -dl[3])
        } else {
            let f = el.exp();
            let (a, b) = (p3 * f, p4 * f);
            let (ll, g) = super::bgnbd::row_log_likelihood_grad(r, al, a, b, x, t_x, t);
            let dl = [r * g[0], al * g[1], a * g[2], b * g[3]];
            (ll, dl, dl[2] + dl[3])
        };
        let mut it = acc.iter_mut();
        let mut add = |v: f64| {
            if let Some(a) = it.next() {
                *a += wt * v;
            }
        };
        add(ll);
        dl.iter().for_each(|&d| add(d));
        z.iter().for_each(|&zk| add(-zk * dl[1]));
        w.iter().for_each(|&wk| add(wk * dlife));
        Ok(())
    }
}

impl Objective for Likelihood {
    fn dim(&self) -> usize {
        Likelihood::dim(self)
    }

    fn eval(&self, theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let k = Likelihood::dim(self);
        let base: [f64; 4] = std::array::from_fn(|j| theta.get(j).map_or(f64::NAN, |v| v.exp()));
        if theta.len() != k || !base.iter().all(|v| v.is_finite() && *v > 0.0) {
            return f64::NAN;
        }
        let (gt, gl) = theta[4..].split_at(self.kt);
        let n = self.rows.len();
        let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut acc = vec![0.0; 1 + k];
                for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    if self.add_row(i, base, (gt, gl), &mut acc).is_err() {
                        return vec![f64::NAN; 1 + k];
                    }
                }
                acc
            })
            .collect();
        let mut tot = vec![0.0; 1 + k];
        for p in &parts {
            for (t, v) in tot.iter_mut().zip(p) {
                *t += v;
            }
        }
        let pen = self.penalizer * self.customers;
        if let Some(g) = grad {
            for (j, g) in g.iter_mut().enumerate() {
                let d = tot.get(j + 1).copied().unwrap_or(f64::NAN);
                *g = if j < 4 {
                    -d + 2.0 * pen * base[j] * base[j]
                } else {
                    -d + 2.0 * pen * theta[j]
                };
            }
        }
        let penalty = base.iter().map(|v| v * v).sum::<f64>() + theta[4..].iter().map(|v| v * v).sum::<f64>();
        -tot.first().copied().unwrap_or(f64::NAN) + pen * penalty
    }
}

/// A Pareto/NBD or BG/NBD model with static covariates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CovariateModel {
    /// `bgnbd` or `pnbd`.
    pub model: ModelKind,
    /// The base parameters (r, α₀, s, β₀) or (r, α₀, a₀, b₀), α₀ and β₀ in the data's time unit.
    pub base: [f64; 4],
    /// Transaction covariates and their coefficients, in order.
    pub trans: Vec<(String, f64)>,
    /// Lifetime covariates and their coefficients, in order.
    pub life: Vec<(String, f64)>,
    /// How the data were prepared (period, time unit, calibration end), when known.
    #[serde(default)]
    pub window: Option<DataWindow>,
    /// How the fit went; `None` for a model built from given parameters.
    #[serde(skip)]
    pub diagnostics: Option<FitDiagnostics>,
}

impl CovariateConfig {
    /// Fits the model with covariates on `data` by maximum likelihood.
    ///
    /// # Errors
    /// [`Error::FitFailed`] (with the diagnostics) when the optimiser does not converge;
    /// [`Error::InvalidParameter`] (`trans` / `life`) for a covariate with the same value for
    /// every customer (it cannot be told apart from α₀, β₀ or a₀, b₀).
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::ModelKind;
    /// use clientele::models::covariates::{CovariateData, CovariateParams};
    /// use clientele::models::simulate::{SimulatedModel, simulate};
    /// let truth = SimulatedModel::BgNbd { r: 1.5, alpha: 8.0, a: 0.8, b: 3.0 };
    /// let h = simulate(truth, &[0.6], &[], 3_000, (40.0, 60.0), 11)?;
    /// let d = CovariateData::new(&h.frequency, &h.recency, &h.t, &[("vip", &h.trans[0])], &[])?;
    /// let m = CovariateParams::new(ModelKind::BgNbd).validate()?.fit(&d)?;
    /// assert!((m.trans[0].1 - 0.6).abs() < 0.2, "{m:?}");
    /// # Ok(()) }
    /// ```
    pub fn fit(&self, data: &CovariateData) -> Result<CovariateModel> {
        let s = data.scale();
        let kind = self.model;
        // Covariates are fitted divided by their root mean square, so that a coefficient's
        // search bound (a factor 10^4 in the rate per unit) is per typical value, whatever the
        // covariate's units; the estimates are converted back below.
        let kt = data.trans_names.len();
        let mut cov_scales = Vec::with_capacity(kt + data.life_names.len());
        for (j, name) in data.trans_names.iter().chain(&data.life_names).enumerate() {
            let field = if j < kt { "trans" } else { "life" };
            let values: Vec<f64> = if j < kt {
                (0..data.len())
                    .filter_map(|i| data.trans_row(i).get(j).copied())
                    .collect()
            } else {
                (0..data.len())
                    .filter_map(|i| data.life_row(i).get(j - kt).copied())
                    .collect()
            };
            let first = values.first().copied().unwrap_or(0.0);
            if values.iter().all(|v| *v == first) {
                return Err(Error::param(
                    field,
                    format!(
                        "covariate {name:?} has the same value ({first}) for every customer: it cannot be told apart \
                         from the base parameters; leave it out"
                    ),
                ));
            }
            let rms = (values.iter().map(|v| v * v).sum::<f64>() / values.len().max(1) as f64).sqrt();
            cov_scales.push(rms);
        }
        // start from the plain model
        let plain = RfmData::from_slices(&data.x, &data.t_x, &data.t_cal, None)?;
        let c = self.opts.penalizer;
        let start = if kind == ModelKind::ParetoNbd {
            ParetoNbdParams::new()
                .penalizer(c)
                .validate()
                .and_then(|p| p.fit(&plain))
                .map(|m| vec![m.r, m.alpha, m.s, m.beta])
        } else {
            BgNbdParams::new()
                .penalizer(c)
                .validate()
                .and_then(|p| p.fit(&plain))
                .map(|m| vec![m.r, m.alpha, m.a, m.b])
        }
        .unwrap_or_else(|_| vec![1.0, s / 10.0, 1.0, if kind == ModelKind::ParetoNbd { s } else { 1.0 }]);
        let time_scaled = |j: usize| j == 1 || (j == 3 && kind == ModelKind::ParetoNbd);
        let mut theta0: Vec<f64> = (0..4)
            .map(|j| {
                let v = start.get(j).copied().unwrap_or(1.0);
                if time_scaled(j) { (v / s).ln() } else { v.ln() }
            })
            .collect();
        theta0.extend(std::iter::repeat_n(0.0, data.trans_names.len() + data.life_names.len()));
        let obj = Likelihood::new(data, kind, s, &cov_scales, self.opts.penalizer);
        let base_names: [&str; 4] = if kind == ModelKind::ParetoNbd {
            ["r", "alpha", "s", "beta"]
        } else {
            ["r", "alpha", "a", "b"]
        };
        let names: Vec<String> = base_names
            .iter()
            .map(|n| (*n).to_owned())
            .chain(data.trans_names.iter().map(|n| format!("trans.{n}")))
            .chain(data.life_names.iter().map(|n| format!("life.{n}")))
            .collect();
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let label = if kind == ModelKind::ParetoNbd {
            "pnbd (covariates)"
        } else {
            "bgnbd (covariates)"
        };
        let (theta, mut diag) = run_fit(
            label,
            &name_refs,
            &obj,
            &theta0,
            self.opts,
            obj.customers,
            obj.rows.len(),
        )?;
        let base: [f64; 4] = std::array::from_fn(|j| {
            let v = theta.get(j).map_or(f64::NAN, |t| t.exp());
            if time_scaled(j) { v * s } else { v }
        });
        // back from the fitted coordinates: coefficient = fitted / scale, and the covariance
        let unit = |i: usize| {
            if i < 4 {
                1.0
            } else {
                cov_scales.get(i - 4).copied().unwrap_or(1.0)
            }
        };
        let coef = |off: usize, names: &[String]| -> Vec<(String, f64)> {
            names
                .iter()
                .enumerate()
                .map(|(j, nm)| {
                    (
                        nm.clone(),
                        theta.get(off + j).copied().unwrap_or(f64::NAN) / unit(off + j),
                    )
                })
                .collect()
        };
        let model = CovariateModel {
            model: kind,
            base,
            trans: coef(4, &data.trans_names),
            life: coef(4 + kt, &data.life_names),
            window: None,
            diagnostics: None,
        };
        // the log-likelihood in the data's time unit (dividing times by s multiplies each
        // event-time density by s), standard errors in the natural units
        let unpenalized = Likelihood { penalizer: 0.0, ..obj };
        let sum_x: f64 = data.x.iter().sum();
        diag.log_likelihood = -unpenalized.eval(&theta, None) - sum_x * s.ln();
        if let Some(c) = diag.covariance.as_mut() {
            for (i, row) in c.iter_mut().enumerate() {
                for (j, v) in row.iter_mut().enumerate() {
                    *v /= unit(i) * unit(j);
                }
            }
        }
        let values: Vec<f64> = model.params().iter().map(|p| p.1).collect();
        diag.standard_errors = (0..values.len())
            .map(|j| {
                let var = diag.covariance.as_ref()?.get(j)?.get(j).copied()?;
                let sd = (var >= 0.0).then(|| var.sqrt())?;
                Some(if j < 4 { values.get(j)? * sd } else { sd })
            })
            .collect();
        diag.describe_boundary(&[
            ("r", base[0]),
            ("alpha", base[1]),
            (base_names[2], base[2]),
            (base_names[3], base[3]),
        ]);
        Ok(CovariateModel {
            diagnostics: Some(diag),
            ..model
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Coefficient {
    name: String,
    coefficient: f64,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    base: Vec<Coefficient>,
    trans: Vec<Coefficient>,
    life: Vec<Coefficient>,
    #[serde(default)]
    window: Option<DataWindow>,
}

/// The saved-model name of a covariate model of `kind`.
fn saved_name(kind: ModelKind) -> &'static str {
    if kind == ModelKind::ParetoNbd {
        "pnbd_static_cov"
    } else {
        "bgnbd_static_cov"
    }
}

impl CovariateModel {
    /// A model with given base parameters and coefficients.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a kind other than `bgnbd`/`pnbd`, a base parameter that
    /// is not positive and finite, or a coefficient that is not finite.
    pub fn new(model: ModelKind, base: [f64; 4], trans: Vec<(String, f64)>, life: Vec<(String, f64)>) -> Result<Self> {
        CovariateParams::new(model).validate()?;
        let names = if model == ModelKind::ParetoNbd {
            ["r", "alpha", "s", "beta"]
        } else {
            ["r", "alpha", "a", "b"]
        };
        super::check_positive(&std::array::from_fn::<_, 4, _>(|j| (names[j], base[j])))?;
        if trans.iter().chain(&life).any(|(_, g)| !g.is_finite()) {
            return Err(Error::param("gamma", "every covariate coefficient must be finite"));
        }
        Ok(CovariateModel {
            model,
            base,
            trans,
            life,
            window: None,
            diagnostics: None,
        })
    }

    /// Every parameter by name: the base parameters, then `trans.NAME` and `life.NAME`.
    pub fn params(&self) -> Vec<(String, f64)> {
        let names = if self.model == ModelKind::ParetoNbd {
            ["r", "alpha", "s", "beta"]
        } else {
            ["r", "alpha", "a", "b"]
        };
        names
            .iter()
            .zip(self.base)
            .map(|(n, v)| ((*n).to_owned(), v))
            .chain(self.trans.iter().map(|(n, g)| (format!("trans.{n}"), *g)))
            .chain(self.life.iter().map(|(n, g)| (format!("life.{n}"), *g)))
            .collect()
    }

    /// Estimates, standard errors and confidence intervals at `level` of every parameter
    /// (see [`super::uncertainty`]): log-scale intervals for the base parameters, symmetric
    /// ones for the coefficients.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`level`) outside (0, 1).
    pub fn parameter_intervals(&self, level: f64) -> Result<Vec<ParameterEstimate>> {
        estimates(&self.params(), 4, self.diagnostics.as_ref(), level)
    }

    /// The plain model of one customer with covariates `trans` and `life` (in the model's
    /// order): its own α (and β, or a and b).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`trans` / `life`) for the wrong number of values; a
    /// customer parameter that over- or underflows.
    pub fn customer_model(&self, trans: &[f64], life: &[f64]) -> Result<FittedModel> {
        if trans.len() != self.trans.len() || life.len() != self.life.len() {
            return Err(Error::param(
                "covariates",
                format!(
                    "the model has {} transaction and {} lifetime covariates, got {} and {}",
                    self.trans.len(),
                    self.life.len(),
                    trans.len(),
                    life.len()
                ),
            ));
        }
        let et: f64 = trans.iter().zip(&self.trans).map(|(z, (_, g))| z * g).sum();
        let el: f64 = life.iter().zip(&self.life).map(|(w, (_, g))| w * g).sum();
        let [r, al0, p3, p4] = self.base;
        Ok(if self.model == ModelKind::ParetoNbd {
            FittedModel::ParetoNbd(ParetoNbd::new(r, al0 * (-et).exp(), p3, p4 * (-el).exp())?)
        } else {
            FittedModel::BgNbd(BgNbd::new(r, al0 * (-et).exp(), p3 * el.exp(), p4 * el.exp())?)
        })
    }

    /// Checks that `data` holds this model's covariates in its order.
    fn check_names(&self, data: &CovariateData) -> Result<()> {
        let mine = |v: &[(String, f64)]| v.iter().map(|p| p.0.clone()).collect::<Vec<_>>();
        if mine(&self.trans) != data.trans_names || mine(&self.life) != data.life_names {
            return Err(Error::param(
                "covariates",
                format!(
                    "the model was fitted with transaction covariates {:?} and lifetime covariates {:?}; the data \
                     give {:?} and {:?}",
                    mine(&self.trans),
                    mine(&self.life),
                    data.trans_names,
                    data.life_names
                ),
            ));
        }
        Ok(())
    }

    fn per_customer(
        &self,
        data: &CovariateData,
        f: impl Fn(&FittedModel, usize) -> Result<f64> + Sync,
    ) -> Result<Vec<f64>> {
        self.check_names(data)?;
        (0..data.len())
            .into_par_iter()
            .map(|i| f(&self.customer_model(data.trans_row(i), data.life_row(i))?, i))
            .collect()
    }

    /// P(alive | x, t_x, T) of every customer of `data`, in the current rayon pool.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`covariates`) when `data`'s covariates are not the model's.
    pub fn p_alive(&self, data: &CovariateData) -> Result<Vec<f64>> {
        self.per_customer(data, |m, i| {
            m.as_purchase_model()?
                .probability_alive(data.x[i], data.t_x[i], data.t_cal[i])
        })
    }

    /// E[Y(t) | x, t_x, T] of every customer of `data` over the next `t` time units.
    ///
    /// # Errors
    /// As [`CovariateModel::p_alive`]; the models' errors for an invalid `t`.
    pub fn conditional_expected_purchases(&self, t: f64, data: &CovariateData) -> Result<Vec<f64>> {
        self.per_customer(data, |m, i| {
            m.as_purchase_model()?
                .conditional_expected_purchases(t, data.x[i], data.t_x[i], data.t_cal[i])
        })
    }

    /// The model with its fitted coordinates (ln base parameters, then the coefficients)
    /// replaced by `theta`.
    fn with_theta(&self, theta: &[f64]) -> Result<CovariateModel> {
        let base: [f64; 4] = std::array::from_fn(|j| theta.get(j).map_or(f64::NAN, |v| v.exp()));
        let coef = |list: &[(String, f64)], off: usize| -> Vec<(String, f64)> {
            list.iter()
                .enumerate()
                .map(|(j, (n, g))| (n.clone(), theta.get(off + j).copied().unwrap_or(*g)))
                .collect()
        };
        let kt = self.trans.len();
        CovariateModel::new(self.model, base, coef(&self.trans, 4), coef(&self.life, 4 + kt))
    }

    /// Delta-method intervals at `level` of every customer's E[Y(t) | x, t_x, T] (see
    /// [`super::uncertainty`]): central differences in the fitted coordinates, customer by
    /// customer (2 × the number of parameters evaluations of the expectation per customer),
    /// and the fit's covariance.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`level`) outside (0, 1), (`intervals`) for a model without
    /// a covariance (given parameters, a boundary fit); as
    /// [`CovariateModel::conditional_expected_purchases`].
    pub fn expected_purchases_intervals(&self, t: f64, data: &CovariateData, level: f64) -> Result<Interval> {
        let z = z_of_level(level)?;
        let cov = self.diagnostics.as_ref().and_then(|d| d.covariance.as_ref()).ok_or_else(|| {
            Error::param(
                "intervals",
                "the covariate model has no parameter covariance (given parameters or a fit at a boundary): refit it",
            )
        })?;
        let theta: Vec<f64> = self
            .base
            .iter()
            .map(|v| v.ln())
            .chain(self.trans.iter().chain(&self.life).map(|p| p.1))
            .collect();
        let value = self.conditional_expected_purchases(t, data)?;
        let mut d = Vec::with_capacity(theta.len());
        for j in 0..theta.len() {
            let mut th = theta.clone();
            th[j] = theta[j] + STEP;
            let up = self.with_theta(&th)?.conditional_expected_purchases(t, data)?;
            th[j] = theta[j] - STEP;
            let down = self.with_theta(&th)?.conditional_expected_purchases(t, data)?;
            d.push(
                up.iter()
                    .zip(&down)
                    .map(|(u, w)| (u - w) / (2.0 * STEP))
                    .collect::<Vec<f64>>(),
            );
        }
        let var = delta_variances(&d, cov, value.len());
        let var_ln: Vec<f64> = var
            .iter()
            .zip(&value)
            .map(|(v, f)| if *f > 0.0 { v / (f * f) } else { 0.0 })
            .collect();
        Ok(log_interval(&value, &var_ln, z))
    }

    /// The total log-likelihood of `data` under the model, in the data's time unit.
    ///
    /// # Errors
    /// As [`CovariateModel::p_alive`].
    pub fn log_likelihood(&self, data: &CovariateData) -> Result<f64> {
        let ll = self.per_customer(data, |m, i| {
            let (x, tx, t) = (data.x[i], data.t_x[i], data.t_cal[i]);
            match m {
                FittedModel::ParetoNbd(p) => p.log_likelihood_customer(x, tx, t),
                FittedModel::BgNbd(b) => Ok(b.log_likelihood_customer(x, tx, t)),
                _ => Err(Error::param("model", "bgnbd or pnbd")),
            }
        })?;
        Ok(ll.iter().sum())
    }

    /// The model as versioned JSON (`"model":"pnbd_static_cov"` or `"bgnbd_static_cov"`).
    ///
    /// # Errors
    /// [`Error::Json`] if encoding fails.
    pub fn to_json(&self) -> Result<String> {
        let list = |v: &[(String, f64)]| {
            v.iter()
                .map(|(n, g)| Coefficient {
                    name: n.clone(),
                    coefficient: *g,
                })
                .collect()
        };
        let base: Vec<(String, f64)> = self.params().into_iter().take(4).collect();
        to_json_named(
            saved_name(self.model),
            Saved {
                base: list(&base),
                trans: list(&self.trans),
                life: list(&self.life),
                window: self.window,
            },
            self.diagnostics.as_ref(),
        )
    }

    /// Reads a model written by [`CovariateModel::to_json`].
    ///
    /// # Errors
    /// [`Error::Format`] for another format, version or model; [`Error::InvalidParameter`] for
    /// invalid parameters.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::ModelKind;
    /// use clientele::models::covariates::CovariateModel;
    /// let m = CovariateModel::new(ModelKind::ParetoNbd, [0.55, 10.6, 0.61, 11.7], vec![("vip".into(), 0.4)], vec![])?;
    /// assert_eq!(CovariateModel::from_json(&m.to_json()?)?, m);
    /// # Ok(()) }
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        let kind = if is_covariate_model(json) == Some(ModelKind::ParetoNbd) {
            ModelKind::ParetoNbd
        } else {
            ModelKind::BgNbd
        };
        let (saved, diag): (Saved, _) = from_json_named(saved_name(kind), json)?;
        let base: Vec<f64> = saved.base.iter().map(|c| c.coefficient).collect();
        let [r, a, b, c] = base.as_slice() else {
            return Err(Error::param(
                "base",
                format!("four base parameters, got {}", base.len()),
            ));
        };
        let pairs = |v: Vec<Coefficient>| v.into_iter().map(|c| (c.name, c.coefficient)).collect();
        let mut m = CovariateModel::new(kind, [*r, *a, *b, *c], pairs(saved.trans), pairs(saved.life))?;
        m.window = saved.window;
        m.diagnostics = diag;
        Ok(m)
    }
}

/// The base model kind when `json` is a saved covariate model (`pnbd_static_cov`,
/// `bgnbd_static_cov`), else `None`.
pub fn is_covariate_model(json: &str) -> Option<ModelKind> {
    #[derive(Deserialize)]
    struct Head {
        model: String,
    }
    match serde_json::from_str::<Head>(json).ok()?.model.as_str() {
        "pnbd_static_cov" => Some(ModelKind::ParetoNbd),
        "bgnbd_static_cov" => Some(ModelKind::BgNbd),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;
    use crate::models::optim::numeric_gradient;
    use crate::models::simulate::{SimulatedModel, simulate};

    fn data(model: SimulatedModel) -> CovariateData {
        let h = simulate(model, &[0.4, -0.2], &[0.3], 600, (20.0, 40.0), 5).unwrap();
        CovariateData::new(
            &h.frequency,
            &h.recency,
            &h.t,
            &[("z0", &h.trans[0]), ("z1", &h.trans[1])],
            &[("w0", &h.life[0])],
        )
        .unwrap()
    }

    #[test]
    fn analytic_gradients_match_central_differences() {
        for (kind, model) in [
            (
                ModelKind::ParetoNbd,
                SimulatedModel::ParetoNbd {
                    r: 0.8,
                    alpha: 6.0,
                    s: 0.7,
                    beta: 12.0,
                },
            ),
            (
                ModelKind::BgNbd,
                SimulatedModel::BgNbd {
                    r: 0.8,
                    alpha: 6.0,
                    a: 0.7,
                    b: 2.5,
                },
            ),
        ] {
            let d = data(model);
            let s = d.scale();
            let obj = Likelihood::new(&d, kind, s, &[1.0; 3], 0.01);
            let theta = [-0.3, -1.5, -0.2, 0.4, 0.3, -0.1, 0.2];
            let mut g = [0.0; 7];
            obj.eval(&theta, Some(&mut g));
            let mut num = [0.0; 7];
            numeric_gradient(|t| obj.eval(t, None), &theta, &mut num);
            for (a, b) in g.iter().zip(num) {
                assert!((a - b).abs() < 1e-5 * b.abs().max(1.0), "{kind}: {g:?} vs {num:?}");
            }
        }
    }

    #[test]
    fn repeated_customers_share_a_weighted_row() {
        let h = simulate(
            SimulatedModel::ParetoNbd {
                r: 0.8,
                alpha: 6.0,
                s: 0.7,
                beta: 12.0,
            },
            &[0.4],
            &[0.3],
            300,
            (20.0, 40.0),
            9,
        )
        .unwrap();
        let twice = |v: &[f64]| v.iter().chain(v).copied().collect::<Vec<_>>();
        let once = CovariateData::new(
            &h.frequency,
            &h.recency,
            &h.t,
            &[("z", &h.trans[0])],
            &[("w", &h.life[0])],
        )
        .unwrap();
        let (x2, tx2, t2, z2, w2) = (
            twice(&h.frequency),
            twice(&h.recency),
            twice(&h.t),
            twice(&h.trans[0]),
            twice(&h.life[0]),
        );
        let doubled = CovariateData::new(&x2, &tx2, &t2, &[("z", &z2)], &[("w", &w2)]).unwrap();
        let a = Likelihood::new(&once, ModelKind::ParetoNbd, 40.0, &[1.0; 2], 0.0);
        let b = Likelihood::new(&doubled, ModelKind::ParetoNbd, 40.0, &[1.0; 2], 0.0);
        assert_eq!((a.rows.len(), b.rows.len(), b.customers), (300, 300, 600.0));
        let theta = [-0.3, -1.5, -0.2, 0.4, 0.3, -0.1];
        let (mut ga, mut gb) = ([0.0; 6], [0.0; 6]);
        let (va, vb) = (a.eval(&theta, Some(&mut ga)), b.eval(&theta, Some(&mut gb)));
        assert!((vb - 2.0 * va).abs() < 1e-9 * va.abs(), "{va} {vb}");
        for (x, y) in ga.iter().zip(gb) {
            assert!((y - 2.0 * x).abs() < 1e-9 * x.abs().max(1.0));
        }
    }

    #[test]
    fn zero_coefficients_give_the_plain_model() {
        let d = data(SimulatedModel::BgNbd {
            r: 0.8,
            alpha: 6.0,
            a: 0.7,
            b: 2.5,
        });
        let m = CovariateModel::new(
            ModelKind::BgNbd,
            [0.8, 6.0, 0.7, 2.5],
            vec![("z0".into(), 0.0), ("z1".into(), 0.0)],
            vec![("w0".into(), 0.0)],
        )
        .unwrap();
        let plain = BgNbd::new(0.8, 6.0, 0.7, 2.5).unwrap();
        let p = m.p_alive(&d).unwrap();
        for (i, p) in p.iter().enumerate() {
            assert_eq!(*p, plain.p_alive(d.x[i], d.t_x[i], d.t_cal[i]));
        }
        let ll: f64 = (0..d.len())
            .map(|i| plain.log_likelihood_customer(d.x[i], d.t_x[i], d.t_cal[i]))
            .sum();
        assert!((m.log_likelihood(&d).unwrap() - ll).abs() < 1e-9 * ll.abs());
    }

    #[test]
    fn bad_covariates_are_refused_by_name() {
        let (x, tx, t) = ([0.0, 1.0, 2.0], [0.0, 3.0, 4.0], [10.0, 10.0, 10.0]);
        // a constant covariate is fine to score with, refused by a fit
        let constant = CovariateData::new(&x, &tx, &t, &[("c", &[1.0, 1.0, 1.0])], &[]).unwrap();
        let e = CovariateParams::new(ModelKind::BgNbd)
            .validate()
            .unwrap()
            .fit(&constant)
            .unwrap_err();
        assert!(e.to_string().contains("same value"), "{e}");
        let e = CovariateData::new(&x, &tx, &t, &[("c", &[1.0, f64::NAN, 1.0])], &[]).unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
        let e = CovariateData::new(&x, &tx, &t, &[("c", &[1.0, 2.0])], &[]).unwrap_err();
        assert!(e.to_string().contains("2 values for 3"), "{e}");
        let e = CovariateData::new(&x, &tx, &t, &[("c", &[0.0, 1.0, 2.0]), ("c", &[1.0, 0.0, 2.0])], &[]).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
        assert!(CovariateParams::new(ModelKind::GammaGamma).validate().is_err());
    }
}
