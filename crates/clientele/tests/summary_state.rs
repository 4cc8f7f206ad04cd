//! The summary's partial state as Arrow (`SummaryAccumulator::state` / `merge_state`): states
//! of partitions, carried as record batches (through Arrow IPC, with or without their schema
//! metadata, as Spark carries them), merge to exactly the one-pass summary; states that do not
//! belong together or are damaged are refused with a clear error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_schema::Schema;
use clientele::Error;
use clientele::exec::Parallelism;
use clientele::ingest::IngestOptions;
use clientele::kernels::summary::{
    Period, STATE_METADATA_KEY, SummaryAccumulator, SummaryConfig, SummaryParams, TimeUnit, state_schema, summarize,
};
use common::*;

fn cdnow_events() -> (RecordBatch, clientele::store::EventStore) {
    let (store, _) = cdnow_store();
    (canonical_events(&store), store)
}

fn cfg() -> SummaryConfig {
    SummaryParams::new(date(1997, 9, 30))
        .observation_end(date(1998, 6, 30))
        .time_unit(TimeUnit::Week)
        .validate()
        .unwrap()
}

fn state_of(events: &RecordBatch, cfg: &SummaryConfig) -> RecordBatch {
    let mut a = SummaryAccumulator::new(cfg, &IngestOptions::default()).unwrap();
    a.update(events).unwrap();
    a.state().unwrap()
}

/// Through Arrow IPC and back, as a process boundary carries it.
fn through_ipc(batch: &RecordBatch) -> RecordBatch {
    let mut buf = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema()).unwrap();
        w.write(batch).unwrap();
        w.finish().unwrap();
    }
    let mut r = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(buf), None).unwrap();
    r.next().unwrap().unwrap()
}

fn without_metadata(batch: &RecordBatch) -> RecordBatch {
    let schema = Schema::new(batch.schema().fields().clone());
    RecordBatch::try_new(Arc::new(schema), batch.columns().to_vec()).unwrap()
}

#[test]
fn cdnow_states_of_every_partition_size_merge_to_the_direct_summary() {
    let (events, store) = cdnow_events();
    let cfg = cfg();
    let direct = summarize(&store, &cfg, &Parallelism::current()).unwrap();
    for size in [1usize, 2, 7, 100, 1000, 6919] {
        let mut merged = SummaryAccumulator::new(&cfg, &IngestOptions::default()).unwrap();
        let mut offset = 0;
        let mut k = 0;
        while offset < events.num_rows() {
            let len = size.min(events.num_rows() - offset);
            let state = state_of(&events.slice(offset, len), &cfg);
            // every other state loses its metadata, as Spark's mapInArrow drops it
            let state = if k % 2 == 0 {
                through_ipc(&state)
            } else {
                without_metadata(&through_ipc(&state))
            };
            merged.merge_state(&state).unwrap();
            offset += len;
            k += 1;
        }
        assert_eq!(merged.finish().unwrap(), direct, "partition size {size}");
    }
}

#[test]
fn the_state_schema_is_documented_and_signed() {
    let (events, _) = cdnow_events();
    let state = state_of(&events, &cfg());
    let expected = state_schema(&arrow_schema::DataType::Int64);
    assert_eq!(state.schema().fields(), expected.fields());
    assert!(state.schema().metadata().contains_key(STATE_METADATA_KEY));
    assert_eq!(state.num_rows(), 2357);
    // no unsigned types anywhere (Spark has none)
    let text = format!("{:?}", state.schema());
    assert!(!text.contains("UInt"), "{text}");
}

#[test]
fn string_keys_round_trip() {
    let batch = events(&[
        ("ann", "2024-01-01", "purchase", Some(10.0)),
        ("bob", "2024-01-02", "purchase", Some(5.0)),
        ("ann", "2024-01-09", "purchase", Some(7.5)),
        ("ann", "2024-01-10", "web_visit", None),
    ]);
    let cfg = SummaryParams::new(date(2024, 2, 1))
        .period(Period::Week)
        .validate()
        .unwrap();
    let mut one = SummaryAccumulator::new(&cfg, &IngestOptions::default()).unwrap();
    one.update(&batch).unwrap();
    let mut merged = SummaryAccumulator::new(&cfg, &IngestOptions::default()).unwrap();
    for i in 0..batch.num_rows() {
        merged.merge_state(&state_of(&batch.slice(i, 1), &cfg)).unwrap();
    }
    assert_eq!(merged.finish().unwrap(), one.finish().unwrap());
}

