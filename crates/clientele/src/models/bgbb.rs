//! The BG/BB model of discrete-time non-contractual purchasing (Fader, Hardie & Shang 2010,
//! "Customer-base analysis in a discrete-time noncontractual setting", Marketing Science 29(6)).
//!
//! At each of n transaction opportunities an alive customer buys with probability
//! p ~ Beta(α, β), and before each opportunity after the first she may drop out for good with
//! probability θ ~ Beta(γ, δ). A history is (x, t_x, n): x purchases, the last at opportunity t_x
//! (0 if none), out of n opportunities. The likelihood needs ln B (and ψ for its gradient); rows
//! are weighted by pattern counts.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::optim::Objective;
use super::params::fit_params;
use super::special::{digamma, ln_beta, ln_gamma, log_add_exp};
use super::{FitDiagnostics, check_positive, from_json, run_fit, to_json};
use crate::error::{Error, Result};

/// Distinct (x, t_x, n) histories with weights (pattern counts).
#[derive(Debug, Clone, PartialEq)]
pub struct BgBbData {
    x: Vec<f64>,
    t_x: Vec<f64>,
    n: Vec<f64>,
    weight: Vec<f64>,
    customers: f64,
}

impl BgBbData {
    /// Validates and groups histories: `frequency` x, `recency` t_x (the opportunity of the last
    /// purchase, 0 if none) and `periods` n, all non-negative integers with x ≤ t_x ≤ n, n ≥ 1,
    /// and t_x = 0 exactly when x = 0; `weights` (default 1) count customers per row.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for slices of different lengths or no customer;
    /// [`Error::InvalidModelData`] for the first invalid row.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::BgBbData;
    /// let d = BgBbData::from_slices(&[0.0, 2.0, 2.0], &[0.0, 4.0, 4.0], &[6.0, 6.0, 6.0], Some(&[3464.0, 155.0, 1.0]))?;
    /// assert_eq!((d.len(), d.customers()), (2, 3620.0));
    /// # Ok(()) }
    /// ```
    pub fn from_slices(frequency: &[f64], recency: &[f64], periods: &[f64], weights: Option<&[f64]>) -> Result<Self> {
        let len = frequency.len();
        if recency.len() != len || periods.len() != len || weights.is_some_and(|w| w.len() != len) {
            return Err(Error::param(
                "recency",
                "frequency, recency, periods (and weights) must have the same length",
            ));
        }
        let bad = |column, row, value, reason| Error::InvalidModelData {
            column,
            row,
            value,
            reason,
        };
        let is_count = |v: f64| v.is_finite() && v >= 0.0 && v.fract() == 0.0;
        let mut groups: BTreeMap<(u64, u64, u64), f64> = BTreeMap::new();
        for i in 0..len {
            let (x, tx, n) = (frequency[i], recency[i], periods[i]);
            let w = weights.map_or(1.0, |w| w[i]);
            if !is_count(n) || !(1.0..=MAX_PERIODS).contains(&n) {
                return Err(bad("periods", i, n, "must be a positive integer of at most 10^6"));
            }
            if !is_count(x) || x > n {
                return Err(bad("frequency", i, x, "must be an integer in [0, periods]"));
            }
            if !is_count(tx) || tx > n || tx < x || (x == 0.0) != (tx == 0.0) {
                return Err(bad(
                    "recency",
                    i,
                    tx,
                    "must be an integer in [frequency, periods], and 0 exactly when frequency is 0",
                ));
            }
            if !w.is_finite() || w < 0.0 {
                return Err(bad("weight", i, w, "must be non-negative and finite"));
            }
            if w > 0.0 {
                *groups.entry((x as u64, tx as u64, n as u64)).or_insert(0.0) += w;
            }
        }
        if groups.is_empty() {
            return Err(Error::param("weights", "no customer with a positive weight"));
        }
        let mut d = BgBbData {
            x: Vec::new(),
            t_x: Vec::new(),
            n: Vec::new(),
            weight: Vec::new(),
            customers: 0.0,
        };
        for ((x, tx, n), w) in groups {
            d.x.push(x as f64);
            d.t_x.push(tx as f64);
            d.n.push(n as f64);
            d.weight.push(w);
            d.customers += w;
        }
        Ok(d)
    }

