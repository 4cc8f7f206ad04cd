//! Uncertainty of fitted models: confidence intervals for the parameters and, by the delta
//! method, for each customer's expected purchases and CLV.
//!
//! **Parameters.** A fit's [`FitDiagnostics::covariance`] is the inverse Hessian of the
//! negative log-likelihood in the fitted coordinates, the natural logs of the parameters. The
//! interval of a parameter p = e^θ at level L is exp(θ̂ ± z·se(θ̂)), with z the standard normal
//! quantile at (1 + L)/2: it stays positive and is not symmetric around p̂ (the Wald interval
//! on the log scale). Covariate coefficients (not logged) get θ̂ ± z·se.
//!
//! **Predictions.** A prediction f(θ) of a customer (expected purchases over a horizon, the
//! discounted purchases behind CLV) has variance ∇fᵀ Σ ∇f by the delta method, with ∇f taken
//! by central differences in θ (step 10⁻⁴) once per distinct history, as the point scores are.
//! The interval is again on the log scale, f̂·exp(± z·sd/f̂), so it stays positive; a
//! prediction of 0 has the interval [0, 0]. CLV is discounted purchases × expected spend, from
//! two independent fits (the purchase model and Gamma-Gamma), so var ln CLV = var ln D + var
//! ln S.
//!
//! These are large-sample intervals: they describe the estimation error of the parameters,
//! not the customer's own randomness (a customer expected to buy 2.1 times will not buy 2.1
//! times), and they are as good as the normal approximation at the maximum. A penalised fit's
//! covariance is that of the penalised objective. A fit without a covariance (at a boundary,
//! or with a Hessian that is not positive definite) gives no interval: an
//! [`Error::InvalidParameter`] names the model.

use serde::Serialize;

use super::clv::Discounting;
use super::gamma_gamma::GammaGamma;
use super::kind::FittedModel;
use super::scores::{Histories, score_customers};
use super::special::ln_gamma;
use super::{BgBb, BgNbd, FitDiagnostics, MbgNbd, ParetoNbd, Sbg};
use crate::error::{Error, Result};

/// The step of the central differences in the log-parameters.
pub(crate) const STEP: f64 = 1e-4;

/// The upper tail of the standard normal distribution, P(Z > x), for x ≥ 0, as Q(1/2, x²/2)/2
/// (the regularised upper incomplete gamma function: a series below y = 1.5, a continued
/// fraction above, both to rounding level).
fn normal_upper_tail(x: f64) -> f64 {
    let y = 0.5 * x * x;
    let a = 0.5;
    if y == 0.0 {
        return 0.5;
    }
    let prefix = (-y + a * y.ln() - ln_gamma(a)).exp();
    if y < a + 1.0 {
        // P(a, y) = prefix/a · Σ yⁿ / ((a+1)…(a+n))
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..500 {
            ap += 1.0;
            term *= y / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        0.5 * (1.0 - prefix * sum)
    } else {
        // Q(a, y) by the modified Lentz continued fraction
        let tiny = 1e-300;
        let mut b = y + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let fi = f64::from(i);
            let an = -fi * (fi - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        0.5 * prefix * h
    }
}

/// The standard normal quantile: the z with P(Z ≤ z) = p, for 0 < p < 1 (to about 1e-15).
///
/// # Errors
/// [`Error::InvalidParameter`] (`p`) outside (0, 1).
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::models::uncertainty::normal_quantile;
/// assert!((normal_quantile(0.975)? - 1.959_963_984_540_054).abs() < 1e-12);
/// # Ok(()) }
/// ```
pub fn normal_quantile(p: f64) -> Result<f64> {
    if !(p > 0.0 && p < 1.0) {
        return Err(Error::param(
            "p",
            format!("a probability strictly between 0 and 1, got {p}"),
        ));
    }
    if p == 0.5 {
        return Ok(0.0);
    }
    // solve for the upper tail q = min(p, 1 − p) at x ≥ 0, then restore the sign
    let q = p.min(1.0 - p);
    let t = (-2.0 * q.ln()).sqrt();
    // Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4) as the start of Newton's method
    let mut x = t
        - (2.515_517 + 0.802_853 * t + 0.010_328 * t * t)
            / (1.0 + 1.432_788 * t + 0.189_269 * t * t + 0.001_308 * t * t * t);
    for _ in 0..50 {
        let density = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        if density <= 0.0 {
            break;
        }
        let step = (normal_upper_tail(x.max(0.0)) - q) / density;
        x += step;
        if step.abs() <= 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    Ok(if p < 0.5 { -x } else { x })
}

/// The z of a two-sided interval at `level`: the normal quantile at (1 + level)/2.
///
/// # Errors
/// [`Error::InvalidParameter`] (`level`) outside (0, 1).
pub fn z_of_level(level: f64) -> Result<f64> {
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::param(
            "level",
            format!("a confidence level strictly between 0 and 1 (0.95 for 95 %), got {level}"),
        ));
    }
    normal_quantile(0.5 + 0.5 * level)
}

/// One parameter's estimate with its standard error and confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParameterEstimate {
    /// The parameter's name (`r`, `alpha`, …; `trans.NAME` / `life.NAME` for covariates).
    pub name: String,
    /// The estimate.
    pub estimate: f64,
    /// Its standard error (`None` without a covariance).
    pub standard_error: Option<f64>,
    /// The lower end of the interval (`None` without a covariance).
    pub lower: Option<f64>,
    /// The upper end of the interval (`None` without a covariance).
    pub upper: Option<f64>,
}

