//! L2-regularized logistic regression for churn, fitted by Newton's method (IRLS).
//!
//! **Objective.** With standardized features xᵢ (see [`Scaling`]), labels yᵢ ∈ {0, 1}, sample
//! weights wᵢ (the class weight of yᵢ) and linear predictor zᵢ = b + xᵢ·β, the fit minimises
//!
//! > C · Σᵢ wᵢ · (log(1 + e^zᵢ) − yᵢ·zᵢ) + ½ ‖β‖²
//!
//! — scikit-learn's `LogisticRegression(C=C, penalty="l2")` objective, the intercept b not
//! penalised — so coefficients can be checked against scikit-learn (`testdata/churn/`).
//!
//! **Class weights.** [`ClassWeight::None`] weights every row 1; [`ClassWeight::Balanced`]
//! weights class k by n / (2·n_k), as scikit-learn's `class_weight="balanced"`.
//!
//! **Fitting.** Newton steps on the (d+1)-dimensional problem: the gradient and Hessian are
//! summed over fixed chunks of rows in parallel and combined in order (so the fit does not
//! depend on the thread count); the (d+1)×(d+1) system is solved by a Cholesky factorization;
//! a backtracking line search keeps each step a descent. The fit stops when the Euclidean norm
//! of the gradient is at most `tolerance`.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use chrono::NaiveDate;

use super::features::{FeatureConfig, FeatureParams, Scaling};
use super::labels::label_values;
use crate::error::{Error, Result};
use crate::schema::output::churn::CHURN_PROBABILITY;

/// The model name in saved JSON.
pub const MODEL_NAME: &str = "churn_logistic";

/// Rows per chunk of a parallel gradient/Hessian sum.
const ROW_CHUNK: usize = 4096;

/// Weights of the two classes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every row weighs 1 (the default).
    None,
    /// Class k weighs n / (2·n_k) (scikit-learn's `"balanced"`).
    Balanced,
    /// Explicit weights of the non-churned (0) and churned (1) classes.
    Explicit {
        /// Weight of label 0.
        negative: f64,
        /// Weight of label 1.
        positive: f64,
    },
}

/// Unchecked parameters of the churn model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnModelParams {
    /// Inverse regularization strength C > 0 (default 1.0, scikit-learn's default).
    #[serde(default = "default_c")]
    pub c: f64,
    /// Class weights (default [`ClassWeight::None`]).
    #[serde(default = "default_class_weight")]
    pub class_weight: ClassWeight,
    /// Stop when ‖gradient‖₂ of the objective is at most this (default 1e-8).
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// Newton iterations allowed (default 100).
    #[serde(default = "default_max_iterations")]
    pub max_iterations: usize,
}

fn default_c() -> f64 {
    1.0
}
fn default_class_weight() -> ClassWeight {
    ClassWeight::None
}
fn default_tolerance() -> f64 {
    1e-8
}
fn default_max_iterations() -> usize {
    100
}

impl Default for ChurnModelParams {
    fn default() -> Self {
        ChurnModelParams {
            c: default_c(),
            class_weight: default_class_weight(),
            tolerance: default_tolerance(),
            max_iterations: default_max_iterations(),
        }
    }
}

impl ChurnModelParams {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets C.
    pub fn c(mut self, c: f64) -> Self {
        self.c = c;
        self
    }

    /// Sets the class weights.
    pub fn class_weight(mut self, w: ClassWeight) -> Self {
        self.class_weight = w;
        self
    }

    /// Sets the gradient-norm tolerance.
    pub fn tolerance(mut self, tol: f64) -> Self {
        self.tolerance = tol;
        self
    }

