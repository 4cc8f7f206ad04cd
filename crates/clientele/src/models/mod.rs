//! Lifetime-value models: probabilistic "buy till you die" purchase models and the
//! Gamma-Gamma spend model, fitted by maximum likelihood on customer summaries.
//!
//! | model | type | paper | input |
//! |---|---|---|---|
//! | BG/NBD | [`BgNbd`] | Fader, Hardie & Lee (2005), *Counting your customers the easy way*, Marketing Science 24(2) | [`RfmData`] |
//! | Pareto/NBD | [`ParetoNbd`] | Schmittlein, Morrison & Colombo (1987); Fader, Hardie & Lee (2005) | [`RfmData`] |
//! | MBG/NBD | [`MbgNbd`] | Batislam, Denizel & Filiztekin (2007), IJRM 24(3) | [`RfmData`] |
//! | BG/BB | [`BgBb`] | Fader, Hardie & Shang (2010), Marketing Science 29(6) | [`BgBbData`] |
//! | sBG (contractual) | [`Sbg`] | Fader & Hardie (2007), J. Interactive Marketing 21(1) | [`SbgData`] |
//! | Gamma-Gamma | [`GammaGamma`] | Fader & Hardie (2013), *The Gamma-Gamma model of monetary value* | [`SpendData`] |
//! | holdout evaluation, tracking | [`holdout`] | | a purchase model + holdout columns |
//! | CLV | [`clv`] | lifetimes' discrete monthly sum; continuous discounting (DERT) | a purchase model + a spend model |
//!
//! Every model follows the same pattern: an unchecked `*Params` (serde, builder methods) is
//! validated into a `*Config` whose `fit` returns the fitted model, a plain value type with its
//! parameters, its [`FitDiagnostics`] (log-likelihood, iterations, gradient norm, standard
//! errors) and its predictions. A fitted model is saved and loaded as versioned JSON:
//! `{"format":"clientele-model","version":1,"model":"bgnbd","params":{...},"diagnostics":{...}}`.
//!
//! **Fitting.** Maximum likelihood over the log-parameters by BFGS (analytic gradients for
//! BG/NBD, MBG/NBD, Pareto/NBD, BG/BB and Gamma-Gamma, central differences for sBG) on distinct weighted rows, with times divided
//! by the largest T while fitting; standard errors come from the Hessian at the optimum (delta
//! method). A fit that does not converge is an [`Error::FitFailed`] carrying its diagnostics.
//! An optional L2 `penalizer` c adds c·N·Σ(parameter²) to the negative log-likelihood of N
//! customers (the `lifetimes` convention, on the rescaled parameters); it is 0 by default.
//!
//! **Time unit.** Models have no time unit of their own: α (and β) and every `t` are in the unit
//! of the summary they were fitted on (weeks in the CDNOW analyses). **Threads.** Fits and batch
//! predictions run on the current rayon pool (wrap calls in
//! [`Parallelism::install`](crate::exec::Parallelism::install) to choose it); results do not
//! depend on the number of threads (sums run over fixed chunks in a fixed order).
//! **Determinism.** No randomness, clock or environment variable is involved.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), clientele::Error> {
//! use clientele::models::{BgNbdParams, RfmData};
//! // (x, t_x, T) of six customers, in weeks
//! let d = RfmData::from_slices(
//!     &[0.0, 1.0, 4.0, 0.0, 2.0, 7.0],
//!     &[0.0, 10.0, 30.0, 0.0, 5.0, 35.5],
//!     &[39.0, 38.0, 39.0, 27.0, 30.0, 36.0],
//!     None,
//! )?;
//! let model = BgNbdParams::new().penalizer(0.01).validate()?.fit(&d)?;
//! let e = model.conditional_expected_purchases(52.0, 4.0, 30.0, 39.0)?;
//! assert!(e > 0.0 && model.p_alive(4.0, 30.0, 39.0) <= 1.0);
//! # Ok(()) }
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub mod bgbb;
pub mod bgnbd;
pub mod check;
pub mod clv;
pub mod covariates;
pub mod data;
pub mod gamma_gamma;
pub mod holdout;
pub mod kind;
pub mod mbgnbd;
pub(crate) mod optim;
mod params;
pub mod pareto_nbd;
pub mod saved;
pub mod sbg;
pub mod scores;
pub mod simulate;
pub mod special;
pub mod uncertainty;
pub mod window;

