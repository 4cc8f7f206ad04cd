//! Holdout evaluation: predicted against actual purchases per customer, and the cohort's
//! expected cumulative and incremental repeat purchases over calendar time ("tracking" plots).

use rayon::prelude::*;

use super::bgnbd::check_lengths;
use super::clv::PurchaseModel;
use crate::error::{Error, Result};

/// Predicted vs actual purchases in a holdout period.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutReport {
    /// E[Y(duration) | x, t_x, T] per customer, in input order.
    pub expected: Vec<f64>,
    /// Σ expected.
    pub expected_total: f64,
    /// Σ actual.
    pub actual_total: f64,
    /// Mean absolute error per customer.
    pub mean_absolute_error: f64,
    /// Mean of expected − actual (positive: the model over-predicts).
    pub bias: f64,
    /// Root mean squared error per customer.
    pub root_mean_squared_error: f64,
    /// Pearson correlation of expected and actual (NaN when either is constant).
    pub correlation: f64,
}

/// Compares a model's conditional expectations over each customer's holdout duration with the
/// purchases actually made then (the summary kernel's `frequency_holdout` and
/// `duration_holdout` columns, in the model's time unit).
///
/// # Errors
/// [`Error::InvalidParameter`] for slices of different lengths or none; the model's errors.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::models::BgNbd;
/// use clientele::models::holdout::holdout_comparison;
/// let m = BgNbd::new(0.243, 4.414, 0.793, 2.426)?;
/// let r = holdout_comparison(&m, &[2.0, 0.0], &[30.43, 0.0], &[38.86, 38.86], &[39.0, 39.0], &[1.0, 0.0])?;
/// assert!(r.expected_total > 0.0 && r.actual_total == 1.0);
/// # Ok(()) }
/// ```
pub fn holdout_comparison(
    model: &impl PurchaseModel,
    x: &[f64],
    t_x: &[f64],
    t_cal: &[f64],
    duration_holdout: &[f64],
    actual_holdout: &[f64],
) -> Result<HoldoutReport> {
    check_lengths(x, t_x, t_cal)?;
    if duration_holdout.len() != x.len() || actual_holdout.len() != x.len() {
        return Err(Error::param(
            "frequency_holdout",
            "duration_holdout and frequency_holdout need one value per customer",
        ));
    }
    if x.is_empty() {
        return Err(Error::param("frequency", "no customer"));
    }
    let expected: Vec<f64> = (0..x.len())
        .into_par_iter()
        .map(|i| model.conditional_expected_purchases(duration_holdout[i], x[i], t_x[i], t_cal[i]))
        .collect::<Result<_>>()?;
    let n = x.len() as f64;
    let expected_total: f64 = expected.iter().sum();
    let actual_total: f64 = actual_holdout.iter().sum();
    let (me, ma) = (expected_total / n, actual_total / n);
    let (mut abs, mut sq, mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (e, a) in expected.iter().zip(actual_holdout) {
        abs += (e - a).abs();
        sq += (e - a) * (e - a);
        sxy += (e - me) * (a - ma);
        sxx += (e - me) * (e - me);
        syy += (a - ma) * (a - ma);
    }
    Ok(HoldoutReport {
        expected_total,
        actual_total,
        mean_absolute_error: abs / n,
        bias: (expected_total - actual_total) / n,
        root_mean_squared_error: (sq / n).sqrt(),
        correlation: sxy / (sxx * syy).sqrt(),
        expected,
    })
}

/// One point of a tracking curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackingPoint {
    /// Calendar time since the cohort's start, in the model's time unit.
    pub time: f64,
    /// Expected cumulative repeat purchases of the cohort up to `time`.
    pub cumulative: f64,
    /// Expected repeat purchases since the previous point (the first point: since 0).
    pub incremental: f64,
}

/// Expected cumulative repeat purchases of a cohort at calendar times `times` (increasing):
/// Σ over customers of E[X(time − b)] for customers whose first purchase time b (since the
/// cohort start, in the model's time unit) is before `time`. With a summary at calibration end
/// T_end, b = max T − T for a cohort that starts with the first customer.
///
/// # Errors
/// [`Error::InvalidParameter`] for non-finite first-purchase times or times that are not
/// increasing; the model's errors.
pub fn cumulative_expected_purchases(
    model: &impl PurchaseModel,
    first_purchase: &[f64],
    times: &[f64],
) -> Result<Vec<TrackingPoint>> {
    if first_purchase.iter().any(|b| !b.is_finite()) {
        return Err(Error::param("first_purchase", "must be finite"));
    }
    if times.windows(2).any(|w| w[1] <= w[0]) || times.iter().any(|t| !t.is_finite()) {
        return Err(Error::param("times", "must be finite and increasing"));
    }
    // Customers who first bought at the same time contribute the same term: summed once per
    // distinct time with its count (a summary in weeks has a few hundred distinct values for
    // millions of customers), in increasing order of time, so the sum is deterministic.
    let mut sorted = first_purchase.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut groups: Vec<(f64, f64)> = Vec::new();
    for b in sorted {
        match groups.last_mut() {
            Some((v, n)) if *v == b => *n += 1.0,
            _ => groups.push((b, 1.0)),
        }
    }
    let cumulative: Vec<f64> = times
        .par_iter()
        .map(|&t| {
            groups
                .iter()
                .filter(|&&(b, _)| b < t)
                .map(|&(b, n)| Ok(n * model.expected_purchases(t - b)?))
                .sum::<Result<f64>>()
        })
        .collect::<Result<_>>()?;
    Ok(times
        .iter()
        .enumerate()
        .map(|(i, &time)| TrackingPoint {
            time,
            cumulative: cumulative[i],
            incremental: cumulative[i] - if i == 0 { 0.0 } else { cumulative[i - 1] },
        })
        .collect())
}
