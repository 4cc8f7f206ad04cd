//! Every column of the summary (the purchase columns and the activity columns `first_event`,
//! `last_event`, `count_<type>`) straight from Parquet or from record batches
//! (`summarize_parquet_all`, `summarize_batches_all`) equals the store summary's whole table,
//! schema and bytes: for the generated file in several windows, with and without non-buyers
//! and a holdout, at 1 and 3 threads; and for histories the generator does not write (types
//! seen only after the calibration end, customers whose events all come later or who never
//! buy, padded type names, no type column) with integer, sparse and text keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::DataType;
use chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::kernels::summary::{
    PURCHASE_COLUMNS, Period, SummaryConfig, SummaryParams, TimeUnit, summarize, summarize_batches_all,
    summarize_parquet, summarize_parquet_all,
};
use clientele::pipeline::{EventSource, FileSource, customer_summary_all};
use clientele::schema::Role;

mod common;
use common::*;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn roles() -> IngestOptions {
    IngestOptions::default().only(&[Role::EventType, Role::Amount])
}

/// The store summary of the Parquet file at `path` (loaded as `customer_summary_all` would).
fn store_summary(path: &std::path::Path, cfg: &SummaryConfig) -> RecordBatch {
    let mut ing = Ingestor::new(&roles()).unwrap();
    ing.read_parquet(path).unwrap();
    let (store, report) = ing.finish().unwrap();
    assert_eq!(report.rows_rejected, 0);
    summarize(&store, cfg, &Parallelism::current()).unwrap()
}

fn assert_same(got: &RecordBatch, want: &RecordBatch, what: &str) {
    assert!(want.num_rows() > 0, "{what}: the case must list customers");
    assert_eq!(got.schema(), want.schema(), "{what}: schema");
    for (f, (a, b)) in want
        .schema()
        .fields()
        .iter()
        .zip(got.columns().iter().zip(want.columns()))
    {
        assert_eq!(a.to_data(), b.to_data(), "{what}: column {}", f.name());
    }
}

fn cases() -> Vec<(SummaryParams, &'static str)> {
    vec![
        (SummaryParams::new(day("2025-06-30")).period(Period::Week), "weekly"),
        (
            SummaryParams::new(day("2025-03-31"))
                .period(Period::Day)
                .observation_end(day("2025-09-30")),
            "daily with holdout",
        ),
        (
            SummaryParams::new(day("2025-04-15"))
                .time_unit(TimeUnit::Week)
                .include_non_buyers(true),
            "non-buyers, days in weeks",
        ),
        (
            SummaryParams::new(day("2024-02-01"))
                .include_non_buyers(true)
                .observation_end(day("2026-01-31")),
            "early end, non-buyers, holdout",
        ),
    ]
}

#[test]
fn the_generated_file_streams_every_column_as_the_store_does() {
    let events = testdata("rfm/events.parquet");
    for (params, what) in cases() {
        let cfg = params.validate().unwrap();
        let want = store_summary(&events, &cfg);
        for threads in [1, 3] {
            let par = Parallelism::threads(threads).unwrap();
            let got = summarize_parquet_all(&events, &cfg, &roles(), &par)
                .unwrap()
                .unwrap_or_else(|| panic!("{what}: the generated file is in the scan's scope"));
            assert_same(&got, &want, &format!("{what}, {threads} threads"));
            // The purchase columns alone, non-buyers included, stream too.
            let purchases = summarize_parquet(&events, &cfg, &roles(), &par).unwrap().unwrap();
            let keep: Vec<usize> = PURCHASE_COLUMNS
                .iter()
                .filter_map(|n| want.schema().index_of(n).ok())
                .collect();
            assert_same(&purchases, &want.project(&keep).unwrap(), &format!("{what}: purchases"));
        }
        // The pipeline takes the streamed path and says so.
        let run = customer_summary_all(
            &EventSource::Files(FileSource::new([events.clone()])),
            &cfg,
            &Parallelism::threads(2).unwrap(),
        )
        .unwrap();
        assert!(run.streamed, "{what}");
        assert!(run.ingest.is_none());
        assert_same(run.summary.table(), &want, &format!("{what}: pipeline"));
    }
}

