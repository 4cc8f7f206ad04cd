//! Maximum-likelihood machinery: a BFGS minimiser over unconstrained log-parameters, fit
//! diagnostics, and standard errors from the Hessian at the optimum.
//!
//! Every model's parameters are positive; the fit minimises the negative log-likelihood over
//! θ = ln(parameters), so no constraint is needed. The line search enforces the weak Wolfe
//! conditions (Armijo decrease and curvature) by bisection and extrapolation (Lewis & Overton
//! 2013), which keeps the BFGS update positive definite. A fit that stops without meeting the
//! gradient tolerance is an error ([`crate::Error::FitFailed`]) that carries its diagnostics.

/// An objective to minimise over `dim()` unconstrained coordinates.
pub(crate) trait Objective: Sync {
    /// The number of coordinates.
    fn dim(&self) -> usize;
    /// The value at `theta` and, when `grad` is given, the gradient written into it.
    /// A non-finite value means "outside the usable region".
    fn eval(&self, theta: &[f64], grad: Option<&mut [f64]>) -> f64;
}

/// The penalised negative log-likelihood of a fit on log-parameters, from per-chunk sums
/// `[ℓ, ∂ℓ/∂p₁, …, ∂ℓ/∂pₖ]` of the log-likelihood (added in chunk order): −ℓ + `pen`·Σpᵢ², and
/// into `grad` (when given) its gradient with respect to ln pᵢ, pᵢ·(−∂ℓ/∂pᵢ + 2·`pen`·pᵢ).
pub(crate) fn penalized<const M: usize>(parts: &[[f64; M]], p: &[f64], pen: f64, grad: Option<&mut [f64]>) -> f64 {
    let mut tot = [0.0; M];
    for c in parts {
        for (t, v) in tot.iter_mut().zip(c) {
            *t += v;
        }
    }
    if let Some(g) = grad {
        for ((g, &pk), &dl) in g.iter_mut().zip(p).zip(tot.iter().skip(1)) {
            *g = pk * (-dl + 2.0 * pen * pk);
        }
    }
    -tot[0] + pen * p.iter().map(|v| v * v).sum::<f64>()
}

/// Central-difference gradient of `f` (for objectives without an analytic gradient).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn numeric_gradient(f: impl Fn(&[f64]) -> f64, theta: &[f64], grad: &mut [f64]) {
    let mut x = theta.to_vec();
    for i in 0..theta.len() {
        let h = 6e-6 * theta[i].abs().max(1.0);
        x[i] = theta[i] + h;
        let fp = f(&x);
        x[i] = theta[i] - h;
        let fm = f(&x);
        x[i] = theta[i];
        grad[i] = (fp - fm) / (2.0 * h);
    }
}

/// Stopping rules of the minimiser.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptimSettings {
    /// Iteration cap.
    pub max_iterations: usize,
    /// The search stops when a log-parameter moves further than this from its start (a factor
    /// e^bound in the parameter): the likelihood then rises towards a boundary of the
    /// parameter space, where it has no maximum, and evaluations there grow slow.
    pub log_bound: f64,
    /// Converged when ‖∇f‖∞ ≤ `gtol` · max(1, |f|), or when f cannot be decreased any more at
    /// rounding level and ‖∇f‖∞ ≤ √`gtol` · max(1, |f|).
    pub gtol: f64,
}