    /// Sets the iteration cap.
    pub fn max_iterations(mut self, n: usize) -> Self {
        self.max_iterations = n;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the field: `c` or `tolerance` not positive and finite,
    /// `max_iterations` 0, explicit class weights not positive and finite.
    pub fn validate(&self) -> Result<ChurnModelConfig> {
        if !self.c.is_finite() || self.c <= 0.0 {
            return Err(Error::param(
                "c",
                format!("must be positive and finite, got {}", self.c),
            ));
        }
        if !self.tolerance.is_finite() || self.tolerance <= 0.0 {
            return Err(Error::param(
                "tolerance",
                format!("must be positive and finite, got {}", self.tolerance),
            ));
        }
        if self.max_iterations == 0 {
            return Err(Error::param("max_iterations", "must be at least 1"));
        }
        if let ClassWeight::Explicit { negative, positive } = self.class_weight
            && [negative, positive].iter().any(|w| !w.is_finite() || *w <= 0.0)
        {
            return Err(Error::param(
                "class_weight",
                format!("weights must be positive and finite, got {negative} and {positive}"),
            ));
        }
        Ok(ChurnModelConfig { params: self.clone() })
    }
}

/// Validated [`ChurnModelParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnModelConfig {
    params: ChurnModelParams,
}

/// How the Newton fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticDiagnostics {
    /// Newton iterations.
    pub iterations: usize,
    /// ‖gradient‖₂ of the objective at the end (at most the tolerance).
    pub gradient_norm: f64,
    /// The objective at the estimates.
    pub objective: f64,
    /// The weighted mean log-loss at the estimates (without the penalty).
    pub log_loss: f64,
    /// Training rows.
    pub rows: usize,
    /// Training rows with label 1.
    pub positives: usize,
}

/// A fitted churn model: the training scaling, the coefficients on the standardized features
/// and the intercept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnModel {
    /// The parameters it was fitted with.
    pub params: ChurnModelParams,
    /// The training scaling (feature names, means, standard deviations).
    pub scaling: Scaling,
    /// One coefficient per feature (in `scaling.names` order), on the standardized scale.
    pub coefficients: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
    /// The class weights used (label 0, label 1).
    pub class_weights: [f64; 2],
    /// How the fit went.
    pub diagnostics: LogisticDiagnostics,
    /// The feature parameters of the training features (event types, `no_complaint_days`),
    /// when recorded with [`with_feature_params`](Self::with_feature_params), so that new data
    /// is featurized the same way ([`feature_config`](Self::feature_config)).
    #[serde(default)]
    pub feature_params: Option<FeatureParams>,
    /// Whether the training features included the BG/NBD columns, and over how many weeks,
    /// when recorded with [`with_btyd`](Self::with_btyd); `None` in models saved before this
    /// was recorded. Scoring must use the same setting ([`btyd_for_scoring`](Self::btyd_for_scoring)).
    #[serde(default)]
    pub btyd: Option<BtydFeatures>,
}

/// The default horizon, in weeks, of the BG/NBD `expected_purchases` feature.
pub const DEFAULT_BTYD_WEEKS: f64 = 13.0;

/// Whether a churn model's features include the BG/NBD columns (`p_alive` and
/// `expected_purchases` over the next `weeks` weeks, from a BG/NBD model fitted on the weekly
/// summary of the history before the cutoff). Saved as `"off"` or `{"used":{"weeks":13.0}}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BtydFeatures {
    /// No BG/NBD features.
    Off,
    /// BG/NBD features, `expected_purchases` over the next `weeks` weeks.
    Used {
        /// The horizon of `expected_purchases`, in weeks.
        weeks: f64,
    },
}

impl BtydFeatures {
    /// The weeks of `expected_purchases`, or `None` when BG/NBD features are off.
    pub fn weeks(self) -> Option<f64> {
        match self {
            BtydFeatures::Off => None,
            BtydFeatures::Used { weeks } => Some(weeks),
        }
    }
}

fn check_btyd_weeks(weeks: f64) -> Result<f64> {
    if weeks.is_finite() && weeks > 0.0 {
        Ok(weeks)
    } else {
        Err(Error::param(
            "btyd_weeks",
            format!("must be positive and finite, got {weeks}"),
        ))
    }
}

/// Numerically stable log(1 + e^z).
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// The logistic function.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// In-place Cholesky factor (lower, row-major k×k); `None` when not positive definite.
fn cholesky(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = a[i * k + j] - (0..j).map(|m| l[i * k + m] * l[j * k + m]).sum::<f64>();
            if i == j {
                if s.is_nan() || s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * k + i] = s.sqrt();
            } else {
                l[i * k + j] = s / l[j * k + j];
            }
        }
    }
    Some(l)
}

