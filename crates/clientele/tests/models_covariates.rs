#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! Static covariates: fits on 100,000 customers simulated with known parameters recover them.
//!
//! Every estimate must lie within 3 standard errors of the truth (the sampling error of one
//! sample of 100,000 customers is what separates them) and every covariate coefficient within
//! 0.03; the printed table (`--nocapture`) shows the errors against the 1e-2 the issue names.
//! The 95 % intervals must hold the truth for all but at most one parameter of each model.

use clientele::models::ModelKind;
use clientele::models::covariates::{CovariateData, CovariateModel, CovariateParams};
use clientele::models::simulate::{SimulatedModel, simulate};

fn recover(
    kind: ModelKind,
    truth: SimulatedModel,
    base: [f64; 4],
    gt: &[f64],
    gl: &[f64],
    seed: u64,
) -> CovariateModel {
    let h = simulate(truth, gt, gl, 100_000, (104.0, 156.0), seed).unwrap();
    let names_t: Vec<String> = (0..gt.len()).map(|j| format!("z{j}")).collect();
    let names_l: Vec<String> = (0..gl.len()).map(|j| format!("w{j}")).collect();
    let trans: Vec<(&str, &[f64])> = names_t
        .iter()
        .map(String::as_str)
        .zip(h.trans.iter().map(Vec::as_slice))
        .collect();
    let life: Vec<(&str, &[f64])> = names_l
        .iter()
        .map(String::as_str)
        .zip(h.life.iter().map(Vec::as_slice))
        .collect();
    let d = CovariateData::new(&h.frequency, &h.recency, &h.t, &trans, &life).unwrap();
    let started = std::time::Instant::now();
    let m = CovariateParams::new(kind).validate().unwrap().fit(&d).unwrap();
    let truth_all: Vec<f64> = base.iter().chain(gt).chain(gl).copied().collect();
    let diag = m.diagnostics.as_ref().unwrap();
    eprintln!(
        "{kind}: fitted in {:.2} s, {}",
        started.elapsed().as_secs_f64(),
        diag.status()
    );
    for (((name, est), t), se) in m.params().iter().zip(&truth_all).zip(&diag.standard_errors) {
        eprintln!(
            "  {name:<8} true {t:>8.4} est {est:>9.5} rel.err {:>9.2e} se {:?}",
            (est - t).abs() / t.abs().max(1.0),
            se
        );
    }
    let mut outside = 0;
    for (j, (((name, est), t), se)) in m.params().iter().zip(&truth_all).zip(&diag.standard_errors).enumerate() {
        let se = se.unwrap_or_else(|| panic!("{name}: no standard error"));
        assert!((est - t).abs() <= 3.0 * se, "{kind} {name}: {est} vs {t} (se {se})");
        if j >= 4 {
            assert!((est - t).abs() <= 0.03, "{kind} {name}: {est} vs {t}");
        }
    }
    for (p, t) in m.parameter_intervals(0.95).unwrap().iter().zip(&truth_all) {
        let (lo, hi) = (p.lower.unwrap(), p.upper.unwrap());
        assert!(lo < p.estimate && p.estimate < hi, "{p:?}");
        if !(lo..=hi).contains(t) {
            outside += 1;
        }
    }
    assert!(
        outside <= 1,
        "{kind}: {outside} of {} intervals miss the truth",
        truth_all.len()
    );
    m
}

#[test]
fn pareto_nbd_with_covariates_recovers_simulated_parameters() {
    let base = [1.5, 10.0, 1.0, 30.0];
    let truth = SimulatedModel::ParetoNbd {
        r: base[0],
        alpha: base[1],
        s: base[2],
        beta: base[3],
    };
    recover(ModelKind::ParetoNbd, truth, base, &[0.5, -0.3], &[0.4], 17);
}

#[test]
fn bg_nbd_with_covariates_recovers_simulated_parameters() {
    let base = [1.5, 10.0, 0.8, 4.0];
    let truth = SimulatedModel::BgNbd {
        r: base[0],
        alpha: base[1],
        a: base[2],
        b: base[3],
    };
    recover(ModelKind::BgNbd, truth, base, &[0.5, -0.3], &[0.4], 17);
}
