//! Ingestion: every row accepted or rejected with its row, column and reason; typed errors for
//! files and schemas; every input format gives the same store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::io::Write;
use std::sync::Arc;

use arrow_array::Array;
use arrow_array::types::Int32Type;
use arrow_array::{
    BooleanArray, Date32Array, Decimal128Array, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt64Array,
};
use clientele::Error;
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, Delimiter, IngestOptions, Ingestor, KeyType, RejectReason};
use clientele::schema::Role;
use clientele::store::{CustomerKeys, EventStore, KeyRef, StoreFormat};
use common::*;

const BAD_CSV: &str = "\
customer_id,event_time,event_type,amount,channel,score
1,2024-01-01,purchase,10.50,web,
,2024-01-02,purchase,1.00,web,
2,not-a-date,purchase,1.00,web,
3,2024-01-03,purchase,inf,store,
4,2024-01-04,purchase,-5.00,store,
5,2024-01-05,refund,-5.00,store,
6,2024-01-06,purchase,abc,store,
7,2024-01-07,purchase
8,2024-01-08,loyalty_signup,,app,
  ,2024-01-09,purchase,1.00,web,
9,2024-01-10,,1.00,web,
10,2024-01-11,survey,,email,NaN
1,2024-01-12,purchase,4.50,,9
";

fn read_csv_text(text: &str, opts: &IngestOptions) -> clientele::Result<(EventStore, clientele::ingest::IngestReport)> {
    let mut ing = Ingestor::new(opts)?;
    ing.read_csv_reader(text.as_bytes(), "bad.csv", &CsvOptions::default())?;
    ing.finish()
}

#[test]
fn every_row_is_accepted_or_rejected_with_a_reason() {
    let (store, r) = read_csv_text(BAD_CSV, &IngestOptions::default()).unwrap();
    assert!(r.reconciles());
    assert_eq!((r.rows_read, r.rows_accepted, r.rows_rejected), (13, 4, 9));
    let got: Vec<(u64, &str, RejectReason)> = r
        .rejections
        .iter()
        .map(|x| (x.row, x.column.as_str(), x.reason))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "customer_id", RejectReason::EmptyCustomerId),
            (3, "event_time", RejectReason::UnparseableEventTime),
            (4, "amount", RejectReason::NonFiniteAmount),
            (5, "amount", RejectReason::NegativePurchaseAmount),
            (7, "amount", RejectReason::UnparseableAmount),
            (8, "", RejectReason::FieldCount),
            (10, "customer_id", RejectReason::EmptyCustomerId),
            (11, "event_type", RejectReason::NullEventType),
            (12, "score", RejectReason::NonFiniteScore),
        ]
    );
    assert_eq!(r.rejections[1].value.as_deref(), Some("not-a-date"));
    assert_eq!(r.rejected_by_reason[&RejectReason::NegativePurchaseAmount], 1);
    assert_eq!(r.rejected_by_reason[&RejectReason::EmptyCustomerId], 2);
    // Unknown event types are kept; a negative amount on a non-purchase event is fine.
    assert_eq!(store.event_types(), ["loyalty_signup", "purchase", "refund"]);
    assert_eq!(r.accepted_by_event_type["loyalty_signup"], 1);
    assert_eq!(store.num_customers(), 3); // 1, 5, 8
    assert_eq!(store.customer_range(0).len(), 2);
    // The report serializes with the documented keys.
    let json = serde_json::to_value(&r).unwrap();
    for k in ["rows_read", "rows_accepted", "rows_rejected", "rejected_by_reason"] {
        assert!(json.get(k).is_some(), "{k}");
    }
    assert_eq!(json["rejected_by_reason"]["empty_customer_id"], 2);
}