/// Solves L Lᵀ x = b.
fn cholesky_solve(l: &[f64], k: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; k];
    for i in 0..k {
        y[i] = (b[i] - (0..i).map(|m| l[i * k + m] * y[m]).sum::<f64>()) / l[i * k + i];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        x[i] = (y[i] - (i + 1..k).map(|m| l[m * k + i] * x[m]).sum::<f64>()) / l[i * k + i];
    }
    x
}

/// The training problem: standardized rows, labels, weights.
struct Problem<'a> {
    x: &'a [f64],
    y: &'a [f64],
    w: &'a [f64],
    d: usize,
    c: f64,
}

impl Problem<'_> {
    fn z(&self, i: usize, theta: &[f64]) -> f64 {
        let row = &self.x[i * self.d..(i + 1) * self.d];
        theta[0] + row.iter().zip(&theta[1..]).map(|(a, b)| a * b).sum::<f64>()
    }

    /// Σ wᵢ·lossᵢ (unpenalised), in fixed chunks.
    fn loss(&self, theta: &[f64]) -> f64 {
        let n = self.y.len();
        let parts: Vec<f64> = (0..n.div_ceil(ROW_CHUNK))
            .into_par_iter()
            .map(|c| {
                (c * ROW_CHUNK..((c + 1) * ROW_CHUNK).min(n))
                    .map(|i| {
                        let z = self.z(i, theta);
                        self.w[i] * (softplus(z) - self.y[i] * z)
                    })
                    .sum()
            })
            .collect();
        parts.iter().sum()
    }

    fn objective(&self, theta: &[f64]) -> f64 {
        self.c * self.loss(theta) + 0.5 * theta[1..].iter().map(|b| b * b).sum::<f64>()
    }

    /// Gradient and Hessian (k×k, k = d+1, full) of the objective.
    fn derivatives(&self, theta: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (n, k) = (self.y.len(), self.d + 1);
        let parts: Vec<(Vec<f64>, Vec<f64>)> = (0..n.div_ceil(ROW_CHUNK))
            .into_par_iter()
            .map(|c| {
                let (mut g, mut h) = (vec![0.0; k], vec![0.0; k * k]);
                let mut xi = vec![0.0; k];
                for i in c * ROW_CHUNK..((c + 1) * ROW_CHUNK).min(n) {
                    xi[0] = 1.0;
                    xi[1..].copy_from_slice(&self.x[i * self.d..(i + 1) * self.d]);
                    let p = sigmoid(self.z(i, theta));
                    let r = self.w[i] * (p - self.y[i]);
                    let s = self.w[i] * p * (1.0 - p);
                    for a in 0..k {
                        g[a] += r * xi[a];
                        let sa = s * xi[a];
                        for b in 0..=a {
                            h[a * k + b] += sa * xi[b];
                        }
                    }
                }
                (g, h)
            })
            .collect();
        let (mut g, mut h) = (vec![0.0; k], vec![0.0; k * k]);
        for (pg, ph) in &parts {
            g.iter_mut().zip(pg).for_each(|(a, b)| *a += b);
            h.iter_mut().zip(ph).for_each(|(a, b)| *a += b);
        }
        for a in 0..k {
            g[a] *= self.c;
            for b in 0..=a {
                h[a * k + b] *= self.c;
                h[b * k + a] = h[a * k + b];
            }
        }
        for j in 1..k {
            g[j] += theta[j];
            h[j * k + j] += 1.0;
        }
        (g, h)
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

impl ChurnModelConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &ChurnModelParams {
        &self.params
    }

    /// Fits the model on `features` (from [`churn_features`](super::churn_features): every
    /// column but `customer_id` is a feature) and `labels` (from
    /// [`churn_labels`](super::churn_labels): the same customers in the same order). Runs on
    /// the current rayon pool.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the batches differ in rows or customers, a feature
    /// column is not usable, or a class is absent; [`Error::InvalidModelData`] for a label
    /// other than 0/1; [`Error::NoConvergence`] when the gradient tolerance is not met within
    /// `max_iterations`.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use std::sync::Arc;
    /// use clientele::arrow_array::{Float64Array, RecordBatch, UInt8Array};
    /// use clientele::churn::ChurnModelParams;
    /// let x = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![0.0, 1.0, 2.0, 3.0])) as _)])?;
    /// let y = RecordBatch::try_from_iter([("churned", Arc::new(UInt8Array::from(vec![0, 1, 0, 1])) as _)])?;
    /// let model = ChurnModelParams::new().validate()?.fit(&x, &y)?;
    /// assert!(model.coefficients[0] > 0.0);
    /// # Ok(()) }
    /// ```
    pub fn fit(&self, features: &RecordBatch, labels: &RecordBatch) -> Result<ChurnModel> {
        if features.num_rows() != labels.num_rows() {
            return Err(Error::param(
                "labels",
                format!(
                    "{} label rows for {} feature rows",
                    labels.num_rows(),
                    features.num_rows()
                ),
            ));
        }
        if let (Some(a), Some(b)) = (
            features.column_by_name(crate::schema::CUSTOMER_ID),
            labels.column_by_name(crate::schema::CUSTOMER_ID),
        ) && a.to_data() != b.to_data()
        {
            return Err(Error::param("labels", "the label and feature customers differ"));
        }
        let y = label_values(labels)?;
        let scaling = Scaling::fit(features)?;
        let x = scaling.transform(features)?;
        let n = y.len();
        let positives = y.iter().filter(|&&v| v == 1.0).count();
        if positives == 0 || positives == n {
            return Err(Error::param("labels", "both classes (0 and 1) must be present"));
        }
        let class_weights = match self.params.class_weight {
            ClassWeight::None => [1.0, 1.0],
            ClassWeight::Balanced => [
                n as f64 / (2.0 * (n - positives) as f64),
                n as f64 / (2.0 * positives as f64),
            ],
            ClassWeight::Explicit { negative, positive } => [negative, positive],
        };
        let w: Vec<f64> = y.iter().map(|&v| class_weights[usize::from(v == 1.0)]).collect();
        let d = scaling.names.len();
        let prob = Problem {
            x: &x,
            y: &y,
            w: &w,
            d,
            c: self.params.c,
        };
        let k = d + 1;
        let mut theta = vec![0.0; k];
        let mut f = prob.objective(&theta);
        let mut iterations = 0;
        let (mut g, mut h) = prob.derivatives(&theta);
        while norm(&g) > self.params.tolerance {
            if iterations >= self.params.max_iterations {
                return Err(no_convergence(iterations, norm(&g)));
            }
            iterations += 1;
            let l = cholesky(&h, k).ok_or_else(|| no_convergence(iterations, norm(&g)))?;
            let neg: Vec<f64> = g.iter().map(|v| -v).collect();
            let step = cholesky_solve(&l, k, &neg);
            let slope: f64 = g.iter().zip(&step).map(|(a, b)| a * b).sum();
            let mut t = 1.0;
            let next = loop {
                let cand: Vec<f64> = theta.iter().zip(&step).map(|(a, b)| a + t * b).collect();
                let fc = prob.objective(&cand);
                // (with an allowance for rounding, which dominates next to the optimum)
                if fc <= f + 1e-4 * t * slope + 1e-13 * f.abs() {
                    break (cand, fc);
                }
                t *= 0.5;
                if t < 1e-10 {
                    // No descent is possible any more: the gradient is at the rounding floor.
                    return Err(no_convergence(iterations, norm(&g)));
                }
            };
            theta = next.0;
            f = next.1;
            (g, h) = prob.derivatives(&theta);
        }
        let wsum: f64 = w.iter().sum();
        Ok(ChurnModel {
            params: self.params.clone(),
            scaling,
            coefficients: theta[1..].to_vec(),
            intercept: theta[0],
            class_weights,
            diagnostics: LogisticDiagnostics {
                iterations,
                gradient_norm: norm(&g),
                objective: f,
                log_loss: prob.loss(&theta) / wsum,
                rows: n,
                positives,
            },
            feature_params: None,
            btyd: None,
        })
    }
}

