//! `pipeline::check_model` against the series `lifetimes` 0.11.3's plotting functions compute
//! on the CDNOW sample (`testdata/models/check_lifetimes.json`, written by
//! `benches/compare/check_golden.py`), with the BG/NBD parameters lifetimes fitted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit};
use clientele::models::{BgNbd, DataWindow, FittedModel, SavedModels};
use clientele::pipeline::{CheckParams, EventSource, check_model, customer_summary};
use common::*;
use serde_json::Value;

fn golden() -> Value {
    serde_json::from_str(&std::fs::read_to_string(testdata("models/check_lifetimes.json")).unwrap()).unwrap()
}

fn setup() -> (clientele::pipeline::CustomerSummary, SavedModels, Value) {
    let (store, _) = cdnow_store();
    let cfg = SummaryParams::new(date(1997, 9, 30))
        .observation_end(date(1998, 6, 30))
        .period(Period::Day)
        .time_unit(TimeUnit::Week)
        .validate()
        .unwrap();
    let summary = customer_summary(&EventSource::Store(&store), &cfg, &Parallelism::current())
        .unwrap()
        .summary;
    let g = golden();
    let p = |k: &str| g["params"][k].as_f64().unwrap();
    let model = BgNbd::new(p("r"), p("alpha"), p("a"), p("b")).unwrap();
    let window = DataWindow::new(Period::Day, TimeUnit::Week);
    (summary, SavedModels::single(FittedModel::BgNbd(model), Some(window)), g)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
fn calibration_vs_holdout_and_matrices_match_lifetimes() {
    let (summary, models, g) = setup();
    let t = check_model(
        &summary,
        &models,
        &CheckParams::default(),
        &Parallelism::threads(2).unwrap(),
    )
    .unwrap();
    let h = t.calibration_vs_holdout.unwrap();
    let want = g["calibration_vs_holdout"].as_array().unwrap();
    // lifetimes' first 7 rows are frequencies 0..6 each on its own; our last bucket is "6 or
    // more", so compare 0..5 exactly and check the bucket counts add up
    let customers = u64s(&h, "customers");
    let (actual, expected) = (f64s(&h, "actual_holdout"), f64s(&h, "expected_holdout"));
    for (k, w) in want.iter().enumerate().take(6) {
        assert_eq!(customers[k], w["customers"].as_u64().unwrap(), "bucket {k}");
        assert!(
            close(actual[k], w["actual"].as_f64().unwrap()),
            "bucket {k} actual {}",
            actual[k]
        );
        assert!(
            close(expected[k], w["expected"].as_f64().unwrap()),
            "bucket {k} expected {} vs {}",
            expected[k],
            w["expected"]
        );
    }
    assert_eq!(customers.iter().sum::<u64>(), 2_357);
    // the matrix: every cell lifetimes computed that a customer can have
    let m = t.frequency_recency;
    let (fx, rx) = (u64s_u32(&m, "frequency"), u64s_u32(&m, "recency"));
    let (ex, px) = (f64s(&m, "expected_purchases"), f64s(&m, "p_alive"));
    let cells = g["matrix"]["cells"].as_array().unwrap();
    let mut compared = 0;
    for c in cells {
        let (f, r) = (c["frequency"].as_u64().unwrap(), c["recency"].as_u64().unwrap());
        if f == 0 && r > 0 {
            continue; // no customer has x = 0 with recency > 0
        }
        let i = (0..fx.len()).find(|&i| fx[i] == f && rx[i] == r).unwrap();
        assert!(
            close(ex[i], c["expected_purchases"].as_f64().unwrap()),
            "cell ({f}, {r}): {}",
            ex[i]
        );
        assert!(
            close(px[i], c["p_alive"].as_f64().unwrap()),
            "cell ({f}, {r}): {}",
            px[i]
        );
        compared += 1;
    }
    assert!(compared > 60, "{compared}");
    assert_eq!(
        g["matrix"]["max_recency"].as_u64().unwrap(),
        *rx.iter().max().unwrap(),
        "T of the matrix is the largest T"
    );
}

fn u64s_u32(batch: &clientele::arrow_array::RecordBatch, name: &str) -> Vec<u64> {
    batch
        .column_by_name(name)
        .unwrap()
        .as_any()
        .downcast_ref::<clientele::arrow_array::UInt32Array>()
        .unwrap()
        .values()
        .iter()
        .map(|v| u64::from(*v))
        .collect()
}

#[test]
fn period_transactions_and_tracking_add_up() {
    let (summary, models, _) = setup();
    let t = check_model(
        &summary,
        &models,
        &CheckParams::default(),
        &Parallelism::threads(1).unwrap(),
    )
    .unwrap();
    let p = t.period_transactions;
    let actual = u64s(&p, "actual_customers");
    let expected = f64s(&p, "expected_customers");
    assert_eq!(actual.len(), 8);
    assert_eq!(actual.iter().sum::<u64>(), 2_357);
    assert!((expected.iter().sum::<f64>() - 2_357.0).abs() < 1e-6);
    // the model fits CDNOW's zero class closely (1,411 one-time buyers)
    assert_eq!(actual[0], 1_411);
    assert!((expected[0] - 1_411.0).abs() < 0.05 * 1_411.0, "{}", expected[0]);
    // tracking: cumulative is increasing and the increments sum to it
    let cum = f64s(&t.tracking, "expected_cumulative");
    let inc = f64s(&t.tracking, "expected_incremental");
    assert!(cum.windows(2).all(|w| w[1] >= w[0]));
    assert!((inc.iter().sum::<f64>() - cum.last().unwrap()).abs() < 1e-6 * cum.last().unwrap());
    // 78 weeks of calibration and holdout (the published tracking plot's span)
    assert_eq!(cum.len(), 78);
    // the same bits on 1 and 2 threads
    let again = check_model(
        &summary,
        &models,
        &CheckParams::default(),
        &Parallelism::threads(2).unwrap(),
    )
    .unwrap();
    assert_eq!(again.tracking, t.tracking);
    assert_eq!(again.period_transactions, p);
}
