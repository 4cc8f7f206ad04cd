//! Customer 360 and the point lookup on a hand-made fixture worked out in the comments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::store::{EventStore, KeyRef};
use clientele::views::{Customer360Params, customer_lookup, customer360};
use common::*;

// Customer 1: response to A (email, Jan 1); purchases 10.005 shoes (web, Jan 5), 20 hat (store,
// Jan 20), 5 shoes (web, Feb 1); complaint (phone, Feb 3); surveys 4 (phone, Feb 10) and 5
// (email, Feb 11); service call (phone, Mar 1).
// Customer 2: survey 2 (web, Jan 10); purchase 7.5 bag (web, Mar 15, the store's last event).
const EVENTS: &str = "customer_id,event_time,event_type,amount,channel,product,campaign_id,score\n\
    1,2024-01-01,campaign_response,,email,,A,\n\
    1,2024-01-05,purchase,10.005,web,shoes,,\n\
    1,2024-01-20,purchase,20,store,hat,,\n\
    1,2024-02-01,purchase,5,web,shoes,,\n\
    1,2024-02-03,complaint,,phone,,,\n\
    1,2024-02-10,survey,,phone,,,4\n\
    1,2024-02-11,survey,,email,,,5\n\
    1,2024-03-01,service_call,,phone,,,\n\
    2,2024-01-10,survey,,web,,,2\n\
    2,2024-03-15,purchase,7.5,web,bag,,\n";

fn store() -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(EVENTS.as_bytes(), "events.csv", &CsvOptions::default())
        .unwrap();
    ing.finish().unwrap().0
}

fn dates(b: &RecordBatch, name: &str) -> Vec<Option<NaiveDate>> {
    let c = b.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    let c = c.as_primitive::<TimestampMicrosecondType>();
    (0..c.len())
        .map(|i| {
            c.is_valid(i)
                .then(|| clientele::time::days_to_date(c.value(i) / 86_400_000_000).unwrap())
        })
        .collect()
}

fn d(m: u32, day: u32) -> Option<NaiveDate> {
    Some(date(2024, m, day))
}

fn opt_i64s(b: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let c = b.column_by_name(name).unwrap();
    let c = c.as_primitive::<arrow_array::types::Int64Type>();
    (0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i))).collect()
}

