//! Parquet files with the column types other writers choose (Polars' large strings, pyarrow's
//! dictionaries and nanosecond times, Spark's INT96-style nanoseconds, dates, decimals)
//! stream on the fast paths (`rfm_parquet`, `summarize_parquet`) to the same tables as the
//! store path gives for the same file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Decimal128Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use clientele::chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::kernels::rfm::{RfmParams, rfm, rfm_parquet};
use clientele::kernels::summary::{SummaryParams, summarize, summarize_parquet};
use clientele::synth::{GenerateParams, generate};
use parquet::arrow::ArrowWriter;

/// The generated events with column `name` converted by `f` (a new type), written to Parquet.
fn write_with(dir: &Path, file: &str, name: &str, f: &dyn Fn(&ArrayRef) -> ArrayRef) -> PathBuf {
    let batches = generate(&GenerateParams::default().customers(2_000).seed(8).validate().unwrap()).unwrap();
    let converted: Vec<RecordBatch> = batches.iter().map(|b| common::replace_column(b, name, f)).collect();
    let path = dir.join(format!("{file}.parquet"));
    let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), converted[0].schema(), None).unwrap();
    for b in &converted {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    path
}

/// A column conversion.
type Convert = Box<dyn Fn(&ArrayRef) -> ArrayRef>;

fn cast(to: DataType) -> impl Fn(&ArrayRef) -> ArrayRef {
    move |a| arrow_cast::cast(a, &to).unwrap()
}

#[test]
fn other_writers_column_types_stream_to_the_store_paths_tables() {
    let dir = tempfile::tempdir().unwrap();
    let par = Parallelism::threads(2).unwrap();
    let end = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
    let summary_cfg = SummaryParams::new(end).validate().unwrap();
    let rfm_cfg = RfmParams::new(end).validate().unwrap();
    let opts = IngestOptions::default();
    let utc = Some("UTC".into());
    let decimal = |a: &ArrayRef| -> ArrayRef {
        // cents exactly, as a decimal writer stores them
        let f = a.as_primitive::<Float64Type>();
        Arc::new(
            f.iter()
                .map(|v| v.map(|v| (v * 100.0).round() as i128))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(18, 2)
                .unwrap(),
        )
    };
    let variants: Vec<(&str, &str, Convert)> = vec![
        ("type-large-utf8", "event_type", Box::new(cast(DataType::LargeUtf8))),
        ("type-utf8-view", "event_type", Box::new(cast(DataType::Utf8View))),
        (
            "type-dictionary",
            "event_type",
            Box::new(cast(DataType::Dictionary(
                Box::new(DataType::Int32),
                Box::new(DataType::Utf8),
            ))),
        ),
        (
            "time-ns",
            "event_time",
            Box::new(cast(DataType::Timestamp(TimeUnit::Nanosecond, utc.clone()))),
        ),
        (
            "time-ms-naive",
            "event_time",
            Box::new(cast(DataType::Timestamp(TimeUnit::Millisecond, None))),
        ),
        ("time-date32", "event_time", Box::new(cast(DataType::Date32))),
        ("time-date64", "event_time", Box::new(cast(DataType::Date64))),
        ("amount-decimal", "amount", Box::new(decimal)),
        ("amount-float32", "amount", Box::new(cast(DataType::Float32))),
    ];
    for (file, column, f) in &variants {
        let path = write_with(dir.path(), file, column, f.as_ref());
        let mut ing = Ingestor::new(&opts).unwrap().with_parallelism(par.clone());
        ing.read_path(&path, &CsvOptions::default()).unwrap();
        let (store, report) = ing.finish().unwrap();
        assert!(report.reconciles() && report.rows_rejected == 0, "{file}");
        let streamed = rfm_parquet(&path, &rfm_cfg, &opts, &par).unwrap();
        let streamed = streamed.unwrap_or_else(|| panic!("{file}: rfm left the fast path"));
        assert_eq!(streamed, rfm(&store, &rfm_cfg, &par).unwrap(), "{file}: rfm");
        let streamed = summarize_parquet(&path, &summary_cfg, &opts, &par).unwrap();
        let streamed = streamed.unwrap_or_else(|| panic!("{file}: summary left the fast path"));
        let full = summarize(&store, &summary_cfg, &par).unwrap();
        for (i, field) in streamed.schema().fields().iter().enumerate() {
            assert_eq!(
                streamed.column(i),
                full.column_by_name(field.name()).unwrap(),
                "{file}: summary column {}",
                field.name()
            );
        }
    }
}

#[test]
fn nanoseconds_before_1970_floor_as_ingestion_floors_them() {
    // -1 ns is 1969-12-31T23:59:59.999999999: floor gives -1 µs (truncation would give 0).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ns.parquet");
    let batch = RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(arrow_array::Int64Array::from(vec![1, 1, 2])) as ArrayRef,
        ),
        (
            "event_time",
            Arc::new(
                arrow_array::TimestampNanosecondArray::from(vec![-1_500, 1_000_000_000_000_000_999, 7])
                    .with_timezone("UTC"),
            ) as ArrayRef,
        ),
        (
            "event_type",
            Arc::new(arrow_array::StringArray::from(vec!["purchase"; 3])) as ArrayRef,
        ),
        (
            "amount",
            Arc::new(arrow_array::Float64Array::from(vec![1.0, 2.0, 3.0])) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let par = Parallelism::threads(1).unwrap();
    let opts = IngestOptions::default();
    let cfg = SummaryParams::new(NaiveDate::from_ymd_opt(2040, 1, 1).unwrap())
        .validate()
        .unwrap();
    let mut ing = Ingestor::new(&opts).unwrap();
    ing.read_path(&path, &CsvOptions::default()).unwrap();
    let (store, _) = ing.finish().unwrap();
    let streamed = summarize_parquet(&path, &cfg, &opts, &par).unwrap().unwrap();
    let full = summarize(&store, &cfg, &par).unwrap();
    for (i, field) in streamed.schema().fields().iter().enumerate() {
        assert_eq!(
            streamed.column(i),
            full.column_by_name(field.name()).unwrap(),
            "{}",
            field.name()
        );
    }
}
