//! Pareto/NBD against the published CDNOW results (Fader, Hardie & Lee 2005, "Counting your
//! customers the easy way"; R BTYD walkthrough figures), with the engine's own CDNOW summary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::OnceLock;

use arrow_array::RecordBatch;
use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use clientele::models::clv::{Discounting, discounted_purchases};
use clientele::models::holdout::{cumulative_expected_purchases, holdout_comparison};
use clientele::models::{ParetoNbd, ParetoNbdParams, RfmData};
use common::*;
use proptest::prelude::*;

fn cdnow_summary() -> &'static RecordBatch {
    static S: OnceLock<RecordBatch> = OnceLock::new();
    S.get_or_init(|| {
        let (store, _) = cdnow_store();
        let p = SummaryParams::new(date(1997, 9, 30))
            .observation_end(date(1998, 6, 30))
            .period(Period::Day)
            .time_unit(TimeUnit::Week);
        summarize(&store, &p.validate().unwrap(), &Parallelism::current()).unwrap()
    })
}

fn fitted() -> &'static ParetoNbd {
    static M: OnceLock<ParetoNbd> = OnceLock::new();
    M.get_or_init(|| {
        let d = RfmData::from_summary(cdnow_summary()).unwrap();
        ParetoNbdParams::new().validate().unwrap().fit(&d).unwrap()
    })
}

fn close(got: f64, want: f64, atol: f64, what: &str) {
    assert!((got - want).abs() <= atol, "{what}: got {got}, want {want} ± {atol}");
}

#[test]
fn cdnow_fit_matches_published_estimates() {
    let m = fitted();
    close(m.r, 0.553, 5e-4, "r");
    close(m.alpha, 10.578, 5e-4, "alpha");
    close(m.s, 0.606, 5e-4, "s");
    close(m.beta, 11.669, 5e-4, "beta");
    let diag = m.diagnostics.as_ref().unwrap();
    assert!(diag.converged, "{diag}");
    close(diag.log_likelihood, -9594.976, 5e-3, "log-likelihood");
    assert!(
        diag.standard_errors.iter().all(|s| s.is_some_and(|v| v > 0.0)),
        "{diag:?}"
    );
    let (x, tx, t) = (
        f64s(cdnow_summary(), "frequency"),
        f64s(cdnow_summary(), "recency"),
        f64s(cdnow_summary(), "T"),
    );
    let total: f64 = (0..x.len())
        .map(|i| m.log_likelihood_customer(x[i], tx[i], t[i]).unwrap())
        .sum();
    close(total, -9594.976, 5e-3, "Σ per-customer log-likelihood");
}

#[test]
fn unconditional_expectations() {
    let m = fitted();
    let want = [
        0.05077821, 0.09916088, 0.14542507, 0.18979930, 0.23247466, 0.27361274, 0.31335159, 0.35181024, 0.38909211,
    ];
    for (i, w) in want.iter().enumerate() {
        let t = (i + 1) as f64;
        // the tolerance the reference package's own test uses for these values (atol 0.01)
        close(m.expected_purchases(t).unwrap(), *w, 1e-2, &format!("E[X({t})]"));
    }
    close(m.expected_purchases(52.0).unwrap(), 1.473434, 1e-4, "E[X(52)]");
}

#[test]
fn walkthrough_customer_and_paradox() {
    let m = fitted();
    close(
        m.conditional_expected_purchases(52.0, 26.0, 30.85714, 31.0).unwrap(),
        25.45647,
        5e-3,
        "E[Y(52)]",
    );
    close(m.p_alive(26.0, 30.85714, 31.0).unwrap(), 0.997874, 1e-5, "P(alive)");
    for (x, want) in [
        (10.0, 0.7062289),
        (15.0, 0.1442396),
        (20.0, 0.02250658),
        (25.0, 0.00309267),
    ] {
        let got = m.conditional_expected_purchases(52.0, x, 20.0, 39.0).unwrap();
        assert!((got - want).abs() <= 2e-3 * want, "x={x}: {got} vs {want}");
    }
}

