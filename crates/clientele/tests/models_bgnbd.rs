//! BG/NBD against the published CDNOW results (Fader, Hardie & Lee 2005, "Counting your
//! customers the easy way", Marketing Science 24(2)), the R BTYD walkthrough figures, and
//! Hardie's note 027 on numerical stability. The CDNOW summary is built by the engine itself
//! (weekly time unit, calibration to 1997-09-30), as in `tests/cdnow.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::OnceLock;

use arrow_array::RecordBatch;
use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use clientele::models::special::ln_hyp2f1;
use clientele::models::{BgNbd, BgNbdParams, RfmData};
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

fn fitted() -> &'static BgNbd {
    static M: OnceLock<BgNbd> = OnceLock::new();
    M.get_or_init(|| {
        let d = RfmData::from_summary(cdnow_summary()).unwrap();
        BgNbdParams::new().validate().unwrap().fit(&d).unwrap()
    })
}

fn published() -> BgNbd {
    BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap()
}

fn close(got: f64, want: f64, atol: f64, what: &str) {
    assert!((got - want).abs() <= atol, "{what}: got {got}, want {want} ± {atol}");
}

#[test]
fn cdnow_fit_matches_published_estimates() {
    let d = RfmData::from_summary(cdnow_summary()).unwrap();
    assert_eq!(d.customers(), 2357.0);
    assert!(d.len() < 1100, "compressed to {} rows", d.len());
    let m = fitted();
    close(m.r, 0.243, 5e-4, "r");
    close(m.alpha, 4.414, 5e-4, "alpha");
    close(m.a, 0.793, 5e-4, "a");
    close(m.b, 2.426, 5e-4, "b");
    let diag = m.diagnostics.as_ref().unwrap();
    assert!(diag.converged);
    close(diag.log_likelihood, -9582.429, 5e-3, "log-likelihood");
    close(
        m.log_likelihood(&d),
        diag.log_likelihood,
        1e-9,
        "log-likelihood recomputed",
    );
    // the per-customer form sums to the same total
    let x = f64s(cdnow_summary(), "frequency");
    let tx = f64s(cdnow_summary(), "recency");
    let t = f64s(cdnow_summary(), "T");
    let total: f64 = (0..x.len()).map(|i| m.log_likelihood_customer(x[i], tx[i], t[i])).sum();
    close(total, -9582.429, 5e-3, "Σ per-customer log-likelihood");
    // standard errors exist and are small relative to the estimates
    assert_eq!(diag.standard_errors.len(), 4);
    for (se, p) in diag.standard_errors.iter().zip([m.r, m.alpha, m.a, m.b]) {
        let se = se.unwrap();
        assert!(se > 0.0 && se < p, "se {se} for {p}");
    }
}

#[test]
fn compressed_and_uncompressed_rows_give_the_same_fit() {
    let s = cdnow_summary();
    let (x, tx, t) = (f64s(s, "frequency"), f64s(s, "recency"), f64s(s, "T"));
    let full = RfmData::from_slices_uncompressed(&x, &tx, &t, None).unwrap();
    assert_eq!(full.len(), 2357);
    let m2 = BgNbdParams::new().validate().unwrap().fit(&full).unwrap();
    let m1 = fitted();
    for (a, b) in [(m1.r, m2.r), (m1.alpha, m2.alpha), (m1.a, m2.a), (m1.b, m2.b)] {
        assert!((a - b).abs() <= 1e-6 * a, "{a} vs {b}");
    }
    // and the row order does not matter
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.reverse();
    let perm = |v: &[f64]| idx.iter().map(|&i| v[i]).collect::<Vec<_>>();
    let d_rev = RfmData::from_slices(&perm(&x), &perm(&tx), &perm(&t), None).unwrap();
    assert_eq!(d_rev, RfmData::from_summary(s).unwrap());
}

#[test]
fn conditional_expectation_of_the_paper() {
    // FHL 2005, section 5: E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226
    close(
        fitted()
            .conditional_expected_purchases(39.0, 2.0, 30.43, 38.86)
            .unwrap(),
        1.226,
        1e-3,
        "E[Y(39)]",
    );
    close(
        published()
            .conditional_expected_purchases(39.0, 2.0, 30.43, 38.86)
            .unwrap(),
        1.226,
        1e-3,
        "E[Y(39)]",
    );
}

