//! A job given a 1-thread pool uses only that pool: rayon's global pool is created lazily, on
//! first use, so if any step ran outside `Parallelism::install` the process would gain the
//! global pool's threads. Counted from /proc (Linux), in a test binary of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
#![cfg(target_os = "linux")]

use clientele::chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::kernels::rfm::RfmParams;
use clientele::kernels::summary::{SummaryParams, TimeUnit};
use clientele::pipeline::{ClvParams, Discount, EventSource, clv, customer_rfm, customer_summary};
use clientele::synth::{GenerateParams, generate};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn a_one_thread_job_never_starts_the_global_pool() {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let par = Parallelism::threads(1).unwrap();
    // generation runs in our pool too
    let batches = par
        .install(|| generate(&GenerateParams::default().customers(2_000).seed(9).validate().unwrap()))
        .unwrap();
    let before = threads();
    let source = EventSource::batches("memory", batches);
    let prep = SummaryParams::new(day(2025, 12, 31))
        .time_unit(TimeUnit::Week)
        .validate()
        .unwrap();
    let summary = customer_summary(&source, &prep, &par).unwrap().summary;
    assert_eq!(threads(), before, "summary ran on rayon's global pool");
    let rfm = customer_rfm(&source, &RfmParams::new(day(2026, 1, 1)).validate().unwrap(), &par).unwrap();
    assert_eq!(threads(), before, "rfm ran on rayon's global pool");
    let valued = clv(
        &summary,
        &ClvParams::new(Discount::Monthly { rate: 0.01 }).validate().unwrap(),
        &par,
    )
    .unwrap();
    assert!(rfm.table.num_rows() > 0 && valued.table.num_rows() > 0);
    assert_eq!(threads(), before, "clv ran on rayon's global pool");
    let again = clientele::pipeline::score_clv(
        &summary,
        &valued.models,
        &ClvParams::default().validate().unwrap(),
        &par,
    )
    .unwrap();
    assert_eq!(again.table, valued.table);
    for kind in [
        clientele::models::ModelKind::ParetoNbd,
        clientele::models::ModelKind::GammaGamma,
    ] {
        clientele::pipeline::fit(&summary, kind, 0.0, &par).unwrap();
    }
    let models = clientele::models::SavedModels::single(
        clientele::pipeline::fit(&summary, clientele::models::ModelKind::BgNbd, 0.0, &par)
            .unwrap()
            .model,
        Some(*summary.window()),
    );
    clientele::pipeline::predict(&summary, &models, "26w".parse().unwrap(), &par).unwrap();
    clientele::pipeline::check_model(&summary, &models, &Default::default(), &par).unwrap();
    assert_eq!(threads(), before, "fit, predict or check ran on rayon's global pool");
    let (store, _) = clientele::pipeline::load_events(&source, None, &par).unwrap();
    let cutoff = day(2025, 7, 1);
    let trained = clientele::pipeline::churn_train(&store, cutoff, 90, Some(13.0), 1.0, false, &par).unwrap();
    clientele::pipeline::churn_score(&store, &trained.model, cutoff, Some(13.0), &par).unwrap();
    clientele::pipeline::churn_evaluate(&store, &trained.model, cutoff, 90, Some(13.0), &par).unwrap();
    assert_eq!(threads(), before, "a churn job ran on rayon's global pool");
    // Saving and opening a store (the open reads its files with parallel positional reads),
    // then the views and segment jobs on it.
    let dir = tempfile::tempdir().unwrap();
    store.save(dir.path(), clientele::store::StoreFormat::Ipc).unwrap();
    let opened = clientele::store::EventStore::open(dir.path(), &par).unwrap();
    assert_eq!(threads(), before, "EventStore::open ran on rayon's global pool");
    let on_store = EventSource::Store(&opened);
    let as_of = day(2026, 1, 1);
    clientele::pipeline::cohort_view(
        &on_store,
        &clientele::views::CohortParams::new(as_of).validate().unwrap(),
        &par,
    )
    .unwrap();
    let c360 = clientele::views::Customer360Params::new().validate().unwrap();
    clientele::pipeline::customer360_view(&on_store, None, &c360, &par).unwrap();
    clientele::pipeline::value_segments(
        &on_store,
        &RfmParams::new(as_of).validate().unwrap(),
        clientele::kernels::rfm::Tiers::Deciles,
        &par,
    )
    .unwrap();
    assert_eq!(threads(), before, "a view or segment job ran on rayon's global pool");
}