#[test]
fn cumulative_tracking_weeks_20_to_25() {
    // Expected cumulative repeat transactions of the cohort at calendar week w (from 1997-01-01):
    // Σ over customers of E[X(w − b)], b = the customer's first purchase week = max T − T.
    let m = fitted();
    let t = f64s(cdnow_summary(), "T");
    let t_max = t.iter().cloned().fold(0.0, f64::max);
    let want = [1308.856, 1385.275, 1459.923, 1532.906, 1604.32, 1674.253];
    let first: Vec<f64> = t.iter().map(|ti| t_max - ti).collect();
    let times: Vec<f64> = (20..=25).map(f64::from).collect();
    let track = cumulative_expected_purchases(m, &first, &times).unwrap();
    for (p, w) in track.iter().zip(want) {
        assert!(
            (p.cumulative - w).abs() <= 0.5,
            "week {}: {} vs {w}",
            p.time,
            p.cumulative
        );
    }
    // incremental = differences; by hand for week 21
    let week21: f64 = first
        .iter()
        .filter(|b| **b < 21.0)
        .map(|b| m.expected_purchases(21.0 - b).unwrap())
        .sum();
    assert!((track[1].cumulative - week21).abs() < 1e-9);
    assert!((track[1].incremental - (track[1].cumulative - track[0].cumulative)).abs() < 1e-12);
}

#[test]
fn holdout_comparison_on_cdnow() {
    let s = cdnow_summary();
    let (x, tx, t) = (f64s(s, "frequency"), f64s(s, "recency"), f64s(s, "T"));
    let (xh, dh) = (f64s(s, "frequency_holdout"), f64s(s, "duration_holdout"));
    let r = holdout_comparison(fitted(), &x, &tx, &t, &dh, &xh).unwrap();
    assert_eq!(r.actual_total, 1882.0);
    let by_hand: f64 = (0..x.len())
        .map(|i| {
            fitted()
                .conditional_expected_purchases(39.0, x[i], tx[i], t[i])
                .unwrap()
        })
        .sum();
    assert!((r.expected_total - by_hand).abs() < 1e-6);
    assert!((r.bias - (by_hand - 1882.0) / 2357.0).abs() < 1e-12);
    assert!(r.correlation > 0.5 && r.correlation <= 1.0, "corr {}", r.correlation);
    assert!(r.mean_absolute_error > 0.0 && r.root_mean_squared_error >= r.mean_absolute_error);
}

#[test]
fn dert_closed_form_agrees_with_quadrature() {
    let m = fitted();
    for delta in [0.0027, 0.01, 0.1, 1.0] {
        for (x, tx, t) in [
            (0.0, 0.0, 38.86),
            (2.0, 30.43, 38.86),
            (26.0, 30.85714, 31.0),
            (15.0, 20.0, 39.0),
        ] {
            let a = m.discounted_expected_residual_transactions(delta, x, tx, t).unwrap();
            let b = m
                .discounted_expected_residual_transactions_quadrature(delta, x, tx, t)
                .unwrap();
            assert!((a - b).abs() <= 1e-5 * b, "δ={delta} ({x},{tx},{t}): {a} vs {b}");
        }
    }
    // other shapes: s > 1 and s = 1
    for s in [1.0, 2.5, 7.0] {
        let m = ParetoNbd::new(0.8, 5.0, s, 20.0).unwrap();
        let a = m
            .discounted_expected_residual_transactions(0.003, 3.0, 20.0, 40.0)
            .unwrap();
        let b = m
            .discounted_expected_residual_transactions_quadrature(0.003, 3.0, 20.0, 40.0)
            .unwrap();
        assert!((a - b).abs() <= 1e-5 * b, "s={s}: {a} vs {b}");
    }
    // the continuous CLV convention uses it; a tiny rate approaches the undiscounted long-run limit from below
    let c = Discounting::Continuous {
        rate_per_time_unit: 0.0027,
    };
    let d = discounted_purchases(m, 2.0, 30.43, 38.86, &c).unwrap();
    let a = m
        .discounted_expected_residual_transactions(0.0027, 2.0, 30.43, 38.86)
        .unwrap();
    assert_eq!(d, a);
    assert!(d > m.conditional_expected_purchases(52.0, 2.0, 30.43, 38.86).unwrap());
}