fn no_convergence(iterations: usize, gradient_norm: f64) -> Error {
    Error::NoConvergence {
        routine: "churn logistic regression (Newton)",
        iterations,
        message: format!("gradient norm {gradient_norm:e}"),
    }
}

impl ChurnModel {
    /// Records the parameters the training features were computed with (saved with the model).
    pub fn with_feature_params(mut self, params: &FeatureParams) -> Self {
        self.feature_params = Some(params.clone());
        self
    }

    /// Records whether (and over how many weeks) the training features included the BG/NBD
    /// columns (saved with the model).
    pub fn with_btyd(mut self, btyd: BtydFeatures) -> Self {
        self.btyd = Some(btyd);
        self
    }

    /// The BG/NBD features to compute when scoring or evaluating this model: `Some(weeks)`
    /// for `p_alive` and `expected_purchases` over `weeks` weeks, `None` for none.
    ///
    /// `requested` is what the caller asked for, `requested_weeks` the weeks it gave
    /// explicitly (if any). When the model records its setting, that setting is used: asking
    /// for BG/NBD features the model was trained without, or for other weeks than it was
    /// trained with, is an error (plain `requested = false` with no weeks is not a conflict).
    /// A model saved before the setting was recorded uses the request, with
    /// [`DEFAULT_BTYD_WEEKS`] when no weeks are given, as before.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`btyd` or `btyd_weeks`) for a conflicting request or weeks
    /// that are not positive and finite.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use std::sync::Arc;
    /// use clientele::arrow_array::{Float64Array, RecordBatch, UInt8Array};
    /// use clientele::churn::{BtydFeatures, ChurnModelParams};
    /// let x = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![0.0, 1.0, 2.0, 3.0])) as _)])?;
    /// let y = RecordBatch::try_from_iter([("churned", Arc::new(UInt8Array::from(vec![0, 1, 0, 1])) as _)])?;
    /// let model = ChurnModelParams::new().validate()?.fit(&x, &y)?.with_btyd(BtydFeatures::Used { weeks: 26.0 });
    /// assert_eq!(model.btyd_for_scoring(false, None)?, Some(26.0));
    /// assert_eq!(model.btyd_for_scoring(true, Some(26.0))?, Some(26.0));
    /// assert!(model.btyd_for_scoring(true, Some(13.0)).is_err());
    /// # Ok(()) }
    /// ```
    pub fn btyd_for_scoring(&self, requested: bool, requested_weeks: Option<f64>) -> Result<Option<f64>> {
        let requested_weeks = requested_weeks.map(check_btyd_weeks).transpose()?;
        let asked = requested || requested_weeks.is_some();
        match self.btyd {
            // Saved before the setting was recorded: the request decides, as it used to.
            None => Ok(asked.then(|| requested_weeks.unwrap_or(DEFAULT_BTYD_WEEKS))),
            Some(BtydFeatures::Off) if asked => Err(Error::param(
                "btyd",
                "the model was trained without BG/NBD features; score it without them",
            )),
            Some(BtydFeatures::Off) => Ok(None),
            Some(BtydFeatures::Used { weeks }) => match requested_weeks {
                Some(w) if w != weeks => Err(Error::param(
                    "btyd_weeks",
                    format!(
                        "the model was trained with BG/NBD expected purchases over {weeks} weeks, not {w}; \
                         omit the weeks to use the model's"
                    ),
                )),
                _ => Ok(Some(weeks)),
            },
        }
    }

