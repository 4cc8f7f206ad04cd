//! Gamma-Gamma spend model against Fader & Hardie (2013), "The Gamma-Gamma model of monetary
//! value": the 946 CDNOW repeat buyers, monetary value = mean spend of the repeat purchase days
//! in calibration (same-day purchases merged), built by the engine's summary kernel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::OnceLock;

use arrow_array::RecordBatch;
use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use clientele::models::{GammaGamma, GammaGammaParams, SpendData};
use common::*;

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

fn fitted() -> &'static GammaGamma {
    static M: OnceLock<GammaGamma> = OnceLock::new();
    M.get_or_init(|| {
        let d = SpendData::from_summary(cdnow_summary()).unwrap();
        GammaGammaParams::new().validate().unwrap().fit(&d).unwrap()
    })
}

#[test]
fn cdnow_fit_matches_published_estimates() {
    let d = SpendData::from_summary(cdnow_summary()).unwrap();
    assert_eq!((d.customers(), d.skipped()), (946.0, 2357 - 946));
    assert!(d.len() < 946, "equal (x, m̄) rows merge: {} rows", d.len()); // e.g. x = 1, m̄ = 11.77 twice
    let m = fitted();
    assert!((m.p - 6.25).abs() < 5e-3, "p {}", m.p);
    assert!((m.q - 3.74).abs() < 5e-3, "q {}", m.q);
    assert!((m.gamma - 15.44).abs() < 5e-3, "gamma {}", m.gamma);
    let diag = m.diagnostics.as_ref().unwrap();
    assert!(diag.converged && diag.customers == 946.0 && diag.rows == d.len());
    assert!(
        (diag.log_likelihood - (-4055.9177)).abs() < 1e-3,
        "ll {}",
        diag.log_likelihood
    );
    assert!(diag.standard_errors.iter().all(|s| s.is_some_and(|v| v > 0.0)));
    // the independence diagnostic is reported (CDNOW: weak positive correlation)
    let rho = m.frequency_spend_correlation.unwrap();
    assert!(rho.abs() < 0.3, "corr {rho}");
    assert!((rho - d.frequency_spend_correlation()).abs() < 1e-15);
}

#[test]
fn conditional_expected_spend_of_the_first_ten_customers() {
    // "first" in the published listing is file order (the sample id), not the master id order
    // of the summary: take the first ten distinct master ids of the data file.
    let text = std::fs::read_to_string(testdata("cdnow/CDNOW_sample.txt")).unwrap();
    let mut first_ten: Vec<i64> = Vec::new();
    for line in text.lines() {
        let id: i64 = line.split_whitespace().next().unwrap().parse().unwrap();
        if !first_ten.contains(&id) {
            first_ten.push(id);
        }
        if first_ten.len() == 10 {
            break;
        }
    }
    let s = cdnow_summary();
    let (ids, x, mv) = (i64s(s, "customer_id"), f64s(s, "frequency"), f64s(s, "monetary_value"));
    let row = |id: i64| ids.iter().position(|&v| v == id).unwrap();
    let x10: Vec<f64> = first_ten.iter().map(|&id| x[row(id)]).collect();
    let m10: Vec<f64> = first_ten.iter().map(|&id| mv[row(id)]).collect();
    let want = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17];
    let m = fitted();
    let got = m.conditional_expected_average_spend_batch(&x10, &m10).unwrap();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() < 0.1, "customer {i}: {g} vs {w}");
    }
    // x = 0 gives the population mean pγ/(q−1)
    let pop = m.p * m.gamma / (m.q - 1.0);
    assert!((m.conditional_expected_average_spend(0.0, 0.0).unwrap() - pop).abs() < 1e-12);
    // a heavy buyer's expectation approaches her own mean
    let e = m.conditional_expected_average_spend(500.0, 80.0).unwrap();
    assert!((e - 80.0).abs() < 1.0 && e < 80.0);
}

#[test]
fn invalid_spend_rows_are_rejected_or_skipped() {
    use clientele::Error;
    // a repeat customer with a zero or negative mean spend cannot be fitted: excluded and counted
    let d = SpendData::from_slices(&[1.0, 2.0, 3.0], &[10.0, 0.0, -4.0], None).unwrap();
    assert_eq!((d.len(), d.non_positive(), d.skipped()), (1, 2, 0));
    let e = SpendData::from_slices(&[1.0], &[f64::NAN], None).unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidModelData {
            column: "monetary_value",
            row: 0,
            ..
        }
    ));
    assert!(SpendData::from_slices(&[0.0, 0.0], &[0.0, 5.0], None).is_err()); // nobody left
    let d = SpendData::from_slices(&[0.0, 3.0], &[-5.0, 5.0], None).unwrap(); // x = 0 rows are skipped
    assert_eq!((d.len(), d.skipped()), (1, 1));
    // input order does not matter
    let a = SpendData::from_slices(&[1.0, 2.0, 1.0], &[3.0, 4.0, 3.0], Some(&[0.5, 1.0, 2.0])).unwrap();
    let b = SpendData::from_slices(&[1.0, 1.0, 2.0], &[3.0, 3.0, 4.0], Some(&[2.0, 0.5, 1.0])).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.len(), a.customers()), (2, 3.5));
    assert!(
        GammaGamma::new(1.0, 0.5, 1.0)
            .unwrap()
            .conditional_expected_average_spend(0.0, 0.0)
            .is_err()
    );
    assert!(GammaGammaParams::new().max_iterations(0).validate().is_err());
}

#[test]
fn json_round_trip() {
    let m = fitted();
    let back = GammaGamma::from_json(&m.to_json().unwrap()).unwrap();
    for (a, b) in [(back.p, m.p), (back.q, m.q), (back.gamma, m.gamma)] {
        assert!((a - b).abs() <= 1e-15 * b, "{a} vs {b}"); // JSON float parsing may differ in the last bit
    }
    assert!(GammaGamma::from_json(&m.to_json().unwrap().replace("\"gg\"", "\"bgnbd\"")).is_err());
}

#[test]
fn weights_are_counts() {
    // doubling every row's weight leaves the estimates unchanged and doubles the log-likelihood
    let s = cdnow_summary();
    let (x, mv) = (f64s(s, "frequency"), f64s(s, "monetary_value"));
    let w = vec![2.0; x.len()];
    let d2 = SpendData::from_slices(&x, &mv, Some(&w)).unwrap();
    let m2 = GammaGammaParams::new().validate().unwrap().fit(&d2).unwrap();
    let m = fitted();
    assert!((m2.p - m.p).abs() < 1e-6 * m.p && (m2.gamma - m.gamma).abs() < 1e-6 * m.gamma);
    let ll2 = m2.diagnostics.as_ref().unwrap().log_likelihood;
    assert!((ll2 - 2.0 * m.diagnostics.as_ref().unwrap().log_likelihood).abs() < 1e-6);
}