#[test]
fn extreme_histories_stay_finite() {
    let m = ParetoNbd::new(0.553, 10.578, 0.606, 11.669).unwrap();
    // many early purchases, then a long silence: P(alive) is tiny but positive, never NaN
    let p = m.p_alive(400.0, 5.0, 300.0).unwrap();
    assert!((0.0..1e-50).contains(&p), "{p}");
    let ll = m.log_likelihood_customer(400.0, 5.0, 300.0).unwrap();
    assert!(ll.is_finite());
    // t_x = T: A₀ = 0, P(alive) = 1 exactly
    assert_eq!(m.p_alive(3.0, 20.0, 20.0).unwrap(), 1.0);
    // the α ≥ β and α < β branches meet continuously
    let l1 = ParetoNbd::new(0.5, 10.0, 0.6, 10.0 - 1e-9)
        .unwrap()
        .log_likelihood_customer(4.0, 20.0, 30.0)
        .unwrap();
    let l2 = ParetoNbd::new(0.5, 10.0, 0.6, 10.0 + 1e-9)
        .unwrap()
        .log_likelihood_customer(4.0, 20.0, 30.0)
        .unwrap();
    assert!((l1 - l2).abs() < 1e-8, "{l1} vs {l2}");
}

#[test]
fn json_round_trip() {
    let m = fitted();
    let back = ParetoNbd::from_json(&m.to_json().unwrap()).unwrap();
    for (a, b) in [(back.r, m.r), (back.alpha, m.alpha), (back.s, m.s), (back.beta, m.beta)] {
        assert!((a - b).abs() <= 1e-15 * b);
    }
    assert!(ParetoNbd::from_json(&m.to_json().unwrap().replace("\"pnbd\"", "\"bgnbd\"")).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn predictions_are_finite_and_bounded(
        r in 0.05f64..20.0, alpha in 0.1f64..200.0, s in 0.05f64..20.0, beta in 0.1f64..200.0,
        x in 0u32..200, frac_tx in 0.0f64..1.0, t_cal in 0.5f64..300.0,
    ) {
        let m = ParetoNbd::new(r, alpha, s, beta).unwrap();
        let x = f64::from(x);
        let tx = if x == 0.0 { 0.0 } else { frac_tx * t_cal };
        let pa = m.p_alive(x, tx, t_cal).unwrap();
        prop_assert!((0.0..=1.0).contains(&pa), "P(alive) {}", pa);
        prop_assert!(m.log_likelihood_customer(x, tx, t_cal).unwrap().is_finite());
        let mut prev = 0.0;
        for t in [1.0, 10.0, 52.0, 104.0] {
            let e = m.conditional_expected_purchases(t, x, tx, t_cal).unwrap();
            prop_assert!(e.is_finite() && e >= prev, "E[Y({})] = {} after {}", t, e, prev);
            prev = e;
        }
    }
}

#[test]
fn purchase_count_distribution_sums_to_one_and_has_the_model_mean() {
    // FHL 2005's CDNOW estimates.
    let m = clientele::models::ParetoNbd::new(0.553, 10.578, 0.606, 11.669).unwrap();
    for t in [1.0, 13.0, 39.0, 78.0] {
        let p: Vec<f64> = (0..600).map(|n| m.probability_of_purchases(t, n).unwrap()).collect();
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "t {t}");
        let total: f64 = p.iter().sum();
        let mean: f64 = p.iter().enumerate().map(|(n, v)| n as f64 * v).sum();
        assert!((total - 1.0).abs() < 1e-9, "t {t}: total {total}");
        let e = m.expected_purchases(t).unwrap();
        assert!(
            (mean - e).abs() < 1e-8 * e.max(1.0),
            "t {t}: mean {mean} vs E[X(t)] {e}"
        );
    }
    assert!(m.probability_of_purchases(-1.0, 0).is_err());
    assert_eq!(m.probability_of_purchases(0.0, 0).unwrap(), 1.0);
}
