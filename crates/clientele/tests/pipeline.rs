//! The library's jobs give the same answer whatever the event source (a store, in-memory
//! batches, a Parquet file streamed or ingested, a CSV file) and whatever the thread count.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use clientele::chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::kernels::rfm::RfmParams;
use clientele::kernels::summary::{SummaryParams, TimeUnit};
use clientele::models::ModelKind;
use clientele::pipeline::{
    ClvParams, Discount, EventSource, FileSource, churn_evaluate, churn_score, churn_train, clv, customer_rfm,
    customer_summary, fit,
};
use clientele::synth::{GenerateParams, event_schema, generate};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn summary_and_rfm_are_the_same_from_every_source() {
    let dir = tempfile::tempdir().unwrap();
    let batches = generate(&GenerateParams::default().customers(2_500).seed(11).validate().unwrap()).unwrap();
    let parquet = dir.path().join("events.parquet");
    let csv = dir.path().join("events.csv");
    clientele::io::write_batches(&event_schema(), &batches, &parquet).unwrap();
    clientele::io::write_batches(&event_schema(), &batches, &csv).unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("memory", batches.iter().cloned().map(Ok)).unwrap();
    let (store, _) = ing.finish().unwrap();
    let prep = SummaryParams::new(day(2025, 6, 30))
        .time_unit(TimeUnit::Week)
        .validate()
        .unwrap();
    let rfm_cfg = RfmParams::new(day(2025, 7, 1)).validate().unwrap();
    let sources = [
        EventSource::Store(&store),
        EventSource::batches("memory", batches.clone()),
        EventSource::Files(FileSource::new([&parquet])),
        EventSource::Files(FileSource::new([&csv])),
    ];
    let mut summaries = Vec::new();
    let mut rfms = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        let par = Parallelism::threads(1 + i % 3).unwrap();
        let s = customer_summary(source, &prep, &par).unwrap();
        assert_eq!(s.streamed, i == 2, "source {i}");
        if let Some(r) = &s.ingest {
            assert!(r.reconciles() && r.rows_rejected == 0);
        }
        // the streamed summary has the purchase columns; compare those
        let t = s.summary.table();
        let cols: Vec<_> = ["customer_id", "frequency", "recency", "T", "monetary_value"]
            .iter()
            .map(|c| t.column_by_name(c).unwrap().clone())
            .collect();
        summaries.push(cols);
        let r = customer_rfm(source, &rfm_cfg, &par).unwrap();
        assert_eq!(r.streamed, i == 2, "source {i}");
        rfms.push(r.table);
    }
    for i in 1..summaries.len() {
        assert_eq!(summaries[i], summaries[0], "summary of source {i}");
        assert_eq!(rfms[i], rfms[0], "rfm of source {i}");
    }
}

#[test]
fn model_and_churn_jobs_run_on_one_store_and_do_not_depend_on_threads() {
    let batches = generate(&GenerateParams::default().customers(3_000).seed(3).validate().unwrap()).unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("memory", batches.into_iter().map(Ok)).unwrap();
    let (store, _) = ing.finish().unwrap();
    let prep = SummaryParams::new(day(2025, 12, 31))
        .time_unit(TimeUnit::Week)
        .validate()
        .unwrap();
    let (one, three) = (Parallelism::threads(1).unwrap(), Parallelism::threads(3).unwrap());
    let summary = customer_summary(&EventSource::Store(&store), &prep, &one)
        .unwrap()
        .summary;
    for kind in [
        ModelKind::BgNbd,
        ModelKind::MbgNbd,
        ModelKind::ParetoNbd,
        ModelKind::GammaGamma,
    ] {
        let a = fit(&summary, kind, 0.0, &one).unwrap();
        let b = fit(&summary, kind, 0.0, &three).unwrap();
        assert_eq!(a.model, b.model, "{kind}");
    }
    assert!(fit(&summary, ModelKind::Sbg, 0.0, &one).is_err());
    let cfg = ClvParams::new(Discount::Monthly { rate: 0.01 }).validate().unwrap();
    assert_eq!(
        clv(&summary, &cfg, &one).unwrap().table,
        clv(&summary, &cfg, &three).unwrap().table
    );
    // churn: train before mid-2025, score and evaluate on the same split
    let cutoff = day(2025, 7, 1);
    let trained = churn_train(&store, cutoff, 90, Some(13.0), 1.0, false, &three).unwrap();
    assert!(trained.training_fit.roc_auc > 0.5, "{:?}", trained.training_fit);
    let scores = churn_score(&store, &trained.model, cutoff, Some(13.0), &one).unwrap();
    assert_eq!(scores.num_rows(), trained.labels.num_rows());
    let held = churn_evaluate(&store, &trained.model, cutoff, 90, Some(13.0), &one).unwrap();
    assert_eq!(held.roc_auc, trained.training_fit.roc_auc);
}
