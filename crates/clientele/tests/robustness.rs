//! Regressions from review: damaged files are errors (never panics), key typing is decided for
//! the whole store, a failed source leaves no trace, and value ranges are enforced.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use clientele::Error;
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor, KeyType, RejectReason};
use clientele::kernels::summary::{SummaryAccumulator, SummaryParams, summarize};
use clientele::store::{CustomerKeys, EventStore, StoreFormat};
use common::*;

fn keyed(keys: &[&str]) -> RecordBatch {
    RecordBatch::try_from_iter([
        ("customer_id", Arc::new(StringArray::from(keys.to_vec())) as _),
        (
            "event_time",
            Arc::new(StringArray::from(vec!["2024-01-01"; keys.len()])) as _,
        ),
    ])
    .unwrap()
}

#[test]
fn damaged_store_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = clientele::synth::GenerateParams::default()
        .customers(300)
        .validate()
        .unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("gen", clientele::synth::generate(&cfg).unwrap().into_iter().map(Ok))
        .unwrap();
    let (store, _) = ing.finish().unwrap();
    for format in [StoreFormat::Ipc, StoreFormat::Parquet] {
        let d = dir.path().join(format!("{format:?}"));
        store.save(&d, format).unwrap();
        let events = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("events."))
            .unwrap();
        let good = std::fs::read(&events).unwrap();
        // Flip bytes at many places, and truncate at many lengths: every open must return
        // (an error, or a store that passed every invariant check), never panic.
        let step = (good.len() / 37).max(1);
        for at in (0..good.len()).step_by(step) {
            let mut bad = good.clone();
            for b in bad.iter_mut().skip(at).take(16) {
                *b = b.wrapping_mul(31).wrapping_add(7);
            }
            std::fs::write(&events, &bad).unwrap();
            // the checksum refuses every damaged file
            assert!(
                matches!(
                    EventStore::open(&d, &Parallelism::current()),
                    Err(clientele::Error::CorruptStore { .. })
                ),
                "{format:?} damaged at {at}"
            );
            std::fs::write(&events, &good[..at]).unwrap();
            assert!(
                EventStore::open(&d, &Parallelism::current()).is_err(),
                "{format:?} truncated at {at}"
            );
        }
        std::fs::write(&events, &good).unwrap();
        assert!(EventStore::open(&d, &Parallelism::current()).is_ok());
    }
}

#[test]
fn damaged_ipc_inputs_are_errors_not_panics() {
    let batch = events(&[
        ("a", "2024-01-01", "purchase", Some(1.0)),
        ("b", "2024-01-02", "purchase", Some(2.0)),
    ]);
    let mut buf = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    }
    for at in (0..buf.len()).step_by(3) {
        let mut bad = buf.clone();
        for b in bad.iter_mut().skip(at).take(8) {
            *b ^= 0xA5;
        }
        let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
        let _ = ing.read_ipc_stream(bad.as_slice(), "bad-stream");
        let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
        let _ = ing.read_ipc_stream(&buf[..at], "cut-stream");
    }
}

#[test]
fn auto_key_typing_is_decided_for_the_whole_store() {
    // "007" and "7" are one customer when every key is an integer, however batches fall...
    let one = store_of_batches(&[keyed(&["007", "8", "7"])]);
    let split = store_of_batches(&[keyed(&["007"]), keyed(&["8", "7"])]);
    assert_eq!(one.customer_keys(), &CustomerKeys::Int(Int64Array::from(vec![7, 8])));
    assert_eq!(split.customer_keys(), one.customer_keys());
    // ...and all keys stay strings as soon as one is not an integer, in any batch.
    let one = store_of_batches(&[keyed(&["007", "x", "7"])]);
    let split = store_of_batches(&[keyed(&["007"]), keyed(&["7"]), keyed(&["x"])]);
    assert_eq!(
        one.customer_keys(),
        &CustomerKeys::Str(StringArray::from(vec!["007", "7", "x"]))
    );
    assert_eq!(split.customer_keys(), one.customer_keys());
}

