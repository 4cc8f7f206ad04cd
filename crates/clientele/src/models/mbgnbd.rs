//! The MBG/NBD purchase model (Batislam, Denizel & Filiztekin 2007, "Empirical validation and
//! comparison of models for customer base analysis", International Journal of Research in
//! Marketing 24(3)).
//!
//! Like the BG/NBD (Poisson purchases with λ ~ Gamma(r, α), dropout probability p ~ Beta(a, b)
//! after each purchase) except that the customer can also drop out right after the first
//! purchase, at time 0: a one-time buyer's P(alive) is below 1 and falls with T.
//!
//! Given λ and p, a history (x, t_x, T) has likelihood (1−p)^(x+1) λˣ e^(−λT) + p(1−p)ˣ λˣ e^(−λ t_x);
//! integrating over the two mixing distributions gives the closed form used here, in log space.
//! The conditional expectation is the BG/NBD one with b replaced by b + 1 (the beta posterior of a
//! customer alive after x + 1 survival opportunities), computed by the same Euler-transformed series.

use serde::{Deserialize, Serialize};

use super::bgnbd::BgNbd;
use super::data::RfmData;
use super::optim::Objective;
use super::params::fit_params;
use super::special::{digamma, ln_1p_exp, ln_beta, ln_gamma, log_add_exp};
use super::{FitDiagnostics, check_positive, from_json, run_fit, to_json};
use crate::error::Result;

fit_params! {
    model: "MBG/NBD",
    params: MbgNbdParams,
    config: MbgNbdConfig,
    penalty: "−ℓ/N + c·(r² + α̃² + a² + b²), with N the number of customers and α̃ = α / max T the rescaled α (the `lifetimes` convention).",
    initial: (r, alpha, a, b) = 4, "(r, α, a, b), α in the data's time unit; default (1, max T / 10, 1, 1).",
}

fn ln_terms(r: f64, al: f64, a: f64, b: f64, x: f64, t_x: f64, t: f64) -> (f64, f64) {
    let l1 = ln_beta(a, b + x + 1.0) - (r + x) * (al + t).ln();
    let l2 = ln_beta(a + 1.0, b + x) - (r + x) * (al + t_x).ln();
    (l1, l2)
}

struct Likelihood<'a> {
    data: &'a RfmData,
    penalizer: f64,
}

