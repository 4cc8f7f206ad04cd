//! The summary of a whole saved store from its rollups (`summarize_rollup`) equals the summary
//! of its events byte for byte, in every period the rollup counts and any time unit, with and
//! without non-buyers; it is used only where it answers (a calibration end after the last
//! event, no holdout, a period of a day, a week or a month), a store with appended segments
//! merging the segments' rollups in, and the summary job says which path it took.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use arrow_array::RecordBatch;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize, summarize_rollup};
use clientele::pipeline::{EventSource, customer_summary, customer_summary_all};
use clientele::store::{EventStore, StoreFormat};
use common::{date, generated};

fn ingest(batch: &RecordBatch, options: &IngestOptions) -> EventStore {
    let mut ing = Ingestor::new(options).unwrap();
    ing.read_batches("gen", [Ok(batch.clone())]).unwrap();
    ing.finish().unwrap().0
}

fn par() -> Parallelism {
    Parallelism::threads(2).unwrap()
}

/// Every period the rollup counts, several time units, with and without non-buyers.
fn answered() -> Vec<SummaryParams> {
    let mut out = Vec::new();
    for period in [Period::Day, Period::Week, Period::Month] {
        for unit in [TimeUnit::Period, TimeUnit::Day, TimeUnit::Week] {
            for non_buyers in [false, true] {
                out.push(
                    SummaryParams::new(date(2027, 1, 1))
                        .period(period)
                        .time_unit(unit)
                        .include_non_buyers(non_buyers),
                );
            }
        }
    }
    out
}

#[test]
fn the_rollup_summary_is_the_events_summary_wherever_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest(&generated(3000, 21), &IngestOptions::default());
    store.save(dir.path(), StoreFormat::Ipc).unwrap();
    let (purchases, activity) = EventStore::open_activity(dir.path(), &par())
        .unwrap()
        .expect("an IPC store saves both rollups");
    assert_eq!(activity.types(), store.event_types());
    for params in answered() {
        let cfg = params.validate().unwrap();
        let want = summarize(&store, &cfg, &par()).unwrap();
        for threads in [1, 3] {
            let p = Parallelism::threads(threads).unwrap();
            let got = summarize_rollup(&purchases, &activity, &cfg, &p).unwrap();
            assert_eq!(got.as_ref(), Some(&want), "{params:?}, {threads} threads");
        }
    }
    // Where it cannot answer: a calibration end before the last event, a holdout, 14-day
    // periods.
    let last = chrono::DateTime::from_timestamp_micros(activity.last().unwrap())
        .unwrap()
        .date_naive();
    for params in [
        SummaryParams::new(last.pred_opt().unwrap()),
        SummaryParams::new(date(2027, 1, 1)).observation_end(date(2027, 6, 1)),
        SummaryParams::new(date(2027, 1, 1)).period(Period::Days(14)),
    ] {
        let cfg = params.validate().unwrap();
        assert_eq!(
            summarize_rollup(&purchases, &activity, &cfg, &par()).unwrap(),
            None,
            "{params:?}"
        );
    }
    // The calibration end on the day of the last event answers (it is inclusive).
    let cfg = SummaryParams::new(last).validate().unwrap();
    assert_eq!(
        summarize_rollup(&purchases, &activity, &cfg, &par()).unwrap(),
        Some(summarize(&store, &cfg, &par()).unwrap())
    );
}