#[test]
fn scores_and_costs_beyond_the_bound_are_rejected_like_amounts() {
    use clientele::ingest::{MAX_COST, MAX_SCORE};
    assert_eq!((MAX_SCORE, MAX_COST), (1e15, 1e15));
    let text = "\
customer_id,event_time,event_type,amount,score,cost
1,2024-01-01,purchase,10.00,,1.50
2,2024-01-02,survey,,1e30,
3,2024-01-03,purchase,5.00,,-2e15
4,2024-01-04,survey,,1e15,-1e15
5,2024-01-05,survey,,-1000000000000001,
6,2024-01-06,purchase,1.00,9,1e300
7,2024-01-07,purchase,1.00,inf,
8,2024-01-08,purchase,1.00,,-inf
9,2024-01-09,purchase,1e16,1e20,1e20
";
    let (store, r) = read_csv_text(text, &IngestOptions::default()).unwrap();
    assert!(r.reconciles());
    assert_eq!((r.rows_read, r.rows_accepted, r.rows_rejected), (9, 2, 7));
    let got: Vec<(u64, &str, RejectReason, Option<&str>)> = r
        .rejections
        .iter()
        .map(|x| (x.row, x.column.as_str(), x.reason, x.value.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "score", RejectReason::ScoreOutOfRange, Some("1e30")),
            (3, "cost", RejectReason::CostOutOfRange, Some("-2e15")),
            (5, "score", RejectReason::ScoreOutOfRange, Some("-1000000000000001")),
            (6, "cost", RejectReason::CostOutOfRange, Some("1e300")),
            (7, "score", RejectReason::NonFiniteScore, Some("inf")),
            (8, "cost", RejectReason::NonFiniteCost, Some("-inf")),
            // The first failing column in role order is the one reported.
            (9, "amount", RejectReason::AmountOutOfRange, Some("1e16")),
        ]
    );
    assert_eq!(r.rejected_by_reason[&RejectReason::ScoreOutOfRange], 2);
    assert_eq!(r.rejected_by_reason[&RejectReason::CostOutOfRange], 2);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["rejected_by_reason"]["score_out_of_range"], 2);
    assert_eq!(json["rejected_by_reason"]["cost_out_of_range"], 2);
    // The bound itself is accepted (row 4), as for amounts.
    assert_eq!(store.num_customers(), 2);
    // Strict mode stops at the first one, with its row and column.
    let e = read_csv_text(text, &IngestOptions::default().strict(true)).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::RejectedRow { row: 2, column, reason: RejectReason::ScoreOutOfRange, .. } if column == "score"
        ),
        "{e:?}"
    );
}

#[test]
fn refunds_enabled_accepts_negative_purchases() {
    let (_, r) = read_csv_text(BAD_CSV, &IngestOptions::default().allow_refunds(true)).unwrap();
    assert_eq!(r.rows_accepted, 5);
    assert!(r.reconciles());
}

#[test]
fn strict_mode_stops_at_the_first_bad_row() {
    let e = read_csv_text(BAD_CSV, &IngestOptions::default().strict(true)).unwrap_err();
    match e {
        Error::RejectedRow {
            source_name,
            row,
            column,
            reason,
            ..
        } => {
            assert_eq!(
                (source_name.as_str(), row, column.as_str(), reason),
                ("bad.csv", 2, "customer_id", RejectReason::EmptyCustomerId)
            );
        }
        other => panic!("{other}"),
    }
}

#[test]
fn missing_and_mistyped_columns_are_typed_errors() {
    let e = read_csv_text("id,event_time\n1,2024-01-01\n", &IngestOptions::default()).unwrap_err();
    assert!(
        matches!(&e, Error::MissingColumn { column, source_name, .. } if column == "customer_id" && source_name == "bad.csv"),
        "{e}"
    );
    let batch = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(BooleanArray::from(vec![true])) as _),
        ("event_time", Arc::new(StringArray::from(vec!["2024-01-01"])) as _),
    ])
    .unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    let e = ing.read_batches("mem", [Ok(batch)]).unwrap_err();
    assert!(
        matches!(&e, Error::ColumnType { column, .. } if column == "customer_id"),
        "{e}"
    );
}

#[test]
fn unreadable_and_truncated_files_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    let e = ing.read_parquet(dir.path().join("nope.parquet")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    // A Parquet file cut in half.
    let path = dir.path().join("events.parquet");
    clientele::io::write_batch(&events(&[("a", "2024-01-01", "purchase", Some(1.0))]), &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = ing.read_parquet(&path).unwrap_err();
    assert!(
        matches!(&e, Error::Format { source_name, format: "parquet", .. } if source_name.contains("events.parquet")),
        "{e}"
    );
    let e = ing
        .read_path(dir.path().join("x.xlsx"), &CsvOptions::default())
        .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { field: "input", .. }), "{e}");
}

