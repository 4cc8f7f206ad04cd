//! The summary's purchase columns straight from Parquet (`summarize_parquet`) equal the store
//! summary's same-named columns, row for row and bit for bit, for several periods, time units,
//! calibration ends, with and without a holdout, and for any thread count; so do the same
//! columns from record batches in memory (`summarize_batches`), and their RFM (`rfm_batches`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, TimeUnit as TimeUnit64};
use chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::kernels::rfm::{RfmParams, rfm, rfm_batches};
use clientele::kernels::summary::{
    PURCHASE_COLUMNS, Period, SummaryParams, TimeUnit, summarize, summarize_batches, summarize_parquet,
};
use clientele::schema::Role;

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
fn listing_non_buyers_reads_every_event_and_still_streams() {
    let events = testdata("rfm/events.parquet");
    let cfg = SummaryParams::new(date("2025-06-30"))
        .include_non_buyers(true)
        .validate()
        .unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_parquet(&events).unwrap();
    let (store, _) = ing.finish().unwrap();
    let full = summarize(&store, &cfg, &Parallelism::current()).unwrap();
    let got = summarize_parquet(&events, &cfg, &IngestOptions::default(), &Parallelism::current())
        .unwrap()
        .unwrap();
    // (customers who never buy: tests/summary_all_stream.rs)
    assert_same(&got, &full, "non-buyers");
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

/// The events of the generated test file as record batches, with the event type and amount
/// columns recast (the layouts pyarrow, Polars and DuckDB hand over).
fn batches_as(events: &[RecordBatch], type_as: &DataType, amount_as: &DataType, chunk: usize) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for b in events {
        let mut start = 0;
        while start < b.num_rows() {
            let len = chunk.min(b.num_rows() - start);
            let part = b.slice(start, len);
            let schema = part.schema();
            let (mut fields, mut cols) = (Vec::new(), Vec::new());
            for (f, c) in schema.fields().iter().zip(part.columns()) {
                let to = match f.name().as_str() {
                    "event_type" => type_as,
                    "amount" => amount_as,
                    _ => f.data_type(),
                };
                cols.push(arrow_cast::cast(c, to).unwrap());
                fields.push(Field::new(f.name(), to.clone(), true));
            }
            out.push(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap());
            start += len;
        }
    }
    out
}

#[test]
fn batches_in_memory_stream_like_the_file() {
    let events = testdata("rfm/events.parquet");
    let file = std::fs::File::open(&events).unwrap();
    let read: Vec<RecordBatch> = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 8192)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_parquet(&events).unwrap();
    let (store, _) = ing.finish().unwrap();
    let cfg = SummaryParams::new(date("2025-04-15"))
        .period(Period::Day)
        .time_unit(TimeUnit::Week)
        .observation_end(date("2026-01-31"))
        .validate()
        .unwrap();
    let full = summarize(&store, &cfg, &Parallelism::current()).unwrap();
    let dict = |k: DataType, v: DataType| DataType::Dictionary(Box::new(k), Box::new(v));
    let layouts = [
        (DataType::Utf8, DataType::Float64, 8192, "utf8"),
        (DataType::LargeUtf8, DataType::Float64, 1000, "large utf8 (Polars)"),
        (DataType::Utf8View, DataType::Float64, 3333, "utf8 view"),
        (
            dict(DataType::Int32, DataType::Utf8),
            DataType::Float64,
            8192,
            "dictionary",
        ),
        (
            dict(DataType::UInt32, DataType::LargeUtf8),
            DataType::Float64,
            5000,
            "categorical",
        ),
        (DataType::Utf8, DataType::Decimal128(18, 2), 8192, "decimal amounts"),
    ];
    let rfm_cfg = RfmParams::new(date("2025-09-01")).validate().unwrap();
    let rfm_full = rfm(&store, &rfm_cfg, &Parallelism::current()).unwrap();
    for (ty, amount, chunk, what) in layouts {
        let batches = batches_as(&read, &ty, &amount, chunk);
        // RFM from the same batches (orders mode) equals RFM over the store, byte for byte
        let opts = IngestOptions::default().only(&[Role::EventType, Role::Amount]);
        let r = rfm_batches(&batches, &rfm_cfg, &opts, &Parallelism::threads(2).unwrap())
            .unwrap()
            .unwrap_or_else(|| panic!("{what}: rfm in the streaming path's scope"));
        assert_eq!(r, rfm_full, "{what}: rfm");
        for threads in [1, 3] {
            let par = Parallelism::threads(threads).unwrap();
            let streamed = summarize_batches(
                &batches,
                &cfg,
                &IngestOptions::default().only(&[Role::EventType, Role::Amount]),
                &par,
            )
            .unwrap()
            .unwrap_or_else(|| panic!("{what}: in the streaming path's scope"));
            assert_same(&streamed, &full, &format!("{what}, {threads} threads"));
        }
    }
    // loading more than the purchase roles takes the store path; listing non-buyers streams
    let batches = batches_as(&read, &DataType::Utf8, &DataType::Float64, 8192);
    let par = Parallelism::current();
    assert!(
        summarize_batches(&batches, &cfg, &IngestOptions::default(), &par)
            .unwrap()
            .is_none()
    );
    let all = SummaryParams::new(date("2025-06-30"))
        .include_non_buyers(true)
        .validate()
        .unwrap();
    let got = summarize_batches(
        &batches,
        &all,
        &IngestOptions::default().only(&[Role::EventType, Role::Amount]),
        &par,
    )
    .unwrap()
    .unwrap();
    assert_same(&got, &summarize(&store, &all, &par).unwrap(), "batches with non-buyers");
}

#[test]
fn batches_with_rows_ingestion_rejects_take_the_store_path() {
    let cfg = SummaryParams::new(date("2024-01-01")).validate().unwrap();
    let par = Parallelism::current();
    let opts = IngestOptions::default().only(&[Role::EventType, Role::Amount]);
    let ok = events(&[
        ("1", "2023-01-01T00:00:00Z", "purchase", Some(10.0)),
        ("2", "2023-02-01T00:00:00Z", "purchase", None),
        ("1", "2023-03-01T00:00:00Z", "web_visit", None),
    ]);
    // `events` builds string keys and times: cast them as a table from another tool would have them
    let typed = |b: &RecordBatch| -> RecordBatch {
        let cols = vec![
            arrow_cast::cast(b.column(0), &DataType::Int64).unwrap(),
            arrow_cast::cast(
                b.column(1),
                &DataType::Timestamp(TimeUnit64::Microsecond, Some("+00:00".into())),
            )
            .unwrap(),
            b.column(2).clone(),
            b.column(3).clone(),
        ];
        let fields: Vec<Field> = b
            .schema()
            .fields()
            .iter()
            .zip(&cols)
            .map(|(f, c)| Field::new(f.name(), c.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
    };
    let t = summarize_batches(&[typed(&ok)], &cfg, &opts, &par).unwrap().unwrap();
    assert_eq!(t.num_rows(), 2);
    for bad in [
        ("1", "2023-01-01T00:00:00Z", "purchase", Some(-1.0)),
        ("1", "2023-01-01T00:00:00Z", "  ", Some(1.0)),
        ("1", "2023-01-01T00:00:00Z", "purchase", Some(f64::NAN)),
    ] {
        let b = events(&[("2", "2023-02-01T00:00:00Z", "purchase", Some(3.0)), bad]);
        assert!(
            summarize_batches(&[typed(&b)], &cfg, &opts, &par).unwrap().is_none(),
            "{bad:?}"
        );
    }
}
