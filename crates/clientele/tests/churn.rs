//! Churn scoring: labels, features, the logistic model (checked against scikit-learn's golden
//! file in testdata/churn/) and determinism.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch};
use clientele::churn::evaluation::{average_precision, brier_score, evaluate, roc_auc};
use clientele::churn::{
    ChurnModel, ChurnModelParams, ClassWeight, FeatureParams, LabelParams, churn_features, churn_labels, label_values,
};
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::store::EventStore;
use clientele::synth::{GenerateParams, generate};
use common::*;

const FEATURES_CSV: &str = "churn/features.csv";

/// `clientele generate --customers 3000 --seed 7` (default window 2024-01-01..2025-12-31).
fn events() -> Vec<RecordBatch> {
    generate(&GenerateParams::default().customers(3000).seed(7).validate().unwrap()).unwrap()
}

fn store_of(batches: Vec<RecordBatch>) -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("synthetic", batches.into_iter().map(Ok)).unwrap();
    ing.finish().unwrap().0
}

fn cutoff_micros() -> i64 {
    clientele::time::date_to_micros(date(2025, 7, 1))
}

fn features(store: &EventStore, par: &Parallelism) -> RecordBatch {
    churn_features(
        store,
        &FeatureParams::new(date(2025, 7, 1)).validate().unwrap(),
        None,
        par,
    )
    .unwrap()
}

fn labels(store: &EventStore, par: &Parallelism) -> RecordBatch {
    churn_labels(
        store,
        &LabelParams::new(date(2025, 7, 1)).horizon_days(90).validate().unwrap(),
        par,
    )
    .unwrap()
}

/// The features and the label as CSV, floats in Rust's shortest round-trip form.
fn to_csv(features: &RecordBatch, labels: &RecordBatch) -> String {
    let schema = features.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut out = format!("{},churned\n", names.join(","));
    let ids = features.column(0).as_primitive::<Int64Type>();
    let y = label_values(labels).unwrap();
    for (i, label) in y.iter().enumerate() {
        out.push_str(&ids.value(i).to_string());
        for c in 1..features.num_columns() {
            out.push_str(&format!(
                ",{}",
                features.column(c).as_primitive::<Float64Type>().value(i)
            ));
        }
        out.push_str(&format!(",{label}\n"));
    }
    out
}

#[test]
fn features_csv_matches_testdata() {
    let store = store_of(events());
    let par = Parallelism::current();
    let csv = to_csv(&features(&store, &par), &labels(&store, &par));
    let committed = std::fs::read_to_string(testdata(FEATURES_CSV)).unwrap();
    assert!(
        csv == committed,
        "testdata/churn/features.csv is stale: regenerate with `cargo test -p clientele --test churn -- --ignored write_features_csv`"
    );
}

/// Writes testdata/churn/features.csv (run by benches/compare/churn_golden.py).
#[test]
#[ignore]
fn write_features_csv() {
    let store = store_of(events());
    let par = Parallelism::current();
    std::fs::write(
        testdata(FEATURES_CSV),
        to_csv(&features(&store, &par), &labels(&store, &par)),
    )
    .unwrap();
}

