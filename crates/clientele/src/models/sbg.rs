//! The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007, "How
//! to project customer retention", Journal of Interactive Marketing 21(1)).
//!
//! Each customer churns at the end of each period with a constant probability θ ~ Beta(α, β)
//! (periods are renewal opportunities: year 1 is the first renewal). Then
//! P(T = t) = B(α+1, β+t−1)/B(α, β), S(t) = B(α, β+t)/B(α, β), and the retention rate
//! r_t = S(t)/S(t−1) = (β+t−1)/(α+β+t−1) rises with t: heterogeneity, not changing behaviour.

use serde::{Deserialize, Serialize};

use super::optim::{Objective, numeric_gradient};
use super::params::fit_params;
use super::special::{ln_beta, ln_hyp2f1};
use super::{FitDiagnostics, check_positive, from_json, run_fit, to_json};
use crate::error::{Error, Result};

/// Churn counts of one cohort: how many customers were lost in each period 1..n, and how many
/// are still active after period n.
#[derive(Debug, Clone, PartialEq)]
pub struct SbgData {
    churned: Vec<f64>,
    alive: f64,
}

impl SbgData {
    /// From the number of active customers at the start (index 0) and after each period 1..n,
    /// e.g. `[1000, 631, 468, …]`. Counts need not be integers (weights) but must not increase.
    ///
    /// # Errors
    /// [`Error::InvalidModelData`] (column `survivors`) for a negative, non-finite or increasing
    /// count; [`Error::InvalidParameter`] for fewer than two counts or a zero cohort.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::{SbgData, SbgParams};
    /// let d = SbgData::from_survivors(&[1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0])?;
    /// let m = SbgParams::new().validate()?.fit(&d)?;
    /// assert!((m.alpha - 0.704).abs() < 1e-3 && (m.beta - 1.182).abs() < 1e-3);
    /// # Ok(()) }
    /// ```
    pub fn from_survivors(survivors: &[f64]) -> Result<Self> {
        if survivors.len() < 2 {
            return Err(Error::param(
                "survivors",
                "need the cohort size and at least one later count",
            ));
        }
        for (i, &s) in survivors.iter().enumerate() {
            if !s.is_finite() || s < 0.0 {
                return Err(Error::InvalidModelData {
                    column: "survivors",
                    row: i,
                    value: s,
                    reason: "must be non-negative and finite",
                });
            }
            if i > 0 && s > survivors[i - 1] {
                return Err(Error::InvalidModelData {
                    column: "survivors",
                    row: i,
                    value: s,
                    reason: "must not exceed the previous count",
                });
            }
        }
        if survivors[0] <= 0.0 {
            return Err(Error::param("survivors", "the cohort is empty"));
        }
        Ok(SbgData {
            churned: survivors.windows(2).map(|w| w[0] - w[1]).collect(),
            alive: survivors[survivors.len() - 1],
        })
    }

    /// From per-customer histories: the period in which each customer churned (`Some(t)`,
    /// t ≥ 1) or `None` for a customer still active after `periods` periods.
    ///
    /// # Errors
    /// [`Error::InvalidModelData`] (column `churn_period`) for a period 0 or beyond `periods`;
    /// [`Error::InvalidParameter`] for `periods` = 0 or no customer.
    pub fn from_churn_periods(churn_period: &[Option<u32>], periods: u32) -> Result<Self> {
        if periods > 100_000 {
            return Err(Error::param(
                "periods",
                format!("at most 100,000 periods, got {periods}"),
            ));
        }
        if periods == 0 {
            return Err(Error::param("periods", "must be at least 1"));
        }
        if churn_period.is_empty() {
            return Err(Error::param("churn_period", "no customer"));
        }
        let mut churned = vec![0.0; periods as usize];
        let mut alive = 0.0;
        for (i, c) in churn_period.iter().enumerate() {
            match *c {
                None => alive += 1.0,
                Some(t) if t >= 1 && t <= periods => churned[t as usize - 1] += 1.0,
                Some(t) => {
                    return Err(Error::InvalidModelData {
                        column: "churn_period",
                        row: i,
                        value: f64::from(t),
                        reason: "must be in 1..=periods",
                    });
                }
            }
        }
        Ok(SbgData { churned, alive })
    }

    /// The number of observed periods n.
    pub fn periods(&self) -> usize {
        self.churned.len()
    }

    /// The cohort size.
    pub fn customers(&self) -> f64 {
        self.churned.iter().sum::<f64>() + self.alive
    }
}

fit_params! {
    model: "sBG",
    params: SbgParams,
    config: SbgConfig,
    penalty: "−ℓ/N + c·(α² + β²), with N the number of customers (the `lifetimes` convention).",
    initial: (alpha, beta) = 2, "(α, β); default (1, 1).",
}

struct Likelihood<'a> {
    data: &'a SbgData,
    penalizer: f64,
}

impl Likelihood<'_> {
    fn value(&self, theta: &[f64]) -> f64 {
        let (a, b) = (theta[0].exp(), theta[1].exp());
        if !(a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0) {
            return f64::NAN;
        }
        let lb = ln_beta(a, b);
        let mut ll = 0.0;
        for (i, &c) in self.data.churned.iter().enumerate() {
            if c > 0.0 {
                let t = (i + 1) as f64;
                ll += c * (ln_beta(a + 1.0, b + t - 1.0) - lb);
            }
        }
        let n = self.data.periods() as f64;
        if self.data.alive > 0.0 {
            ll += self.data.alive * (ln_beta(a, b + n) - lb);
        }
        -ll + self.penalizer * self.data.customers() * (a * a + b * b)
    }
}

