//! Special functions for the models: ln Γ, ψ, ln B, log-sum-exp and the Gauss hypergeometric
//! function ₂F₁ in log space.
//!
//! ln Γ and ψ come from the `special` crate; ₂F₁ is Clientele's own: the Gauss series
//! Σ (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ summed with a running scale (so that terms of size 1e300 and more
//! neither overflow nor lose the result), on either the original parameters or Euler's
//! transform ₂F₁(a, b; c; z) = (1 − z)^(c−a−b) ₂F₁(c−a, c−b; c; z), whichever has the smaller
//! parameters. The domain is that of the BG/NBD and Pareto/NBD models: c > 0 and 0 ≤ z < 1.

use crate::error::{Error, Result};

/// ln Γ(x) for x > 0 (the logarithm of |Γ(x)| elsewhere).
#[inline]
pub fn ln_gamma(x: f64) -> f64 {
    special::Gamma::ln_gamma(x).0
}

/// The digamma function ψ(x) = d ln Γ(x) / dx.
#[inline]
pub fn digamma(x: f64) -> f64 {
    special::Gamma::digamma(x)
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for a, b > 0.
#[inline]
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// ln(eᵃ + eᵇ) without overflow; `−∞` arguments are allowed (ln 0).
#[inline]
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if hi == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// ln Σ exp(vᵢ) without overflow; `−∞` for an empty slice.
pub fn log_sum_exp(values: &[f64]) -> f64 {
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi == f64::NEG_INFINITY || !hi.is_finite() {
        return hi;
    }
    hi + values.iter().map(|v| (v - hi).exp()).sum::<f64>().ln()
}

/// ln(1 + eˣ) (softplus), accurate for every x.
#[inline]
pub fn ln_1p_exp(x: f64) -> f64 {
    if x > 35.0 { x + (-x).exp() } else { x.exp().ln_1p() }
}

/// The iteration cap of [`ln_hyp2f1`] and the other series of the models.
pub const SERIES_MAX_TERMS: usize = 1_000_000;

/// A power series Σₙ tₙ summed with a running scale: the result is `sign · exp(ln_abs)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScaledSum {
    /// ln of the absolute value of the sum.
    pub ln_abs: f64,
    /// +1, −1 or 0.
    pub sign: f64,
}

/// Sums t₀ = `first`, tₙ₊₁ = tₙ · ratio(n) with a running scale until the tail is below
/// 2⁻⁵⁴ relative. `ratio(n)` must tend to `limit` (|limit| < 1) as n grows; the tail after tₙ is
/// bounded by |tₙ| · q / (1 − q) with q = max(|ratio(n)|, |limit|), and three such small tails
/// in a row end the sum.
pub(crate) fn scaled_series(
    first: f64,
    limit: f64,
    routine: &'static str,
    describe: impl Fn() -> String,
    mut ratio: impl FnMut(f64) -> f64,
) -> Result<ScaledSum> {
    let mut term = first;
    let mut sum = first;
    let mut ln_scale = 0.0_f64;
    let mut small_in_a_row = 0;
    for n in 0..SERIES_MAX_TERMS {
        let q = ratio(n as f64);
        if !q.is_finite() {
            return Err(Error::NoConvergence {
                routine,
                iterations: n,
                message: format!("{} (a term ratio is not finite)", describe()),
            });
        }
        term *= q;
        if term == 0.0 {
            return Ok(finish(sum, ln_scale));
        }
        sum += term;
        let aq = q.abs().max(limit.abs());
        if aq < 1.0 {
            // The tail bound |tₙ| · q / (1 − q) against 2⁻⁵⁴ |sum|, multiplied out (no division
            // on the path of every term).
            if term.abs() * aq <= f64::EPSILON * 0.25 * sum.abs() * (1.0 - aq) {
                small_in_a_row += 1;
                if small_in_a_row >= 3 {
                    return Ok(finish(sum, ln_scale));
                }
            } else {
                small_in_a_row = 0;
            }
        } else {
            small_in_a_row = 0;
        }
        if sum.abs() > RESCALE_BY || term.abs() > RESCALE_BY {
            rescale(&mut sum, &mut term, &mut ln_scale);
        }
    }
    Err(Error::NoConvergence {
        routine,
        iterations: SERIES_MAX_TERMS,
        message: describe(),
    })
}