    /// The number of distinct histories.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether there is no history (never true for a successfully built value).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The number of customers (the sum of the weights).
    pub fn customers(&self) -> f64 {
        self.customers
    }

    /// The histories as (x, t_x, n, weight).
    pub fn rows(&self) -> impl Iterator<Item = (f64, f64, f64, f64)> + '_ {
        (0..self.len()).map(|i| (self.x[i], self.t_x[i], self.n[i], self.weight[i]))
    }
}

fit_params! {
    model: "BG/BB",
    params: BgBbParams,
    config: BgBbConfig,
    penalty: "−ℓ/N + c·(α² + β² + γ² + δ²), with N the number of customers (the `lifetimes` convention).",
    initial: (alpha, beta, gamma, delta) = 4, "(α, β, γ, δ); default (1, 1, 1, 1).",
}

/// The most opportunities a BG/BB history may have (the likelihood sums over them).
pub const MAX_PERIODS: f64 = 1e6;

/// ln L(α, β, γ, δ | x, t_x, n) (FHS 2010 eq. 5). Histories outside 0 ≤ x ≤ t_x ≤ n ≤
/// [`MAX_PERIODS`] (whole numbers) give NaN.
fn ln_lik(p: [f64; 4], x: f64, t_x: f64, n: f64) -> f64 {
    ln_lik_grad(p, x, t_x, n, false).0
}

/// [`ln_lik`] and, with `grad`, its derivatives with respect to (α, β, γ, δ).
///
/// The likelihood is the "alive through n" term plus a sum over the n − t_x periods i after
/// t_x in which the customer may have died. The sum's terms fall: term i + 1 is term i times
/// (β + t_x − x + i)(δ + t_x + i) / ((α + β + t_x + i)(γ + δ + t_x + i + 1)) < 1, so the sum is
/// its first term (two log-beta functions) times a sum of running products in (0, 1]: a
/// division and two multiplications per period instead of six log-gamma calls. The digamma functions of the
/// terms' derivatives move by the recurrence ψ(z + 1) = ψ(z) + 1/z.
fn ln_lik_grad(p: [f64; 4], x: f64, t_x: f64, n: f64, grad: bool) -> (f64, [f64; 4]) {
    let [al, be, ga, de] = p;
    let whole = |v: f64| v.is_finite() && v >= 0.0 && v.fract() == 0.0;
    if !(whole(x) && whole(t_x) && whole(n) && x <= t_x && t_x <= n && n <= MAX_PERIODS) {
        return (f64::NAN, [f64::NAN; 4]);
    }
    let (lb_ab, lb_gd) = (ln_beta(al, be), ln_beta(ga, de));
    let alive = ln_beta(al + x, be + n - x) - lb_ab + ln_beta(ga, de + n) - lb_gd;
    if n == t_x {
        let d = if grad { alive_grad(p, x, n) } else { [0.0; 4] };
        return (alive, d);
    }
    let first = ln_beta(al + x, be + t_x - x) - lb_ab + ln_beta(ga + 1.0, de + t_x) - lb_gd;
    // Σ rᵢ, and with `grad` Σ rᵢ·∂termᵢ (the ψ terms of α, β, γ, δ that move with i).
    let (mut sum, mut r) = (0.0, 1.0);
    let mut g = [0.0f64; 4];
    let (mut b1, mut d1, mut ab1, mut gd1) = (be + t_x - x, de + t_x, al + be + t_x, ga + de + t_x + 1.0);
    let (mut psi_b, mut psi_d, mut psi_ab, mut psi_gd) = if grad {
        (digamma(b1), digamma(d1), digamma(ab1), digamma(gd1))
    } else {
        (0.0, 0.0, 0.0, 0.0)
    };
    let periods = (n - t_x) as u64;
    for i in 0..periods {
        sum += r;
        if grad {
            g[0] -= r * psi_ab;
            g[1] += r * (psi_b - psi_ab);
            g[2] -= r * psi_gd;
            g[3] += r * (psi_d - psi_gd);
        }
        if i + 1 < periods {
            r *= (b1 * d1) / (ab1 * gd1);
            if grad {
                psi_b += 1.0 / b1;
                psi_d += 1.0 / d1;
                psi_ab += 1.0 / ab1;
                psi_gd += 1.0 / gd1;
            }
            b1 += 1.0;
            d1 += 1.0;
            ab1 += 1.0;
            gd1 += 1.0;
        }
    }
    let died = first + sum.ln();
    let value = log_add_exp(alive, died);
    if !grad {
        return (value, [0.0; 4]);
    }
    // The parts of the died terms' derivatives that do not move with i.
    let (dg_a, dg_b, dg_g, dg_d, dg_ab, dg_gd) = (
        digamma(al),
        digamma(be),
        digamma(ga),
        digamma(de),
        digamma(al + be),
        digamma(ga + de),
    );
    let fixed = [
        digamma(al + x) - dg_a + dg_ab,
        -dg_b + dg_ab,
        digamma(ga + 1.0) - dg_g + dg_gd,
        -dg_d + dg_gd,
    ];
    let d_alive = alive_grad(p, x, n);
    let (w_alive, w_died) = ((alive - value).exp(), (died - value).exp());
    let d = std::array::from_fn(|k| w_alive * d_alive[k] + w_died * (fixed[k] + g[k] / sum));
    (value, d)
}