pub use bgbb::{BgBb, BgBbConfig, BgBbData, BgBbParams};
pub use bgnbd::{BgNbd, BgNbdConfig, BgNbdParams};
pub use data::{RfmData, SpendData};
pub use gamma_gamma::{GammaGamma, GammaGammaConfig, GammaGammaParams};
pub use kind::{FittedModel, ModelKind};
pub use mbgnbd::{MbgNbd, MbgNbdConfig, MbgNbdParams};
pub use optim::FitDiagnostics;
pub use pareto_nbd::{ParetoNbd, ParetoNbdConfig, ParetoNbdParams};
pub use saved::SavedModels;
pub use sbg::{Sbg, SbgConfig, SbgData, SbgParams};
pub use window::{DataWindow, Horizon, HorizonUnit};

/// Rows per chunk of a parallel likelihood sum (fixed, so sums do not depend on the thread count).
pub(crate) const CHUNK: usize = 4096;

/// Per-chunk sums over the rows `0..n` of a model's data, computed in parallel over fixed
/// chunks of [`CHUNK`] rows, each summed in row order (so that adding the chunks in order
/// gives the same bits whatever the thread count): `row(i, acc)` adds row `i`'s terms.
pub(crate) fn chunk_sums<const M: usize>(n: usize, row: impl Fn(usize, &mut [f64; M]) + Sync) -> Vec<[f64; M]> {
    use rayon::prelude::*;
    (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut acc = [0.0; M];
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                row(i, &mut acc);
            }
            acc
        })
        .collect()
}

/// Options shared by every fit; validated into [`FitOptions`] by each model's `validate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FitOptions {
    pub penalizer: f64,
    pub max_iterations: usize,
    pub tolerance: f64,
}

pub(crate) fn validate_options(
    penalizer: f64,
    max_iterations: usize,
    tolerance: f64,
    initial: Option<&[f64]>,
) -> Result<FitOptions> {
    if !penalizer.is_finite() || penalizer < 0.0 {
        return Err(Error::param(
            "penalizer",
            format!("must be finite and non-negative, got {penalizer}"),
        ));
    }
    if max_iterations == 0 {
        return Err(Error::param("max_iterations", "must be at least 1"));
    }
    if !tolerance.is_finite() || tolerance <= 0.0 {
        return Err(Error::param(
            "tolerance",
            format!("must be positive and finite, got {tolerance}"),
        ));
    }
    if let Some(init) = initial
        && init.iter().any(|v| !v.is_finite() || *v <= 0.0)
    {
        return Err(Error::param(
            "initial",
            format!("every value must be positive and finite, got {init:?}"),
        ));
    }
    Ok(FitOptions {
        penalizer,
        max_iterations,
        tolerance,
    })
}