#[test]
fn whitespace_delimited_headerless_text_with_a_time_format() {
    let text = "  00012 1 19970101 1 29.33\r\n00012 1  19970118 2 29.73\r\n\r\n00007\t1 19970231 1 9.99\r\n";
    let opts = IngestOptions::default()
        .column(Role::CustomerId, "1")
        .column(Role::EventTime, "3")
        .column(Role::Amount, "5")
        .time_format(clientele::time::TimeFormat::Format("%Y%m%d".into()));
    let csv = CsvOptions {
        delimiter: Delimiter::Whitespace,
        has_header: false,
        ..Default::default()
    };
    let mut ing = Ingestor::new(&opts).unwrap();
    ing.read_csv_reader(text.as_bytes(), "cdnow-like", &csv).unwrap();
    let (store, r) = ing.finish().unwrap();
    assert_eq!((r.rows_read, r.rows_accepted), (3, 2));
    assert_eq!(r.rejections[0].reason, RejectReason::UnparseableEventTime);
    assert_eq!(r.rejections[0].row, 3);
    // "00012" keys are integers (as pandas reads them).
    assert_eq!(store.customer_keys(), &CustomerKeys::Int(Int64Array::from(vec![12])));
}

#[test]
fn other_delimiters_and_string_keys() {
    let text = "who;when\nX-1;2024-01-01T10:00:00Z\nX-2;2024-01-02 11:00:00\n7;2024-01-03\n";
    let opts = IngestOptions::default()
        .column(Role::CustomerId, "who")
        .column(Role::EventTime, "when");
    let csv = CsvOptions {
        delimiter: Delimiter::parse(";").unwrap(),
        ..Default::default()
    };
    let mut ing = Ingestor::new(&opts).unwrap();
    ing.read_csv_reader(text.as_bytes(), "semi", &csv).unwrap();
    let (store, r) = ing.finish().unwrap();
    assert_eq!(r.rows_accepted, 3);
    assert_eq!(
        store.customer_keys(),
        &CustomerKeys::Str(StringArray::from(vec!["7", "X-1", "X-2"]))
    );
    assert_eq!(store.customer_index(KeyRef::Str("X-2")), Some(2));
    // No event-type column: everything is a purchase.
    assert_eq!(store.event_types(), ["purchase"]);
    // Forcing integer keys rejects the rest.
    let mut ing = Ingestor::new(&opts.clone().key_type(KeyType::Int)).unwrap();
    ing.read_csv_reader(text.as_bytes(), "semi", &csv).unwrap();
    let (_, r) = ing.finish().unwrap();
    assert_eq!(r.rejected_by_reason[&RejectReason::InvalidCustomerId], 2);
}

#[test]
fn arrow_types_are_converted() {
    // Nanosecond timestamps with an offset, decimal amounts, dictionary event types, u64 keys.
    let ns = 1_704_067_200_000_000_000i64; // 2024-01-01T00:00:00Z
    let types: DictionaryArray<Int32Type> = vec!["purchase", "web_visit", "purchase"].into_iter().collect();
    let batch = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(UInt64Array::from(vec![1, 1, u64::MAX])) as _),
        (
            "event_time",
            Arc::new(TimestampNanosecondArray::from(vec![ns, ns + 1_500, ns]).with_timezone("+02:00")) as _,
        ),
        ("event_type", Arc::new(types) as _),
        (
            "amount",
            Arc::new(
                Decimal128Array::from(vec![Some(1234), None, Some(5)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ) as _,
        ),
    ])
    .unwrap();
    let (store, r) = store_of(batch);
    assert_eq!((r.rows_accepted, r.rows_rejected), (2, 1));
    assert_eq!(r.rejections[0].reason, RejectReason::InvalidCustomerId);
    let c = store.columns();
    assert_eq!(c.time.values(), &[1_704_067_200_000_000, 1_704_067_200_000_001]);
    assert_eq!(c.amount.as_ref().unwrap().value(0), 12.34);
    assert!(c.amount.as_ref().unwrap().is_null(1));
    // Date32 times.
    let batch = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(vec![5])) as _),
        ("event_time", Arc::new(Date32Array::from(vec![19_723])) as _),
    ])
    .unwrap();
    let (store, _) = store_of(batch);
    assert_eq!(store.columns().time.values(), &[19_723 * 86_400_000_000]);
}

