//! The Gamma-Gamma model of spend per transaction (Fader & Hardie 2013, "The Gamma-Gamma model
//! of monetary value"; Colombo & Jiang 1999).
//!
//! A customer's transaction values are Gamma(p, ν) with mean p/ν; across customers
//! ν ~ Gamma(q, γ). The mean m̄ of x transactions is then Gamma(p·x, ν·x), and integrating ν out
//! gives the closed-form likelihood of (x, m̄) used here. The parameters are `p`, `q`, `gamma`
//! (γ, in the currency of m̄). The model assumes spend does not depend on purchase frequency:
//! check [`SpendData::frequency_spend_correlation`].

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::data::SpendData;
use super::optim::Objective;
use super::params::fit_params;
use super::special::{digamma, ln_gamma};
use super::{FitDiagnostics, check_positive, from_json, run_fit, to_json};
use crate::error::{Error, Result};

fit_params! {
    model: "Gamma-Gamma",
    params: GammaGammaParams,
    config: GammaGammaConfig,
    penalty: "−ℓ/N + c·(p² + q² + γ²).",
    initial: (p, q, gamma) = 3, "(p, q, γ); default (1, 2, weighted mean of m̄).",
}

struct Likelihood<'a> {
    data: &'a SpendData,
    penalizer: f64,
}

impl Objective for Likelihood<'_> {
    fn dim(&self) -> usize {
        3
    }

    fn eval(&self, theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let (p, q, g) = (theta[0].exp(), theta[1].exp(), theta[2].exp());
        if ![p, q, g].iter().all(|v| v.is_finite() && *v > 0.0) {
            return f64::NAN;
        }
        let d = self.data;
        let (lg_q, dg_q, ln_g) = (ln_gamma(q), digamma(q), g.ln());
        // per distinct x: (ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + px ln x, ψ(px+q) − ψ(px) + ln x, ψ(px+q))
        let xt: Vec<[f64; 3]> = d
            .distinct_x
            .iter()
            .map(|&x| {
                let px = p * x;
                let dg = digamma(px + q);
                [
                    ln_gamma(px + q) - ln_gamma(px) - lg_q + q * ln_g + px * x.ln(),
                    dg - digamma(px) + x.ln(),
                    dg,
                ]
            })
            .collect();
        let want_grad = grad.is_some();
        let n = d.len();
        let chunks: Vec<[f64; 4]> = super::chunk_sums(n, |i, acc: &mut [f64; 4]| {
            let (x, w, ln_m) = (d.x[i], d.weight[i], d.ln_m[i]);
            let t = &xt[d.x_index[i] as usize];
            let px = p * x;
            let gxm = g + x * d.m[i];
            let ln_gxm = gxm.ln();
            acc[0] += w * (t[0] + (px - 1.0) * ln_m - (px + q) * ln_gxm);
            if want_grad {
                acc[1] += w * x * (t[1] + ln_m - ln_gxm);
                acc[2] += w * (t[2] - dg_q + ln_g - ln_gxm);
                acc[3] += w * (q / g - (px + q) / gxm);
            }
        });
        let pen = self.penalizer * d.customers();
        super::optim::penalized(&chunks, &[p, q, g], pen, grad)
    }
}

/// A fitted (or given) Gamma-Gamma spend model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    /// Shape of the per-transaction spend distribution.
    pub p: f64,
    /// Shape of the gamma distribution of the rate ν across customers.
    pub q: f64,
    /// Scale (rate) γ of the gamma distribution of ν, in the currency of m̄.
    pub gamma: f64,
    /// How the fit went, with the frequency–spend correlation in the data; `None` for a model
    /// built from given parameters.
    #[serde(skip)]
    pub diagnostics: Option<FitDiagnostics>,
    /// Weighted Pearson correlation of x and m̄ in the fitted data (the model assumes ≈ 0).
    #[serde(skip)]
    pub frequency_spend_correlation: Option<f64>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    p: f64,
    q: f64,
    gamma: f64,
}