/// Checks that named model parameters are positive and finite.
pub(crate) fn check_positive(values: &[(&'static str, f64)]) -> Result<()> {
    for &(name, v) in values {
        if !v.is_finite() || v <= 0.0 {
            return Err(Error::param(name, format!("must be positive and finite, got {v}")));
        }
    }
    Ok(())
}

/// Runs the minimiser (with one restart from where it stopped) and builds the diagnostics;
/// a fit that does not converge is an [`Error::FitFailed`].
pub(crate) fn run_fit(
    model: &'static str,
    names: &[&str],
    obj: &dyn optim::Objective,
    theta0: &[f64],
    opts: FitOptions,
    customers: f64,
    rows: usize,
) -> Result<(Vec<f64>, FitDiagnostics)> {
    let settings = optim::OptimSettings {
        max_iterations: opts.max_iterations,
        // a penalized likelihood always has an interior maximum (the penalty grows as θ²)
        log_bound: if opts.penalizer > 0.0 { f64::INFINITY } else { LOG_BOUND },
        gtol: opts.tolerance,
    };
    let mut res = optim::minimize(obj, theta0, settings);
    let (mut iterations, mut evaluations) = (res.iterations, res.evaluations);
    if !res.converged && res.at_bound.is_empty() && res.value.is_finite() {
        let again = optim::minimize(obj, &res.theta.clone(), settings);
        iterations += again.iterations;
        evaluations += again.evaluations;
        if again.value.is_finite() && again.value <= res.value {
            res = again;
        }
    }
    let at_bound = !res.at_bound.is_empty();
    let k = theta0.len();
    let (standard_errors, hessian_condition, covariance) = if res.converged || at_bound {
        let h = optim::hessian(obj, &res.theta);
        // at a boundary the curvature is reported, but no standard error: the estimates are
        // a point on the way to the limit, not a maximum with a sampling distribution
        let (se, cov) = if at_bound {
            (vec![None; k], None)
        } else {
            let cov = optim::spd_inverse(&h, k).filter(|c| c.iter().all(|v| v.is_finite()));
            (
                optim::standard_errors_from(&h, &res.theta),
                cov.map(|c| c.chunks(k).map(<[f64]>::to_vec).collect()),
            )
        };
        (se, optim::condition_number(&h, res.theta.len()), cov)
    } else {
        (vec![None; k], None, None)
    };
    let identified = res.converged && !at_bound && standard_errors.iter().all(Option::is_some);
    let diag = FitDiagnostics {
        log_likelihood: -res.value,
        iterations,
        evaluations,
        gradient_norm: res.gradient_norm,
        converged: res.converged,
        message: res.message,
        customers,
        rows,
        penalizer: opts.penalizer,
        standard_errors,
        hessian_condition,
        boundary: res
            .at_bound
            .iter()
            .filter_map(|&i| names.get(i).map(|n| (*n).to_string()))
            .collect(),
        identified,
        note: None,
        covariance: if identified { covariance } else { None },
    };
    if !diag.converged && !at_bound {
        return Err(Error::FitFailed {
            model,
            diagnostics: Box::new(diag),
        });
    }
    Ok((res.theta, diag))
}

/// How far (in natural log) a parameter may move from its data-based starting value before an
/// unpenalized search stops at a boundary: a factor 10^4.
pub(crate) const LOG_BOUND: f64 = 9.210_340_371_976_184;

/// The format tag of saved models.
pub const MODEL_FORMAT: &str = "clientele-model";
/// The version of the saved-model JSON layout.
pub const MODEL_FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope<P> {
    format: String,
    version: u32,
    model: String,
    params: P,
    #[serde(default)]
    diagnostics: Option<FitDiagnostics>,
}

pub(crate) fn to_json<P: Serialize>(
    model: ModelKind,
    params: P,
    diagnostics: Option<&FitDiagnostics>,
) -> Result<String> {
    to_json_named(model.as_str(), params, diagnostics)
}

/// [`to_json`] for a model outside [`ModelKind`] (the churn classifier), by its name.
pub(crate) fn to_json_named<P: Serialize>(
    model: &str,
    params: P,
    diagnostics: Option<&FitDiagnostics>,
) -> Result<String> {
    Ok(serde_json::to_string_pretty(&Envelope {
        format: MODEL_FORMAT.into(),
        version: MODEL_FORMAT_VERSION,
        model: model.to_owned(),
        params,
        diagnostics: diagnostics.cloned(),
    })?)
}

fn bad_model_json(message: String) -> Error {
    Error::Format {
        source_name: "model JSON".into(),
        format: MODEL_FORMAT,
        message,
    }
}

/// The header of a model document: its format, version and model name (checked).
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
    model: String,
}

fn read_header(json: &str) -> Result<Header> {
    let h: Header = serde_json::from_str(json).map_err(|e| bad_model_json(e.to_string()))?;
    if h.format != MODEL_FORMAT {
        return Err(bad_model_json(format!(
            "format is {:?}, expected {MODEL_FORMAT:?}",
            h.format
        )));
    }
    if h.version != MODEL_FORMAT_VERSION {
        return Err(bad_model_json(format!(
            "version {} is not supported (this build reads version {MODEL_FORMAT_VERSION})",
            h.version
        )));
    }
    Ok(h)
}

/// The kind of model a model document holds (after checking its format and version).
pub(crate) fn envelope_kind(json: &str) -> Result<ModelKind> {
    let h = read_header(json)?;
    ModelKind::parse(&h.model).map_err(|_| {
        bad_model_json(format!(
            "unknown model {:?}: expected one of {}",
            h.model,
            ModelKind::ALL.map(ModelKind::as_str).join(", ")
        ))
    })
}

pub(crate) fn from_json<P: DeserializeOwned>(model: ModelKind, json: &str) -> Result<(P, Option<FitDiagnostics>)> {
    let kind = envelope_kind(json)?;
    if kind != model {
        return Err(bad_model_json(format!(
            "the file holds a {:?} model, expected {:?}",
            kind.as_str(),
            model.as_str()
        )));
    }
    let env: Envelope<serde_json::Value> = serde_json::from_str(json).map_err(|e| bad_model_json(e.to_string()))?;
    let params = serde_json::from_value(env.params).map_err(|e| bad_model_json(format!("params: {e}")))?;
    Ok((params, env.diagnostics))
}

/// [`from_json`] for a model outside [`ModelKind`], by its name.
pub(crate) fn from_json_named<P: DeserializeOwned>(model: &str, json: &str) -> Result<(P, Option<FitDiagnostics>)> {
    let h = read_header(json)?;
    if h.model != model {
        return Err(bad_model_json(format!(
            "the file holds a {:?} model, expected {model:?}",
            h.model
        )));
    }
    let env: Envelope<serde_json::Value> = serde_json::from_str(json).map_err(|e| bad_model_json(e.to_string()))?;
    let params = serde_json::from_value(env.params).map_err(|e| bad_model_json(format!("params: {e}")))?;
    Ok((params, env.diagnostics))
}