#[test]
fn states_of_other_settings_are_refused() {
    let (events, _) = cdnow_events();
    let state = state_of(&events.slice(0, 100), &cfg());
    let other = SummaryParams::new(date(1997, 9, 30)).validate().unwrap();
    let mut acc = SummaryAccumulator::new(&other, &IngestOptions::default()).unwrap();
    let err = acc.merge_state(&state).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { field: "config", .. }), "{err}");
    let mut acc = SummaryAccumulator::new(&cfg(), &IngestOptions::default().purchase_type("order")).unwrap();
    assert!(acc.merge_state(&state).is_err());
}

#[test]
fn damaged_states_are_errors_not_wrong_answers() {
    let (events, _) = cdnow_events();
    let state = without_metadata(&state_of(&events.slice(0, 500), &cfg()));
    let acc = || SummaryAccumulator::new(&cfg(), &IngestOptions::default()).unwrap();

    // a missing column
    let dropped = state.project(&[0, 1, 2]).unwrap();
    assert!(matches!(
        acc().merge_state(&dropped).unwrap_err(),
        Error::MissingColumn { .. }
    ));

    // a null key
    let mut cols: Vec<ArrayRef> = state.columns().to_vec();
    let mut keys: Vec<Option<i64>> = cols[0].as_any().downcast_ref::<Int64Array>().unwrap().iter().collect();
    keys[3] = None;
    cols[0] = Arc::new(Int64Array::from(keys));
    let nullable = Schema::new(
        state
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    );
    let bad = RecordBatch::try_new(Arc::new(nullable.clone()), cols).unwrap();
    let err = acc().merge_state(&bad).unwrap_err();
    assert!(err.to_string().contains("customer_id is null"), "{err}");

    // a negative purchase count
    let mut cols: Vec<ArrayRef> = state.columns().to_vec();
    let mut counts: Vec<Option<i64>> = cols[5].as_any().downcast_ref::<Int64Array>().unwrap().iter().collect();
    counts[0] = Some(-1);
    cols[5] = Arc::new(Int64Array::from(counts));
    let bad = RecordBatch::try_new(Arc::new(nullable), cols).unwrap();
    assert!(acc().merge_state(&bad).unwrap_err().to_string().contains("negative"));

    // periods out of order: reverse the calibration list of a customer with several periods
    let cal = state.column_by_name("calibration").unwrap();
    let list = cal.as_any().downcast_ref::<arrow_array::ListArray>().unwrap();
    let row = (0..list.len()).find(|&i| list.value_length(i) >= 2).unwrap();
    let mut rows: Vec<ArrayRef> = (0..list.len()).map(|i| list.value(i)).collect();
    let indices = arrow_array::UInt32Array::from((0..rows[row].len() as u32).rev().collect::<Vec<_>>());
    rows[row] = arrow_select::take::take(rows[row].as_ref(), &indices, None).unwrap();
    let refs: Vec<&dyn Array> = rows.iter().map(|a| a.as_ref()).collect();
    let values = arrow_select::concat::concat(&refs).unwrap();
    let offsets = arrow_buffer::OffsetBuffer::from_lengths(rows.iter().map(|a| a.len()));
    let field = match cal.data_type() {
        arrow_schema::DataType::List(f) => f.clone(),
        _ => unreachable!(),
    };
    let reordered = arrow_array::ListArray::try_new(field, offsets, values, None).unwrap();
    let mut cols: Vec<ArrayRef> = state.columns().to_vec();
    cols[7] = Arc::new(reordered);
    let bad = RecordBatch::try_new(state.schema(), cols).unwrap();
    assert!(
        acc()
            .merge_state(&bad)
            .unwrap_err()
            .to_string()
            .contains("not strictly ascending")
    );
}
