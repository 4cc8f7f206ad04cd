//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)] // test helpers, not all used by every test file

use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use chrono::NaiveDate;
use clientele::ingest::{IngestOptions, IngestReport, Ingestor};
use clientele::store::EventStore;

pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The CDNOW sample as the published analyses read it.
pub fn cdnow_store() -> (EventStore, IngestReport) {
    let (opts, csv) = clientele::ingest::layouts::cdnow();
    let mut ing = Ingestor::new(&opts).unwrap();
    ing.read_csv(testdata("cdnow/CDNOW_sample.txt"), &csv).unwrap();
    ing.finish().unwrap()
}

/// The events of a store back as canonical batches (`customer_id, event_time, event_type,
/// amount`), in the store's order: what an accumulator is fed in the merge tests.
pub fn canonical_events(store: &EventStore) -> RecordBatch {
    let events = store.events().unwrap();
    let keys = arrow_select::take::take(store.customer_keys().array().as_ref(), events.column(0), None).unwrap();
    RecordBatch::try_from_iter([
        ("customer_id", keys),
        ("event_time", events.column_by_name("event_time").unwrap().clone()),
        ("event_type", events.column_by_name("event_type").unwrap().clone()),
        ("amount", events.column_by_name("amount").unwrap().clone()),
    ])
    .unwrap()
}

pub fn f64s(batch: &RecordBatch, name: &str) -> Vec<f64> {
    let c = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    c.as_primitive::<Float64Type>()
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect()
}

pub fn i64s(batch: &RecordBatch, name: &str) -> Vec<i64> {
    batch
        .column_by_name(name)
        .unwrap()
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

pub fn u64s(batch: &RecordBatch, name: &str) -> Vec<u64> {
    let c = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    c.as_primitive::<arrow_array::types::UInt64Type>().values().to_vec()
}

pub fn strs(batch: &RecordBatch, name: &str) -> Vec<String> {
    let c = batch.column_by_name(name).unwrap();
    let c = arrow_cast::cast(c, &arrow_schema::DataType::Utf8).unwrap();
    c.as_string::<i32>()
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect()
}

pub fn null_count(batch: &RecordBatch, name: &str) -> usize {
    batch.column_by_name(name).unwrap().null_count()
}

/// An in-memory event batch: (customer, time string, type, amount).
pub fn events(rows: &[(&str, &str, &str, Option<f64>)]) -> RecordBatch {
    use arrow_array::{Float64Array, StringArray};
    use std::sync::Arc;
    RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())) as _,
        ),
        (
            "event_time",
            Arc::new(StringArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())) as _,
        ),
        (
            "event_type",
            Arc::new(StringArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())) as _,
        ),
        (
            "amount",
            Arc::new(Float64Array::from(rows.iter().map(|r| r.3).collect::<Vec<_>>())) as _,
        ),
    ])
    .unwrap()
}

/// A store of `batch` with default options.
pub fn store_of(batch: RecordBatch) -> (EventStore, IngestReport) {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("memory", [Ok(batch)]).unwrap();
    ing.finish().unwrap()
}

/// Writes `name` in `dir`: one purchase per customer 1..=n at 2023-11-14 22:13:20 UTC with the
/// given amounts, plus `extra` columns; returns its path.
pub fn purchases_parquet(
    dir: &std::path::Path,
    name: &str,
    amounts: Vec<Option<f64>>,
    extra: Vec<(&str, arrow_array::ArrayRef)>,
) -> PathBuf {
    use std::sync::Arc;
    let n = amounts.len();
    let mut columns: Vec<(&str, arrow_array::ArrayRef)> = vec![
        (
            "customer_id",
            Arc::new(arrow_array::Int64Array::from((1..=n as i64).collect::<Vec<_>>())),
        ),
        (
            "event_time",
            Arc::new(
                arrow_array::TimestampMicrosecondArray::from(vec![1_700_000_000_000_000i64; n]).with_timezone("UTC"),
            ),
        ),
        (
            "event_type",
            Arc::new(arrow_array::StringArray::from(vec!["purchase"; n])),
        ),
        ("amount", Arc::new(arrow_array::Float64Array::from(amounts))),
    ];
    columns.extend(extra);
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let path = dir.join(name);
    clientele::io::write_batch(&batch, &path).unwrap();
    path
}

/// The events of `clientele generate` for `customers` customers and `seed`, in one batch.
pub fn generated(customers: u64, seed: u64) -> RecordBatch {
    use clientele::synth::{GenerateParams, generate};
    let b = generate(
        &GenerateParams::default()
            .customers(customers)
            .seed(seed)
            .validate()
            .unwrap(),
    )
    .unwrap();
    arrow_select::concat::concat_batches(&b[0].schema(), &b).unwrap()
}

/// The file of `dir` whose name starts with `prefix` (a store's `rollup.`, say).
pub fn file_starting(dir: &std::path::Path, prefix: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}* in {}", dir.display()))
}

/// `batch` with its column `name` replaced by `f` of it (any type; the field keeps its name
/// and becomes nullable, as every field of the result does).
pub fn replace_column(
    batch: &RecordBatch,
    name: &str,
    f: impl FnOnce(&arrow_array::ArrayRef) -> arrow_array::ArrayRef,
) -> RecordBatch {
    let schema = batch.schema();
    let mut f = Some(f);
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, col) in schema.fields().iter().zip(batch.columns()) {
        let col = match f.take_if(|_| field.name() == name) {
            Some(f) => f(col),
            None => col.clone(),
        };
        fields.push(arrow_schema::Field::new(field.name(), col.data_type().clone(), true));
        columns.push(col);
    }
    RecordBatch::try_new(std::sync::Arc::new(arrow_schema::Schema::new(fields)), columns).unwrap()
}