/// The derivatives of the "alive through n" term ln B(α+x, β+n−x) − ln B(α, β) + ln B(γ, δ+n)
/// − ln B(γ, δ) with respect to (α, β, γ, δ).
fn alive_grad([al, be, ga, de]: [f64; 4], x: f64, n: f64) -> [f64; 4] {
    let (dg_ab, dg_abn, dg_gd, dg_gdn) = (
        digamma(al + be),
        digamma(al + be + n),
        digamma(ga + de),
        digamma(ga + de + n),
    );
    [
        digamma(al + x) - dg_abn - digamma(al) + dg_ab,
        digamma(be + n - x) - dg_abn - digamma(be) + dg_ab,
        dg_gd - dg_gdn,
        digamma(de + n) - dg_gdn - digamma(de) + dg_gd,
    ]
}

struct Likelihood<'a> {
    data: &'a BgBbData,
    penalizer: f64,
}

impl Objective for Likelihood<'_> {
    fn dim(&self) -> usize {
        4
    }

    fn eval(&self, theta: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let p = [theta[0].exp(), theta[1].exp(), theta[2].exp(), theta[3].exp()];
        if !p.iter().all(|v| v.is_finite() && *v > 0.0) {
            if let Some(g) = grad {
                g.iter_mut().for_each(|g| *g = f64::NAN);
            }
            return f64::NAN;
        }
        let d = self.data;
        let want = grad.is_some();
        let parts: Vec<[f64; 5]> = super::chunk_sums(d.len(), |i, acc: &mut [f64; 5]| {
            let (v, g) = ln_lik_grad(p, d.x[i], d.t_x[i], d.n[i], want);
            let w = d.weight[i];
            acc[0] += w * v;
            for k in 0..4 {
                acc[k + 1] += w * g[k];
            }
        });
        super::optim::penalized(&parts, &p, self.penalizer * d.customers, grad)
    }
}