/// Where the minimiser stopped.
#[derive(Debug, Clone)]
pub(crate) struct OptimResult {
    pub theta: Vec<f64>,
    pub value: f64,
    pub gradient_norm: f64,
    pub iterations: usize,
    pub evaluations: usize,
    pub converged: bool,
    pub message: String,
    /// Indices of the parameters that reached the search bound (empty for an interior stop).
    pub at_bound: Vec<usize>,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimises `obj` from `theta0` by BFGS with a weak-Wolfe line search.
pub(crate) fn minimize(obj: &dyn Objective, theta0: &[f64], settings: OptimSettings) -> OptimResult {
    let n = obj.dim();
    let mut x = theta0.to_vec();
    let mut g = vec![0.0; n];
    let mut f = obj.eval(&x, Some(&mut g));
    let mut evaluations = 1;
    let result = |x: Vec<f64>, f: f64, g: &[f64], it: usize, ev: usize, msg: &str| {
        let gn = inf_norm(g);
        let fscale = f.abs().max(1.0);
        let strict = f.is_finite() && gn.is_finite() && gn <= settings.gtol * fscale;
        // stopped because f is flat to rounding: accept when the gradient is within √gtol
        let stalled = msg.starts_with("no further") || msg.starts_with("line search");
        let flat = stalled && f.is_finite() && gn <= settings.gtol.sqrt() * fscale && it > 0;
        OptimResult {
            theta: x,
            value: f,
            gradient_norm: gn,
            iterations: it,
            evaluations: ev,
            converged: strict || flat,
            at_bound: Vec::new(),
            message: if strict {
                "gradient tolerance reached".into()
            } else if flat {
                format!("{msg} (objective flat to rounding; gradient within √tolerance)")
            } else {
                msg.to_string()
            },
        }
    };
    if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return result(
            x,
            f,
            &g,
            0,
            evaluations,
            "the objective is not finite at the starting point",
        );
    }
    // inverse Hessian approximation, row-major
    let mut h = vec![0.0; n * n];
    let reset = |h: &mut [f64]| {
        h.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n {
            h[i * n + i] = 1.0;
        }
    };
    reset(&mut h);
    let mut first_step = true;
    let mut d = vec![0.0; n];
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    let mut stall = 0;
    for it in 0..settings.max_iterations {
        if inf_norm(&g) <= settings.gtol * f.abs().max(1.0) {
            return result(x, f, &g, it, evaluations, "");
        }
        for i in 0..n {
            d[i] = -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>();
        }
        let mut slope = dot(&g, &d);
        if slope >= 0.0 || !slope.is_finite() {
            reset(&mut h);
            d.iter_mut().zip(&g).for_each(|(di, gi)| *di = -gi);
            slope = dot(&g, &d);
        }
        // keep steps in log-parameter space moderate (a factor e^2 per coordinate at most)
        let dn = inf_norm(&d);
        let mut step = if dn > 2.0 { 2.0 / dn } else { 1.0 };
        if first_step {
            step = step.min(1.0 / inf_norm(&g).max(1e-300)).min(1.0);
        }
        let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
        let mut accepted = None;
        let mut best_armijo: Option<(f64, f64, Vec<f64>)> = None;
        for _ in 0..60 {
            for i in 0..n {
                xn[i] = x[i] + step * d[i];
            }
            let fnew = obj.eval(&xn, Some(&mut gn));
            evaluations += 1;
            let dslope = dot(&gn, &d);
            // Armijo, or Hager & Zhang's approximate Wolfe condition once f is flat to rounding
            let armijo = fnew <= f + 1e-4 * step * slope;
            let approx = fnew <= f + 1e-13 * f.abs() && dslope <= (2.0 * 1e-4 - 1.0) * slope;
            if !fnew.is_finite() || gn.iter().any(|v| !v.is_finite()) || !(armijo || approx) {
                hi = step;
            } else if dslope < 0.9 * slope {
                best_armijo = Some((step, fnew, gn.clone()));
                lo = step;
            } else {
                accepted = Some((step, fnew));
                break;
            }
            step = if hi.is_finite() { 0.5 * (lo + hi) } else { 2.0 * lo };
            if hi.is_finite() && hi - lo < 1e-16 * hi.max(1.0) {
                break;
            }
        }
        let (step, fnew) = match (accepted, best_armijo) {
            (Some(a), _) => a,
            (None, Some((s, fv, gv))) => {
                gn.copy_from_slice(&gv);
                for i in 0..n {
                    xn[i] = x[i] + s * d[i];
                }
                (s, fv)
            }
            (None, None) => {
                return result(x, f, &g, it, evaluations, "line search found no decrease");
            }
        };
        let s: Vec<f64> = d.iter().map(|v| v * step).collect();
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if first_step && sy > 0.0 {
            // scale the initial inverse Hessian (Nocedal & Wright 6.20)
            let scale = sy / dot(&y, &y);
            h.iter_mut().for_each(|v| *v *= scale);
            first_step = false;
        }
        if sy > 1e-12 * (dot(&s, &s) * dot(&y, &y)).sqrt() {
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n).map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum()).collect();
            let yhy = dot(&y, &hy);
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
        }
        let decrease = f - fnew;
        x.copy_from_slice(&xn);
        g.copy_from_slice(&gn);
        f = fnew;
        let at_bound: Vec<usize> = (0..n)
            .filter(|&i| (x[i] - theta0[i]).abs() > settings.log_bound)
            .collect();
        if !at_bound.is_empty() {
            let mut r = result(
                x,
                f,
                &g,
                it + 1,
                evaluations,
                "stopped at the search bound: the likelihood keeps rising towards a boundary",
            );
            r.converged = false;
            r.at_bound = at_bound;
            return r;
        }
        if decrease <= 1e-15 * f.abs().max(1.0) {
            stall += 1;
            if stall >= 5 {
                return result(x, f, &g, it + 1, evaluations, "no further decrease of the objective");
            }
        } else {
            stall = 0;
        }
    }
    result(x, f, &g, settings.max_iterations, evaluations, "iteration cap reached")
}