fn golden() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(testdata("churn/sklearn_golden.json")).unwrap()).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn coefficients_match_scikit_learn() {
    let store = store_of(events());
    let par = Parallelism::current();
    let (x, l) = (features(&store, &par), labels(&store, &par));
    let y = label_values(&l).unwrap();
    let g = golden();
    let names: Vec<String> = g["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    for (key, weight) in [("unweighted", ClassWeight::None), ("balanced", ClassWeight::Balanced)] {
        let sk = &g[key];
        let model = ChurnModelParams::new()
            .c(1.0)
            .class_weight(weight)
            .validate()
            .unwrap()
            .fit(&x, &l)
            .unwrap();
        assert_eq!(model.scaling.names, names);
        let coef = floats(&sk["coef"]);
        let mut max_diff = (model.intercept - sk["intercept"].as_f64().unwrap()).abs();
        for (a, b) in model.coefficients.iter().zip(&coef) {
            max_diff = max_diff.max((a - b).abs());
        }
        println!(
            "{key}: max |coefficient − scikit-learn| = {max_diff:e} ({} Newton iterations, gradient norm {:e})",
            model.diagnostics.iterations, model.diagnostics.gradient_norm
        );
        assert!(max_diff < 1e-4, "{key}: max coefficient difference {max_diff}");
        let p = model.predict(&x).unwrap();
        let auc = roc_auc(&y, &p).unwrap();
        let sk_auc = sk["roc_auc"].as_f64().unwrap();
        assert!((auc - sk_auc).abs() < 1e-9, "{key}: AUC {auc} vs {sk_auc}");
        // Our metrics on scikit-learn's own probabilities equal scikit-learn's metrics.
        let sk_p = floats(&sk["proba"]);
        assert!((roc_auc(&y, &sk_p).unwrap() - sk_auc).abs() < 1e-12);
        let ap = average_precision(&y, &sk_p).unwrap();
        assert!(
            (ap - sk["average_precision"].as_f64().unwrap()).abs() < 1e-12,
            "{key}: AP {ap}"
        );
        let brier = brier_score(&y, &sk_p).unwrap();
        assert!(
            (brier - sk["brier_score"].as_f64().unwrap()).abs() < 1e-12,
            "{key}: Brier {brier}"
        );
    }
}

/// Events on or after the cutoff, altered or removed, change no feature.
#[test]
fn no_leakage_from_after_the_cutoff() {
    let batches = events();
    let cut = cutoff_micros();
    let alter = |b: &RecordBatch, drop: bool| -> RecordBatch {
        let t = b
            .column_by_name("event_time")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        let after: Vec<bool> = t.values().iter().map(|&v| v >= cut).collect();
        if drop {
            let keep = BooleanArray::from(after.iter().map(|a| !a).collect::<Vec<_>>());
            return arrow_select::filter::filter_record_batch(b, &keep).unwrap();
        }
        // Multiply amounts by 7 and null every score after the cutoff.
        let idx = b.schema().index_of("amount").unwrap();
        let a = b.column(idx).as_primitive::<Float64Type>();
        let amount: Float64Array = (0..a.len())
            .map(|i| {
                a.is_valid(i)
                    .then(|| if after[i] { a.value(i) * 7.0 } else { a.value(i) })
            })
            .collect();
        let sidx = b.schema().index_of("score").unwrap();
        let s = b.column(sidx).as_primitive::<Float64Type>();
        let score: Float64Array = (0..s.len())
            .map(|i| (s.is_valid(i) && !after[i]).then(|| s.value(i)))
            .collect();
        let mut cols: Vec<ArrayRef> = b.columns().to_vec();
        cols[idx] = Arc::new(amount);
        cols[sidx] = Arc::new(score);
        RecordBatch::try_new(b.schema(), cols).unwrap()
    };
    let par = Parallelism::current();
    let base = features(&store_of(batches.clone()), &par);
    for drop in [true, false] {
        let changed = features(&store_of(batches.iter().map(|b| alter(b, drop)).collect()), &par);
        assert_eq!(base, changed, "drop = {drop}");
    }
    // ... while the labels do see them (dropping every later purchase churns everybody).
    let l = labels(&store_of(batches.iter().map(|b| alter(b, true)).collect()), &par);
    assert!(label_values(&l).unwrap().iter().all(|&v| v == 1.0));
}

#[test]
fn identical_on_one_and_three_threads() {
    let store = store_of(events());
    let run = |threads: usize| {
        let par = Parallelism::threads(threads).unwrap();
        let (x, l) = (features(&store, &par), labels(&store, &par));
        let model = par.install(|| {
            ChurnModelParams::new()
                .class_weight(ClassWeight::Balanced)
                .validate()
                .unwrap()
                .fit(&x, &l)
                .unwrap()
        });
        (x, l, model)
    };
    let (x1, l1, m1) = run(1);
    let (x3, l3, m3) = run(3);
    assert_eq!(x1, x3);
    assert_eq!(l1, l3);
    assert_eq!(m1, m3);
}

