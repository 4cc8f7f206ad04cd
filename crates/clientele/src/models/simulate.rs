//! Customer histories simulated from the Pareto/NBD and BG/NBD models, with time-invariant
//! covariates: data with known parameters, to check that a fit recovers them.
//!
//! Each customer i has covariates z (transaction process) and w (lifetime process): the first
//! column of each is 0/1 with probability ½, the others standard normal. Her parameters are
//! those of [`super::covariates`] (the CLVTools static-covariate convention):
//! α_i = α₀·e^(−γ_transᵀz), and β_i = β₀·e^(−γ_lifeᵀw) (Pareto/NBD) or a_i = a₀·e^(γ_lifeᵀw),
//! b_i = b₀·e^(γ_lifeᵀw) (BG/NBD). Her purchase rate is λ ~ Gamma(r, scale 1/α_i). Under
//! Pareto/NBD she dies at an exponential time with rate μ ~ Gamma(s, scale 1/β_i); under BG/NBD
//! after each purchase with probability p ~ Beta(a_i, b_i). Her first purchase is at time 0 and
//! she is observed for T_i, uniform in the given range; (x, t_x, T) count the repeat purchases.
//!
//! Customer i draws from its own stream of the seeded generator, so the histories do not
//! depend on the thread count.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::synth::rng::Rng;

/// Which process generates the histories, with its base parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SimulatedModel {
    /// Pareto/NBD: r, α₀, s, β₀.
    ParetoNbd {
        /// Shape of the purchase rates.
        r: f64,
        /// Base scale of the purchase rates.
        alpha: f64,
        /// Shape of the dropout rates.
        s: f64,
        /// Base scale of the dropout rates.
        beta: f64,
    },
    /// BG/NBD: r, α₀, a₀, b₀.
    BgNbd {
        /// Shape of the purchase rates.
        r: f64,
        /// Base scale of the purchase rates.
        alpha: f64,
        /// Base first shape of the dropout probabilities.
        a: f64,
        /// Base second shape of the dropout probabilities.
        b: f64,
    },
}

/// Simulated histories with their covariates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimulatedHistories {
    /// Repeat purchases x.
    pub frequency: Vec<f64>,
    /// Time of the last purchase t_x.
    pub recency: Vec<f64>,
    /// Observation time T.
    pub t: Vec<f64>,
    /// Transaction covariates, one vector per covariate.
    pub trans: Vec<Vec<f64>>,
    /// Lifetime covariates, one vector per covariate.
    pub life: Vec<Vec<f64>>,
}

/// The most customers one call simulates (100 million).
pub const MAX_CUSTOMERS: usize = 100_000_000;

/// One simulated customer: x, t_x, T and the covariates z, w.
type Row = (f64, f64, f64, Vec<f64>, Vec<f64>);