#[test]
fn batches_in_memory_stream_every_column_in_any_type_layout() {
    let events = testdata("rfm/events.parquet");
    let file = std::fs::File::open(&events).unwrap();
    let read: Vec<RecordBatch> = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 8192)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let dict = |k: DataType, v: DataType| DataType::Dictionary(Box::new(k), Box::new(v));
    let layouts = [
        (DataType::Utf8, 8192, "utf8"),
        (DataType::LargeUtf8, 1000, "large utf8"),
        (DataType::Utf8View, 3333, "utf8 view"),
        (dict(DataType::Int32, DataType::Utf8), 8192, "dictionary"),
        (dict(DataType::UInt32, DataType::LargeUtf8), 5000, "categorical"),
    ];
    for (params, what) in cases().into_iter().take(3) {
        let cfg = params.validate().unwrap();
        let want = store_summary(&events, &cfg);
        for (ty, chunk, layout) in &layouts {
            let batches: Vec<RecordBatch> = read
                .iter()
                .flat_map(|b| {
                    (0..b.num_rows())
                        .step_by(*chunk)
                        .map(|s| b.slice(s, (*chunk).min(b.num_rows() - s)))
                        .collect::<Vec<_>>()
                })
                .map(|b| replace_column(&b, "event_type", |c| arrow_cast::cast(c, ty).unwrap()))
                .collect();
            for threads in [1, 3] {
                let par = Parallelism::threads(threads).unwrap();
                let got = summarize_batches_all(&batches, &cfg, &roles(), &par)
                    .unwrap()
                    .unwrap_or_else(|| panic!("{what}, {layout}: in the scan's scope"));
                assert_same(&got, &want, &format!("{what}, {layout}, {threads} threads"));
            }
        }
    }
}

/// Columns of a history: keys, times (µs), types, amounts.
type History = (Vec<i64>, Vec<i64>, Vec<&'static str>, Vec<Option<f64>>);

/// A history the generator does not write, as a pyarrow user might hand it over: customer 7
/// buys and visits; 8 only visits; 9's events all come after the calibration end, one of a
/// type ("survey") seen nowhere else; 10 buys once, on the calibration end's day; types come
/// padded with blanks.
fn unusual_history() -> History {
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
    let rows = [
        (7, "2024-01-05T10:00:00Z", "purchase", Some(10.0)),
        (7, "2024-01-05T11:00:00Z", " web_visit", None),
        (8, "2024-02-01T00:00:00Z", "web_visit", None),
        (7, "2024-03-01T00:00:00Z", "purchase ", Some(2.5)),
        (9, "2024-07-01T00:00:00Z", "survey", None),
        (8, "2024-01-01T00:00:00Z", "email_open", None),
        (9, "2024-08-01T00:00:00Z", "purchase", Some(4.0)),
        (10, "2024-06-30T23:59:59Z", "purchase", None),
        (7, "2024-09-01T00:00:00Z", "purchase", Some(1.0)),
        (8, "2024-06-30T12:00:00Z", "web_visit", None),
    ];
    (
        rows.iter().map(|r| r.0).collect(),
        rows.iter().map(|r| t(r.1)).collect(),
        rows.iter().map(|r| r.2).collect(),
        rows.iter().map(|r| r.3).collect(),
    )
}

fn history_batch(keys: ArrayRef, types: Option<ArrayRef>) -> RecordBatch {
    let (_, times, _, amounts) = unusual_history();
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("customer_id", keys),
        (
            "event_time",
            Arc::new(TimestampMicrosecondArray::from(times).with_timezone("UTC")),
        ),
    ];
    if let Some(t) = types {
        cols.push(("event_type", t));
    }
    cols.push(("amount", Arc::new(Float64Array::from(amounts))));
    RecordBatch::try_from_iter(cols).unwrap()
}