    /// The feature configuration for scoring at a new `cutoff`: the recorded feature
    /// parameters (the defaults when none were recorded) with `cutoff` in place of the
    /// training cutoff.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the recorded parameters are invalid.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use std::sync::Arc;
    /// use clientele::arrow_array::{Float64Array, RecordBatch, UInt8Array};
    /// use clientele::chrono::NaiveDate;
    /// use clientele::churn::{ChurnModelParams, FeatureParams};
    /// let x = RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![0.0, 1.0, 2.0, 3.0])) as _)])?;
    /// let y = RecordBatch::try_from_iter([("churned", Arc::new(UInt8Array::from(vec![0, 1, 0, 1])) as _)])?;
    /// let train = FeatureParams::new(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()).no_complaint_days(999.0);
    /// let model = ChurnModelParams::new().validate()?.fit(&x, &y)?.with_feature_params(&train);
    /// let cfg = model.feature_config(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap())?;
    /// assert_eq!(cfg.params().no_complaint_days, 999.0);
    /// # Ok(()) }
    /// ```
    pub fn feature_config(&self, cutoff: NaiveDate) -> Result<FeatureConfig> {
        let mut p = self
            .feature_params
            .clone()
            .unwrap_or_else(|| FeatureParams::new(cutoff));
        p.cutoff = cutoff;
        p.validate()
    }

