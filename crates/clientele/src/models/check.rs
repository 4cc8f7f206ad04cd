//! Checking a fitted purchase model against the data, as tables (the series `lifetimes`'
//! plotting functions and CLVTools' `plot` compute):
//!
//! - [`calibration_vs_holdout`]: per calibration frequency, the mean actual holdout purchases
//!   and the mean of the model's expectation over each customer's holdout duration;
//! - [`period_transactions`]: how many customers made 0, 1, ... repeat purchases in their
//!   calibration time, actual and expected (Σ over customers of P(X(T) = k));
//! - [`frequency_recency_matrix`]: expected purchases over a horizon and P(alive) for every
//!   (frequency, recency) at one calibration length;
//! - tracking: [`super::holdout::cumulative_expected_purchases`].

use std::collections::HashMap;

use rayon::prelude::*;

use super::clv::PurchaseModel;
use crate::error::{Error, Result};

/// One calibration-frequency bucket of [`calibration_vs_holdout`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutBucket {
    /// Calibration frequency x (the last bucket holds every x ≥ it).
    pub frequency: u32,
    /// Customers in the bucket.
    pub customers: u64,
    /// Mean actual holdout purchases.
    pub actual: f64,
    /// Mean expected holdout purchases, E[X(duration) | x, t_x, T].
    pub expected: f64,
}

/// Mean actual and expected holdout purchases per calibration frequency 0, 1, ...,
/// `max_frequency` (the last bucket holds every x ≥ `max_frequency`); buckets without customers
/// are left out.
///
/// # Errors
/// [`Error::InvalidParameter`] for slices of different lengths or a non-whole frequency; the
/// model's errors for invalid histories.
pub fn calibration_vs_holdout(
    model: &impl PurchaseModel,
    x: &[f64],
    t_x: &[f64],
    t_cal: &[f64],
    duration_holdout: &[f64],
    frequency_holdout: &[f64],
    max_frequency: u32,
) -> Result<Vec<HoldoutBucket>> {
    let n = x.len();
    if [t_x.len(), t_cal.len(), duration_holdout.len(), frequency_holdout.len()]
        .iter()
        .any(|&l| l != n)
    {
        return Err(Error::param(
            "frequency_holdout",
            "frequency, recency, T, duration_holdout and frequency_holdout must have one value per customer",
        ));
    }
    let expected: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| model.conditional_expected_purchases(duration_holdout[i], x[i], t_x[i], t_cal[i]))
        .collect::<Result<_>>()?;
    let buckets = max_frequency as usize + 1;
    let mut sums = vec![(0u64, 0.0, 0.0); buckets];
    for i in 0..n {
        let b = bucket(x[i], max_frequency)?;
        if let Some(s) = sums.get_mut(b) {
            s.0 += 1;
            s.1 += frequency_holdout[i];
            s.2 += expected[i];
        }
    }
    Ok(sums
        .into_iter()
        .enumerate()
        .filter(|(_, s)| s.0 > 0)
        .map(|(k, (c, a, e))| HoldoutBucket {
            frequency: k as u32,
            customers: c,
            actual: a / c as f64,
            expected: e / c as f64,
        })
        .collect())
}

fn bucket(x: f64, max: u32) -> Result<usize> {
    if !(x.is_finite() && x >= 0.0 && x.fract() == 0.0) {
        return Err(Error::param(
            "frequency",
            format!("must be a whole number of repeat purchases, got {x}"),
        ));
    }
    Ok(x.min(f64::from(max)) as usize)
}

/// One row of [`period_transactions`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeriodTransactions {
    /// Repeat purchases k in the calibration time (the last row holds every k ≥ it).
    pub repeat_purchases: u32,
    /// Customers who made k.
    pub actual: u64,
    /// Σ over customers of P(X(T) = k) under the model (the last row: P(X(T) ≥ k)).
    pub expected: f64,
}

/// Customers by number of repeat purchases in their calibration time, 0 ..= `max_k` (the last
/// row is "`max_k` or more"), actual and expected under the model (computed once per distinct T).
///
/// # Errors
/// [`Error::InvalidParameter`] for slices of different lengths or a non-whole frequency; the
/// model's errors.
pub fn period_transactions(
    model: &impl PurchaseModel,
    x: &[f64],
    t_cal: &[f64],
    max_k: u32,
) -> Result<Vec<PeriodTransactions>> {
    if t_cal.len() != x.len() {
        return Err(Error::param("T", "frequency and T must have one value per customer"));
    }
    let mut actual = vec![0u64; max_k as usize + 1];
    let mut by_t: HashMap<u64, u64> = HashMap::new();
    for (xi, ti) in x.iter().zip(t_cal) {
        if let Some(a) = actual.get_mut(bucket(*xi, max_k)?) {
            *a += 1;
        }
        *by_t.entry(ti.to_bits()).or_default() += 1;
    }
    let mut ts: Vec<(f64, u64)> = by_t.into_iter().map(|(t, c)| (f64::from_bits(t), c)).collect();
    ts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let per_t: Vec<Vec<f64>> = ts
        .par_iter()
        .map(|&(t, c)| {
            let mut p = (0..max_k)
                .map(|k| Ok(model.probability_of_purchases(t, k)? * c as f64))
                .collect::<Result<Vec<f64>>>()?;
            let below: f64 = p.iter().sum();
            p.push((c as f64 - below).max(0.0));
            Ok(p)
        })
        .collect::<Result<_>>()?;
    Ok((0..=max_k)
        .map(|k| PeriodTransactions {
            repeat_purchases: k,
            actual: actual.get(k as usize).copied().unwrap_or(0),
            expected: per_t.iter().map(|p| p.get(k as usize).copied().unwrap_or(0.0)).sum(),
        })
        .collect())
}

/// One cell of [`frequency_recency_matrix`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatrixCell {
    /// Repeat purchases x.
    pub frequency: u32,
    /// Recency t_x (whole time units).
    pub recency: u32,
    /// E[X(horizon) | x, t_x, T].
    pub expected_purchases: f64,
    /// P(alive | x, t_x, T).
    pub p_alive: f64,
}

/// Expected purchases over `horizon` and P(alive) for every frequency 0 ..= `max_frequency`
/// and recency 0 ..= `t_cal` (whole time units) of a customer observed for `t_cal`, frequency
/// major. A one-time buyer's recency is 0, so (0, t_x > 0) cells, which no customer can have,
/// are left out.
///
/// # Errors
/// [`Error::InvalidParameter`] for a grid over 10^6 cells; the model's errors.
pub fn frequency_recency_matrix(
    model: &impl PurchaseModel,
    max_frequency: u32,
    t_cal: u32,
    horizon: f64,
) -> Result<Vec<MatrixCell>> {
    let cells = (u64::from(max_frequency) + 1) * (u64::from(t_cal) + 1);
    if cells > 1_000_000 {
        return Err(Error::param(
            "max_frequency",
            format!("a {cells}-cell matrix is too large (at most 10^6 cells)"),
        ));
    }
    let grid: Vec<(u32, u32)> = (0..=max_frequency)
        .flat_map(|x| (0..=t_cal).map(move |r| (x, r)))
        .filter(|&(x, r)| x > 0 || r == 0)
        .collect();
    grid.into_par_iter()
        .map(|(x, r)| {
            let (xf, rf, tf) = (f64::from(x), f64::from(r), f64::from(t_cal));
            Ok(MatrixCell {
                frequency: x,
                recency: r,
                expected_purchases: model.conditional_expected_purchases(horizon, xf, rf, tf)?,
                p_alive: model.probability_alive(xf, rf, tf)?,
            })
        })
        .collect()
}