#[test]
fn saved_model_scores_new_data_with_the_training_scaling() {
    let store = store_of(events());
    let par = Parallelism::current();
    let (x, l) = (features(&store, &par), labels(&store, &par));
    let fp = FeatureParams::new(date(2025, 7, 1));
    let model = ChurnModelParams::new()
        .validate()
        .unwrap()
        .fit(&x, &l)
        .unwrap()
        .with_feature_params(&fp);
    let json = model.to_json().unwrap();
    assert!(json.contains("\"format\": \"clientele-model\"") && json.contains("\"model\": \"churn_logistic\""));
    let loaded = ChurnModel::from_json(&json).unwrap();
    assert_eq!(loaded, model);
    // Features recomputed from the store with the saved parameters score identically.
    let again = churn_features(&store, &loaded.feature_config(date(2025, 7, 1)).unwrap(), None, &par).unwrap();
    assert_eq!(loaded.score(&again).unwrap(), model.score(&x).unwrap());
    // Scoring 10 rows alone gives the same probabilities as scoring them among all rows.
    let all = model.score(&x).unwrap();
    let some = loaded.score(&x.slice(100, 10)).unwrap();
    assert_eq!(some, all.slice(100, 10));
    assert!(ChurnModel::from_json(&json.replace("churn_logistic", "bgnbd")).is_err());
    let mut bad = model.clone();
    bad.scaling.sds[3] = 0.0;
    assert!(ChurnModel::from_json(&bad.to_json().unwrap()).is_err());
    bad.coefficients.pop();
    assert!(ChurnModel::from_json(&bad.to_json().unwrap()).is_err());
    // New data from a store without `web` events: the missing channel share counts as 0.
    let web = x.schema().index_of("channel_share_web").unwrap();
    let mut cols = x.columns().to_vec();
    let mut fields: Vec<_> = x.schema().fields().iter().cloned().collect();
    cols.remove(web);
    fields.remove(web);
    let no_web = RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), cols).unwrap();
    let mut zero_web = x.columns().to_vec();
    zero_web[web] = Arc::new(Float64Array::from(vec![0.0; x.num_rows()]));
    let zero_web = RecordBatch::try_new(x.schema(), zero_web).unwrap();
    assert_eq!(loaded.predict(&no_web).unwrap(), loaded.predict(&zero_web).unwrap());
    assert!(loaded.predict(&x.project(&[0, 1]).unwrap()).is_err());
    // Importance: every feature once, largest |coefficient| first.
    let imp = model.feature_importance();
    assert_eq!(imp.len(), model.coefficients.len());
    assert!(imp.windows(2).all(|w| w[0].1.abs() >= w[1].1.abs()));
    // The evaluation runs and the model beats chance.
    let e = evaluate(
        &label_values(&l).unwrap(),
        all.column(1).as_primitive::<Float64Type>().values(),
    )
    .unwrap();
    assert!(e.roc_auc > 0.6 && e.top_decile.lift > 1.0, "{e:?}");
    assert_eq!(e.calibration.len(), 10);
}