#[test]
fn unconditional_expectations() {
    let m = fitted();
    for (t, want) in [
        (0.1429, 0.0078),
        (1.0, 0.0532),
        (3.0, 0.1506),
        (31.8571, 1.0405),
        (32.0, 1.0437),
        (78.0, 1.8576),
    ] {
        close(m.expected_purchases(t).unwrap(), want, 5e-4, &format!("E[X({t})]"));
    }
    close(m.expected_purchases(52.0).unwrap(), 1.444004, 1e-4, "E[X(52)]");
}

#[test]
fn walkthrough_customer_and_paradox() {
    let m = fitted();
    // R BTYD walkthrough: x=26, t_x=30.85714, T=31
    close(
        m.conditional_expected_purchases(52.0, 26.0, 30.85714, 31.0).unwrap(),
        25.75659,
        2e-3,
        "E[Y(52)]",
    );
    close(m.p_alive(26.0, 30.85714, 31.0), 0.9688523, 1e-4, "P(alive)");
    // "increasing frequency paradox": E[Y(52) | x, t_x=20, T=39]
    for (x, want) in [
        (10.0, 0.3474606),
        (15.0, 0.04283391),
        (20.0, 0.004158973),
        (25.0, 0.0003583685),
    ] {
        let got = m.conditional_expected_purchases(52.0, x, 20.0, 39.0).unwrap();
        assert!((got - want).abs() <= 2e-3 * want, "x={x}: {got} vs {want}");
    }
}

#[test]
fn probability_of_n_purchases() {
    let m = published();
    let p0 = m.probability_of_purchases(39.0, 0);
    assert!((p0 - 0.5737864).abs() < 1e-6, "P(X(39)=0) = {p0}");
    let p10 = m.probability_of_purchases(2.0, 10);
    assert!((p10 - 1.07869e-07).abs() < 1e-11, "P(X(2)=10) = {p10}");
    // a distribution: Σ_n P(X(t)=n) = 1 and Σ_n n P(X(t)=n) = E[X(t)]
    let (mut s, mut mean) = (0.0, 0.0);
    for n in 0..400 {
        let p = m.probability_of_purchases(10.0, n);
        assert!((0.0..=1.0).contains(&p));
        s += p;
        mean += f64::from(n) * p;
    }
    assert!((s - 1.0).abs() < 1e-9, "Σ P = {s}");
    assert!((mean - m.expected_purchases(10.0).unwrap()).abs() < 1e-8, "mean {mean}");
}

#[test]
fn hardie_note_027_stability() {
    let m = BgNbd::new(0.25, 4.0, 0.8, 2.5).unwrap();
    close(
        m.log_likelihood_customer(200.0, 38.0, 40.0),
        100.7957,
        1e-4,
        "ℓ(200, 38, 40)",
    );
    close(
        m.log_likelihood_customer(0.0, 0.0, 40.0),
        -0.59947382,
        1e-8,
        "ℓ(0, 0, 40)",
    );
    let p = m.p_alive(1000.0, 10.0, 100.0);
    assert_eq!(p, 0.0);
    let e = m.conditional_expected_purchases(52.0, 1000.0, 10.0, 100.0).unwrap();
    assert_eq!(e, 0.0);
    // still alive, a very heavy buyer: finite and large
    let e = m.conditional_expected_purchases(52.0, 1000.0, 99.9, 100.0).unwrap();
    assert!(e.is_finite() && e > 100.0, "{e}");
}

