//! MBG/NBD against Batislam, Denizel & Filiztekin (2007) estimates on CDNOW (weekly summary
//! built by the engine).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use clientele::models::{BgNbd, MbgNbd, MbgNbdParams, RfmData};
use common::*;

#[test]
fn cdnow_fit_and_predictions() {
    let (store, _) = cdnow_store();
    let p = SummaryParams::new(date(1997, 9, 30))
        .observation_end(date(1998, 6, 30))
        .period(Period::Day)
        .time_unit(TimeUnit::Week);
    let s = summarize(&store, &p.validate().unwrap(), &Parallelism::current()).unwrap();
    let d = RfmData::from_summary(&s).unwrap();
    let m = MbgNbdParams::new().validate().unwrap().fit(&d).unwrap();
    for (got, want, name) in [
        (m.r, 0.525, "r"),
        (m.alpha, 6.183, "alpha"),
        (m.a, 0.891, "a"),
        (m.b, 1.614, "b"),
    ] {
        assert!((got - want).abs() <= 5e-4, "{name}: {got} vs {want}");
    }
    let diag = m.diagnostics.as_ref().unwrap();
    assert!(diag.converged);
    let (x, tx, t) = (f64s(&s, "frequency"), f64s(&s, "recency"), f64s(&s, "T"));
    let total: f64 = (0..x.len()).map(|i| m.log_likelihood_customer(x[i], tx[i], t[i])).sum();
    assert!(
        (total - diag.log_likelihood).abs() < 1e-6,
        "{total} vs {}",
        diag.log_likelihood
    );

    // unlike the BG/NBD, a one-time buyer is not certainly alive, and less so the longer ago she bought
    let p_recent = m.p_alive(0.0, 0.0, 27.0);
    let p_old = m.p_alive(0.0, 0.0, 38.86);
    assert!(p_old < p_recent && p_recent < 1.0, "{p_old} {p_recent}");
    assert_eq!(
        BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap().p_alive(0.0, 0.0, 38.86),
        1.0
    );

    // the conditional expectation is P(alive) times the expectation of a customer known to be alive,
    // which at t → 0 grows like t·(r+x)/(α+T)
    let (xx, txx, tt) = (2.0, 30.43, 38.86);
    let h = 1e-4;
    let rate = m.conditional_expected_purchases(h, xx, txx, tt).unwrap() / h;
    let want = m.p_alive(xx, txx, tt) * (m.r + xx) / (m.alpha + tt);
    assert!((rate - want).abs() < 1e-4 * want, "{rate} vs {want}");
    // and E[X(t)] of a new customer: (1 − dead at 0) · r t / α for small t
    let rate0 = m.expected_purchases(h).unwrap() / h;
    let want0 = m.b / (m.a + m.b) * m.r / m.alpha;
    assert!((rate0 - want0).abs() < 1e-4 * want0, "{rate0} vs {want0}");
    // batch predictions over all 2,357 customers are finite and non-negative
    let e = m.conditional_expected_purchases_batch(39.0, &x, &tx, &t).unwrap();
    assert!(e.iter().all(|v| v.is_finite() && *v >= 0.0));
    let back = MbgNbd::from_json(&m.to_json().unwrap()).unwrap();
    assert!((back.b - m.b).abs() <= 1e-15 * m.b);
}

#[test]
fn purchase_count_distribution_sums_to_one_and_has_the_model_mean() {
    // Batislam et al.'s CDNOW estimates; any parameters would do for these identities.
    let m = clientele::models::MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap();
    for t in [1.0, 13.0, 39.0, 78.0] {
        let p: Vec<f64> = (0..2_000).map(|n| m.probability_of_purchases(t, n)).collect();
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "t {t}");
        let total: f64 = p.iter().sum();
        let mean: f64 = p.iter().enumerate().map(|(n, v)| n as f64 * v).sum();
        assert!((total - 1.0).abs() < 1e-10, "t {t}: total {total}");
        let e = m.expected_purchases(t).unwrap();
        assert!(
            (mean - e).abs() < 1e-8 * e.max(1.0),
            "t {t}: mean {mean} vs E[X(t)] {e}"
        );
    }
}