#[test]
fn the_btyd_setting_is_saved_and_scoring_must_agree_with_it() {
    use clientele::churn::{BtydFeatures, DEFAULT_BTYD_WEEKS};
    let store = store_of(events());
    let par = Parallelism::current();
    let (x, l) = (features(&store, &par), labels(&store, &par));
    let fitted = ChurnModelParams::new().validate().unwrap().fit(&x, &l).unwrap();
    let used = fitted.clone().with_btyd(BtydFeatures::Used { weeks: 26.0 });
    let json = used.to_json().unwrap();
    let loaded = ChurnModel::from_json(&json).unwrap();
    assert_eq!(loaded.btyd, Some(BtydFeatures::Used { weeks: 26.0 }));
    // The saved weeks are used whatever the flag; giving them again is fine, other weeks are not.
    assert_eq!(loaded.btyd_for_scoring(false, None).unwrap(), Some(26.0));
    assert_eq!(loaded.btyd_for_scoring(true, None).unwrap(), Some(26.0));
    assert_eq!(loaded.btyd_for_scoring(true, Some(26.0)).unwrap(), Some(26.0));
    let e = loaded.btyd_for_scoring(true, Some(DEFAULT_BTYD_WEEKS)).unwrap_err();
    assert!(
        matches!(&e, clientele::Error::InvalidParameter { field: "btyd_weeks", message } if message.contains("26")),
        "{e:?}"
    );
    assert!(loaded.btyd_for_scoring(false, Some(f64::NAN)).is_err());
    // A model trained without them refuses them.
    let off = ChurnModel::from_json(&fitted.clone().with_btyd(BtydFeatures::Off).to_json().unwrap()).unwrap();
    assert_eq!(off.btyd_for_scoring(false, None).unwrap(), None);
    assert!(matches!(
        off.btyd_for_scoring(true, None),
        Err(clientele::Error::InvalidParameter { field: "btyd", .. })
    ));
    assert!(off.btyd_for_scoring(false, Some(26.0)).is_err());
    // A file saved before the setting was recorded (no `btyd` key) still loads, and the
    // request decides, as it did then.
    let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
    old["params"].as_object_mut().unwrap().remove("btyd");
    let old = ChurnModel::from_json(&old.to_string()).unwrap();
    assert_eq!(old.btyd, None);
    assert_eq!(old.btyd_for_scoring(false, None).unwrap(), None);
    assert_eq!(old.btyd_for_scoring(true, None).unwrap(), Some(DEFAULT_BTYD_WEEKS));
    assert_eq!(old.btyd_for_scoring(false, Some(4.0)).unwrap(), Some(4.0));
    // Saved weeks that are not positive and finite are invalid model data.
    let bad = fitted.with_btyd(BtydFeatures::Used { weeks: -1.0 }).to_json().unwrap();
    assert!(matches!(
        ChurnModel::from_json(&bad),
        Err(clientele::Error::InvalidModelData { column: "btyd", .. })
    ));
}

#[test]
fn extra_columns_join_by_customer_id() {
    let store = store_of(events());
    let par = Parallelism::current();
    let base = features(&store, &par);
    let ids = base.column(0).as_primitive::<Int64Type>().clone();
    // In reverse order, with p_alive = id / 10000.
    let rev: Int64Array = ids.iter().rev().collect();
    let p: Float64Array = rev.iter().map(|k| k.map(|k| k as f64 / 10_000.0)).collect();
    let extra = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(rev) as ArrayRef),
        ("p_alive", Arc::new(p) as _),
    ])
    .unwrap();
    let cfg = FeatureParams::new(date(2025, 7, 1)).validate().unwrap();
    let f = churn_features(&store, &cfg, Some(&extra), &par).unwrap();
    let col = f.column_by_name("p_alive").unwrap().as_primitive::<Float64Type>();
    for i in 0..f.num_rows() {
        assert_eq!(col.value(i), ids.value(i) as f64 / 10_000.0);
    }
    let short = extra.slice(1, extra.num_rows() - 1);
    assert!(churn_features(&store, &cfg, Some(&short), &par).is_err());
}

#[test]
fn invalid_parameters_are_errors() {
    assert!(LabelParams::new(date(2025, 1, 1)).horizon_days(0).validate().is_err());
    assert!(ChurnModelParams::new().c(0.0).validate().is_err());
    assert!(ChurnModelParams::new().tolerance(-1.0).validate().is_err());
    assert!(
        ChurnModelParams::new()
            .class_weight(ClassWeight::Explicit {
                negative: 1.0,
                positive: f64::NAN
            })
            .validate()
            .is_err()
    );
    assert!(
        FeatureParams::new(date(2025, 1, 1))
            .no_complaint_days(-1.0)
            .validate()
            .is_err()
    );
}
