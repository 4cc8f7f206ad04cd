//! The CDNOW sample summarized as the published BTYD analyses do (Fader, Hardie & Lee 2005;
//! data preparation as in `lifetimes` with `freq="D", freq_multiplier=7`): same-day purchases
//! merged, calibration 1997-01-01..1997-09-30, holdout to 1998-06-30, time in weeks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use common::*;

fn params() -> SummaryParams {
    SummaryParams::new(date(1997, 9, 30))
        .observation_end(date(1998, 6, 30))
        .period(Period::Day)
        .time_unit(TimeUnit::Week)
}

#[test]
fn ingest_accepts_every_row() {
    let (store, report) = cdnow_store();
    assert_eq!(report.rows_read, 6_919);
    assert_eq!(report.rows_accepted, 6_919);
    assert_eq!(report.rows_rejected, 0);
    assert!(report.reconciles());
    assert_eq!(store.num_customers(), 2_357);
    assert_eq!(store.num_events(), 6_919);
}

#[test]
fn calibration_and_holdout_match_the_published_preparation() {
    let (store, _) = cdnow_store();
    let s = summarize(&store, &params().validate().unwrap(), &Parallelism::current()).unwrap();
    assert_eq!(s.num_rows(), 2_357);
    let x = f64s(&s, "frequency");
    let t = f64s(&s, "T");
    let tx = f64s(&s, "recency");
    assert_eq!(x.iter().sum::<f64>(), 2_457.0);
    assert_eq!(x.iter().filter(|&&v| v > 0.0).count(), 946);
    let tmin = t.iter().cloned().fold(f64::INFINITY, f64::min);
    let tmax = t.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert!((tmin - 27.0).abs() < 1e-12, "min T {tmin}");
    assert!((tmax - 272.0 / 7.0).abs() < 1e-12, "max T {tmax}");
    assert!(tx.iter().zip(&t).all(|(r, t)| *r <= *t));
    // The first customer (masterid 00004, first purchase 1997-01-01): T = 272 / 7 = 38.857.
    assert_eq!(i64s(&s, "customer_id")[0], 4);
    assert!((t[0] - 38.857_142_857).abs() < 1e-9);
    // Holdout: Σx* = 1,882 over 39 weeks.
    let xh = f64s(&s, "frequency_holdout");
    assert_eq!(xh.iter().sum::<f64>(), 1_882.0);
    assert!(f64s(&s, "duration_holdout").iter().all(|&d| (d - 39.0).abs() < 1e-12));
    // 6,919 rows are 6,696 customer-days: 2,357 first days + 2,457 repeat days + 1,882 holdout days.
    assert_eq!(2_357.0 + x.iter().sum::<f64>() + xh.iter().sum::<f64>(), 6_696.0);
}

#[test]
fn monetary_value_statistics_match() {
    let (store, _) = cdnow_store();
    let s = summarize(&store, &params().validate().unwrap(), &Parallelism::current()).unwrap();
    let x = f64s(&s, "frequency");
    let mut m: Vec<f64> = f64s(&s, "monetary_value")
        .into_iter()
        .zip(&x)
        .filter(|(_, x)| **x > 0.0)
        .map(|(m, _)| m)
        .collect();
    assert_eq!(m.len(), 946);
    let n = m.len() as f64;
    let mean = m.iter().sum::<f64>() / n;
    let sd = (m.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    m.sort_by(f64::total_cmp);
    let median = (m[472] + m[473]) / 2.0;
    assert!((mean - 35.078).abs() < 1e-3, "mean {mean}");
    assert!((sd - 30.28).abs() < 5e-3, "sd {sd}");
    assert!((m[0] - 2.99).abs() < 5e-3, "min {}", m[0]);
    assert!((median - 27.50).abs() < 5e-3, "median {median}");
    assert!((m[945] - 299.63).abs() < 5e-3, "max {}", m[945]);
}

#[test]
fn thread_count_does_not_change_the_result() {
    let (store, _) = cdnow_store();
    let cfg = params().validate().unwrap();
    let one = summarize(&store, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
    let four = summarize(&store, &cfg, &Parallelism::threads(4).unwrap()).unwrap();
    assert_eq!(one, four);
}