/// Simulates `customers` histories from `model` with covariate coefficients `gamma_trans` and
/// `gamma_life` (one covariate column per coefficient), observed for T uniform in
/// `t_range`, from `seed`.
///
/// # Errors
/// [`Error::InvalidParameter`] for parameters that are not positive and finite, a coefficient
/// that is not finite, a T range that is not 0 < low ≤ high, or more than [`MAX_CUSTOMERS`].
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::models::simulate::{SimulatedModel, simulate};
/// let m = SimulatedModel::ParetoNbd { r: 0.8, alpha: 10.0, s: 0.6, beta: 20.0 };
/// let h = simulate(m, &[0.5], &[-0.3], 1_000, (26.0, 52.0), 7)?;
/// assert_eq!(h.frequency.len(), 1_000);
/// assert_eq!(h, simulate(m, &[0.5], &[-0.3], 1_000, (26.0, 52.0), 7)?);
/// # Ok(()) }
/// ```
pub fn simulate(
    model: SimulatedModel,
    gamma_trans: &[f64],
    gamma_life: &[f64],
    customers: usize,
    t_range: (f64, f64),
    seed: u64,
) -> Result<SimulatedHistories> {
    let base = match model {
        SimulatedModel::ParetoNbd { r, alpha, s, beta } => [("r", r), ("alpha", alpha), ("s", s), ("beta", beta)],
        SimulatedModel::BgNbd { r, alpha, a, b } => [("r", r), ("alpha", alpha), ("a", a), ("b", b)],
    };
    super::check_positive(&base)?;
    if gamma_trans.iter().chain(gamma_life).any(|g| !g.is_finite()) {
        return Err(Error::param("gamma", "every covariate coefficient must be finite"));
    }
    if customers > MAX_CUSTOMERS {
        return Err(Error::param(
            "customers",
            format!("at most {MAX_CUSTOMERS} customers per simulation, got {customers}"),
        ));
    }
    let (lo, hi) = t_range;
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi) {
        return Err(Error::param(
            "t_range",
            format!("needs 0 < low ≤ high, got ({lo}, {hi})"),
        ));
    }
    let (kt, kl) = (gamma_trans.len(), gamma_life.len());
    let rows: Vec<Row> = (0..customers)
        .into_par_iter()
        .map(|i| {
            let mut rng = Rng::for_stream(seed, i as u64);
            let mut draw = |j: usize| {
                if j == 0 {
                    f64::from(u8::from(rng.chance(0.5)))
                } else {
                    rng.normal()
                }
            };
            let z: Vec<f64> = (0..kt).map(&mut draw).collect();
            let w: Vec<f64> = (0..kl).map(&mut draw).collect();
            let et: f64 = z.iter().zip(gamma_trans).map(|(a, b)| a * b).sum();
            let el: f64 = w.iter().zip(gamma_life).map(|(a, b)| a * b).sum();
            let t_obs = if hi > lo { rng.uniform(lo, hi) } else { lo };
            let (mut x, mut t_x, mut now) = (0.0, 0.0, 0.0);
            match model {
                SimulatedModel::ParetoNbd { r, alpha, s, beta } => {
                    let lambda = rng.gamma(r, 1.0 / (alpha * (-et).exp()));
                    let mu = rng.gamma(s, 1.0 / (beta * (-el).exp()));
                    let death = rng.exponential(mu).min(t_obs);
                    loop {
                        now += rng.exponential(lambda);
                        if now > death || now.is_nan() {
                            break;
                        }
                        x += 1.0;
                        t_x = now;
                    }
                }
                SimulatedModel::BgNbd { r, alpha, a, b } => {
                    let lambda = rng.gamma(r, 1.0 / (alpha * (-et).exp()));
                    let p = rng.beta(a * el.exp(), b * el.exp());
                    loop {
                        now += rng.exponential(lambda);
                        if now > t_obs || now.is_nan() {
                            break;
                        }
                        x += 1.0;
                        t_x = now;
                        if rng.chance(p) {
                            break;
                        }
                    }
                }
            }
            (x, t_x, t_obs, z, w)
        })
        .collect();
    let mut out = SimulatedHistories {
        trans: vec![Vec::with_capacity(customers); kt],
        life: vec![Vec::with_capacity(customers); kl],
        ..SimulatedHistories::default()
    };
    for (x, t_x, t, z, w) in rows {
        out.frequency.push(x);
        out.recency.push(t_x);
        out.t.push(t);
        for (col, v) in out.trans.iter_mut().zip(z) {
            col.push(v);
        }
        for (col, v) in out.life.iter_mut().zip(w) {
            col.push(v);
        }
    }
    Ok(out)
}

impl SimulatedHistories {
    /// The histories as two tables keyed by `customer_id` (`first_id`, `first_id + 1`, …): a
    /// customer summary (`customer_id, frequency, recency, T`) and a covariate table
    /// (`customer_id` and one Float64 column per name, transaction covariates first).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`names`) when the names do not match the covariates in
    /// number, or repeat; (`first_id`) when the keys would overflow.
    pub fn tables(
        &self,
        trans_names: &[&str],
        life_names: &[&str],
        first_id: i64,
    ) -> Result<(arrow_array::RecordBatch, arrow_array::RecordBatch)> {
        use std::sync::Arc;

        use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
        if trans_names.len() != self.trans.len() || life_names.len() != self.life.len() {
            return Err(Error::param(
                "names",
                format!(
                    "{} transaction and {} lifetime covariates need as many names, got {} and {}",
                    self.trans.len(),
                    self.life.len(),
                    trans_names.len(),
                    life_names.len()
                ),
            ));
        }
        let names: Vec<&str> = trans_names.iter().chain(life_names).copied().collect();
        if names
            .iter()
            .enumerate()
            .any(|(i, n)| names[..i].contains(n) || *n == crate::schema::CUSTOMER_ID)
        {
            return Err(Error::param("names", format!("covariate names must differ: {names:?}")));
        }
        let n = i64::try_from(self.frequency.len()).unwrap_or(i64::MAX);
        let last = first_id.checked_add(n).ok_or_else(|| {
            Error::param(
                "first_id",
                format!("{first_id} + {n} customers overflows the key range"),
            )
        })?;
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(first_id..last));
        let f = |v: &[f64]| Arc::new(Float64Array::from(v.to_vec())) as ArrayRef;
        let summary = RecordBatch::try_from_iter([
            (crate::schema::CUSTOMER_ID, Arc::clone(&ids)),
            ("frequency", f(&self.frequency)),
            ("recency", f(&self.recency)),
            ("T", f(&self.t)),
        ])?;
        let covariates = RecordBatch::try_from_iter(
            std::iter::once((crate::schema::CUSTOMER_ID, ids)).chain(
                names
                    .iter()
                    .copied()
                    .zip(self.trans.iter().chain(&self.life).map(|v| f(v))),
            ),
        )?;
        Ok((summary, covariates))
    }
}
