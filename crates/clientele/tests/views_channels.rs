//! The channel view on a hand-made fixture whose figures are worked out in the comments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::collections::BTreeMap;

use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::store::EventStore;
use clientele::views::{ChannelParams, channels};
use common::*;

const EVENTS: &str = "customer_id,event_time,event_type,amount,channel,cost\n\
    1,2024-01-01,email_open,,email,0.10\n\
    1,2024-01-02,web_visit,,web,0.50\n\
    1,2024-01-03,purchase,20,web,\n\
    1,2024-01-04,purchase,5,store,\n\
    2,2024-01-01,email_open,,email,0.10\n\
    2,2024-01-02,purchase,30,store,1.00\n\
    2,2024-01-03,purchase,12.5,store,\n\
    2,2024-01-05,service_call,,phone,2.30\n\
    3,2024-01-06,web_visit,,,\n\
    3,2024-01-07,email_open,,email,0.10\n\
    3,2024-01-08,web_visit,,web,0.50\n\
    4,2024-02-10,purchase,99,web,\n";

fn store() -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(EVENTS.as_bytes(), "events.csv", &CsvOptions::default())
        .unwrap();
    ing.finish().unwrap().0
}

#[test]
fn channel_table_by_hand() {
    let store = store();
    let cfg = ChannelParams::new().validate().unwrap();
    let v = channels(&store, &cfg, &Parallelism::current()).unwrap();
    assert_eq!(v, channels(&store, &cfg, &Parallelism::threads(1).unwrap()).unwrap());
    let t = &v.channels;
    assert_eq!(strs(t, "channel"), ["email", "phone", "store", "web"]);
    // email: customers 1, 2, 3; phone: 2; store: 1, 2; web: 1, 3, 4 (customer 3's visit
    // without a channel counts nowhere).
    assert_eq!(u64s(t, "customers_reached"), [3, 1, 2, 3]);
    assert_eq!(u64s(t, "events"), [3, 1, 3, 4]);
    assert_eq!(u64s(t, "purchases"), [0, 0, 3, 2]);
    // store: 5 + 30 + 12.5; web: 20 + 99.
    assert_eq!(f64s(t, "revenue"), [0.0, 0.0, 47.5, 119.0]);
    // 11 events on a channel.
    let engagement = [3.0 / 11.0, 1.0 / 11.0, 3.0 / 11.0, 4.0 / 11.0];
    assert_eq!(f64s(t, "engagement_share"), engagement);
    // Costs: email 3 × 0.10, phone 2.30, store 1.00, web 2 × 0.50; 4.60 in all (460 cents).
    assert_eq!(f64s(t, "cost"), [0.3, 2.3, 1.0, 1.0]);
    let cost_share = [30.0 / 460.0, 230.0 / 460.0, 100.0 / 460.0, 100.0 / 460.0];
    assert_eq!(f64s(t, "cost_share"), cost_share);
    let mismatch: Vec<f64> = engagement.iter().zip(cost_share).map(|(e, c)| e - c).collect();
    assert_eq!(f64s(t, "mismatch"), mismatch);
    // Shares add up to 1.
    assert!((f64s(t, "engagement_share").iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!((f64s(t, "cost_share").iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn preferred_channels_by_hand() {
    let store = store();
    let v = channels(
        &store,
        &ChannelParams::new().validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap();
    let p = &v.preferred;
    assert_eq!(i64s(p, "customer_id"), [1, 2, 3, 4]);
    // 1: email 1, web 2, store 1 -> web; purchases web 1, store 1: tie -> store (name order).
    // 2: email 1, store 2, phone 1 -> store; purchases store 2.
    // 3: email 1, web 1: tie -> email; no purchase -> null, 0.
    // 4: web 1; purchases web 1.
    assert_eq!(strs(p, "preferred_by_engagement"), ["web", "store", "email", "web"]);
    assert_eq!(u64s(p, "engagement_events"), [2, 2, 1, 1]);
    assert_eq!(strs(p, "preferred_by_purchases"), ["store", "store", "", "web"]);
    assert_eq!(null_count(p, "preferred_by_purchases"), 1);
    assert_eq!(u64s(p, "purchase_events"), [1, 2, 0, 1]);
}

#[test]
fn as_of_leaves_later_events_out() {
    let store = store();
    let cfg = ChannelParams::new().as_of(date(2024, 2, 1)).validate().unwrap();
    let v = channels(&store, &cfg, &Parallelism::current()).unwrap();
    // Customer 4's web purchase of Feb 10 is gone.
    assert_eq!(u64s(&v.channels, "events"), [3, 1, 3, 3]);
    assert_eq!(u64s(&v.channels, "customers_reached"), [3, 1, 2, 2]);
    assert_eq!(f64s(&v.channels, "revenue"), [0.0, 0.0, 47.5, 20.0]);
    assert_eq!(v.preferred.num_rows(), 3);
}

#[test]
fn cost_table_replaces_the_cost_column() {
    let store = store();
    let costs: BTreeMap<String, f64> = [("email", 100.0), ("web", 300.0), ("tv", 600.0)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let cfg = ChannelParams::new().channel_costs(costs).validate().unwrap();
    let t = channels(&store, &cfg, &Parallelism::current()).unwrap().channels;
    // tv has a cost but no events; phone and store have events but no listed cost.
    assert_eq!(strs(&t, "channel"), ["email", "phone", "store", "tv", "web"]);
    assert_eq!(u64s(&t, "events"), [3, 1, 3, 0, 4]);
    assert_eq!(f64s(&t, "cost"), [100.0, 0.0, 0.0, 600.0, 300.0]);
    assert_eq!(f64s(&t, "cost_share"), [0.1, 0.0, 0.0, 0.6, 0.3]);
    assert_eq!(f64s(&t, "mismatch")[3], -0.6);
}

#[test]
fn no_cost_means_null_shares_and_bad_costs_are_rejected() {
    let csv = "customer_id,event_time,event_type,channel\n1,2024-01-01,web_visit,web\n";
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(csv.as_bytes(), "e.csv", &CsvOptions::default())
        .unwrap();
    let store = ing.finish().unwrap().0;
    let t = channels(
        &store,
        &ChannelParams::new().validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap()
    .channels;
    assert_eq!(f64s(&t, "cost"), [0.0]);
    assert_eq!(null_count(&t, "cost_share"), 1);
    assert_eq!(null_count(&t, "mismatch"), 1);
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let costs = BTreeMap::from([("web".to_string(), bad)]);
        let err = ChannelParams::new().channel_costs(costs).validate().unwrap_err();
        assert!(
            matches!(
                err,
                clientele::Error::InvalidParameter {
                    field: "channel_costs",
                    ..
                }
            ),
            "{err}"
        );
    }
}