/// Estimates, standard errors and intervals at `level` of parameters fitted in the
/// coordinates of `diag.covariance`: the first `logged` parameters as logs (intervals
/// exp(θ ± z·se)), the rest as themselves (θ ± z·se).
pub(crate) fn estimates(
    params: &[(String, f64)],
    logged: usize,
    diag: Option<&FitDiagnostics>,
    level: f64,
) -> Result<Vec<ParameterEstimate>> {
    let z = z_of_level(level)?;
    let cov = diag.and_then(|d| d.covariance.as_ref());
    Ok(params
        .iter()
        .enumerate()
        .map(|(i, (name, v))| {
            let var = cov.and_then(|c| c.get(i)).and_then(|row| row.get(i)).copied();
            let sd = var.filter(|v| *v >= 0.0 && v.is_finite()).map(f64::sqrt);
            let (se, lower, upper) = match sd {
                Some(sd) if i < logged => (Some(v * sd), Some(v * (-z * sd).exp()), Some(v * (z * sd).exp())),
                Some(sd) => (Some(sd), Some(v - z * sd), Some(v + z * sd)),
                None => (
                    diag.and_then(|d| d.standard_errors.get(i).copied().flatten()),
                    None,
                    None,
                ),
            };
            ParameterEstimate {
                name: name.clone(),
                estimate: *v,
                standard_error: se,
                lower,
                upper,
            }
        })
        .collect())
}

/// A fitted model's parameters with standard errors and confidence intervals at `level`
/// (0.95 for 95 %), on the log scale (see the module documentation).
///
/// # Errors
/// [`Error::InvalidParameter`] (`level`) outside (0, 1). A model without a covariance (given
/// parameters, a boundary fit, a model saved before covariances were recorded) gives `None`
/// intervals, not an error.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::models::{BgNbdParams, FittedModel, RfmData};
/// use clientele::models::uncertainty::parameter_intervals;
/// let d = RfmData::from_slices(&[0.0, 1.0, 3.0, 0.0, 2.0], &[0.0, 9.0, 20.0, 0.0, 4.0], &[30.0, 28.0, 30.0, 12.0, 25.0], None)?;
/// let m = FittedModel::BgNbd(BgNbdParams::new().penalizer(0.1).validate()?.fit(&d)?);
/// for p in parameter_intervals(&m, 0.95)? {
///     let (lo, hi) = (p.lower.unwrap_or(f64::NAN), p.upper.unwrap_or(f64::NAN));
///     assert!(lo < p.estimate && p.estimate < hi, "{p:?}");
/// }
/// # Ok(()) }
/// ```
pub fn parameter_intervals(model: &FittedModel, level: f64) -> Result<Vec<ParameterEstimate>> {
    let params: Vec<(String, f64)> = model.params().into_iter().map(|(n, v)| (n.to_owned(), v)).collect();
    estimates(&params, params.len(), model.diagnostics(), level)
}