#[test]
fn unusual_histories_and_keys_stream_as_the_store_summarizes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, _, types, _) = unusual_history();
    let types: ArrayRef = Arc::new(StringArray::from(types));
    let dict_types = arrow_cast::cast(
        &types,
        &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
    )
    .unwrap();
    let ints: ArrayRef = Arc::new(Int64Array::from(keys.clone()));
    let sparse: ArrayRef = Arc::new(Int64Array::from(
        keys.iter().map(|k| k * 1_000_000_007).collect::<Vec<_>>(),
    ));
    let text: ArrayRef = Arc::new(StringArray::from(
        keys.iter().map(|k| format!("c-{k}")).collect::<Vec<_>>(),
    ));
    let files = [
        ("integer keys", history_batch(ints.clone(), Some(types.clone()))),
        ("dictionary types", history_batch(ints.clone(), Some(dict_types))),
        ("sparse keys", history_batch(sparse, Some(types.clone()))),
        ("text keys", history_batch(text, Some(types))),
        ("no type column", history_batch(ints, None)),
    ];
    for (what, batch) in files {
        let path = dir.path().join(format!("{}.parquet", what.replace(' ', "-")));
        // Small row groups: the events of one customer land in several of them.
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(3))
            .build();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props))
                .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        for non_buyers in [false, true] {
            let cfg = SummaryParams::new(day("2024-06-30"))
                .include_non_buyers(non_buyers)
                .observation_end(day("2024-12-31"))
                .validate()
                .unwrap();
            let want = store_summary(&path, &cfg);
            let what = format!("{what}, non-buyers {non_buyers}");
            for threads in [1, 3] {
                let par = Parallelism::threads(threads).unwrap();
                let got = summarize_parquet_all(&path, &cfg, &roles(), &par)
                    .unwrap()
                    .unwrap_or_else(|| panic!("{what}: in the scan's scope"));
                assert_same(&got, &want, &format!("{what}, {threads} threads"));
                let got = summarize_batches_all(std::slice::from_ref(&batch), &cfg, &roles(), &par)
                    .unwrap()
                    .unwrap_or_else(|| panic!("{what}: batches in the scan's scope"));
                assert_same(&got, &want, &format!("{what}, batches, {threads} threads"));
            }
            // What the case is about, read off the streamed table.
            let names: Vec<String> = want.schema().fields().iter().map(|f| f.name().clone()).collect();
            if what.starts_with("no type") {
                assert!(names.contains(&"count_purchase".to_string()), "{names:?}");
            } else {
                // "survey" is named though only seen after the end; padding is trimmed.
                for n in ["count_email_open", "count_purchase", "count_survey", "count_web_visit"] {
                    assert!(names.contains(&n.to_string()), "{what}: {names:?}");
                }
                assert_eq!(u64s(&want, "count_survey").iter().sum::<u64>(), 0);
                // 8 never buys: listed only with non-buyers; 9 is never listed.
                assert_eq!(want.num_rows(), if non_buyers { 3 } else { 2 }, "{what}");
            }
        }
    }
}

#[test]
fn more_than_256_event_types_take_the_store_path() {
    let dir = tempfile::tempdir().unwrap();
    let n = 300i64;
    let t0 = 1_700_000_000_000_000i64;
    let types: Vec<String> = (0..n).map(|k| format!("type_{k:03}")).collect();
    let batch = RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(Int64Array::from((0..n).map(|k| k % 7).collect::<Vec<_>>())) as ArrayRef,
        ),
        (
            "event_time",
            Arc::new(TimestampMicrosecondArray::from((0..n).map(|k| t0 + k).collect::<Vec<_>>()).with_timezone("UTC")),
        ),
        ("event_type", Arc::new(StringArray::from(types.clone()))),
        ("amount", Arc::new(Float64Array::from(vec![None::<f64>; n as usize]))),
    ])
    .unwrap();
    let path = dir.path().join("many-types.parquet");
    clientele::io::write_batch(&batch, &path).unwrap();
    let cfg = SummaryParams::new(day("2030-01-01"))
        .include_non_buyers(true)
        .validate()
        .unwrap();
    let par = Parallelism::threads(2).unwrap();
    assert!(summarize_parquet_all(&path, &cfg, &roles(), &par).unwrap().is_none());
    assert!(
        summarize_batches_all(std::slice::from_ref(&batch), &cfg, &roles(), &par)
            .unwrap()
            .is_none()
    );
    // The job then summarizes through a store, every type a column.
    let run = customer_summary_all(&EventSource::Files(FileSource::new([path.clone()])), &cfg, &par).unwrap();
    assert!(!run.streamed);
    assert_eq!(run.summary.table().num_columns(), 11 + 300);
    assert_same(run.summary.table(), &store_summary(&path, &cfg), "many types");
}