impl Objective for Likelihood<'_> {
    fn dim(&self) -> usize {
        4
    }

    /// The penalised negative log-likelihood and its analytic gradient (ψ terms per distinct
    /// x, the log-sum-exp's weights per row).
    fn eval(&self, theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let (r, al, a, b) = (theta[0].exp(), theta[1].exp(), theta[2].exp(), theta[3].exp());
        if ![r, al, a, b].iter().all(|v| v.is_finite() && *v > 0.0) {
            if let Some(g) = grad {
                g.iter_mut().for_each(|g| *g = f64::NAN);
            }
            return f64::NAN;
        }
        let d = self.data;
        let want = grad.is_some();
        let head = r * al.ln() - ln_gamma(r) - ln_beta(a, b);
        let xt: Vec<(f64, f64, f64)> = d
            .distinct_x
            .iter()
            .map(|&x| (ln_gamma(r + x) + head, ln_beta(a, b + x + 1.0), ln_beta(a + 1.0, b + x)))
            .collect();
        // Per distinct x, the derivatives that do not depend on the row: of c0 with respect to
        // r; of l1 and l2 with respect to a and b.
        let (dg_r, dg_a, dg_a1, dg_b, dg_ab) = if want {
            (digamma(r), digamma(a), digamma(a + 1.0), digamma(b), digamma(a + b))
        } else {
            (0.0, 0.0, 0.0, 0.0, 0.0)
        };
        let dx: Vec<[f64; 5]> = if want {
            d.distinct_x
                .iter()
                .map(|&x| {
                    let dg_abx1 = digamma(a + b + x + 1.0);
                    [
                        digamma(r + x) - dg_r,
                        dg_a - dg_abx1,
                        digamma(b + x + 1.0) - dg_abx1,
                        dg_a1 - dg_abx1,
                        digamma(b + x) - dg_abx1,
                    ]
                })
                .collect()
        } else {
            Vec::new()
        };
        let ln_al = al.ln();
        // ln(α+T), 1/(α+T) per distinct T, and the same for t_x
        let lt: Vec<(f64, f64)> = d.distinct_t.iter().map(|&t| ((al + t).ln(), 1.0 / (al + t))).collect();
        let ltx: Vec<(f64, f64)> = d.distinct_tx.iter().map(|&t| ((al + t).ln(), 1.0 / (al + t))).collect();
        let parts: Vec<[f64; 5]> = super::chunk_sums(d.len(), |i, acc: &mut [f64; 5]| {
            let xi = d.x_index[i] as usize;
            let (c0, b1, b2) = xt[xi];
            let rx = r + d.x[i];
            let (lt, inv_t) = lt[d.t_index[i] as usize];
            let (ltx, inv_tx) = ltx[d.tx_index[i] as usize];
            let l1 = b1 - rx * lt;
            let l2 = b2 - rx * ltx;
            // ln(e^l1 + e^l2) and the two terms' weights e^(l - lse), from one exp and one ln_1p
            let dd = l2 - l1;
            let (lse, w1, w2) = if dd <= 0.0 {
                let u = dd.exp();
                (l1 + u.ln_1p(), 1.0 / (1.0 + u), u / (1.0 + u))
            } else {
                let v = (-dd).exp();
                (l2 + v.ln_1p(), v / (1.0 + v), 1.0 / (1.0 + v))
            };
            let w = d.weight[i];
            acc[0] += w * (c0 + lse);
            if let Some(g) = dx.get(xi) {
                acc[1] += w * (g[0] + ln_al - w1 * lt - w2 * ltx);
                acc[2] += w * (r / al - rx * (w1 * inv_t + w2 * inv_tx));
                acc[3] += w * (dg_ab - dg_a + w1 * g[1] + w2 * g[3]);
                acc[4] += w * (dg_ab - dg_b + w1 * g[2] + w2 * g[4]);
            }
        });
        super::optim::penalized(&parts, &[r, al, a, b], self.penalizer * d.customers(), grad)
    }
}

/// A fitted (or given) MBG/NBD model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MbgNbd {
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

impl MbgNbdConfig {
    /// Fits the model by maximum likelihood on `data` (BFGS with a central-difference gradient).
    ///
    /// # Errors
    /// [`crate::Error::FitFailed`] (with the diagnostics) when the optimiser does not converge.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::{MbgNbdParams, RfmData};
    /// let d = RfmData::from_slices(&[0.0, 1.0, 3.0, 0.0], &[0.0, 9.0, 20.0, 0.0], &[30.0, 28.0, 30.0, 12.0], None)?;
    /// let m = MbgNbdParams::new().penalizer(0.1).validate()?.fit(&d)?;
    /// assert!(m.p_alive(0.0, 0.0, 30.0) < 1.0);
    /// # Ok(()) }
    /// ```
    pub fn fit(&self, data: &RfmData) -> Result<MbgNbd> {
        let sc = data.scale();
        let init = self.initial.unwrap_or([1.0, sc / 10.0, 1.0, 1.0]);
        let theta0 = [init[0].ln(), (init[1] / sc).ln(), init[2].ln(), init[3].ln()];
        let obj = Likelihood {
            data,
            penalizer: self.opts.penalizer,
        };
        let (theta, mut diag) = run_fit(
            "mbgnbd",
            &["r", "alpha", "a", "b"],
            &obj,
            &theta0,
            self.opts,
            data.customers(),
            data.len(),
        )?;
        let m = MbgNbd {
            r: theta[0].exp(),
            alpha: theta[1].exp() * sc,
            a: theta[2].exp(),
            b: theta[3].exp(),
            diagnostics: None,
        };
        diag.log_likelihood = m.log_likelihood(data);
        diag.describe_boundary(&[("r", m.r), ("alpha", m.alpha), ("a", m.a), ("b", m.b)]);
        if let Some(se) = diag.standard_errors.get_mut(1) {
            *se = se.map(|v| v * sc);
        }
        Ok(MbgNbd {
            diagnostics: Some(diag),
            ..m
        })
    }
}