impl GammaGammaConfig {
    /// Fits the model by maximum likelihood on repeat customers' (x, m̄).
    ///
    /// # Errors
    /// [`Error::FitFailed`] (with the diagnostics) when the optimiser does not converge.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::{GammaGammaParams, SpendData};
    /// let d = SpendData::from_slices(&[1.0, 2.0, 5.0, 1.0, 3.0], &[20.0, 35.5, 18.0, 60.0, 25.0], None)?;
    /// let m = GammaGammaParams::new().penalizer(0.01).validate()?.fit(&d)?;
    /// assert!(m.conditional_expected_average_spend(2.0, 35.5)? > 0.0);
    /// # Ok(()) }
    /// ```
    pub fn fit(&self, data: &SpendData) -> Result<GammaGamma> {
        let mean_m = data.m.iter().zip(&data.weight).map(|(m, w)| m * w).sum::<f64>() / data.customers();
        let init = self.initial.unwrap_or([1.0, 2.0, mean_m]);
        let theta0 = [init[0].ln(), init[1].ln(), init[2].ln()];
        let obj = Likelihood {
            data,
            penalizer: self.opts.penalizer,
        };
        let (theta, mut diag) = run_fit(
            "gamma_gamma",
            &["p", "q", "gamma"],
            &obj,
            &theta0,
            self.opts,
            data.customers(),
            data.len(),
        )?;
        let m = GammaGamma {
            p: theta[0].exp(),
            q: theta[1].exp(),
            gamma: theta[2].exp(),
            diagnostics: None,
            frequency_spend_correlation: Some(data.frequency_spend_correlation()),
        };
        diag.log_likelihood = m.log_likelihood(data);
        diag.describe_boundary(&[("p", m.p), ("q", m.q), ("gamma", m.gamma)]);
        Ok(GammaGamma {
            diagnostics: Some(diag),
            ..m
        })
    }
}

impl GammaGamma {
    /// A model with given parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when a parameter is not positive and finite.
    pub fn new(p: f64, q: f64, gamma: f64) -> Result<Self> {
        check_positive(&[("p", p), ("q", q), ("gamma", gamma)])?;
        Ok(GammaGamma {
            p,
            q,
            gamma,
            diagnostics: None,
            frequency_spend_correlation: None,
        })
    }

    /// The total (weighted) log-likelihood of `data`.
    pub fn log_likelihood(&self, data: &SpendData) -> f64 {
        let obj = Likelihood { data, penalizer: 0.0 };
        -obj.eval(&[self.p.ln(), self.q.ln(), self.gamma.ln()], None)
    }

    /// E[M | x, m̄] = p(γ + x·m̄)/(p·x + q − 1), the expected spend per transaction of a customer
    /// with x repeat transactions of mean m̄: a weighted average of the population mean pγ/(q−1)
    /// and m̄ (Fader & Hardie 2013, eq. 5). For x = 0 (m̄ ignored) it is the population mean.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when x or m̄ is negative or not finite, or when p·x + q ≤ 1
    /// (the expectation is infinite; for x = 0 this means q ≤ 1).
    pub fn conditional_expected_average_spend(&self, x: f64, m: f64) -> Result<f64> {
        if !(x.is_finite() && x >= 0.0) {
            return Err(Error::param("frequency", format!("must be non-negative, got {x}")));
        }
        let m = if x == 0.0 { 0.0 } else { m };
        if !(m.is_finite() && m >= 0.0) {
            return Err(Error::param("monetary_value", format!("must be non-negative, got {m}")));
        }
        let den = self.p * x + self.q - 1.0;
        if den <= 0.0 {
            return Err(Error::param(
                "q",
                format!("p·x + q − 1 = {den} ≤ 0: the expected spend is infinite"),
            ));
        }
        Ok(self.p * (self.gamma + x * m) / den)
    }

    /// [`GammaGamma::conditional_expected_average_spend`] of many customers, in parallel.
    ///
    /// # Errors
    /// As the single-customer form; [`Error::InvalidParameter`] when the slices differ in length.
    pub fn conditional_expected_average_spend_batch(&self, x: &[f64], m: &[f64]) -> Result<Vec<f64>> {
        if x.len() != m.len() {
            return Err(Error::param(
                "monetary_value",
                "frequency and monetary_value differ in length",
            ));
        }
        (0..x.len())
            .into_par_iter()
            .map(|i| self.conditional_expected_average_spend(x[i], m[i]))
            .collect()
    }

    /// The model as versioned JSON (`"model":"gg"`, parameters `p`, `q`, `gamma`).
    ///
    /// # Errors
    /// [`Error::Json`] if encoding fails.
    pub fn to_json(&self) -> Result<String> {
        to_json(
            super::ModelKind::GammaGamma,
            Saved {
                p: self.p,
                q: self.q,
                gamma: self.gamma,
            },
            self.diagnostics.as_ref(),
        )
    }

    /// Reads a model written by [`GammaGamma::to_json`].
    ///
    /// # Errors
    /// [`Error::Format`] for another format, version or model; [`Error::InvalidParameter`] for
    /// parameters that are not positive.
    pub fn from_json(json: &str) -> Result<Self> {
        let (s, diag): (Saved, _) = from_json(super::ModelKind::GammaGamma, json)?;
        let mut m = GammaGamma::new(s.p, s.q, s.gamma)?;
        m.diagnostics = diag;
        Ok(m)
    }
}
