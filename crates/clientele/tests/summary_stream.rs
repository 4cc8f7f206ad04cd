//! The summary's purchase columns straight from Parquet (`summarize_parquet`) equal the store
//! summary's same-named columns, row for row and bit for bit, for several periods, time units,
//! calibration ends, with and without a holdout, and for any thread count.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
use arrow_array::RecordBatch;
use chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::kernels::summary::{PURCHASE_COLUMNS, Period, SummaryParams, TimeUnit, summarize, summarize_parquet};

mod common;
use common::*;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn assert_same(streamed: &RecordBatch, full: &RecordBatch, what: &str) {
    assert_eq!(streamed.num_rows(), full.num_rows(), "{what}: rows");
    assert!(streamed.num_rows() > 0, "{what}: the case must list customers");
    let schema = streamed.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let expected: Vec<&str> = PURCHASE_COLUMNS
        .iter()
        .copied()
        .filter(|n| full.schema().index_of(n).is_ok())
        .collect();
    assert_eq!(names, expected, "{what}: columns");
    for name in names {
        let a = streamed.column_by_name(name).unwrap();
        let b = full.column_by_name(name).unwrap();
        assert_eq!(a.to_data(), b.to_data(), "{what}: column {name}");
    }
}

#[test]
fn streamed_purchase_columns_equal_the_store_summary() {
    let events = testdata("rfm/events.parquet");
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_parquet(&events).unwrap();
    let (store, report) = ing.finish().unwrap();
    assert_eq!(report.rows_rejected, 0);
    let cases = [
        (SummaryParams::new(date("2025-06-30")).period(Period::Week), "weekly"),
        (
            SummaryParams::new(date("2025-03-31"))
                .period(Period::Day)
                .observation_end(date("2025-09-30")),
            "daily with holdout",
        ),
        (
            SummaryParams::new(date("2025-04-15"))
                .period(Period::Day)
                .time_unit(TimeUnit::Week)
                .observation_end(date("2026-01-31")),
            "days in weeks with holdout",
        ),
        (SummaryParams::new(date("2025-12-31")).period(Period::Month), "monthly"),
    ];
    for (params, what) in cases {
        let cfg = params.validate().unwrap();
        let full = summarize(&store, &cfg, &Parallelism::current()).unwrap();
        for threads in [1, 3] {
            let par = Parallelism::threads(threads).unwrap();
            let streamed = summarize_parquet(&events, &cfg, &IngestOptions::default(), &par)
                .unwrap()
                .expect("the generated file is in the streaming path's scope");
            assert_same(&streamed, &full, &format!("{what}, {threads} threads"));
        }
    }
}

#[test]
fn listing_non_buyers_needs_every_event_and_takes_the_store_path() {
    let events = testdata("rfm/events.parquet");
    let cfg = SummaryParams::new(date("2025-06-30"))
        .include_non_buyers(true)
        .validate()
        .unwrap();
    let got = summarize_parquet(&events, &cfg, &IngestOptions::default(), &Parallelism::current()).unwrap();
    assert!(got.is_none());
}

#[test]
fn files_with_rows_ingestion_rejects_take_the_store_path() {
    let dir = tempfile::tempdir().unwrap();
    let write = |amounts: Vec<Option<f64>>| {
        purchases_parquet(dir.path(), &format!("e{}.parquet", amounts.len()), amounts, vec![])
    };
    let cfg = SummaryParams::new(date("2024-01-01")).validate().unwrap();
    let par = Parallelism::current();
    let ok = write(vec![Some(10.0), None, Some(5.5)]);
    let t = summarize_parquet(&ok, &cfg, &IngestOptions::default(), &par)
        .unwrap()
        .unwrap();
    assert_eq!(t.num_rows(), 3);
    // a negative purchase without refunds is a rejected row: the caller must take the store path
    let bad = write(vec![Some(10.0), Some(-1.0), Some(5.5), Some(1.0)]);
    assert!(
        summarize_parquet(&bad, &cfg, &IngestOptions::default(), &par)
            .unwrap()
            .is_none()
    );
}