impl MbgNbd {
    /// A model with given parameters.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] when a parameter is not positive and finite.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self> {
        check_positive(&[("r", r), ("alpha", alpha), ("a", a), ("b", b)])?;
        Ok(MbgNbd {
            r,
            alpha,
            a,
            b,
            diagnostics: None,
        })
    }

    /// The log-likelihood of one customer's (x, t_x, T).
    pub fn log_likelihood_customer(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let (r, al, a, b) = (self.r, self.alpha, self.a, self.b);
        let (l1, l2) = ln_terms(r, al, a, b, x, t_x, t);
        ln_gamma(r + x) - ln_gamma(r) + r * al.ln() - ln_beta(a, b) + log_add_exp(l1, l2)
    }

    /// The total (weighted) log-likelihood of `data`, in the data's time unit.
    pub fn log_likelihood(&self, data: &RfmData) -> f64 {
        let obj = Likelihood { data, penalizer: 0.0 };
        let sc = data.scale();
        -obj.eval(&[self.r.ln(), (self.alpha / sc).ln(), self.a.ln(), self.b.ln()], None) - data.sum_wx * sc.ln()
    }

    /// P(alive | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)), in log space; below 1 for
    /// one-time buyers too.
    pub fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let (l1, l2) = ln_terms(self.r, self.alpha, self.a, self.b, x, t_x, t);
        (-ln_1p_exp(l2 - l1)).exp()
    }

    fn shifted(&self) -> BgNbd {
        BgNbd {
            r: self.r,
            alpha: self.alpha,
            a: self.a,
            b: self.b + 1.0,
            diagnostics: None,
        }
    }

    /// E[X(t)] = b/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b+1; a+b; t/(α+t))] for a new customer.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] for a negative or non-finite t; [`crate::Error::NoConvergence`] for
    /// an extremely long horizon.
    pub fn expected_purchases(&self, t: f64) -> Result<f64> {
        Ok(self.b / (self.a + self.b) * self.shifted().expectation_core(t, 0.0, 0.0)?)
    }

    /// P(X(t) = n), the probability of exactly n purchases in (0, t] for a new customer. In
    /// MBG/NBD the customer can drop out at time 0 and after each purchase: n purchases need no
    /// dropout at the first n of those chances, and then either no (n+1)-th purchase in time or a
    /// dropout right after the n-th, so P(X(t) = n) = B(a, b+n)/B(a, b) · NB(n) +
    /// B(a+1, b+n)/B(a, b) · P(NB > n), with NB the negative binomial count of a customer who never
    /// drops out (r, α/(α+t)).
    pub fn probability_of_purchases(&self, t: f64, n: u32) -> f64 {
        let (r, al, a, b) = (self.r, self.alpha, self.a, self.b);
        let nf = f64::from(n);
        let (lp, lq) = ((al / (al + t)).ln(), (t / (al + t)).ln());
        let ln_nb = |j: f64| ln_gamma(r + j) - ln_gamma(r) - ln_gamma(j + 1.0) + r * lp + j * lq;
        let alive = (ln_beta(a, b + nf) - ln_beta(a, b) + ln_nb(nf)).exp();
        // P(NB > n): the upper tail summed directly when it is small, else 1 − the lower sum.
        let mean = r * t / al;
        let above = if nf + 1.0 > mean {
            let (mut s, mut j) = (0.0, nf + 1.0);
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
            (1.0 - (0..=n).map(|j| ln_nb(f64::from(j)).exp()).sum::<f64>()).max(0.0)
        };
        alive + (ln_beta(a + 1.0, b + nf) - ln_beta(a, b)).exp() * above
    }

    /// E[Y(t) | x, t_x, T] = P(alive) · (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x)
    /// ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))].
    ///
    /// # Errors
    /// As [`MbgNbd::expected_purchases`].
    pub fn conditional_expected_purchases(&self, t: f64, x: f64, t_x: f64, t_cal: f64) -> Result<f64> {
        super::data::check_history(x, t_x, t_cal)?;
        Ok(self.shifted().expectation_core(t, x, t_cal)? * self.p_alive(x, t_x, t_cal))
    }

    /// E[Y(t) | x, t_x, T] of many customers, once per distinct history, in parallel.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] when the slices differ in length; as
    /// [`MbgNbd::conditional_expected_purchases`].
    pub fn conditional_expected_purchases_batch(
        &self,
        t: f64,
        x: &[f64],
        t_x: &[f64],
        t_cal: &[f64],
    ) -> Result<Vec<f64>> {
        super::scores::conditional_expected_purchases_batch(self, t, x, t_x, t_cal)
    }

    /// The model as versioned JSON (`"model":"mbgnbd"`, parameters `r`, `alpha`, `a`, `b`).
    ///
    /// # Errors
    /// [`crate::Error::Json`] if encoding fails.
    pub fn to_json(&self) -> Result<String> {
        to_json(
            super::ModelKind::MbgNbd,
            Saved {
                r: self.r,
                alpha: self.alpha,
                a: self.a,
                b: self.b,
            },
            self.diagnostics.as_ref(),
        )
    }

    /// Reads a model written by [`MbgNbd::to_json`].
    ///
    /// # Errors
    /// [`crate::Error::Format`] for another format, version or model; [`crate::Error::InvalidParameter`] for
    /// parameters that are not positive.
    pub fn from_json(json: &str) -> Result<Self> {
        let (p, diag): (Saved, _) = from_json(super::ModelKind::MbgNbd, json)?;
        let mut m = MbgNbd::new(p.r, p.alpha, p.a, p.b)?;
        m.diagnostics = diag;
        Ok(m)
    }
}

