//! The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way:
//! an alternative to the Pareto/NBD model", Marketing Science 24(2), 275–284).
//!
//! While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each
//! purchase she drops out with probability p ~ Beta(a, b). The parameters are `r`, `alpha` (in
//! the data's time unit), `a`, `b`.
//!
//! **One-time buyers are alive.** In this model a customer can only drop out right after a
//! purchase, so a customer with x = 0 has P(alive) = 1 whatever T is. That is the model's
//! assumption, not a bug; the MBG/NBD and Pareto/NBD models do not make it.
//!
//! The conditional expectation is computed without the ₂F₁ of the paper's equation (10): Euler's
//! transform turns (1 − z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z) into (1 − z)^(a−1) ₂F₁(a+b−1−r, a−1;
//! a+b+x−1; z), whose parameters do not grow with x, and the factor 1/(a − 1) of the paper is
//! cancelled analytically, so a = 1 and a + b < 1 are not special cases.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::data::RfmData;
use super::optim::Objective;
use super::params::fit_params;
use super::special::{digamma, ln_1p_exp, ln_beta, ln_gamma, log_add_exp, scaled_series};
use super::{FitDiagnostics, check_positive, from_json, run_fit, to_json};
use crate::error::{Error, Result};

fit_params! {
    model: "BG/NBD",
    params: BgNbdParams,
    config: BgNbdConfig,
    penalty: "−ℓ/N + c·(r² + α̃² + a² + b²), with N the number of customers and α̃ = α / max T the rescaled α (the `lifetimes` convention).",
    initial: (r, alpha, a, b) = 4, "(r, α, a, b), α in the data's time unit; default (1, max T / 10, 1, 1).",
}

/// The BG/NBD log-likelihood on rescaled rows, as a function of ln(r, α̃, a, b).
struct Likelihood<'a> {
    data: &'a RfmData,
    penalizer: f64,
}

/// Per-distinct-x terms of the log-likelihood and of its gradient.
#[derive(Clone, Copy, Default)]
struct XTerms {
    c0: f64,
    ln_odds0: f64,
    dr: f64,
    da: f64,
    db: f64,
    inv_bx1: f64,
}

impl Objective for Likelihood<'_> {
    fn dim(&self) -> usize {
        4
    }

    fn eval(&self, theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let (r, al, a, b) = (theta[0].exp(), theta[1].exp(), theta[2].exp(), theta[3].exp());
        if ![r, al, a, b].iter().all(|v| v.is_finite() && *v > 0.0) {
            return f64::NAN;
        }
        let d = self.data;
        let (lg_r, ln_al, lb_ab) = (ln_gamma(r), al.ln(), ln_beta(a, b));
        let (dg_r, dg_ab, dg_b) = (digamma(r), digamma(a + b), digamma(b));
        let ln_a = a.ln();
        let xt: Vec<XTerms> = d
            .distinct_x
            .iter()
            .map(|&x| {
                let mut t = XTerms {
                    c0: ln_gamma(r + x) - lg_r + r * ln_al + ln_beta(a, b + x) - lb_ab,
                    dr: digamma(r + x) - dg_r + ln_al,
                    da: dg_ab - digamma(a + b + x),
                    db: digamma(b + x) - digamma(a + b + x) - dg_b + dg_ab,
                    ..XTerms::default()
                };
                if x > 0.0 {
                    t.ln_odds0 = ln_a - (b + x - 1.0).ln();
                    t.inv_bx1 = 1.0 / (b + x - 1.0);
                }
                t
            })
            .collect();
        let want_grad = grad.is_some();
        // ln(α+T), 1/(α+T) per distinct T, and the same for t_x
        let lt: Vec<(f64, f64)> = d.distinct_t.iter().map(|&t| ((al + t).ln(), 1.0 / (al + t))).collect();
        let ltx: Vec<(f64, f64)> = d.distinct_tx.iter().map(|&t| ((al + t).ln(), 1.0 / (al + t))).collect();
        let n = d.len();
        let chunks: Vec<[f64; 5]> = super::chunk_sums(n, |i, acc: &mut [f64; 5]| {
            let x = d.x[i];
            let w = d.weight[i];
            let t = &xt[d.x_index[i] as usize];
            let rx = r + x;
            let (ln_at, inv_at) = lt[d.t_index[i] as usize];
            let l1 = -rx * ln_at;
            let (ll, w2, ln_atx, inv_atx) = if x > 0.0 {
                let (ln_atx, inv_atx) = ltx[d.tx_index[i] as usize];
                let l2 = t.ln_odds0 - rx * ln_atx;
                // ln(e^l1 + e^l2) and the weight of the second term, with one exp and one ln_1p
                let dd = l2 - l1;
                if dd <= 0.0 {
                    let u = dd.exp();
                    (l1 + u.ln_1p(), u / (1.0 + u), ln_atx, inv_atx)
                } else {
                    let v = (-dd).exp();
                    (l2 + v.ln_1p(), 1.0 / (1.0 + v), ln_atx, inv_atx)
                }
            } else {
                (l1, 0.0, 0.0, 0.0)
            };
            acc[0] += w * (t.c0 + ll);
            if want_grad {
                let w1 = 1.0 - w2;
                acc[1] += w * (t.dr - w1 * ln_at - w2 * ln_atx);
                acc[2] += w * (r / al - rx * (w1 * inv_at + w2 * inv_atx));
                acc[3] += w * (t.da + w2 / a);
                acc[4] += w * (t.db - w2 * t.inv_bx1);
            }
        });
        let pen = self.penalizer * d.customers();
        super::optim::penalized(&chunks, &[r, al, a, b], pen, grad)
    }
}