/// A fitted (or given) BG/BB model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BgBb {
    /// First shape of the beta distribution of purchase probabilities p.
    pub alpha: f64,
    /// Second shape of the beta distribution of purchase probabilities p.
    pub beta: f64,
    /// First shape of the beta distribution of dropout probabilities θ.
    pub gamma: f64,
    /// Second shape of the beta distribution of dropout probabilities θ.
    pub delta: f64,
    /// How the fit went; `None` for a model built from given parameters.
    #[serde(skip)]
    pub diagnostics: Option<FitDiagnostics>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    alpha: f64,
    beta: f64,
    gamma: f64,
    delta: f64,
}

impl BgBbConfig {
    /// Fits the model by maximum likelihood on weighted histories.
    ///
    /// # Errors
    /// [`Error::FitFailed`] (with the diagnostics) when the optimiser does not converge.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::{BgBbData, BgBbParams};
    /// let d = BgBbData::from_slices(&[0.0, 1.0, 3.0, 6.0], &[0.0, 2.0, 5.0, 6.0], &[6.0; 4], Some(&[50.0, 20.0, 15.0, 10.0]))?;
    /// let m = BgBbParams::new().validate()?.fit(&d)?;
    /// assert!(m.p_alive(6.0, 6.0, 6.0) > m.p_alive(1.0, 2.0, 6.0));
    /// # Ok(()) }
    /// ```
    pub fn fit(&self, data: &BgBbData) -> Result<BgBb> {
        let init = self.initial.unwrap_or([1.0; 4]);
        let theta0 = init.map(f64::ln);
        let obj = Likelihood {
            data,
            penalizer: self.opts.penalizer,
        };
        let (theta, mut diag) = run_fit(
            "bgbb",
            &["alpha", "beta", "gamma", "delta"],
            &obj,
            &theta0,
            self.opts,
            data.customers(),
            data.len(),
        )?;
        let m = BgBb {
            alpha: theta[0].exp(),
            beta: theta[1].exp(),
            gamma: theta[2].exp(),
            delta: theta[3].exp(),
            diagnostics: None,
        };
        diag.log_likelihood = m.log_likelihood(data);
        diag.describe_boundary(&[
            ("alpha", m.alpha),
            ("beta", m.beta),
            ("gamma", m.gamma),
            ("delta", m.delta),
        ]);
        Ok(BgBb {
            diagnostics: Some(diag),
            ..m
        })
    }
}

impl BgBb {
    /// A model with given parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when a parameter is not positive and finite.
    pub fn new(alpha: f64, beta: f64, gamma: f64, delta: f64) -> Result<Self> {
        check_positive(&[("alpha", alpha), ("beta", beta), ("gamma", gamma), ("delta", delta)])?;
        Ok(BgBb {
            alpha,
            beta,
            gamma,
            delta,
            diagnostics: None,
        })
    }

    fn params(&self) -> [f64; 4] {
        [self.alpha, self.beta, self.gamma, self.delta]
    }

    /// The log-likelihood of one history (x, t_x, n).
    pub fn log_likelihood_customer(&self, x: f64, t_x: f64, n: f64) -> f64 {
        ln_lik(self.params(), x, t_x, n)
    }

    /// The total (weighted) log-likelihood of `data`.
    pub fn log_likelihood(&self, data: &BgBbData) -> f64 {
        let obj = Likelihood { data, penalizer: 0.0 };
        -obj.eval(&self.params().map(f64::ln), None)
    }

    /// P(alive at opportunity n + 1 | x, t_x, n) (FHS 2010 eq. 11).
    pub fn p_alive(&self, x: f64, t_x: f64, n: f64) -> f64 {
        let [al, be, ga, de] = self.params();
        let num = ln_beta(al + x, be + n - x) - ln_beta(al, be) + ln_beta(ga, de + n + 1.0) - ln_beta(ga, de);
        (num - ln_lik(self.params(), x, t_x, n)).exp().min(1.0)
    }