impl super::clv::PurchaseModel for MbgNbd {
    fn name(&self) -> &'static str {
        "MBG/NBD"
    }
    fn probability_of_purchases(&self, t: f64, n: u32) -> Result<f64> {
        Ok(MbgNbd::probability_of_purchases(self, t, n))
    }
    fn probability_alive(&self, x: f64, t_x: f64, t_cal: f64) -> Result<f64> {
        super::data::check_history(x, t_x, t_cal)?;
        Ok(self.p_alive(x, t_x, t_cal))
    }
    fn expected_purchases_if_alive(&self, t: f64, x: f64, t_cal: f64) -> Result<f64> {
        self.shifted().expectation_core(t, x, t_cal)
    }
    fn expected_purchases(&self, t: f64) -> Result<f64> {
        MbgNbd::expected_purchases(self, t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::optim::numeric_gradient;

    #[test]
    fn analytic_gradient_matches_central_differences() {
        let x = [0.0, 1.0, 2.0, 5.0, 0.0, 12.0, 3.0, 1.0];
        let tx = [0.0, 3.0, 10.0, 30.5, 0.0, 38.0, 38.86, 0.5];
        let t = [38.86, 20.0, 38.86, 38.86, 12.0, 38.86, 38.86, 30.0];
        let d = match RfmData::from_slices(&x, &tx, &t, None) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        for penalizer in [0.0, 0.05] {
            let lik = Likelihood { data: &d, penalizer };
            for p in [[0.24f64, 4.4, 0.79, 2.4], [1.5, 0.3, 3.0, 0.2], [0.05, 40.0, 0.1, 9.0]] {
                let theta = p.map(f64::ln);
                let mut g = [0.0; 4];
                let v = lik.eval(&theta, Some(&mut g));
                assert_eq!(v, lik.eval(&theta, None));
                let mut num = [0.0; 4];
                numeric_gradient(|t| lik.eval(t, None), &theta, &mut num);
                for k in 0..4 {
                    assert!(
                        (g[k] - num[k]).abs() <= 1e-6 * num[k].abs().max(1e-3),
                        "{p:?} k={k}: {} vs {}",
                        g[k],
                        num[k]
                    );
                }
            }
        }
    }
}