#[test]
fn null_markers_are_missing_keys_and_text_keys_are_named() {
    let ingest = |keys: &[&str], kt: KeyType| {
        let mut ing = Ingestor::new(&IngestOptions::default().key_type(kt)).unwrap();
        ing.read_batches("b", [Ok(keyed(keys))]).unwrap();
        ing.finish().unwrap()
    };
    // "NULL" and "NA" among integer keys are missing keys, not a reason to make every key text
    for kt in [KeyType::Auto, KeyType::Int] {
        let (store, report) = ingest(&["7", "NULL", " NA ", "8", "nan"], kt);
        assert_eq!(
            store.customer_keys(),
            &CustomerKeys::Int(Int64Array::from(vec![7, 8])),
            "{kt:?}"
        );
        assert!(report.reconciles());
        assert_eq!(report.rows_rejected, 3);
        assert_eq!(report.rejected_by_reason.get(&RejectReason::NullCustomerId), Some(&3));
        assert_eq!(
            report.rejections.iter().map(|r| r.row).collect::<Vec<_>>(),
            vec![2, 3, 5]
        );
        let typing = report.key_typing.unwrap();
        assert_eq!((typing.requested, typing.typed_as), (kt, KeyType::Int));
        assert_eq!((typing.distinct_keys, typing.non_integer_keys), (2, 0));
        assert_eq!(typing.warning(), None);
    }
    // declared strings take every text as written
    let (store, report) = ingest(&["7", "NULL"], KeyType::String);
    assert_eq!(
        store.customer_keys(),
        &CustomerKeys::Str(StringArray::from(vec!["7", "NULL"]))
    );
    assert_eq!(report.rows_rejected, 0);
    // one "1.5" among integers still makes strings under Auto, and the report says which keys
    let (store, report) = ingest(&["7", "1.5", "8", "x", "9", "y", "z"], KeyType::Auto);
    assert!(matches!(store.customer_keys(), CustomerKeys::Str(_)));
    let typing = report.key_typing.clone().unwrap();
    assert_eq!((typing.distinct_keys, typing.non_integer_keys), (7, 4));
    assert_eq!(typing.examples, vec!["1.5", "x", "y"]);
    let w = typing.warning().unwrap();
    assert!(
        w.contains("4 of 7 distinct keys are not integers") && w.contains("\"1.5\""),
        "{w}"
    );
    // ...and declared integers reject those rows instead
    let (store, report) = ingest(&["7", "1.5", "8"], KeyType::Int);
    assert_eq!(store.customer_keys(), &CustomerKeys::Int(Int64Array::from(vec![7, 8])));
    assert_eq!(
        report.rejected_by_reason.get(&RejectReason::InvalidCustomerId),
        Some(&1)
    );
    // all text keys: strings, nothing to warn about
    let (_, report) = ingest(&["a", "b"], KeyType::Auto);
    assert_eq!(report.key_typing.unwrap().warning(), None);
}

fn store_of_batches(batches: &[RecordBatch]) -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    for b in batches {
        ing.read_batches("b", [Ok(b.clone())]).unwrap();
    }
    ing.finish().unwrap().0
}

#[test]
fn accumulator_merges_integer_and_string_forms_of_a_key() {
    let ints = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(vec![7])) as _),
        ("event_time", Arc::new(StringArray::from(vec!["2024-01-01"])) as _),
    ])
    .unwrap();
    let strs = keyed(&["7", "008"]);
    let cfg = SummaryParams::new(date(2024, 2, 1)).validate().unwrap();
    let mut acc = SummaryAccumulator::new(&cfg, &IngestOptions::default()).unwrap();
    acc.update(&ints).unwrap();
    acc.update(&strs).unwrap();
    let from_acc = acc.finish().unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("ints", [Ok(ints)]).unwrap();
    ing.read_batches("strs", [Ok(strs)]).unwrap();
    let from_store = summarize(&ing.finish().unwrap().0, &cfg, &Parallelism::current()).unwrap();
    assert_eq!(from_acc, from_store);
    assert_eq!(i64s(&from_acc, "customer_id"), [7, 8]);
    assert_eq!(u64s(&from_acc, "purchase_count"), [2, 1]);
    // Partials built with different ingest options do not merge.
    let other = SummaryAccumulator::new(&cfg, &IngestOptions::default().purchase_type("order")).unwrap();
    let mut acc = SummaryAccumulator::new(&cfg, &IngestOptions::default()).unwrap();
    assert!(matches!(
        acc.merge(other),
        Err(Error::InvalidParameter { field: "config", .. })
    ));
}