fn canonical_batch() -> RecordBatch {
    RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(vec![3, 1, 2, 1, 3, 1])) as _),
        (
            "event_time",
            Arc::new(StringArray::from(vec![
                "2024-01-05",
                "2024-01-03",
                "2024-01-02",
                "2024-01-01",
                "2024-01-01",
                "2024-01-03",
            ])) as _,
        ),
        (
            "event_type",
            Arc::new(StringArray::from(vec![
                "purchase",
                "email_open",
                "purchase",
                "purchase",
                "complaint",
                "purchase",
            ])) as _,
        ),
        (
            "amount",
            Arc::new(Float64Array::from(vec![
                Some(5.0),
                None,
                Some(7.5),
                Some(1.0),
                None,
                Some(2.0),
            ])) as _,
        ),
        (
            "channel",
            Arc::new(StringArray::from(vec![
                Some("web"),
                Some("email"),
                None,
                Some("store"),
                Some("phone"),
                Some("web"),
            ])) as _,
        ),
        (
            "score",
            Arc::new(Float64Array::from(vec![None, None, None, None, Some(2.0), None])) as _,
        ),
    ])
    .unwrap()
}

#[test]
fn store_orders_events_by_customer_then_time() {
    let (store, _) = store_of(canonical_batch());
    assert_eq!(store.offsets(), &[0, 3, 4, 6]);
    let t = store.columns().time.values();
    assert!(t[0] <= t[1] && t[1] <= t[2]);
    // Same-time events of one customer: ordered by event type code, then amount.
    let events = store.events().unwrap();
    assert_eq!(strs(&events, "event_type")[..3], ["purchase", "email_open", "purchase"]);
    assert_eq!(store.event_types(), ["complaint", "email_open", "purchase"]);
}

#[test]
fn every_format_gives_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let batch = canonical_batch();
    let (expected, _) = store_of(batch.clone());
    for ext in ["parquet", "arrow", "csv"] {
        let path = dir.path().join(format!("events.{ext}"));
        clientele::io::write_batch(&batch, &path).unwrap();
        let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
        ing.read_path(&path, &CsvOptions::default()).unwrap();
        let (store, r) = ing.finish().unwrap();
        assert_eq!(r.rows_accepted, 6, "{ext}");
        assert_eq!(store.events().unwrap(), expected.events().unwrap(), "{ext}");
        assert_eq!(store.customer_keys(), expected.customer_keys(), "{ext}");
    }
    // Arrow IPC stream.
    let mut buf = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    }
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_ipc_stream(buf.as_slice(), "stream").unwrap();
    let (store, _) = ing.finish().unwrap();
    assert_eq!(store.events().unwrap(), expected.events().unwrap());
}