    /// δ/(γ−1) · Γ(γ+δ)/Γ(1+δ) · [Γ(1+δ+n)/Γ(γ+δ+n) − Γ(1+δ+n+n*)/Γ(γ+δ+n+n*)], with its limit at γ = 1.
    fn survival_sum(&self, n: f64, n_star: f64) -> f64 {
        let (ga, de) = (self.gamma, self.delta);
        let g = |m: f64| ln_gamma(1.0 + de + m) - ln_gamma(ga + de + m);
        let lead = de.ln() + ln_gamma(ga + de) - ln_gamma(1.0 + de) + g(n);
        let d = g(n + n_star) - g(n);
        let e = ga - 1.0;
        let ratio = if e == 0.0 {
            digamma(1.0 + de + n + n_star) - digamma(1.0 + de + n)
        } else {
            -d.exp_m1() / e
        };
        lead.exp() * ratio
    }

    /// P(X(n) = x), the probability of exactly x purchases in the first n opportunities of a new
    /// customer (FHS 2010 eq. 8): alive through all n opportunities, or dropping out after
    /// opportunity i (x ≤ i < n) with x purchases among the first i. Zero for x > n.
    pub fn probability_of_purchases(&self, n: u32, x: u32) -> f64 {
        if x > n {
            return 0.0;
        }
        let [al, be, ga, de] = self.params();
        let (nf, xf) = (f64::from(n), f64::from(x));
        let ln_choose = |m: f64, k: f64| ln_gamma(m + 1.0) - ln_gamma(k + 1.0) - ln_gamma(m - k + 1.0);
        let buy = |i: f64| ln_choose(i, xf) + ln_beta(al + xf, be + i - xf) - ln_beta(al, be);
        let mut p = (buy(nf) + ln_beta(ga, de + nf) - ln_beta(ga, de)).exp();
        for i in x..n {
            let i = f64::from(i);
            p += (buy(i) + ln_beta(ga + 1.0, de + i) - ln_beta(ga, de)).exp();
        }
        p
    }

    /// E[X(n)], the expected purchases in the first n opportunities of a new customer (FHS 2010 eq. 7).
    pub fn expected_purchases(&self, n: f64) -> f64 {
        self.alpha / (self.alpha + self.beta) * self.survival_sum(0.0, n)
    }

    /// E[X(n, n + n*) | x, t_x, n], the expected purchases in the next n* opportunities
    /// (FHS 2010 eq. 13).
    pub fn conditional_expected_purchases(&self, n_star: f64, x: f64, t_x: f64, n: f64) -> f64 {
        let [al, be, _, _] = self.params();
        let lead = ln_beta(al + x + 1.0, be + n - x) - ln_beta(al, be) - ln_lik(self.params(), x, t_x, n);
        lead.exp() * self.survival_sum(n, n_star)
    }

    /// [`BgBb::conditional_expected_purchases`] of many histories, in parallel.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the slices differ in length.
    pub fn conditional_expected_purchases_batch(
        &self,
        n_star: f64,
        x: &[f64],
        t_x: &[f64],
        n: &[f64],
    ) -> Result<Vec<f64>> {
        super::bgnbd::check_lengths(x, t_x, n)?;
        Ok((0..x.len())
            .into_par_iter()
            .map(|i| self.conditional_expected_purchases(n_star, x[i], t_x[i], n[i]))
            .collect())
    }

    /// The model as versioned JSON (`"model":"bgbb"`, parameters `alpha`, `beta`, `gamma`, `delta`).
    ///
    /// # Errors
    /// [`Error::Json`] if encoding fails.
    pub fn to_json(&self) -> Result<String> {
        to_json(
            super::ModelKind::BgBb,
            Saved {
                alpha: self.alpha,
                beta: self.beta,
                gamma: self.gamma,
                delta: self.delta,
            },
            self.diagnostics.as_ref(),
        )
    }