/// One customer's log-likelihood (FHL 2005 eq. 6, with its constant) and its derivatives with
/// respect to the natural parameters (r, α, a, b), for fits in which α, a and b differ by
/// customer (static covariates, [`super::covariates`]).
pub(crate) fn row_log_likelihood_grad(r: f64, al: f64, a: f64, b: f64, x: f64, t_x: f64, t: f64) -> (f64, [f64; 4]) {
    let c0 = ln_gamma(r + x) - ln_gamma(r) + r * al.ln() + ln_beta(a, b + x) - ln_beta(a, b);
    let (ln_at, inv_at) = ((al + t).ln(), 1.0 / (al + t));
    let l1 = -(r + x) * ln_at;
    let (ll, w2, ln_atx, inv_atx, inv_bx1) = if x > 0.0 {
        let (ln_atx, inv_atx) = ((al + t_x).ln(), 1.0 / (al + t_x));
        let l2 = a.ln() - (b + x - 1.0).ln() - (r + x) * ln_atx;
        let lse = log_add_exp(l1, l2);
        (lse, (l2 - lse).exp(), ln_atx, inv_atx, 1.0 / (b + x - 1.0))
    } else {
        (l1, 0.0, 0.0, 0.0, 0.0)
    };
    let w1 = 1.0 - w2;
    let dab = digamma(a + b) - digamma(a + b + x);
    (
        c0 + ll,
        [
            digamma(r + x) - digamma(r) + al.ln() - w1 * ln_at - w2 * ln_atx,
            r / al - (r + x) * (w1 * inv_at + w2 * inv_atx),
            dab + w2 / a,
            digamma(b + x) - digamma(b) + dab - w2 * inv_bx1,
        ],
    )
}

/// A fitted (or given) BG/NBD model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BgNbd {
    /// Shape of the gamma distribution of purchase rates.
    pub r: f64,
    /// Scale of the gamma distribution of purchase rates, in the data's time unit.
    pub alpha: f64,
    /// First shape of the beta distribution of dropout probabilities.
    pub a: f64,
    /// Second shape of the beta distribution of dropout probabilities.
    pub b: f64,
    /// How the fit went; `None` for a model built from given parameters.
    #[serde(skip)]
    pub diagnostics: Option<FitDiagnostics>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
}

impl BgNbdConfig {
    /// Fits the model by maximum likelihood on `data`.
    ///
    /// # Errors
    /// [`Error::FitFailed`] (with the diagnostics) when the optimiser does not converge.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::{BgNbdParams, RfmData};
    /// let d = RfmData::from_slices(&[0.0, 1.0, 3.0, 0.0], &[0.0, 9.0, 20.0, 0.0], &[30.0, 28.0, 30.0, 12.0], None)?;
    /// let m = BgNbdParams::new().penalizer(0.1).validate()?.fit(&d)?;
    /// assert!(m.diagnostics.as_ref().is_some_and(|d| d.converged));
    /// # Ok(()) }
    /// ```
    pub fn fit(&self, data: &RfmData) -> Result<BgNbd> {
        let s = data.scale();
        let init = self.initial.unwrap_or([1.0, s / 10.0, 1.0, 1.0]);
        let theta0 = [init[0].ln(), (init[1] / s).ln(), init[2].ln(), init[3].ln()];
        let obj = Likelihood {
            data,
            penalizer: self.opts.penalizer,
        };
        let (theta, mut diag) = run_fit(
            "bgnbd",
            &["r", "alpha", "a", "b"],
            &obj,
            &theta0,
            self.opts,
            data.customers(),
            data.len(),
        )?;
        let m = BgNbd {
            r: theta[0].exp(),
            alpha: theta[1].exp() * s,
            a: theta[2].exp(),
            b: theta[3].exp(),
            diagnostics: None,
        };
        diag.log_likelihood = m.log_likelihood(data);
        diag.describe_boundary(&[("r", m.r), ("alpha", m.alpha), ("a", m.a), ("b", m.b)]);
        if let Some(se) = diag.standard_errors.get_mut(1) {
            *se = se.map(|v| v * s);
        }
        Ok(BgNbd {
            diagnostics: Some(diag),
            ..m
        })
    }
}