/// The model with its parameters replaced by exp(`theta`) (same kind, no diagnostics).
pub(crate) fn with_log_params(model: &FittedModel, theta: &[f64]) -> Result<FittedModel> {
    let p = |i: usize| theta.get(i).map_or(f64::NAN, |v| v.exp());
    Ok(match model {
        FittedModel::BgNbd(_) => FittedModel::BgNbd(BgNbd::new(p(0), p(1), p(2), p(3))?),
        FittedModel::MbgNbd(_) => FittedModel::MbgNbd(MbgNbd::new(p(0), p(1), p(2), p(3))?),
        FittedModel::ParetoNbd(_) => FittedModel::ParetoNbd(ParetoNbd::new(p(0), p(1), p(2), p(3))?),
        FittedModel::BgBb(_) => FittedModel::BgBb(BgBb::new(p(0), p(1), p(2), p(3))?),
        FittedModel::GammaGamma(_) => FittedModel::GammaGamma(GammaGamma::new(p(0), p(1), p(2))?),
        FittedModel::Sbg(_) => FittedModel::Sbg(Sbg::new(p(0), p(1))?),
    })
}

/// The covariance of a model's log-parameters, or an error naming the model.
fn covariance_of(model: &FittedModel) -> Result<&Vec<Vec<f64>>> {
    model.diagnostics().and_then(|d| d.covariance.as_ref()).ok_or_else(|| {
        Error::param(
            "intervals",
            format!(
                "the {} model has no parameter covariance (given parameters, a fit at a boundary, an \
                 unidentified fit, or a model file saved before covariances were recorded): refit it",
                model.kind()
            ),
        )
    })
}

/// Central-difference derivatives of the per-customer vectors `f` returns, with respect to
/// each log-parameter of `model`: one list per output of `f`, one vector per parameter.
fn derivatives(model: &FittedModel, f: &dyn Fn(&FittedModel) -> Result<Vec<Vec<f64>>>) -> Result<Vec<Vec<Vec<f64>>>> {
    let theta: Vec<f64> = model.params().iter().map(|(_, v)| v.ln()).collect();
    let mut out: Vec<Vec<Vec<f64>>> = Vec::new();
    for j in 0..theta.len() {
        let mut t = theta.clone();
        t[j] = theta[j] + STEP;
        let up = f(&with_log_params(model, &t)?)?;
        t[j] = theta[j] - STEP;
        let down = f(&with_log_params(model, &t)?)?;
        out.resize_with(up.len(), Vec::new);
        for ((slot, u), d) in out.iter_mut().zip(&up).zip(&down) {
            slot.push(u.iter().zip(d).map(|(u, d)| (u - d) / (2.0 * STEP)).collect());
        }
    }
    Ok(out)
}

/// ∇fᵢᵀ Σ ∇fᵢ of every customer i, from the derivative vectors and the covariance.
pub(crate) fn delta_variances(d: &[Vec<f64>], cov: &[Vec<f64>], n: usize) -> Vec<f64> {
    use rayon::prelude::*;
    (0..n)
        .into_par_iter()
        .map(|i| {
            let mut v = 0.0;
            for (j, dj) in d.iter().enumerate() {
                for (k, dk) in d.iter().enumerate() {
                    let c = cov.get(j).and_then(|r| r.get(k)).copied().unwrap_or(f64::NAN);
                    v += dj.get(i).copied().unwrap_or(f64::NAN) * c * dk.get(i).copied().unwrap_or(f64::NAN);
                }
            }
            // a failed perturbation stays NaN (no interval), not a zero-width interval
            if v.is_nan() { v } else { v.max(0.0) }
        })
        .collect()
}