/// The running scale of [`scaled_series`]: a sum or term above it is divided by it. 2⁶⁶⁴
/// (about 1e200): a power of two, so rescaling is exact.
const RESCALE_BY: f64 = f64::from_bits((1023 + 664) << 52);
/// 1 / [`RESCALE_BY`] = 2⁻⁶⁶⁴.
const RESCALE_INV: f64 = f64::from_bits((1023 - 664) << 52);
/// ln [`RESCALE_BY`].
const RESCALE_LN: f64 = 664.0 * std::f64::consts::LN_2;

/// Divides the running sum and term of [`scaled_series`] by [`RESCALE_BY`] (exactly: a
/// power of two). Out of line and cold, so that the hot loop branches around it instead of
/// selecting its result on every term (which put a division on the loop's critical path).
#[cold]
#[inline(never)]
fn rescale(sum: &mut f64, term: &mut f64, ln_scale: &mut f64) {
    *sum *= RESCALE_INV;
    *term *= RESCALE_INV;
    *ln_scale += RESCALE_LN;
}

fn finish(sum: f64, ln_scale: f64) -> ScaledSum {
    ScaledSum {
        ln_abs: sum.abs().ln() + ln_scale,
        sign: if sum > 0.0 {
            1.0
        } else if sum < 0.0 {
            -1.0
        } else {
            0.0
        },
    }
}