#[test]
fn series_agrees_with_the_papers_hypergeometric_form() {
    // FHL 2005 eq. 10 with ₂F₁ evaluated directly (well conditioned for a > 1)
    let m = BgNbd::new(0.8, 6.0, 2.7, 4.1).unwrap();
    for (t, x, tx, tc) in [
        (10.0, 0.0, 0.0, 30.0),
        (52.0, 3.0, 20.0, 39.0),
        (100.0, 40.0, 35.0, 39.0),
    ] {
        let (r, al, a, b) = (m.r, m.alpha, m.a, m.b);
        let z = t / (al + tc + t);
        let f = ln_hyp2f1(r + x, b + x, a + b + x - 1.0, z).unwrap();
        let bracket = 1.0 - ((r + x) * ((al + tc) / (al + tc + t)).ln() + f).exp();
        let want = (a + b + x - 1.0) / (a - 1.0) * bracket * m.p_alive(x, tx, tc);
        let got = m.conditional_expected_purchases(t, x, tx, tc).unwrap();
        assert!((got - want).abs() <= 1e-10 * want.max(1.0), "{got} vs {want}");
    }
}

#[test]
fn json_round_trip_and_version_check() {
    let m = fitted();
    let json = m.to_json().unwrap();
    assert!(json.contains("\"format\": \"clientele-model\"") && json.contains("\"model\": \"bgnbd\""));
    let back = BgNbd::from_json(&json).unwrap();
    for (a, b) in [(back.r, m.r), (back.alpha, m.alpha), (back.a, m.a), (back.b, m.b)] {
        assert!((a - b).abs() <= 1e-15 * b, "{a} vs {b}"); // JSON float parsing may differ in the last bit
    }
    let (d0, d1) = (m.diagnostics.as_ref().unwrap(), back.diagnostics.as_ref().unwrap());
    assert!((d0.log_likelihood - d1.log_likelihood).abs() < 1e-9);
    assert_eq!(
        (d0.iterations, d0.converged, d0.rows),
        (d1.iterations, d1.converged, d1.rows)
    );
    let v2 = json.replace("\"version\": 1", "\"version\": 2");
    assert!(matches!(BgNbd::from_json(&v2), Err(clientele::Error::Format { .. })));
    let other = json.replace("\"bgnbd\"", "\"pareto_nbd\"");
    assert!(BgNbd::from_json(&other).is_err());
    let bad = json.replace(&format!("{}", m.r), "-1.0");
    assert!(matches!(
        BgNbd::from_json(&bad),
        Err(clientele::Error::InvalidParameter { field: "r", .. })
    ));
}

#[test]
fn invalid_input_is_an_error_naming_the_row() {
    use clientele::Error;
    let e = RfmData::from_slices(&[1.0, 2.5], &[1.0, 2.0], &[5.0, 5.0], None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidModelData {
                column: "frequency",
                row: 1,
                ..
            }
        ),
        "{e}"
    );
    let e = RfmData::from_slices(&[1.0], &[6.0], &[5.0], None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidModelData {
                column: "recency",
                row: 0,
                ..
            }
        ),
        "{e}"
    );
    let e = RfmData::from_slices(&[0.0], &[0.0], &[f64::NAN], None).unwrap_err();
    assert!(matches!(e, Error::InvalidModelData { column: "T", .. }), "{e}");
    let e = RfmData::from_slices(&[0.0], &[0.0], &[1.0], Some(&[-1.0])).unwrap_err();
    assert!(matches!(e, Error::InvalidModelData { column: "weight", .. }), "{e}");
    assert!(RfmData::from_slices(&[0.0], &[0.0, 1.0], &[1.0], None).is_err());
    assert!(BgNbd::new(0.0, 1.0, 1.0, 1.0).is_err());
    let e = BgNbdParams::new().penalizer(-1.0).validate().unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { field: "penalizer", .. }));
    let e = BgNbdParams::new().tolerance(0.0).validate().unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { field: "tolerance", .. }));
    assert!(fitted().expected_purchases(-1.0).is_err());
    // predictions check the history instead of returning garbage
    assert!(fitted().conditional_expected_purchases(10.0, -1.0, 0.0, 5.0).is_err());
    assert!(fitted().conditional_expected_purchases(10.0, 2.0, 6.0, 5.0).is_err());
    assert!(
        fitted()
            .conditional_expected_purchases(10.0, 2.0, 1.0, f64::NAN)
            .is_err()
    );
    assert!(
        fitted()
            .conditional_expected_purchases_batch(10.0, &[1.0, -3.0], &[1.0, 0.0], &[2.0, 2.0])
            .is_err()
    );
}