/// Lower and upper ends of per-customer intervals.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Interval {
    /// Lower ends, in customer order.
    pub lower: Vec<f64>,
    /// Upper ends, in customer order.
    pub upper: Vec<f64>,
}

/// The log-scale interval f·exp(±z·sd_ln) of each customer, with sd_ln² the variance of ln f.
pub(crate) fn log_interval(f: &[f64], var_ln: &[f64], z: f64) -> Interval {
    let (lower, upper) = f
        .iter()
        .zip(var_ln)
        .map(|(&v, &w)| {
            if v > 0.0 && w.is_finite() {
                let s = z * w.sqrt();
                (v * (-s).exp(), v * s.exp())
            } else if v == 0.0 {
                (0.0, 0.0)
            } else {
                (f64::NAN, f64::NAN)
            }
        })
        .unzip();
    Interval { lower, upper }
}

/// Per-customer intervals at one level.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreIntervals {
    /// The confidence level (0.95 for 95 %).
    pub level: f64,
    /// Intervals of E[Y(horizon) | x, t_x, T].
    pub expected_purchases: Interval,
    /// Intervals of CLV (discounted purchases × expected spend); empty without a spend model.
    pub clv: Interval,
}

/// Delta-method intervals at `level` of each customer's expected purchases over `horizon`
/// and, with a spend model, CLV under `discounting` (see the module documentation), in the
/// current rayon pool. The point values are [`score_customers`]'s.
///
/// # Errors
/// [`Error::InvalidParameter`] (`level`) outside (0, 1), (`intervals`) when a model has no
/// covariance, (`model`) for a model that does not predict purchases; the scoring's errors.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::models::clv::Discounting;
/// use clientele::models::scores::Histories;
/// use clientele::models::uncertainty::score_intervals;
/// use clientele::models::{BgNbdParams, FittedModel, RfmData};
/// let (x, tx, t) = ([0.0, 1.0, 3.0, 0.0, 2.0, 4.0], [0.0, 9.0, 20.0, 0.0, 4.0, 25.0], [30.0, 28.0, 30.0, 12.0, 25.0, 29.0]);
/// let bg = FittedModel::BgNbd(BgNbdParams::new().penalizer(0.1).validate()?.fit(&RfmData::from_slices(&x, &tx, &t, None)?)?);
/// let m = [0.0; 6]; // no spend model: only expected purchases get intervals
/// let h = Histories { frequency: &x, recency: &tx, t: &t, monetary_value: &m };
/// let d = Discounting::DiscreteMonthly { months: 12, monthly_rate: 0.01, time_units_per_month: 4.345 };
/// let iv = score_intervals(&bg, None, &h, 26.0, &d, 0.9)?;
/// assert!(iv.expected_purchases.lower[2] < iv.expected_purchases.upper[2]);
/// assert!(iv.clv.lower.is_empty());
/// # Ok(()) }
/// ```
pub fn score_intervals(
    purchase: &FittedModel,
    spend: Option<&GammaGamma>,
    histories: &Histories<'_>,
    horizon: f64,
    discounting: &Discounting,
    level: f64,
) -> Result<ScoreIntervals> {
    let z = z_of_level(level)?;
    let cov = covariance_of(purchase)?;
    let n = histories.frequency.len();
    // a unit spend model stands in when there is none (its spend is not used)
    let unit = GammaGamma::new(1.0, 2.0, 1.0)?;
    let gg = spend.unwrap_or(&unit);
    let score = |m: &FittedModel| -> Result<(Vec<f64>, Vec<f64>)> {
        let s = match m {
            FittedModel::BgNbd(p) => score_customers(p, gg, histories, horizon, discounting)?,
            FittedModel::MbgNbd(p) => score_customers(p, gg, histories, horizon, discounting)?,
            FittedModel::ParetoNbd(p) => score_customers(p, gg, histories, horizon, discounting)?,
            other => {
                return Err(Error::param(
                    "model",
                    format!(
                        "{} does not predict purchases for intervals: use bgnbd, mbgnbd or pnbd",
                        other.kind()
                    ),
                ));
            }
        };
        Ok((s.expected_purchases, s.discounted_purchases))
    };
    let (expected, discounted) = score(purchase)?;
    // one pass of perturbed scores gives the derivatives of both outputs
    let d = derivatives(purchase, &|m| {
        score(m).map(|(e, disc)| if spend.is_some() { vec![e, disc] } else { vec![e] })
    })?;
    let no_derivatives = || Error::param("intervals", "the model has no parameters to perturb");
    let d_expected = d.first().ok_or_else(no_derivatives)?;
    let var_e = delta_variances(d_expected, cov, n);
    let var_ln_e: Vec<f64> = var_e
        .iter()
        .zip(&expected)
        .map(|(v, f)| if *f > 0.0 { v / (f * f) } else { 0.0 })
        .collect();
    let expected_purchases = log_interval(&expected, &var_ln_e, z);
    let clv = match spend {
        None => Interval::default(),
        Some(gg) => {
            let spend_model = FittedModel::GammaGamma(gg.clone());
            let spend_cov = covariance_of(&spend_model)?;
            let spend_of = |m: &FittedModel| -> Result<Vec<f64>> {
                match m {
                    FittedModel::GammaGamma(g) => {
                        g.conditional_expected_average_spend_batch(histories.frequency, histories.monetary_value)
                    }
                    _ => Err(Error::param("model", "a Gamma-Gamma spend model")),
                }
            };
            let s = spend_of(&spend_model)?;
            let d_disc = d.get(1).ok_or_else(no_derivatives)?;
            let d_spend = derivatives(&spend_model, &|m| spend_of(m).map(|v| vec![v]))?;
            let d_spend = d_spend.first().ok_or_else(no_derivatives)?;
            let var_d = delta_variances(d_disc, cov, n);
            let var_s = delta_variances(d_spend, spend_cov, n);
            let value: Vec<f64> = discounted.iter().zip(&s).map(|(d, s)| d * s).collect();
            let var_ln: Vec<f64> = (0..n)
                .map(|i| {
                    let (d, sp) = (discounted[i], s[i]);
                    let a = if d > 0.0 { var_d[i] / (d * d) } else { 0.0 };
                    let b = if sp > 0.0 { var_s[i] / (sp * sp) } else { 0.0 };
                    a + b
                })
                .collect();
            log_interval(&value, &var_ln, z)
        }
    };
    Ok(ScoreIntervals {
        level,
        expected_purchases,
        clv,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;

    #[test]
    fn normal_quantiles_match_tabulated_values() {
        // values of the standard normal quantile (e.g. R's qnorm), to 1e-12
        for (p, z) in [
            (0.975, 1.959_963_984_540_054),
            (0.95, 1.644_853_626_951_472_2),
            (0.995, 2.575_829_303_548_900_4),
            (0.8, 0.841_621_233_572_914_3),
            (0.999_999, 4.753_424_308_822_899),
            (0.5, 0.0),
        ] {
            // 1e-10 for the far tail: 1 − 0.999999 is 1e-6 only to 3e-17, which moves z by 6e-12
            let got = normal_quantile(p).unwrap();
            assert!((got - z).abs() < 1e-10, "{p}: {got}");
            assert!((normal_quantile(1.0 - p).unwrap() + z).abs() < 1e-9, "{p}");
        }
        assert!(normal_quantile(0.0).is_err() && normal_quantile(1.0).is_err() && z_of_level(1.0).is_err());
        assert!((normal_upper_tail(1.0) - 0.158_655_253_931_457_05).abs() < 1e-15);
        assert!((normal_upper_tail(5.0) - 2.866_515_718_791_939e-7).abs() < 1e-20);
    }
}
