//! Cohort matrices on hand-made fixtures, worked out by hand in the comments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, UInt32Type};
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::store::EventStore;
use clientele::views::{CohortParams, Grain, cohorts};
use common::*;
use proptest::prelude::*;

fn store(csv: &str) -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(csv.as_bytes(), "events.csv", &CsvOptions::default())
        .unwrap();
    ing.finish().unwrap().0
}

fn days(batch: &arrow_array::RecordBatch) -> Vec<String> {
    let c = batch.column_by_name("cohort").unwrap().as_primitive::<Date32Type>();
    let epoch = date(1970, 1, 1);
    c.values()
        .iter()
        .map(|&d| (epoch + chrono::Duration::days(i64::from(d))).to_string())
        .collect()
}

fn periods(batch: &arrow_array::RecordBatch) -> Vec<u32> {
    batch
        .column_by_name("period")
        .unwrap()
        .as_primitive::<UInt32Type>()
        .values()
        .to_vec()
}

// Customer 1: January cohort; purchases 10 + 5 in January (2nd purchase in period 0), 20 in March.
// Customer 2: January cohort; 30 on Jan 31, 40 on Feb 1 (2nd purchase in period 1); a visit.
// Customer 3: February cohort; 100 in February; the April purchase is on as_of: left out.
// Customer 4: only a visit: in no cohort.
const EVENTS: &str = "customer_id,event_time,event_type,amount\n\
    1,2024-01-05 10:00:00,purchase,10\n\
    1,2024-01-20 10:00:00,purchase,5\n\
    1,2024-03-02 10:00:00,purchase,20\n\
    2,2024-01-31 23:00:00,purchase,30\n\
    2,2024-02-01 01:00:00,purchase,40\n\
    2,2024-02-10 10:00:00,web_visit,\n\
    3,2024-02-15 10:00:00,purchase,100\n\
    3,2024-04-01 00:00:00,purchase,50\n\
    4,2024-01-02 10:00:00,web_visit,\n";

#[test]
fn monthly_matrix_by_hand() {
    let store = store(EVENTS);
    let cfg = CohortParams::new(date(2024, 4, 1)).validate().unwrap();
    let m = cohorts(&store, &cfg, &Parallelism::current()).unwrap();
    // as_of 2024-04-01: the last period is March. January cohort: periods 0 (Jan), 1 (Feb),
    // 2 (Mar); February cohort: periods 0 (Feb), 1 (Mar).
    assert_eq!(
        days(&m),
        ["2024-01-01", "2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01"]
    );
    assert_eq!(periods(&m), [0, 1, 2, 0, 1]);
    assert_eq!(u64s(&m, "customers"), [2, 2, 2, 1, 1]);
    // Jan: both in Jan; customer 2 in Feb; customer 1 in Mar. Feb: customer 3 in Feb only.
    assert_eq!(u64s(&m, "active_customers"), [2, 1, 1, 1, 0]);
    assert_eq!(f64s(&m, "retention"), [1.0, 0.5, 0.5, 1.0, 0.0]);
    // Jan revenue: 10 + 5 + 30 = 45, then 40, then 20. Feb: 100, then 0.
    assert_eq!(f64s(&m, "revenue"), [45.0, 40.0, 20.0, 100.0, 0.0]);
    assert_eq!(f64s(&m, "revenue_retention"), [1.0, 40.0 / 45.0, 20.0 / 45.0, 1.0, 0.0]);
    // Cumulative revenue per customer: 45/2, 85/2, 105/2; 100/1, 100/1.
    assert_eq!(
        f64s(&m, "cumulative_revenue_per_customer"),
        [22.5, 42.5, 52.5, 100.0, 100.0]
    );
    // Repeat buyers: customer 1 from period 0, customer 2 from period 1; customer 3 never.
    assert_eq!(f64s(&m, "repeat_purchase_rate"), [0.5, 1.0, 1.0, 0.0, 0.0]);
    assert_eq!(null_count(&m, "revenue_retention"), 0);
}