impl BgNbd {
    /// A model with given parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when a parameter is not positive and finite.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self> {
        check_positive(&[("r", r), ("alpha", alpha), ("a", a), ("b", b)])?;
        Ok(BgNbd {
            r,
            alpha,
            a,
            b,
            diagnostics: None,
        })
    }

    /// The log-likelihood of one customer's (x, t_x, T) (FHL 2005 eq. 6, in log space).
    pub fn log_likelihood_customer(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let (r, al, a, b) = (self.r, self.alpha, self.a, self.b);
        let c0 = ln_gamma(r + x) - ln_gamma(r) + r * al.ln() + ln_beta(a, b + x) - ln_beta(a, b);
        let l1 = -(r + x) * (al + t).ln();
        if x > 0.0 {
            let l2 = a.ln() - (b + x - 1.0).ln() - (r + x) * (al + t_x).ln();
            c0 + log_add_exp(l1, l2)
        } else {
            c0 + l1
        }
    }

    /// The total (weighted) log-likelihood of `data`, in the data's time unit.
    pub fn log_likelihood(&self, data: &RfmData) -> f64 {
        let obj = Likelihood { data, penalizer: 0.0 };
        let s = data.scale();
        let theta = [self.r.ln(), (self.alpha / s).ln(), self.a.ln(), self.b.ln()];
        // dividing times by s multiplies each event-time density by s: ℓ = ℓ̃ − Σ w·x·ln s
        -obj.eval(&theta, None) - data.sum_wx * s.ln()
    }

    /// ln of the odds of having dropped out, a/(b+x−1)·((α+T)/(α+t_x))^(r+x); −∞ for x = 0.
    fn ln_dead_odds(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if x <= 0.0 {
            return f64::NEG_INFINITY;
        }
        self.a.ln() - (self.b + x - 1.0).ln() + (self.r + x) * ((self.alpha + t).ln() - (self.alpha + t_x).ln())
    }

    /// P(alive | x, t_x, T) (FHL 2005 eq. 11 in log space; 1 when x = 0). Underflows cleanly to
    /// 0 for extreme histories (no NaN).
    pub fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        (-ln_1p_exp(self.ln_dead_odds(x, t_x, t))).exp()
    }

    /// (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))], the
    /// conditional expectation before the P(alive) factor (with T = 0, x = 0: E[X(t)]).
    pub(crate) fn expectation_core(&self, t: f64, x: f64, t_cal: f64) -> Result<f64> {
        if !(t.is_finite() && t >= 0.0) {
            return Err(Error::param("t", format!("must be finite and non-negative, got {t}")));
        }
        super::data::check_history(x, 0.0, t_cal)?;
        if t == 0.0 {
            return Ok(0.0);
        }
        let (r, a, b) = (self.r, self.a, self.b);
        let at = self.alpha + t_cal;
        let z = t / (at + t);
        let ln1z = at.ln() - (at + t).ln();
        let eps = a - 1.0;
        let big_a = a + b - 1.0 - r;
        let c = a + b + x - 1.0;
        let g = if eps == 0.0 {
            -ln1z
        } else {
            -(eps * ln1z).exp_m1() / eps
        };
        let first = c * g;
        let second = if big_a == 0.0 {
            0.0
        } else {
            let s = scaled_series(
                big_a * z,
                z,
                "bgnbd expectation series",
                || format!("r={r}, a={a}, b={b}, x={x}, z={z}"),
                |k| (big_a + k + 1.0) * (a + k) / ((c + k + 1.0) * (k + 2.0)) * z,
            )?;
            s.sign * (eps * ln1z + s.ln_abs).exp()
        };
        Ok((first - second).max(0.0))
    }

    /// E[X(t)], the expected number of purchases in (0, t] of a customer who arrives at time 0
    /// (FHL 2005 eq. 9).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite t; [`Error::NoConvergence`] for
    /// t so large that the series does not converge.
    pub fn expected_purchases(&self, t: f64) -> Result<f64> {
        self.expectation_core(t, 0.0, 0.0)
    }

    /// E[Y(t) | x, t_x, T], the expected purchases in the next t time units of a customer with
    /// history (x, t_x, T) (FHL 2005 eq. 10).
    ///
    /// # Errors
    /// As [`BgNbd::expected_purchases`]; [`Error::InvalidParameter`] for a history outside
    /// x ≥ 0, 0 ≤ t_x ≤ T.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::BgNbd;
    /// // The CDNOW estimates of Fader, Hardie & Lee (2005), time in weeks.
    /// let m = BgNbd::new(0.243, 4.414, 0.793, 2.426)?;
    /// let e = m.conditional_expected_purchases(39.0, 2.0, 30.43, 38.86)?;
    /// assert!((e - 1.226).abs() < 1e-3);
    /// # Ok(()) }
    /// ```
    pub fn conditional_expected_purchases(&self, t: f64, x: f64, t_x: f64, t_cal: f64) -> Result<f64> {
        super::data::check_history(x, t_x, t_cal)?;
        Ok(self.expectation_core(t, x, t_cal)? * self.p_alive(x, t_x, t_cal))
    }

    /// P(X(t) = n), the probability of exactly n purchases in (0, t] for a new customer
    /// (FHL 2005 eq. 8).
    pub fn probability_of_purchases(&self, t: f64, n: u32) -> f64 {
        let (r, al, a, b) = (self.r, self.alpha, self.a, self.b);
        let nf = f64::from(n);
        let lp = (al / (al + t)).ln(); // ln of the NB "success" probability
        let lq = (t / (al + t)).ln();
        let ln_nb = |j: f64| ln_gamma(r + j) - ln_gamma(r) - ln_gamma(j + 1.0) + r * lp + j * lq;
        let first = (ln_beta(a, b + nf) - ln_beta(a, b) + ln_nb(nf)).exp();
        if n == 0 {
            return first;
        }
        // P(NB ≥ n): sum the upper tail directly when it is small, 1 − lower sum otherwise
        let mean = r * t / al;
        let tail = if nf > mean {
            let mut s = 0.0;
            let mut j = nf;
            loop {
                let term = ln_nb(j).exp();
                s += term;
                j += 1.0;
                if term <= 1e-17 * s || j > nf + 1e6 {
                    break;
                }
            }
            s
        } else {
            let lower: f64 = (0..n).map(|j| ln_nb(f64::from(j)).exp()).sum();
            (1.0 - lower).max(0.0)
        };
        first + (ln_beta(a + 1.0, b + nf - 1.0) - ln_beta(a, b)).exp() * tail
    }

    /// P(alive) of many customers, in parallel.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the slices differ in length.
    pub fn p_alive_batch(&self, x: &[f64], t_x: &[f64], t_cal: &[f64]) -> Result<Vec<f64>> {
        check_lengths(x, t_x, t_cal)?;
        Ok((0..x.len())
            .into_par_iter()
            .map(|i| self.p_alive(x[i], t_x[i], t_cal[i]))
            .collect())
    }

    /// E[Y(t) | x, t_x, T] of many customers, once per distinct history, in parallel.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the slices differ in length, and as
    /// [`BgNbd::conditional_expected_purchases`].
    pub fn conditional_expected_purchases_batch(
        &self,
        t: f64,
        x: &[f64],
        t_x: &[f64],
        t_cal: &[f64],
    ) -> Result<Vec<f64>> {
        super::scores::conditional_expected_purchases_batch(self, t, x, t_x, t_cal)
    }

    /// The model as versioned JSON (`"model":"bgnbd"`, parameters `r`, `alpha`, `a`, `b`).
    ///
    /// # Errors
    /// [`Error::Json`] if encoding fails (it does not for finite parameters).
    pub fn to_json(&self) -> Result<String> {
        to_json(
            super::ModelKind::BgNbd,
            Saved {
                r: self.r,
                alpha: self.alpha,
                a: self.a,
                b: self.b,
            },
            self.diagnostics.as_ref(),
        )
    }

    /// Reads a model written by [`BgNbd::to_json`].
    ///
    /// # Errors
    /// [`Error::Format`] for another format, version or model; [`Error::InvalidParameter`] for
    /// parameters that are not positive.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::BgNbd;
    /// let m = BgNbd::new(0.243, 4.414, 0.793, 2.426)?;
    /// assert_eq!(BgNbd::from_json(&m.to_json()?)?, m);
    /// # Ok(()) }
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        let (p, diag): (Saved, _) = from_json(super::ModelKind::BgNbd, json)?;
        let mut m = BgNbd::new(p.r, p.alpha, p.a, p.b)?;
        m.diagnostics = diag;
        Ok(m)
    }
}

pub(crate) fn check_lengths(x: &[f64], t_x: &[f64], t_cal: &[f64]) -> Result<()> {
    if t_x.len() != x.len() || t_cal.len() != x.len() {
        return Err(Error::param(
            "recency",
            format!(
                "frequency, recency and T must have the same length; got {}, {}, {}",
                x.len(),
                t_x.len(),
                t_cal.len()
            ),
        ));
    }
    Ok(())
}
