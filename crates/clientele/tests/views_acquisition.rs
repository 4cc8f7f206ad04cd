//! Value by acquisition channel on a hand-made fixture worked out in the comments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::Arc;

use arrow_array::{Array, Float64Array, Int64Array, RecordBatch};
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::store::EventStore;
use clientele::views::{ChannelParams, acquisition_channels};
use common::*;

// First purchases: 1 web (20 Jan 5, then 10 in store: 30); 2 store (35.005; the earlier email
// open is no purchase); 3 no channel (5); 4 web (12.5); 5 never buys.
// web: 2 customers, 42.5, 21.25 each; store: 1, 35.005 -> 35.01, 35.005; none: 1, 5.
const EVENTS: &str = "customer_id,event_time,event_type,amount,channel\n\
    1,2024-01-05,purchase,20,web\n\
    1,2024-02-05,purchase,10,store\n\
    2,2024-01-01,email_open,,email\n\
    2,2024-01-07,purchase,35.005,store\n\
    3,2024-01-02,purchase,5,\n\
    4,2024-01-03,purchase,12.5,web\n\
    5,2024-01-03,web_visit,,web\n";

fn store() -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(EVENTS.as_bytes(), "events.csv", &CsvOptions::default())
        .unwrap();
    ing.finish().unwrap().0
}

#[test]
fn acquired_customers_and_revenue_by_hand() {
    let store = store();
    let cfg = ChannelParams::new().validate().unwrap();
    let t = acquisition_channels(&store, None, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
    assert_eq!(
        t,
        acquisition_channels(&store, None, &cfg, &Parallelism::threads(3).unwrap()).unwrap()
    );
    assert_eq!(strs(&t, "acquisition_channel"), ["store", "web", ""]);
    assert_eq!(t.column_by_name("acquisition_channel").unwrap().null_count(), 1);
    assert_eq!(u64s(&t, "customers"), [1, 2, 1]);
    assert_eq!(f64s(&t, "revenue"), [35.01, 42.5, 5.0]);
    assert_eq!(f64s(&t, "revenue_per_customer"), [35.005, 21.25, 5.0]);
    assert_eq!(u64s(&t, "clv_customers"), [0, 0, 0]);
    assert!(f64s(&t, "total_clv").iter().all(|v| v.is_nan()));
    // Before Jan 6: 1 bought 20 on web, 4 12.5 on web, 3 5 without channel; 2 not yet.
    let cfg = ChannelParams::new().as_of(date(2024, 1, 6)).validate().unwrap();
    let t = acquisition_channels(&store, None, &cfg, &Parallelism::current()).unwrap();
    assert_eq!(strs(&t, "acquisition_channel"), ["web", ""]);
    assert_eq!(f64s(&t, "revenue"), [32.5, 5.0]);
}

#[test]
fn with_a_clv_table() {
    // 1: 100, 2: 50.5, 4: null, 5: 7 (never buys: in no row), 99: not in the store (ignored).
    let clv = RecordBatch::try_from_iter(vec![
        ("customer_id", Arc::new(Int64Array::from(vec![1, 2, 4, 5, 99])) as _),
        (
            "clv",
            Arc::new(Float64Array::from(vec![
                Some(100.0),
                Some(50.5),
                None,
                Some(7.0),
                Some(1.0),
            ])) as _,
        ),
    ])
    .unwrap();
    let cfg = ChannelParams::new().validate().unwrap();
    let t = acquisition_channels(&store(), Some(&clv), &cfg, &Parallelism::current()).unwrap();
    // store: customer 2 (50.5); web: 1 (100; 4 has no clv); none: 3 (no row).
    assert_eq!(u64s(&t, "clv_customers"), [1, 1, 0]);
    assert_eq!(f64s(&t, "total_clv"), [50.5, 100.0, 0.0]);
    let mean = f64s(&t, "mean_clv");
    assert_eq!(&mean[..2], [50.5, 100.0]);
    assert!(mean[2].is_nan());
    let dup = RecordBatch::try_from_iter(vec![
        ("customer_id", Arc::new(Int64Array::from(vec![1, 1])) as _),
        ("clv", Arc::new(Float64Array::from(vec![1.0, 2.0])) as _),
    ])
    .unwrap();
    assert!(acquisition_channels(&store(), Some(&dup), &cfg, &Parallelism::current()).is_err());
    let no_clv = RecordBatch::try_from_iter(vec![("customer_id", Arc::new(Int64Array::from(vec![1])) as _)]).unwrap();
    assert!(acquisition_channels(&store(), Some(&no_clv), &cfg, &Parallelism::current()).is_err());
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
    let cfg = ChannelParams::new().as_of(date(2025, 1, 1)).validate().unwrap();
    let one = acquisition_channels(&store, None, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
    assert!(u64s(&one, "customers").iter().sum::<u64>() > 10_000);
    assert_eq!(
        one,
        acquisition_channels(&store, None, &cfg, &Parallelism::threads(3).unwrap()).unwrap()
    );
}