    /// Churn probabilities of the rows of `features` (computed like the training features; the
    /// columns are found by name and scaled with the training scaling).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`features`) for a missing, non-Float64, null or non-finite
    /// feature column.
    pub fn predict(&self, features: &RecordBatch) -> Result<Vec<f64>> {
        let x = self.scaling.transform(features)?;
        let d = self.coefficients.len();
        Ok((0..features.num_rows())
            .map(|i| {
                let z = self.intercept
                    + x[i * d..(i + 1) * d]
                        .iter()
                        .zip(&self.coefficients)
                        .map(|(a, b)| a * b)
                        .sum::<f64>();
                sigmoid(z)
            })
            .collect())
    }

    /// `customer_id` (when `features` has it) and `churn_probability`.
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn score(&self, features: &RecordBatch) -> Result<RecordBatch> {
        let p = self.predict(features)?;
        let mut fields = Vec::new();
        let mut cols: Vec<ArrayRef> = Vec::new();
        if let Some(id) = features.column_by_name(crate::schema::CUSTOMER_ID) {
            fields.push(Field::new(
                crate::schema::CUSTOMER_ID,
                id.data_type().clone(),
                id.is_nullable(),
            ));
            cols.push(id.clone());
        }
        fields.push(Field::new(CHURN_PROBABILITY, DataType::Float64, false));
        cols.push(Arc::new(Float64Array::from(p)));
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
    }

    /// The coefficients with their feature names, largest absolute value first (ties in
    /// feature order): on standardized features, a coefficient is the change in log-odds of
    /// churn per standard deviation of its feature.
    pub fn feature_importance(&self) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self
            .scaling
            .names
            .iter()
            .cloned()
            .zip(self.coefficients.iter().copied())
            .collect();
        v.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        v
    }

    /// The model as versioned JSON:
    /// `{"format":"clientele-model","version":1,"model":"churn_logistic","params":{...}}`.
    ///
    /// # Errors
    /// [`Error::Json`] if encoding fails.
    pub fn to_json(&self) -> Result<String> {
        crate::models::to_json_named(MODEL_NAME, self, None)
    }

    /// Reads a model written by [`to_json`](Self::to_json).
    ///
    /// # Errors
    /// [`Error::Format`] for another format, version or model, or malformed JSON;
    /// [`Error::InvalidModelData`] when the coefficients do not match the features, a value is
    /// not finite or a standard deviation is not positive.
    pub fn from_json(json: &str) -> Result<ChurnModel> {
        let (m, _): (ChurnModel, _) = crate::models::from_json_named(MODEL_NAME, json)?;
        let d = m.scaling.names.len();
        if m.coefficients.len() != d || m.scaling.means.len() != d || m.scaling.sds.len() != d {
            return Err(Error::InvalidModelData {
                column: "coefficients",
                row: 0,
                value: m.coefficients.len() as f64,
                reason: "the number of coefficients, means and sds must equal the number of features",
            });
        }
        let values = m.coefficients.iter().chain(&m.scaling.means).chain([&m.intercept]);
        if let Some((row, &v)) = values.enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::InvalidModelData {
                column: "coefficients",
                row,
                value: v,
                reason: "coefficients, intercept and means must be finite",
            });
        }
        if let Some(BtydFeatures::Used { weeks }) = m.btyd
            && check_btyd_weeks(weeks).is_err()
        {
            return Err(Error::InvalidModelData {
                column: "btyd",
                row: 0,
                value: weeks,
                reason: "BG/NBD weeks must be positive and finite",
            });
        }
        if let Some((row, &v)) = m
            .scaling
            .sds
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v > 0.0))
        {
            return Err(Error::InvalidModelData {
                column: "sds",
                row,
                value: v,
                reason: "standard deviations must be positive and finite",
            });
        }
        Ok(m)
    }
}