#[test]
fn weekly_cohorts_start_on_monday() {
    // 2024-01-01 is a Monday: the purchases on Mon 1st and Sun 7th are in week 0, Mon 8th in
    // week 1. Customer 2 joins on Wed 10th (week 1 cohort, starts Mon 8th) with a 0 purchase.
    let csv = "customer_id,event_time,event_type,amount\n\
        1,2024-01-01,purchase,1\n\
        1,2024-01-07,purchase,2\n\
        1,2024-01-08,purchase,4\n\
        2,2024-01-10,purchase,0\n";
    let store = store(csv);
    let cfg = CohortParams::new(date(2024, 1, 15)).by(Grain::Week).validate().unwrap();
    let m = cohorts(&store, &cfg, &Parallelism::current()).unwrap();
    // as_of Mon 15th: the last week is the one starting on the 8th.
    assert_eq!(days(&m), ["2024-01-01", "2024-01-01", "2024-01-08"]);
    assert_eq!(periods(&m), [0, 1, 0]);
    assert_eq!(u64s(&m, "active_customers"), [1, 1, 1]);
    assert_eq!(f64s(&m, "revenue"), [3.0, 4.0, 0.0]);
    // Customer 2's period-0 revenue is 0: revenue retention is null.
    assert!(f64s(&m, "revenue_retention")[2].is_nan());
    assert_eq!(null_count(&m, "revenue_retention"), 1);
    assert_eq!(f64s(&m, "repeat_purchase_rate"), [1.0, 1.0, 0.0]);
}

#[test]
fn nothing_before_as_of_is_empty() {
    let store = store(EVENTS);
    let cfg = CohortParams::new(date(2023, 1, 1)).validate().unwrap();
    let m = cohorts(&store, &cfg, &Parallelism::current()).unwrap();
    assert_eq!(m.num_rows(), 0);
    assert_eq!(m.num_columns(), 9);
}

#[test]
fn revenue_is_summed_exactly_and_rounded_once() {
    // 0.1 + 0.2 in floats is 0.30000000000000004; three purchases of 0.005 are 0.015 -> 0.02.
    let csv = "customer_id,event_time,event_type,amount\n\
        1,2024-01-01,purchase,0.005\n\
        1,2024-01-02,purchase,0.005\n\
        1,2024-01-03,purchase,0.005\n\
        2,2024-01-01,purchase,0.1\n\
        2,2024-01-02,purchase,0.2\n";
    let m = cohorts(
        &store(csv),
        &CohortParams::new(date(2024, 2, 1)).validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap();
    assert_eq!(f64s(&m, "revenue"), [0.32]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn retention_never_exceeds_one(
        rows in proptest::collection::vec((0u8..12, 0u32..400, any::<bool>(), 0u32..10_000), 1..80),
        as_of in 0u32..420,
        weekly in any::<bool>(),
    ) {
        let mut csv = String::from("customer_id,event_time,event_type,amount\n");
        let start = date(2023, 1, 1);
        for (c, d, buy, cents) in &rows {
            let day = start + chrono::Duration::days(i64::from(*d));
            let t = if *buy { "purchase" } else { "web_visit" };
            csv.push_str(&format!("{c},{day},{t},{}.{:02}\n", cents / 100, cents % 100));
        }
        let store = store(&csv);
        let as_of = start + chrono::Duration::days(i64::from(as_of));
        let by = if weekly { Grain::Week } else { Grain::Month };
        let cfg = CohortParams::new(as_of).by(by).validate().unwrap();
        let m = cohorts(&store, &cfg, &Parallelism::current()).unwrap();
        let one = cohorts(&store, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
        prop_assert_eq!(&m, &one);
        let customers = u64s(&m, "customers");
        let active = u64s(&m, "active_customers");
        for (i, r) in f64s(&m, "retention").iter().enumerate() {
            prop_assert!((0.0..=1.0).contains(r));
            prop_assert!(active[i] <= customers[i]);
        }
        for (i, r) in f64s(&m, "repeat_purchase_rate").iter().enumerate() {
            prop_assert!((0.0..=1.0).contains(r), "row {}: {}", i, r);
        }
        // Period 0 of every cohort has every customer active.
        for (i, p) in periods(&m).iter().enumerate() {
            if *p == 0 {
                prop_assert_eq!(active[i], customers[i]);
            }
        }
        // Every buyer before as_of is in exactly one cohort.
        let buyers: std::collections::BTreeSet<u8> = rows
            .iter()
            .filter(|(_, d, buy, _)| *buy && start + chrono::Duration::days(i64::from(*d)) < as_of)
            .map(|r| r.0)
            .collect();
        let total: u64 = periods(&m).iter().zip(&customers).filter(|(p, _)| **p == 0).map(|(_, n)| n).sum();
        prop_assert_eq!(total, buyers.len() as u64);
    }
}