#[test]
fn the_360_rows_by_hand() {
    let store = store();
    let cfg = Customer360Params::new().validate().unwrap();
    let t = customer360(&store, None, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
    assert_eq!(
        t,
        customer360(&store, None, &cfg, &Parallelism::threads(3).unwrap()).unwrap()
    );
    let names: Vec<String> = t.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(
        names,
        [
            "customer_id",
            "revenue",
            "orders",
            "first_purchase",
            "last_purchase",
            "tenure_days",
            "products",
            "products_held",
            "complaints",
            "last_complaint",
            "service_calls",
            "last_email",
            "last_phone",
            "last_store",
            "last_web",
            "avg_satisfaction",
            "campaign_responses"
        ]
    );
    assert_eq!(i64s(&t, "customer_id"), [1, 2]);
    // 10.005 + 20 + 5 = 35.005 exactly, rounded half away from zero once: 35.01.
    assert_eq!(f64s(&t, "revenue"), [35.01, 7.5]);
    assert_eq!(u64s(&t, "orders"), [3, 1]);
    assert_eq!(dates(&t, "first_purchase"), [d(1, 5), d(3, 15)]);
    assert_eq!(dates(&t, "last_purchase"), [d(2, 1), d(3, 15)]);
    // Reference day: the store's last event, Mar 15. Jan 5 -> Mar 15 2024 = 26 + 29 + 15 = 70.
    assert_eq!(opt_i64s(&t, "tenure_days"), [Some(70), Some(0)]);
    assert_eq!(strs(&t, "products"), ["hat,shoes", "bag"]);
    assert_eq!(u64s(&t, "products_held"), [2, 1]);
    assert_eq!(u64s(&t, "complaints"), [1, 0]);
    assert_eq!(dates(&t, "last_complaint"), [d(2, 3), None]);
    assert_eq!(u64s(&t, "service_calls"), [1, 0]);
    assert_eq!(dates(&t, "last_email"), [d(2, 11), None]);
    assert_eq!(dates(&t, "last_phone"), [d(3, 1), None]);
    assert_eq!(dates(&t, "last_store"), [d(1, 20), None]);
    assert_eq!(dates(&t, "last_web"), [d(2, 1), d(3, 15)]);
    // (4 + 5) / 2 and 2.
    assert_eq!(f64s(&t, "avg_satisfaction"), [4.5, 2.0]);
    assert_eq!(u64s(&t, "campaign_responses"), [1, 0]);
}

#[test]
fn as_of_cuts_the_events() {
    let cfg = Customer360Params::new().as_of(date(2024, 2, 5)).validate().unwrap();
    let t = customer360(&store(), None, &cfg, &Parallelism::current()).unwrap();
    // Before Feb 5: customer 1 has the three purchases and the complaint, no survey or call;
    // customer 2 only the survey. Tenure: Jan 5 -> Feb 5 = 31 days.
    assert_eq!(f64s(&t, "revenue"), [35.01, 0.0]);
    assert_eq!(u64s(&t, "orders"), [3, 0]);
    assert_eq!(opt_i64s(&t, "tenure_days"), [Some(31), None]);
    assert_eq!(strs(&t, "products"), ["hat,shoes", ""]);
    assert_eq!(u64s(&t, "complaints"), [1, 0]);
    assert_eq!(u64s(&t, "service_calls"), [0, 0]);
    assert!(f64s(&t, "avg_satisfaction")[0].is_nan());
    assert_eq!(f64s(&t, "avg_satisfaction")[1], 2.0);
    assert_eq!(dates(&t, "last_phone"), [d(2, 3), None]);
}

fn table() -> RecordBatch {
    // Customer 9 is not in the store (ignored); customer 1 has no row (nulls).
    RecordBatch::try_from_iter(vec![
        ("customer_id", Arc::new(Int64Array::from(vec![9, 2])) as _),
        ("clv", Arc::new(Float64Array::from(vec![3.0, 100.5])) as _),
        ("segment", Arc::new(StringArray::from(vec!["x", "gold"])) as _),
    ])
    .unwrap()
}

#[test]
fn left_join_with_a_customer_table() {
    let cfg = Customer360Params::new().validate().unwrap();
    let t = customer360(&store(), Some(&table()), &cfg, &Parallelism::current()).unwrap();
    assert_eq!(t.num_rows(), 2);
    let clv = f64s(&t, "clv");
    assert!(clv[0].is_nan());
    assert_eq!(clv[1], 100.5);
    assert_eq!(t.column_by_name("segment").unwrap().null_count(), 1);
    assert_eq!(strs(&t, "segment")[1], "gold");
    // A duplicate customer or a clashing column is an error.
    let dup = RecordBatch::try_from_iter(vec![("customer_id", Arc::new(Int64Array::from(vec![2, 2])) as _)]).unwrap();
    assert!(customer360(&store(), Some(&dup), &cfg, &Parallelism::current()).is_err());
    let clash = RecordBatch::try_from_iter(vec![
        ("customer_id", Arc::new(Int64Array::from(vec![2])) as _),
        ("orders", Arc::new(Int64Array::from(vec![5])) as _),
    ])
    .unwrap();
    assert!(customer360(&store(), Some(&clash), &cfg, &Parallelism::current()).is_err());
}

#[test]
fn point_lookup_row_and_recent_events() {
    let store = store();
    let cfg = Customer360Params::new().recent(3).validate().unwrap();
    let card = customer_lookup(&store, KeyRef::Int(1), Some(&table()), &cfg)
        .unwrap()
        .unwrap();
    let all = customer360(&store, Some(&table()), &cfg, &Parallelism::current()).unwrap();
    assert_eq!(card.row, all.slice(0, 1));
    // Newest first: service call Mar 1, survey Feb 11, survey Feb 10.
    assert_eq!(card.recent.num_rows(), 3);
    assert_eq!(i64s(&card.recent, "customer_id"), [1, 1, 1]);
    assert_eq!(strs(&card.recent, "event_type"), ["service_call", "survey", "survey"]);
    assert_eq!(dates(&card.recent, "event_time"), [d(3, 1), d(2, 11), d(2, 10)]);
    // A string key finds an integer customer; the table row joins.
    let card = customer_lookup(&store, KeyRef::Str("2"), Some(&table()), &cfg)
        .unwrap()
        .unwrap();
    assert_eq!(f64s(&card.row, "clv"), [100.5]);
    assert_eq!(strs(&card.recent, "event_type"), ["purchase", "survey"]);
    assert!(customer_lookup(&store, KeyRef::Int(5), None, &cfg).unwrap().is_none());
    // as_of hides later events.
    let cfg = Customer360Params::new().as_of(date(2024, 2, 1)).validate().unwrap();
    let card = customer_lookup(&store, KeyRef::Int(1), None, &cfg).unwrap().unwrap();
    assert_eq!(
        strs(&card.recent, "event_type"),
        ["purchase", "purchase", "campaign_response"]
    );
}

#[test]
fn one_thread_and_three_agree_on_several_chunks() {
    let cfg = clientele::synth::GenerateParams::default()
        .customers(20_000)
        .validate()
        .unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("synth", clientele::synth::generate(&cfg).unwrap().into_iter().map(Ok))
        .unwrap();
    let store = ing.finish().unwrap().0;
    let cfg = Customer360Params::new().as_of(date(2025, 1, 1)).validate().unwrap();
    let one = customer360(&store, None, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
    assert_eq!(one.num_rows(), store.num_customers());
    assert_eq!(
        one,
        customer360(&store, None, &cfg, &Parallelism::threads(3).unwrap()).unwrap()
    );
}

#[test]
fn a_channel_named_like_a_column_gets_a_distinct_name() {
    let csv = "customer_id,event_time,event_type,amount,channel\n1,2024-01-05,purchase,20,purchase\n";
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(csv.as_bytes(), "events.csv", &CsvOptions::default())
        .unwrap();
    let store = ing.finish().unwrap().0;
    let t = customer360(
        &store,
        None,
        &Customer360Params::new().validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap();
    assert_eq!(dates(&t, "last_channel_purchase"), [d(1, 5)]);
    assert_eq!(dates(&t, "last_purchase"), [d(1, 5)]);
}

#[test]
fn indexed_lookup_equals_the_plain_lookup() {
    use clientele::store::KeyRef;
    use clientele::views::{Customer360Params, customer_lookup, customer_lookup_indexed};
    let csv = "customer_id,event_time,event_type,amount,channel\n\
               5,2024-01-05,purchase,20,web\n\
               9,2024-02-05,purchase,7.5,store\n\
               9,2024-02-06,web_visit,,web\n\
               42,2024-03-01,complaint,,phone\n";
    let mut ing = clientele::ingest::Ingestor::new(&clientele::ingest::IngestOptions::default()).unwrap();
    ing.read_csv_reader(csv.as_bytes(), "e.csv", &Default::default())
        .unwrap();
    let (store, _) = ing.finish().unwrap();
    let index = store.customer_keys().hash_index();
    let cfg = Customer360Params::new().recent(2).validate().unwrap();
    for k in [5, 9, 42, 7] {
        let plain = customer_lookup(&store, KeyRef::Int(k), None, &cfg).unwrap();
        let indexed = customer_lookup_indexed(&store, &index, KeyRef::Int(k), None, &cfg).unwrap();
        assert_eq!(plain, indexed, "key {k}");
        assert_eq!(plain.is_some(), k != 7);
    }
}