/// The Hessian of `obj` at `theta` by central differences of its gradient (symmetrised).
pub(crate) fn hessian(obj: &dyn Objective, theta: &[f64]) -> Vec<f64> {
    let n = theta.len();
    let mut hm = vec![0.0; n * n];
    let mut x = theta.to_vec();
    let mut gp = vec![0.0; n];
    let mut gm = vec![0.0; n];
    for i in 0..n {
        let h = 1e-4 * theta[i].abs().max(1.0);
        x[i] = theta[i] + h;
        obj.eval(&x, Some(&mut gp));
        x[i] = theta[i] - h;
        obj.eval(&x, Some(&mut gm));
        x[i] = theta[i];
        for j in 0..n {
            hm[i * n + j] = (gp[j] - gm[j]) / (2.0 * h);
        }
    }
    for i in 0..n {
        for j in 0..i {
            let v = 0.5 * (hm[i * n + j] + hm[j * n + i]);
            hm[i * n + j] = v;
            hm[j * n + i] = v;
        }
    }
    hm
}

/// The inverse of a symmetric positive-definite matrix by Cholesky; `None` when not positive definite.
pub(crate) fn spd_inverse(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s = a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            if i == j {
                if s.is_nan() || s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    // inverse = L⁻ᵀ L⁻¹; solve column by column
    let mut inv = vec![0.0; n * n];
    for c in 0..n {
        let mut y = vec![0.0; n];
        for i in 0..n {
            let rhs = if i == c { 1.0 } else { 0.0 };
            y[i] = (rhs - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
        }
        let mut xv = vec![0.0; n];
        for i in (0..n).rev() {
            xv[i] = (y[i] - (i + 1..n).map(|k| l[k * n + i] * xv[k]).sum::<f64>()) / l[i * n + i];
        }
        for i in 0..n {
            inv[i * n + c] = xv[i];
        }
    }
    Some(inv)
}

/// Standard errors of the natural parameters exp(θ) by the delta method: se(pᵢ) = pᵢ · √(H⁻¹)ᵢᵢ,
/// with `h` the Hessian of the negative log-likelihood in θ ([`hessian`]). `None` entries
/// where it is not positive definite.
pub(crate) fn standard_errors_from(h: &[f64], theta: &[f64]) -> Vec<Option<f64>> {
    let n = theta.len();
    match spd_inverse(h, n) {
        Some(inv) => (0..n)
            .map(|i| {
                let v = inv[i * n + i];
                (v > 0.0 && v.is_finite()).then(|| theta[i].exp() * v.sqrt())
            })
            .collect(),
        None => vec![None; n],
    }
}

/// The eigenvalues of a small symmetric matrix (row-major, `n × n`) by cyclic Jacobi rotations.
pub(crate) fn symmetric_eigenvalues(a: &[f64], n: usize) -> Vec<f64> {
    let mut m = a.to_vec();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j] * m[i * n + j])
            .sum();
        let diag: f64 = (0..n).map(|i| m[i * n + i] * m[i * n + i]).sum();
        if off <= 1e-30 * diag.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * akp - s * akq;
                    m[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * apk - s * aqk;
                    m[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| m[i * n + i]).collect()
}

/// The condition number of a symmetric positive-definite matrix (largest over smallest
/// eigenvalue); `None` when it is not positive definite.
pub(crate) fn condition_number(a: &[f64], n: usize) -> Option<f64> {
    let ev = symmetric_eigenvalues(a, n);
    let (lo, hi) = ev
        .iter()
        .fold((f64::INFINITY, 0.0_f64), |(lo, hi), &v| (lo.min(v), hi.max(v.abs())));
    (lo > 0.0 && lo.is_finite() && hi.is_finite()).then(|| hi / lo)
}

pub use crate::diagnostics::FitDiagnostics;

#[cfg(test)]
mod tests {
    use super::*;

    struct Rosenbrock;
    impl Objective for Rosenbrock {
        fn dim(&self) -> usize {
            2
        }
        fn eval(&self, t: &[f64], grad: Option<&mut [f64]>) -> f64 {
            let (x, y) = (t[0], t[1]);
            if let Some(g) = grad {
                g[0] = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x);
                g[1] = 200.0 * (y - x * x);
            }
            (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
        }
    }

    #[test]
    fn condition_number_of_a_diagonal_and_a_rotated_matrix() {
        let d = [4.0, 0.0, 0.0, 0.5];
        assert!((condition_number(&d, 2).unwrap() - 8.0).abs() < 1e-12);
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3
        let r = [2.0, 1.0, 1.0, 2.0];
        assert!((condition_number(&r, 2).unwrap() - 3.0).abs() < 1e-12);
        assert_eq!(condition_number(&[1.0, 2.0, 2.0, 1.0], 2), None);
    }

    #[test]
    fn bfgs_minimises_rosenbrock() {
        let r = minimize(
            &Rosenbrock,
            &[-1.2, 1.0],
            OptimSettings {
                max_iterations: 500,
                log_bound: 50.0,
                gtol: 1e-10,
            },
        );
        assert!(r.converged, "{r:?}");
        assert!(
            (r.theta[0] - 1.0).abs() < 1e-6 && (r.theta[1] - 1.0).abs() < 1e-6,
            "{r:?}"
        );
    }

    #[test]
    fn spd_inverse_inverts() {
        let a = [4.0, 2.0, 0.6, 2.0, 5.0, 1.0, 0.6, 1.0, 3.0];
        let inv = spd_inverse(&a, 3).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| a[i * 3 + k] * inv[k * 3 + j]).sum();
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        assert!(spd_inverse(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    #[test]
    fn numeric_gradient_matches() {
        let t = [0.3, -0.7];
        let mut g = [0.0; 2];
        let mut ga = [0.0; 2];
        numeric_gradient(|x| Rosenbrock.eval(x, None), &t, &mut g);
        Rosenbrock.eval(&t, Some(&mut ga));
        assert!((g[0] - ga[0]).abs() < 1e-6 && (g[1] - ga[1]).abs() < 1e-6);
    }
}