#[test]
fn stores_save_and_open_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_of(canonical_batch());
    for format in [StoreFormat::Ipc, StoreFormat::Parquet] {
        let d = dir.path().join(format!("{format:?}"));
        store.save(&d, format).unwrap();
        let again = EventStore::open(&d, &Parallelism::current()).unwrap();
        assert_eq!(again.events().unwrap(), store.events().unwrap());
        assert_eq!(again.customer_keys(), store.customer_keys());
        assert_eq!(again.offsets(), store.offsets());
        assert_eq!(again.purchase_type(), "purchase");
    }
    // A damaged manifest is a CorruptStore error.
    let d = dir.path().join("Ipc");
    let m = std::fs::read_to_string(d.join("manifest.json")).unwrap();
    std::fs::write(
        d.join("manifest.json"),
        m.replace("\"num_events\": 6", "\"num_events\": 7"),
    )
    .unwrap();
    assert!(matches!(
        EventStore::open(&d, &Parallelism::current()).unwrap_err(),
        Error::CorruptStore { .. }
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(d.join("manifest.json"))
        .unwrap();
    f.write_all(b"{").unwrap();
    assert!(matches!(
        EventStore::open(&d, &Parallelism::current()).unwrap_err(),
        Error::CorruptStore { .. }
    ));
}

#[test]
fn appending_equals_ingesting_everything_at_once() {
    let batch = canonical_batch();
    let (all, _) = store_of(batch.clone());
    let (first, _) = store_of(batch.slice(0, 4));
    let mut ing = Ingestor::appending(&first, &IngestOptions::default()).unwrap();
    ing.read_batches("more", [Ok(batch.slice(4, 2))]).unwrap();
    let (appended, r) = ing.finish().unwrap();
    assert_eq!(r.rows_read, 2);
    assert_eq!(appended.events().unwrap(), all.events().unwrap());
    assert_eq!(appended.customer_keys(), all.customer_keys());
}

#[test]
fn invalid_options_name_the_field() {
    let e = IngestOptions::default().purchase_type(" ").validate().unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidParameter {
            field: "purchase_type",
            ..
        }
    ));
    let e = IngestOptions::default()
        .column(Role::Amount, "customer_id")
        .validate()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { field: "mapping", .. }));
    assert!(matches!(
        Delimiter::parse("ab").unwrap_err(),
        Error::InvalidParameter { field: "delimiter", .. }
    ));
}

#[test]
fn parquet_row_groups_are_read_in_parallel_and_in_order() {
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    // 40,000 generated events in row groups of 1,000: decoded in parallel, numbered in order.
    let cfg = clientele::synth::GenerateParams::default()
        .customers(2_000)
        .validate()
        .unwrap();
    let batches = clientele::synth::generate(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many-groups.parquet");
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(1_000))
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        clientele::synth::event_schema(),
        Some(props),
    )
    .unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default())
        .unwrap()
        .with_parallelism(clientele::exec::Parallelism::threads(4).unwrap());
    ing.read_parquet(&path).unwrap();
    let (from_file, r) = ing.finish().unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("memory", batches.into_iter().map(Ok)).unwrap();
    let (from_memory, _) = ing.finish().unwrap();
    assert!(r.rows_read > 30_000);
    assert_eq!(r.rows_read, r.rows_accepted);
    assert_eq!(from_file.events().unwrap(), from_memory.events().unwrap());
    // Row numbers continue across row groups: break row 2,500 and find it reported as such.
    let mut bad = from_memory.events().unwrap();
    let n = bad.num_rows();
    let idx: Vec<Option<i64>> = (0..n).map(|i| if i == 2_499 { None } else { Some(1) }).collect();
    let cols: Vec<arrow_array::ArrayRef> = vec![Arc::new(Int64Array::from(idx)), bad.column(1).clone()];
    bad = RecordBatch::try_from_iter([("customer_id", cols[0].clone()), ("event_time", cols[1].clone())]).unwrap();
    let path = dir.path().join("one-bad-row.parquet");
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        bad.schema(),
        Some(
            WriterProperties::builder()
                .set_max_row_group_row_count(Some(1_000))
                .build(),
        ),
    )
    .unwrap();
    w.write(&bad).unwrap();
    w.close().unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_parquet(&path).unwrap();
    let (_, r) = ing.finish().unwrap();
    assert_eq!(r.rejections.len(), 1);
    assert_eq!(
        (r.rejections[0].row, r.rejections[0].reason),
        (2_500, RejectReason::NullCustomerId)
    );
}

#[test]
fn only_the_requested_roles_are_loaded_and_validated() {
    let opts = IngestOptions::default().only(&[Role::EventType, Role::Amount]);
    let (store, r) = read_csv_text(BAD_CSV, &opts).unwrap();
    // Row 12's non-finite score is not validated because scores are not loaded.
    assert_eq!((r.rows_accepted, r.rows_rejected), (5, 8));
    assert!(r.reconciles());
    assert!(store.columns().channel.is_none() && store.columns().score.is_none());
    assert!(store.columns().amount.is_some());
}