impl Objective for Likelihood<'_> {
    fn dim(&self) -> usize {
        2
    }

    fn eval(&self, theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        if let Some(g) = grad {
            numeric_gradient(|t| self.value(t), theta, g);
        }
        self.value(theta)
    }
}

/// A fitted (or given) shifted-beta-geometric model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sbg {
    /// First shape of the beta distribution of churn probabilities.
    pub alpha: f64,
    /// Second shape of the beta distribution of churn probabilities.
    pub beta: f64,
    /// How the fit went; `None` for a model built from given parameters.
    #[serde(skip)]
    pub diagnostics: Option<FitDiagnostics>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    alpha: f64,
    beta: f64,
}

impl SbgConfig {
    /// Fits the model by maximum likelihood on a cohort's churn counts.
    ///
    /// # Errors
    /// [`Error::FitFailed`] (with the diagnostics) when the optimiser does not converge.
    pub fn fit(&self, data: &SbgData) -> Result<Sbg> {
        let init = self.initial.unwrap_or([1.0, 1.0]);
        let obj = Likelihood {
            data,
            penalizer: self.opts.penalizer,
        };
        let (theta, mut diag) = run_fit(
            "sbg",
            &["alpha", "beta"],
            &obj,
            &init.map(f64::ln),
            self.opts,
            data.customers(),
            data.periods(),
        )?;
        let m = Sbg {
            alpha: theta[0].exp(),
            beta: theta[1].exp(),
            diagnostics: None,
        };
        diag.log_likelihood = -Likelihood { data, penalizer: 0.0 }.value(&theta);
        diag.describe_boundary(&[("alpha", m.alpha), ("beta", m.beta)]);
        Ok(Sbg {
            diagnostics: Some(diag),
            ..m
        })
    }
}

impl Sbg {
    /// A model with given parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when a parameter is not positive and finite.
    pub fn new(alpha: f64, beta: f64) -> Result<Self> {
        check_positive(&[("alpha", alpha), ("beta", beta)])?;
        Ok(Sbg {
            alpha,
            beta,
            diagnostics: None,
        })
    }

    /// S(t) = B(α, β+t)/B(α, β), the share of the cohort still active after t periods.
    pub fn survival(&self, t: u32) -> f64 {
        (ln_beta(self.alpha, self.beta + f64::from(t)) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// P(T = t) = B(α+1, β+t−1)/B(α, β), the share of the cohort that churns in period t ≥ 1 (0 for t = 0).
    pub fn churn_probability(&self, t: u32) -> f64 {
        if t == 0 {
            return 0.0;
        }
        (ln_beta(self.alpha + 1.0, self.beta + f64::from(t) - 1.0) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// The retention rate of period t ≥ 1, r_t = S(t)/S(t−1) = (β+t−1)/(α+β+t−1).
    pub fn retention_rate(&self, t: u32) -> f64 {
        let t = f64::from(t.max(1));
        (self.beta + t - 1.0) / (self.alpha + self.beta + t - 1.0)
    }

    /// Expected active customers after periods 0..=`periods` of a cohort of `cohort` customers.
    pub fn project(&self, cohort: f64, periods: u32) -> Vec<f64> {
        (0..=periods).map(|t| cohort * self.survival(t)).collect()
    }

    /// DERL, the discounted expected residual lifetime of a customer who has renewed `renewals`
    /// times (is active after period n − 1 = `renewals`), at discount rate d per period
    /// (Fader & Hardie 2010, "Customer-base valuation in a contractual setting"):
    /// Σ_{k≥1} P(active after period n−1+k | active after n−1) / (1+d)^(k−1)
    /// = (β+n−1)/(α+β+n−1) · ₂F₁(1, β+n; α+β+n; 1/(1+d)). Multiply by the payment per period
    /// for the expected residual value.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for d ≤ 0 or not finite.
    pub fn discounted_expected_residual_lifetime(&self, discount_rate: f64, renewals: u32) -> Result<f64> {
        if !(discount_rate.is_finite() && discount_rate > 0.0) {
            return Err(Error::param(
                "discount_rate",
                format!("must be positive, got {discount_rate}"),
            ));
        }
        let n = f64::from(renewals) + 1.0;
        let (a, b) = (self.alpha, self.beta);
        let lead = (b + n - 1.0) / (a + b + n - 1.0);
        Ok(lead * ln_hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + discount_rate))?.exp())
    }

    /// The model as versioned JSON (`"model":"sbg"`, parameters `alpha`, `beta`).
    ///
    /// # Errors
    /// [`Error::Json`] if encoding fails.
    pub fn to_json(&self) -> Result<String> {
        to_json(
            super::ModelKind::Sbg,
            Saved {
                alpha: self.alpha,
                beta: self.beta,
            },
            self.diagnostics.as_ref(),
        )
    }

    /// Reads a model written by [`Sbg::to_json`].
    ///
    /// # Errors
    /// [`Error::Format`] for another format, version or model; [`Error::InvalidParameter`] for
    /// parameters that are not positive.
    pub fn from_json(json: &str) -> Result<Self> {
        let (p, diag): (Saved, _) = from_json(super::ModelKind::Sbg, json)?;
        let mut m = Sbg::new(p.alpha, p.beta)?;
        m.diagnostics = diag;
        Ok(m)
    }
}
