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
        // one Parquet file and batches in memory are summarized straight from their columns
        assert_eq!(s.streamed, i == 1 || i == 2, "source {i}");
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
        assert_eq!(r.streamed, i == 1 || i == 2, "source {i}");
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

#[test]
fn views_and_segments_are_the_same_from_a_store_and_a_file_on_any_thread_count() {
    use clientele::kernels::kmeans::KMeansParams;
    use clientele::kernels::rfm::Tiers;
    use clientele::pipeline::{
        SegmentBy, acquisition_view, attribution_view, campaign_view, channel_view, cluster_segments, cohort_view,
        cross_sell_view, customer_card, customer360_view, fire_triggers, report_segments, satisfaction_view,
        value_segments,
    };
    use clientele::report::SegmentReportParams;
    use clientele::store::KeyRef;
    use clientele::triggers::TriggerRules;
    use clientele::views::{
        AttributionModel, AttributionParams, CampaignParams, ChannelParams, CohortParams, CrossSellParams,
        Customer360Params, SatisfactionParams,
    };

    let dir = tempfile::tempdir().unwrap();
    let batches = generate(&GenerateParams::default().customers(1_500).seed(5).validate().unwrap()).unwrap();
    let parquet = dir.path().join("events.parquet");
    clientele::io::write_batches(&event_schema(), &batches, &parquet).unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("memory", batches.iter().cloned().map(Ok)).unwrap();
    let (store, _) = ing.finish().unwrap();
    let as_of = day(2026, 1, 1);
    let (one, three) = (Parallelism::threads(1).unwrap(), Parallelism::threads(3).unwrap());
    let from_store = EventSource::Store(&store);
    let from_file = EventSource::Files(FileSource::new([&parquet]));

    let cohorts = CohortParams::new(as_of).validate().unwrap();
    let a = cohort_view(&from_store, &cohorts, &one).unwrap();
    let b = cohort_view(&from_file, &cohorts, &three).unwrap();
    assert!(a.ingest.is_none() && b.ingest.as_ref().is_some_and(|r| r.reconciles()));
    assert!(a.output.num_rows() > 0);
    assert_eq!(a.output, b.output, "cohorts");
    let m = clientele::views::retention_matrix(&a.output, 6).unwrap();
    assert!(m.num_rows() > 0 && m.num_columns() <= 8);

    let channels = ChannelParams::new().validate().unwrap();
    let (a, b) = (
        channel_view(&from_store, &channels, &one).unwrap().output,
        channel_view(&from_file, &channels, &three).unwrap().output,
    );
    assert!(a.channels.num_rows() > 0);
    assert_eq!((a.channels, a.preferred), (b.channels, b.preferred), "channels");
    assert_eq!(
        acquisition_view(&from_store, None, &channels, &one).unwrap().output,
        acquisition_view(&from_file, None, &channels, &three).unwrap().output,
        "acquisition"
    );
    let attribution = AttributionParams::new(AttributionModel::Linear).validate().unwrap();
    assert_eq!(
        attribution_view(&from_store, &attribution, &one).unwrap().output,
        attribution_view(&from_file, &attribution, &three).unwrap().output,
        "attribution"
    );
    let satisfaction = SatisfactionParams::new().validate().unwrap();
    let (a, b) = (
        satisfaction_view(&from_store, None, &satisfaction, &one)
            .unwrap()
            .output,
        satisfaction_view(&from_file, None, &satisfaction, &three)
            .unwrap()
            .output,
    );
    assert_eq!((a.summary, a.distribution), (b.summary, b.distribution), "satisfaction");
    let campaigns = CampaignParams::new().validate().unwrap();
    assert_eq!(
        campaign_view(&from_store, None, &campaigns, &one).unwrap().output,
        campaign_view(&from_file, None, &campaigns, &three).unwrap().output,
        "campaigns"
    );
    let cross = CrossSellParams::new().validate().unwrap();
    let (a, b) = (
        cross_sell_view(&from_store, &cross, &one).unwrap().output,
        cross_sell_view(&from_file, &cross, &three).unwrap().output,
    );
    assert_eq!((a.rules, a.next_best), (b.rules, b.next_best), "cross-sell");
    let c360 = Customer360Params::new().validate().unwrap();
    let table = customer360_view(&from_store, None, &c360, &one).unwrap().output;
    assert_eq!(table.num_rows(), store.num_customers());
    assert_eq!(
        table,
        customer360_view(&from_file, None, &c360, &three).unwrap().output,
        "360"
    );
    let key = store.customer_keys().get(0).unwrap();
    let card = customer_card(&from_file, key, None, &c360, &three)
        .unwrap()
        .output
        .unwrap();
    assert_eq!(card.row.num_rows(), 1);
    assert!(
        customer_card(&from_store, KeyRef::Str("nobody"), None, &c360, &one)
            .unwrap()
            .output
            .is_none()
    );

    // Segments: value tiers, clusters and the segment report.
    let rfm_cfg = RfmParams::new(as_of).validate().unwrap();
    let a = value_segments(&from_store, &rfm_cfg, Tiers::Deciles, &one).unwrap();
    let b = value_segments(&from_file, &rfm_cfg, Tiers::Deciles, &three).unwrap();
    assert_eq!((&a.table, &a.summary), (&b.table, &b.summary), "tiers");
    assert_eq!(a.summary.num_rows(), 10);
    let counted: u64 = a
        .summary
        .column_by_name("customers")
        .unwrap()
        .as_any()
        .downcast_ref::<clientele::arrow_array::UInt64Array>()
        .unwrap()
        .values()
        .iter()
        .sum();
    assert_eq!(counted as usize, a.table.num_rows(), "every customer in one tier");
    let kcfg = KMeansParams::default().k(4).seed(1).validate().unwrap();
    let features: Vec<String> = ["recency_days", "frequency", "monetary"].map(String::from).to_vec();
    let a = cluster_segments(&from_store, &rfm_cfg, &features, &kcfg, &one).unwrap();
    let b = cluster_segments(&from_file, &rfm_cfg, &features, &kcfg, &three).unwrap();
    assert_eq!(a.table, b.table, "clusters");
    assert_eq!(a.fit.sizes.iter().sum::<u64>() as usize, a.table.num_rows());
    let bad = cluster_segments(&from_store, &rfm_cfg, &["nope".to_string()], &kcfg, &one).unwrap_err();
    assert!(bad.to_string().contains("features"), "{bad}");
    for by in [SegmentBy::Rfm, SegmentBy::Tiers(Tiers::Pareto { top_share: 0.2 })] {
        let a = report_segments(&from_store, &rfm_cfg, by, SegmentReportParams::new(as_of), &one).unwrap();
        let b = report_segments(&from_file, &rfm_cfg, by, SegmentReportParams::new(as_of), &three).unwrap();
        assert!(a.report.num_rows() > 1);
        assert_eq!((a.report, a.table), (b.report, b.table), "segment report by {by:?}");
    }

    // Triggers over the 360 table.
    let rules = TriggerRules::from_toml("[[rules]]\nname = \"any\"\nwhen = \"orders >= 1\"\naction = \"a\"\n").unwrap();
    let run = fire_triggers(&rules, &table).unwrap();
    assert_eq!((run.rules, run.customers), (1, table.num_rows()));
    assert!(run.fired.num_rows() > 0 && run.fired.num_rows() <= table.num_rows());
}