#[test]
fn edge_histories_refunds_and_text_keys() {
    let dir = tempfile::tempdir().unwrap();
    // b buys twice on one day and once on the next Monday; a never buys; c buys once on the
    // last day of a month, then refunds on the first of the next; d's only purchase has no
    // amount; e buys on a Sunday and the Monday after (one day apart, two weeks).
    let batch = common::events(&[
        ("b", "2024-01-03T10:00:00.000001Z", "purchase", Some(10.005)),
        ("b", "2024-01-03T11:00:00Z", "purchase", Some(1.0)),
        ("b", "2024-01-08T00:00:00Z", "purchase", Some(2.5)),
        ("a", "2024-01-05T12:00:00Z", "web_visit", None),
        ("a", "2024-01-06T12:00:00Z", " email_open ", None),
        ("c", "2024-03-31T23:59:59Z", "purchase", Some(7.0)),
        ("c", "2024-04-01T00:00:00Z", "purchase", Some(-7.0)),
        ("d", "2024-01-01T00:00:00Z", "purchase", None),
        ("e", "2024-02-04T09:00:00Z", "purchase", Some(3.0)),
        ("e", "2024-02-05T09:00:00Z", "purchase", Some(4.0)),
        ("e", "2024-02-05T10:00:00Z", "web_visit", None),
    ]);
    let options = IngestOptions::default().allow_refunds(true);
    let store = ingest(&batch, &options);
    store.save(dir.path(), StoreFormat::Ipc).unwrap();
    let (purchases, activity) = EventStore::open_activity(dir.path(), &par()).unwrap().unwrap();
    for params in answered() {
        let cfg = params.validate().unwrap();
        let want = summarize(&store, &cfg, &par()).unwrap();
        let got = summarize_rollup(&purchases, &activity, &cfg, &par()).unwrap();
        assert_eq!(got.as_ref(), Some(&want), "{params:?}");
    }
    // An empty store saves empty rollups, and summarizes to no rows.
    let empty = dir.path().join("empty");
    EventStore::empty("purchase")
        .unwrap()
        .save(&empty, StoreFormat::Ipc)
        .unwrap();
    let (p, a) = EventStore::open_activity(&empty, &par()).unwrap().unwrap();
    let cfg = SummaryParams::new(date(2027, 1, 1)).validate().unwrap();
    let got = summarize_rollup(&p, &a, &cfg, &par()).unwrap().unwrap();
    assert_eq!(got.num_rows(), 0);
}

#[test]
fn the_summary_job_takes_the_rollup_only_where_it_answers_and_not_after_an_append() {
    let dir = tempfile::tempdir().unwrap();
    let all = generated(1500, 11);
    let store_dir = dir.path().join("store");
    let store = ingest(&all, &IngestOptions::default());
    store.save(&store_dir, StoreFormat::Ipc).unwrap();
    let saved = EventSource::Saved(store_dir.clone());
    for (end, used) in [(date(2027, 1, 1), true), (date(2025, 3, 1), false)] {
        let cfg = SummaryParams::new(end).period(Period::Week).validate().unwrap();
        let run = customer_summary_all(&saved, &cfg, &par()).unwrap();
        assert_eq!(run.from_rollup, used, "{end}");
        assert_eq!(run.summary.table(), &summarize(&store, &cfg, &par()).unwrap(), "{end}");
        // The models' summary (customer_summary) takes the same path.
        assert_eq!(customer_summary(&saved, &cfg, &par()).unwrap().from_rollup, used);
    }
    // A Parquet-storage store saves no rollups.
    let pq_dir = dir.path().join("pq-store");
    store.save(&pq_dir, StoreFormat::Parquet).unwrap();
    assert!(EventStore::open_activity(&pq_dir, &par()).unwrap().is_none());

    // After an append the rollups answer, the segment's merged in; compact changes nothing.
    let app = dir.path().join("appended");
    let (a, b) = (
        all.slice(0, all.num_rows() / 2),
        all.slice(all.num_rows() / 2, all.num_rows() - all.num_rows() / 2),
    );
    ingest(&a, &IngestOptions::default())
        .save(&app, StoreFormat::Ipc)
        .unwrap();
    ingest(&b, &IngestOptions::default())
        .append_saved(&app, &[], &par())
        .unwrap();
    assert!(EventStore::open_activity(&app, &par()).unwrap().is_some());
    let cfg = SummaryParams::new(date(2027, 1, 1)).validate().unwrap();
    let before = customer_summary_all(&EventSource::Saved(app.clone()), &cfg, &par()).unwrap();
    assert!(before.from_rollup);
    EventStore::compact_saved(&app, &par()).unwrap();
    let after = customer_summary_all(&EventSource::Saved(app.clone()), &cfg, &par()).unwrap();
    assert!(after.from_rollup);
    assert_eq!(after.summary.table(), before.summary.table());
    assert_eq!(after.summary.table(), &summarize(&store, &cfg, &par()).unwrap());
}
