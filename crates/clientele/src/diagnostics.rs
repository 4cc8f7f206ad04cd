//! How a maximum-likelihood fit went: a ground type, used by the models and by the errors.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a maximum-likelihood fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitDiagnostics {
    /// The log-likelihood at the estimates (without the penalty), in the data's own time unit.
    pub log_likelihood: f64,
    /// BFGS iterations.
    pub iterations: usize,
    /// Objective evaluations (each with its gradient).
    pub evaluations: usize,
    /// ‖∇‖∞ of the (penalised) negative log-likelihood with respect to the log-parameters, at the end.
    pub gradient_norm: f64,
    /// Whether the optimiser's stopping rule (the gradient tolerance) was met. A
    /// [`crate::Error::FitFailed`] carries `false`; so does a fit that stopped at the search
    /// bound (see [`FitDiagnostics::boundary`]), which still returns the model.
    pub converged: bool,
    /// Why the minimiser stopped.
    pub message: String,
    /// Customers in the fit (the sum of the row weights).
    pub customers: f64,
    /// Distinct rows the likelihood was evaluated on.
    pub rows: usize,
    /// The L2 penalty coefficient used (0 for plain maximum likelihood).
    pub penalizer: f64,
    /// Standard errors of the parameters, in the model's parameter order, from the inverse
    /// Hessian of the negative log-likelihood (delta method from the log-parameters); `None` when the
    /// Hessian is not positive definite.
    pub standard_errors: Vec<Option<f64>>,
    /// The condition number of that Hessian (largest over smallest eigenvalue, in the
    /// log-parameters); `None` when it is not positive definite. Above about 10^10 the data
    /// barely determine some combination of the parameters.
    #[serde(default)]
    pub hessian_condition: Option<f64>,
    /// The parameters that ran to a boundary of the parameter space (to 0 or without bound).
    #[serde(default)]
    pub boundary: Vec<String>,
    /// True when the estimates are a proper maximum: converged, off every boundary, and with
    /// a positive-definite Hessian (so every standard error exists). Only such a fit is
    /// reported as "converged".
    #[serde(default = "yes")]
    pub identified: bool,
    /// What an unidentified or boundary fit means, in words (`None` for a proper maximum).
    #[serde(default)]
    pub note: Option<String>,
    /// The estimated covariance matrix of the fitted coordinates (rows in the model's
    /// parameter order): the inverse Hessian of the (penalised) negative log-likelihood. The
    /// coordinates are the natural logs of the parameters (ln r, ln α, …; the same whatever the
    /// time unit), and the covariate coefficients themselves for a covariate model. `None`
    /// when the Hessian is not positive definite or the fit stopped at a boundary. Confidence
    /// intervals of parameters and of predictions are computed from it
    /// ([`crate::models::uncertainty`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covariance: Option<Vec<Vec<f64>>>,
}

fn yes() -> bool {
    true
}

impl FitDiagnostics {
    /// A one-line status: "converged", or why the estimates are not a proper maximum.
    pub fn status(&self) -> String {
        match (&self.note, self.identified, self.converged) {
            (_, true, _) => "converged".into(),
            (Some(n), false, _) => format!("NOT identified: {n}"),
            (None, false, true) => "NOT identified: the Hessian is not positive definite".into(),
            (None, false, false) => "NOT converged".into(),
        }
    }

    /// Fills [`FitDiagnostics::note`] for a fit that stopped at a boundary, naming the limit
    /// model the estimates approach, from the fitted (natural) parameters.
    pub(crate) fn describe_boundary(&mut self, params: &[(&'static str, f64)]) {
        if self.boundary.is_empty() {
            if !self.identified && self.note.is_none() && self.converged {
                self.note = Some(
                    "the Hessian of the likelihood is not positive definite at the estimates: \
                     some parameter combination is not determined by the data (no standard errors)"
                        .into(),
                );
            }
            return;
        }
        let value = |n: &str| params.iter().find(|p| p.0 == n).map(|p| p.1);
        let has = |n: &str| self.boundary.iter().any(|b| b == n);
        // a pair runs to infinity together: one of them reached the bound and both are large
        let large = |n: &str| value(n).is_some_and(|v| v > 100.0);
        let pair = |a: &str, b: &str| (has(a) || has(b)) && large(a) && large(b);
        let note = if pair("s", "beta") {
            let mu = value("s").zip(value("beta")).map_or(f64::NAN, |(s, b)| s / b);
            format!(
                "s and beta grow without bound with s/beta = {mu:.6}: every customer has the same dropout rate \
                 ({mu:.6} per time unit, no heterogeneity); the estimates approximate that limit model and remain usable"
            )
        } else if pair("a", "b") {
            let p = value("a").zip(value("b")).map_or(f64::NAN, |(a, b)| a / (a + b));
            format!(
                "a and b grow without bound with a/(a+b) = {p:.6}: every customer has the same dropout probability \
                 ({p:.6}); the estimates approximate that limit model and remain usable"
            )
        } else if pair("r", "alpha") {
            let l = value("r").zip(value("alpha")).map_or(f64::NAN, |(r, a)| r / a);
            format!(
                "r and alpha grow without bound with r/alpha = {l:.6}: every customer has the same purchase rate \
                 ({l:.6} per time unit); the estimates approximate that limit model and remain usable"
            )
        } else if pair("gamma", "delta") {
            let p = value("gamma")
                .zip(value("delta"))
                .map_or(f64::NAN, |(g, d)| g / (g + d));
            format!(
                "gamma and delta grow without bound with gamma/(gamma+delta) = {p:.6}: every customer has the same \
                 dropout probability per period ({p:.6}); the estimates approximate that limit model and remain usable"
            )
        } else if pair("alpha", "beta") {
            let p = value("alpha").zip(value("beta")).map_or(f64::NAN, |(a, b)| a / (a + b));
            format!(
                "alpha and beta grow without bound with alpha/(alpha+beta) = {p:.6}: every customer has the same \
                 probability per period ({p:.6}); the estimates approximate that limit model and remain usable"
            )
        } else {
            let names = self
                .boundary
                .iter()
                .map(|n| format!("{n} = {:.6e}", value(n).unwrap_or(f64::NAN)))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "{names} ran to the edge of the search (a factor 10^4 from the start): the likelihood has no \
                 maximum inside the parameter space, so the data do not determine these parameters"
            )
        };
        self.note = Some(note);
    }
}

impl fmt::Display for FitDiagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} after {} iterations ({} evaluations): log-likelihood {}, gradient norm {:e}, {} customers in {} rows",
            self.message,
            self.iterations,
            self.evaluations,
            self.log_likelihood,
            self.gradient_norm,
            self.customers,
            self.rows
        )
    }
}