#[test]
fn a_failed_source_leaves_no_trace() {
    let good = "customer_id,event_time\n1,2024-01-01\n2,2024-01-02\n";
    // Many small batches so that some are appended before the bad row is met.
    let csv = CsvOptions {
        batch_rows: 2,
        ..Default::default()
    };
    let mut bad = String::from("customer_id,event_time\n");
    for i in 0..50 {
        bad.push_str(&format!("{i},2024-02-01\n"));
    }
    bad.push_str(",2024-02-02\n");
    for threads in [1, 3] {
        let opts = IngestOptions::default().strict(true);
        let mut ing = Ingestor::new(&opts)
            .unwrap()
            .with_parallelism(Parallelism::threads(threads).unwrap());
        ing.read_csv_reader(good.as_bytes(), "good", &csv).unwrap();
        let e = ing.read_csv_reader(bad.as_bytes(), "bad", &csv).unwrap_err();
        assert!(matches!(e, Error::RejectedRow { row: 51, .. }), "{e}");
        assert!(ing.report().reconciles());
        let (store, report) = ing.finish().unwrap();
        assert_eq!((report.rows_read, store.num_events(), report.sources.len()), (2, 2, 1));
    }
}

#[test]
fn empty_stores_reopen_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_of(events(&[]));
    for format in [StoreFormat::Ipc, StoreFormat::Parquet] {
        let d = dir.path().join(format!("{format:?}"));
        store.save(&d, format).unwrap();
        let again = EventStore::open(&d, &Parallelism::current()).unwrap();
        assert_eq!((again.num_events(), again.num_customers()), (0, 0));
    }
}

#[test]
fn out_of_range_values_are_rejected() {
    let batch = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as _),
        (
            "event_time",
            Arc::new(
                TimestampMicrosecondArray::from(vec![0, 0, clientele::time::END_EVENT_MICROS, 0])
                    .with_timezone("+00:00"),
            ) as _,
        ),
        (
            "amount",
            Arc::new(Float64Array::from(vec![1e15, 1e300, 1.0, -1e16])) as _,
        ),
        (
            "event_type",
            Arc::new(StringArray::from(vec!["purchase", "purchase", "purchase", "refund"])) as _,
        ),
    ])
    .unwrap();
    let (_, r) = store_of(batch);
    let got: Vec<(u64, RejectReason)> = r.rejections.iter().map(|x| (x.row, x.reason)).collect();
    assert_eq!(
        got,
        [
            (2, RejectReason::AmountOutOfRange),
            (3, RejectReason::EventTimeOutOfRange),
            (4, RejectReason::AmountOutOfRange)
        ]
    );
}

#[test]
fn a_blank_time_is_null_whatever_the_encoding() {
    let dict: DictionaryArray<Int32Type> = vec![Some("2024-01-01"), Some(" "), None].into_iter().collect();
    let batch = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(vec![1, 2, 3])) as _),
        ("event_time", Arc::new(dict) as _),
    ])
    .unwrap();
    let (_, r) = store_of(batch);
    assert_eq!(r.rejected_by_reason[&RejectReason::NullEventTime], 2);
    let (_, r) = store_of(keyed(&["1", "2"]).slice(0, 2));
    assert_eq!(r.rows_rejected, 0);
}

#[test]
fn integer_keys_cannot_be_appended_to_a_string_store() {
    let store = store_of_batches(&[keyed(&["x"])]);
    let e = Ingestor::appending(&store, &IngestOptions::default().key_type(KeyType::Int)).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { field: "key_type", .. }));
}