    /// Reads a model written by [`BgBb::to_json`].
    ///
    /// # Errors
    /// [`Error::Format`] for another format, version or model; [`Error::InvalidParameter`] for
    /// parameters that are not positive.
    pub fn from_json(json: &str) -> Result<Self> {
        let (p, diag): (Saved, _) = from_json(super::ModelKind::BgBb, json)?;
        let mut m = BgBb::new(p.alpha, p.beta, p.gamma, p.delta)?;
        m.diagnostics = diag;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::special::log_sum_exp;

    /// FHS 2010 eq. 5 term by term (two log-beta functions per term), as a reference.
    fn direct(p: [f64; 4], x: f64, t_x: f64, n: f64) -> f64 {
        let [al, be, ga, de] = p;
        let (lb_ab, lb_gd) = (ln_beta(al, be), ln_beta(ga, de));
        let mut terms = vec![ln_beta(al + x, be + n - x) - lb_ab + ln_beta(ga, de + n) - lb_gd];
        for i in 0..(n - t_x) as u64 {
            let i = i as f64;
            terms.push(ln_beta(al + x, be + t_x - x + i) - lb_ab + ln_beta(ga + 1.0, de + t_x + i) - lb_gd);
        }
        log_sum_exp(&terms)
    }

    const HISTORIES: [(f64, f64, f64); 7] = [
        (0.0, 0.0, 6.0),
        (2.0, 4.0, 6.0),
        (6.0, 6.0, 6.0),
        (1.0, 1.0, 1.0),
        (3.0, 40.0, 150.0),
        (0.0, 0.0, 2000.0),
        (50.0, 70.0, 5000.0),
    ];

    #[test]
    fn running_products_give_the_term_by_term_likelihood() {
        for p in [[1.2, 0.75, 0.66, 2.78], [0.3, 5.0, 2.0, 0.4], [8.0, 1.1, 0.05, 30.0]] {
            for (x, tx, n) in HISTORIES {
                let (got, want) = (ln_lik(p, x, tx, n), direct(p, x, tx, n));
                assert!(
                    (got - want).abs() <= 1e-11 * want.abs().max(1.0),
                    "{p:?} ({x}, {tx}, {n}): {got} vs {want}"
                );
            }
        }
        assert!(ln_lik([1.0; 4], 2.0, 1.0, 6.0).is_nan());
    }

    #[test]
    fn analytic_gradient_matches_central_differences() {
        for p in [[1.2, 0.75, 0.66, 2.78], [0.3, 5.0, 2.0, 0.4], [8.0, 1.1, 0.05, 30.0]] {
            for (x, tx, n) in HISTORIES {
                let (v, g) = ln_lik_grad(p, x, tx, n, true);
                assert_eq!(v, ln_lik(p, x, tx, n));
                for k in 0..4 {
                    let h = 1e-5 * p[k];
                    let at = |d: f64| {
                        let mut q = p;
                        q[k] += d;
                        direct(q, x, tx, n)
                    };
                    let num = (at(h) - at(-h)) / (2.0 * h);
                    assert!(
                        (g[k] - num).abs() <= 1e-6 * num.abs().max(1e-2),
                        "{p:?} ({x}, {tx}, {n}) k={k}: {} vs {num}",
                        g[k]
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Over wide parameter and history ranges the likelihood and its derivatives are finite.
        #[test]
        fn likelihood_and_derivatives_are_finite(
            al in 0.01f64..100.0, be in 0.01f64..100.0, ga in 0.01f64..100.0, de in 0.01f64..100.0,
            n in 0u32..3000, ftx in 0.0f64..=1.0, fx in 0.0f64..=1.0,
        ) {
            let n = f64::from(n);
            let tx = (ftx * n).floor();
            let x = (fx * tx).floor();
            let (v, g) = ln_lik_grad([al, be, ga, de], x, tx, n, true);
            proptest::prop_assert!(v.is_finite() && v <= 1e-12, "{}", v);
            proptest::prop_assert!(g.iter().all(|d| d.is_finite()), "{:?}", g);
        }
    }
}