#[test]
fn a_failed_fit_reports_its_diagnostics() {
    let d = RfmData::from_summary(cdnow_summary()).unwrap();
    let e = BgNbdParams::new()
        .max_iterations(2)
        .validate()
        .unwrap()
        .fit(&d)
        .unwrap_err();
    match e {
        clientele::Error::FitFailed { model, diagnostics } => {
            assert_eq!(model, "bgnbd");
            assert!(!diagnostics.converged);
            assert!(diagnostics.iterations >= 2 && diagnostics.gradient_norm > 0.0);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn batch_predictions_match_single_ones() {
    let s = cdnow_summary();
    let (x, tx, t) = (f64s(s, "frequency"), f64s(s, "recency"), f64s(s, "T"));
    let m = fitted();
    let e = m.conditional_expected_purchases_batch(39.0, &x, &tx, &t).unwrap();
    let pa = m.p_alive_batch(&x, &tx, &t).unwrap();
    for i in (0..x.len()).step_by(97) {
        assert_eq!(e[i], m.conditional_expected_purchases(39.0, x[i], tx[i], t[i]).unwrap());
        assert_eq!(pa[i], m.p_alive(x[i], tx[i], t[i]));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn predictions_are_finite_and_monotone(
        r in 0.01f64..50.0, alpha in 0.01f64..500.0, a in 0.01f64..50.0, b in 0.01f64..200.0,
        x in 0u32..300, frac_tx in 0.0f64..1.0, t_cal in 0.5f64..500.0,
    ) {
        let m = BgNbd::new(r, alpha, a, b).unwrap();
        let x = f64::from(x);
        let tx = if x == 0.0 { 0.0 } else { frac_tx * t_cal };
        let pa = m.p_alive(x, tx, t_cal);
        prop_assert!((0.0..=1.0).contains(&pa), "P(alive) {}", pa);
        let ll = m.log_likelihood_customer(x, tx, t_cal);
        prop_assert!(ll.is_finite(), "ℓ {}", ll);
        let mut prev_c = 0.0;
        let mut prev_u = 0.0;
        for t in [0.5, 1.0, 5.0, 26.0, 52.0, 104.0] {
            let c = m.conditional_expected_purchases(t, x, tx, t_cal).unwrap();
            let u = m.expected_purchases(t).unwrap();
            prop_assert!(c.is_finite() && c >= 0.0, "E[Y({})] = {}", t, c);
            prop_assert!(u.is_finite() && u >= 0.0, "E[X({})] = {}", t, u);
            prop_assert!(c >= prev_c * (1.0 - 1e-9) - 1e-12, "E[Y] not monotone at t={}: {} < {}", t, c, prev_c);
            prop_assert!(u >= prev_u * (1.0 - 1e-9) - 1e-12, "E[X] not monotone at t={}: {} < {}", t, u, prev_u);
            prev_c = c;
            prev_u = u;
        }
        for n in [0u32, 1, 5, 50] {
            let p = m.probability_of_purchases(26.0, n);
            prop_assert!((0.0..=1.0).contains(&p), "P(X=n) {}", p);
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // more rows than one chunk, so that the likelihood really runs in parallel
    let s = cdnow_summary();
    let (x, tx, t) = (f64s(s, "frequency"), f64s(s, "recency"), f64s(s, "T"));
    let rep = |v: &[f64]| v.iter().cycle().take(v.len() * 5).copied().collect::<Vec<_>>();
    let d = RfmData::from_slices_uncompressed(&rep(&x), &rep(&tx), &rep(&t), None).unwrap();
    let fit = |threads| {
        Parallelism::threads(threads)
            .unwrap()
            .install(|| BgNbdParams::new().validate().unwrap().fit(&d).unwrap())
    };
    let (one, two) = (fit(1), fit(2));
    assert_eq!((one.r, one.alpha, one.a, one.b), (two.r, two.alpha, two.a, two.b));
    assert_eq!(one.diagnostics, two.diagnostics);
    // five copies of every customer: same estimates as the original data
    let m = fitted();
    assert!((one.r - m.r).abs() < 1e-6 * m.r && (one.b - m.b).abs() < 1e-6 * m.b);
}
