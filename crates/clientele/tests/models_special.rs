//! ln ₂F₁ against 50-digit mpmath values (`testdata/models/hyp2f1_golden.csv`, written once by
//! `benches/compare/mpmath_golden.py`) on the BG/NBD and Pareto/NBD domains.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use clientele::models::special::{ln_beta, ln_gamma, ln_hyp2f1};

#[test]
fn hyp2f1_matches_mpmath() {
    let text = std::fs::read_to_string(common::testdata("models/hyp2f1_golden.csv")).unwrap();
    let mut n = 0;
    let mut worst = 0.0_f64;
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
        let (a, b, c, z, want) = (v[0], v[1], v[2], v[3], v[4]);
        let got = ln_hyp2f1(a, b, c, z).unwrap_or_else(|e| panic!("{line}: {e}"));
        // relative accuracy of ₂F₁ itself = absolute accuracy of its logarithm
        let err = (got - want).abs() / want.abs().max(1.0);
        worst = worst.max(err);
        assert!(err < 1e-12, "a={a} b={b} c={c} z={z}: {got} vs {want}");
        n += 1;
    }
    assert!(n >= 100, "only {n} golden rows");
    eprintln!("{n} golden values, worst relative error {worst:e}");
}

#[test]
fn log_gamma_and_beta_closed_forms() {
    // Γ(5) = 24, Γ(1/2) = √π, B(2, 3) = 1/12
    assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-14);
    assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
    assert!((ln_beta(2.0, 3.0) + 12f64.ln()).abs() < 1e-14);
}