fn hyp2f1_series(a: f64, b: f64, c: f64, z: f64) -> Result<ScaledSum> {
    scaled_series(
        1.0,
        z,
        "hyp2f1",
        || format!("a={a}, b={b}, c={c}, z={z}"),
        |n| (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z,
    )
}

/// ln ₂F₁(a, b; c; z), the logarithm of the Gauss hypergeometric function, for c > 0 and
/// 0 ≤ z < 1 where ₂F₁ is positive (for instance a, b > 0).
///
/// Accuracy is about 1e-14 relative on the BG/NBD and Pareto/NBD domains (checked against
/// mpmath in `tests/models_special.rs`).
///
/// # Errors
/// [`Error::InvalidParameter`] for arguments outside the domain (non-finite, c ≤ 0, z ∉ [0, 1),
/// or a sum that is not positive), [`Error::NoConvergence`] when the series needs more than
/// [`SERIES_MAX_TERMS`] terms (z extremely close to 1).
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::models::special::ln_hyp2f1;
/// // ₂F₁(1, 1; 2; z) = −ln(1 − z) / z
/// let z: f64 = 0.75;
/// let expected = (-(1.0 - z).ln() / z).ln();
/// assert!((ln_hyp2f1(1.0, 1.0, 2.0, z)? - expected).abs() < 1e-14);
/// # Ok(()) }
/// ```
pub fn ln_hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<f64> {
    if !(a.is_finite() && b.is_finite() && c.is_finite()) {
        return Err(Error::param(
            "hyp2f1",
            format!("non-finite argument a={a}, b={b}, c={c}"),
        ));
    }
    if c <= 0.0 {
        return Err(Error::param("hyp2f1", format!("c must be positive, got {c}")));
    }
    if !(0.0..1.0).contains(&z) {
        return Err(Error::param("hyp2f1", format!("z must be in [0, 1), got {z}")));
    }
    if z == 0.0 || a == 0.0 || b == 0.0 {
        return Ok(0.0);
    }
    let (ea, eb) = (c - a, c - b);
    let euler = ea.abs() + eb.abs() < a.abs() + b.abs();
    let s = if euler {
        let s = hyp2f1_series(ea, eb, c, z)?;
        ScaledSum {
            ln_abs: s.ln_abs + (c - a - b) * (-z).ln_1p(),
            sign: s.sign,
        }
    } else {
        hyp2f1_series(a, b, c, z)?
    };
    if s.sign <= 0.0 {
        return Err(Error::param(
            "hyp2f1",
            format!("the series for a={a}, b={b}, c={c}, z={z} is not positive"),
        ));
    }
    Ok(s.ln_abs)
}

/// ln ₂F₁(a, b; c; z) and its partial derivatives with respect to a, b, c and z, for a, b,
/// c > 0 and 0 ≤ z < 1: one series pass that carries the derivative of every term
/// (∂tₙ/∂a = tₙ Σₖ₍ₙ 1/(a+k), and so on), with Euler's transformation where
/// [`ln_hyp2f1`] uses it (when its parameters are positive). The value agrees with
/// [`ln_hyp2f1`] to rounding (the derivative sums can need a few more terms).
///
/// # Errors
/// As [`ln_hyp2f1`], and [`Error::InvalidParameter`] when a or b is not positive.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::models::special::{ln_hyp2f1, ln_hyp2f1_grad};
/// let (v, g) = ln_hyp2f1_grad(1.5, 2.0, 3.5, 0.6)?;
/// assert!((v - ln_hyp2f1(1.5, 2.0, 3.5, 0.6)?).abs() < 1e-14);
/// let h = 1e-6;
/// let numeric = (ln_hyp2f1(1.5, 2.0, 3.5, 0.6 + h)? - ln_hyp2f1(1.5, 2.0, 3.5, 0.6 - h)?) / (2.0 * h);
/// assert!((g[3] - numeric).abs() < 1e-8);
/// # Ok(()) }
/// ```
pub fn ln_hyp2f1_grad(a: f64, b: f64, c: f64, z: f64) -> Result<(f64, [f64; 4])> {
    if !(a.is_finite() && b.is_finite() && c.is_finite()) {
        return Err(Error::param(
            "hyp2f1",
            format!("non-finite argument a={a}, b={b}, c={c}"),
        ));
    }
    if !(a > 0.0 && b > 0.0 && c > 0.0) {
        return Err(Error::param(
            "hyp2f1",
            format!("a, b and c must be positive, got a={a}, b={b}, c={c}"),
        ));
    }
    if !(0.0..1.0).contains(&z) {
        return Err(Error::param("hyp2f1", format!("z must be in [0, 1), got {z}")));
    }
    if z == 0.0 {
        return Ok((0.0, [0.0, 0.0, 0.0, a * b / c]));
    }
    let (ea, eb) = (c - a, c - b);
    if ea > 0.0 && eb > 0.0 && ea + eb < a + b {
        // ₂F₁(a, b; c; z) = (1 − z)^(c−a−b) ₂F₁(c−a, c−b; c; z)
        let (v, [ga, gb, gc, gz]) = hyp2f1_series_grad(ea, eb, c, z)?;
        let l1z = (-z).ln_1p();
        let e = c - a - b;
        return Ok((
            v + e * l1z,
            [-ga - l1z, -gb - l1z, ga + gb + gc + l1z, gz - e / (1.0 - z)],
        ));
    }
    hyp2f1_series_grad(a, b, c, z)
}

/// The series of [`ln_hyp2f1_grad`] for a, b, c > 0 and 0 < z < 1 (every term positive):
/// ln of the sum and the derivatives of that ln.
fn hyp2f1_series_grad(a: f64, b: f64, c: f64, z: f64) -> Result<(f64, [f64; 4])> {
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    // Σ tₙ·∂ln tₙ/∂(a, b, c) and Σ n·tₙ (the z derivative, divided by z at the end).
    let mut d = [0.0f64; 4];
    let (mut ca, mut cb, mut cc) = (0.0f64, 0.0f64, 0.0f64);
    let mut ln_scale = 0.0f64;
    let mut small_in_a_row = 0;
    for n in 0..SERIES_MAX_TERMS {
        let nf = n as f64;
        let q = (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
        ca += 1.0 / (a + nf);
        cb += 1.0 / (b + nf);
        cc -= 1.0 / (c + nf);
        term *= q;
        if term == 0.0 {
            break;
        }
        sum += term;
        d[0] += term * ca;
        d[1] += term * cb;
        d[2] += term * cc;
        d[3] += term * (nf + 1.0);
        // The tails of the sum and of the derivative sums (whose weights grow at most by
        // n + the running sums) against 2⁻⁵⁴ of the sum, multiplied out.
        let aq = q.max(z);
        if aq < 1.0 {
            let weight = nf + 2.0 + ca + cb - cc;
            if term * aq * weight <= f64::EPSILON * 0.25 * sum * (1.0 - aq) * (1.0 - aq) {
                small_in_a_row += 1;
                if small_in_a_row >= 3 {
                    break;
                }
            } else {
                small_in_a_row = 0;
            }
        } else {
            small_in_a_row = 0;
        }
        if sum > RESCALE_BY || term > RESCALE_BY {
            rescale(&mut sum, &mut term, &mut ln_scale);
            d.iter_mut().for_each(|v| *v *= RESCALE_INV);
        }
        if n + 1 == SERIES_MAX_TERMS {
            return Err(Error::NoConvergence {
                routine: "hyp2f1",
                iterations: SERIES_MAX_TERMS,
                message: format!("a={a}, b={b}, c={c}, z={z}"),
            });
        }
    }
    Ok((
        sum.ln() + ln_scale,
        [d[0] / sum, d[1] / sum, d[2] / sum, d[3] / (sum * z)],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyp2f1_gradient_matches_central_differences() {
        // Direct series and Euler's transformation, and the Pareto/NBD shapes (c = a + 1).
        for (a, b, c, z) in [
            (1.5, 2.0, 3.5, 0.6),
            (0.7, 0.4, 5.0, 0.3),
            (3.2, 1.6, 4.2, 0.93),
            (12.0, 9.0, 13.0, 0.9),
            (2.4, 1.8, 3.4, 0.05),
            (40.0, 3.0, 41.0, 0.7),
        ] {
            let (v, g) = ln_hyp2f1_grad(a, b, c, z).unwrap();
            let want = ln_hyp2f1(a, b, c, z).unwrap();
            assert!((v - want).abs() <= 1e-13 * want.abs().max(1.0), "{v} vs {want}");
            let p = [a, b, c, z];
            for k in 0..4 {
                let h = 1e-6 * p[k];
                let at = |d: f64| {
                    let mut q = p;
                    q[k] += d;
                    ln_hyp2f1(q[0], q[1], q[2], q[3]).unwrap()
                };
                let num = (at(h) - at(-h)) / (2.0 * h);
                assert!(
                    (g[k] - num).abs() <= 1e-6 * num.abs().max(1e-3),
                    "{p:?} k={k}: {} vs {num}",
                    g[k]
                );
            }
        }
        assert_eq!(ln_hyp2f1_grad(2.0, 3.0, 4.0, 0.0).unwrap(), (0.0, [0.0, 0.0, 0.0, 1.5]));
        assert!(ln_hyp2f1_grad(-1.0, 3.0, 4.0, 0.5).is_err());
    }

    #[test]
    fn closed_forms() {
        for &z in &[0.0, 1e-8, 0.1, 0.5, 0.9, 0.99, 0.999] {
            let f = ln_hyp2f1(1.0, 1.0, 2.0, z).unwrap();
            let want = if z == 0.0 { 0.0 } else { (-(-z).ln_1p() / z).ln() };
            assert!((f - want).abs() < 1e-13, "z={z}: {f} vs {want}");
            for &(a, b) in &[(0.3, 2.5), (5.0, 0.7), (250.0, 40.0)] {
                let f = ln_hyp2f1(a, b, b, z).unwrap();
                let want = -a * (-z).ln_1p();
                assert!(
                    (f - want).abs() <= 1e-13 * want.abs().max(1.0),
                    "a={a} b={b} z={z}: {f} vs {want}"
                );
            }
        }
    }

    #[test]
    fn domain_errors() {
        assert!(ln_hyp2f1(1.0, 1.0, 0.0, 0.5).is_err());
        assert!(ln_hyp2f1(1.0, 1.0, 2.0, 1.0).is_err());
        assert!(ln_hyp2f1(1.0, 1.0, 2.0, -0.1).is_err());
        assert!(ln_hyp2f1(f64::NAN, 1.0, 2.0, 0.1).is_err());
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_add_exp(1000.0, 1000.0) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(log_add_exp(f64::NEG_INFINITY, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!((log_sum_exp(&[-1000.0, -1000.0, -1000.0]) - (-1000.0 + 3f64.ln())).abs() < 1e-12);
        assert!((ln_1p_exp(800.0) - 800.0).abs() < 1e-12);
        assert!((ln_1p_exp(-800.0)).abs() < 1e-300);
    }
}
