//! The segment report on a hand-made fixture whose every figure is worked out below.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::report::{SegmentReportParams, segment_report};
use clientele::store::EventStore;
use common::*;

const EVENTS: &str = "customer_id,event_time,event_type,amount,channel,score\n\
    1,2024-01-01 09:00:00,purchase,10,web,\n\
    1,2024-01-03 09:00:00,purchase,20.005,web,\n\
    1,2024-01-04 09:00:00,survey,,web,4\n\
    1,2024-01-05 09:00:00,campaign_send,,email,\n\
    1,2024-01-06 09:00:00,campaign_response,,email,\n\
    2,2024-01-02 09:00:00,purchase,5,store,\n\
    2,2024-01-03 09:00:00,complaint,,phone,\n\
    2,2024-01-04 09:00:00,survey,,phone,2\n\
    2,2024-01-05 09:00:00,campaign_send,,email,\n\
    3,2024-01-10 09:00:00,purchase,100,store,\n\
    3,2024-01-11 09:00:00,web_visit,,web,5\n\
    3,2024-02-05 09:00:00,purchase,1000,store,\n\
    3,2024-02-06 09:00:00,complaint,,phone,\n\
    4,2024-01-11 09:00:00,web_visit,,web,\n";

fn store() -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(EVENTS.as_bytes(), "events.csv", &CsvOptions::default())
        .unwrap();
    ing.finish().unwrap().0
}

fn table(ids: &[i64], segments: &[&str], frequency: &[i64]) -> RecordBatch {
    RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(ids.to_vec())) as _),
        ("segment", Arc::new(StringArray::from(segments.to_vec())) as _),
        ("frequency", Arc::new(Int64Array::from(frequency.to_vec())) as _),
    ])
    .unwrap()
}

#[test]
fn every_column_by_hand() {
    let store = store();
    let t = table(&[1, 2, 3], &["A", "B", "A"], &[2, 1, 1]);
    let cfg = SegmentReportParams::new(date(2024, 2, 1)).validate().unwrap();
    let r = segment_report(&store, &t, &cfg, &Parallelism::current()).unwrap();
    assert_eq!(
        r,
        segment_report(&store, &t, &cfg, &Parallelism::threads(1).unwrap()).unwrap()
    );
    assert_eq!(strs(&r, "segment"), ["A", "B"]);
    assert_eq!(u64s(&r, "customers"), [2, 1]);
    assert_eq!(f64s(&r, "share"), [2.0 / 3.0, 1.0 / 3.0]);
    // A: 10 + 20.005 + 100 = 130.005 -> 130.01 (rounded once, half away from zero); customer
    // 3's purchase of 2024-02-05 is after as_of. B: 5.
    assert_eq!(f64s(&r, "revenue"), [130.01, 5.0]);
    assert_eq!(f64s(&r, "revenue_share"), [13_001.0 / 13_501.0, 500.0 / 13_501.0]);
    assert_eq!(u64s(&r, "orders"), [3, 1]);
    assert_eq!(f64s(&r, "mean_frequency"), [1.5, 1.0]);
    // No recency or monetary column in this table: null means.
    assert_eq!(null_count(&r, "mean_recency_days"), 2);
    assert_eq!(null_count(&r, "mean_monetary"), 2);
    // Surveys only: A has customer 1's 4 (customer 3's scored web visit is not a survey); B 2.
    assert_eq!(f64s(&r, "avg_satisfaction"), [4.0, 2.0]);
    // Customer 3's complaint is after as_of; customer 2 complained.
    assert_eq!(f64s(&r, "complaint_rate"), [0.0, 1.0]);
    // A: 1 response / 1 send; B: 0 / 1.
    assert_eq!(f64s(&r, "campaign_response_rate"), [1.0, 0.0]);
    // A: web 4 (two purchases, survey, visit), email 2, store 1. B: phone 2, store 1, email 1.
    assert_eq!(strs(&r, "dominant_channel"), ["web", "phone"]);

    // Every scored event, and B listed first.
    let cfg = SegmentReportParams::new(date(2024, 2, 1))
        .survey_type(None)
        .segment_order(vec!["B".into(), "nobody".into()])
        .validate()
        .unwrap();
    let r = segment_report(&store, &t, &cfg, &Parallelism::current()).unwrap();
    assert_eq!(strs(&r, "segment"), ["B", "A"]);
    assert_eq!(f64s(&r, "avg_satisfaction"), [2.0, 4.5]);
}

#[test]
fn from_an_rfm_table_the_report_reconciles() {
    use clientele::kernels::rfm::{RfmParams, rfm};
    let store = store();
    let par = Parallelism::current();
    let as_of = date(2024, 2, 1);
    let t = rfm(&store, &RfmParams::new(as_of).bins(2).validate().unwrap(), &par).unwrap();
    let r = segment_report(&store, &t, &SegmentReportParams::new(as_of).validate().unwrap(), &par).unwrap();
    // Customers, revenue and orders add up to the RFM table's totals.
    assert_eq!(u64s(&r, "customers").iter().sum::<u64>(), 3);
    assert_eq!(u64s(&r, "orders").iter().sum::<u64>(), 4);
    let revenue: f64 = f64s(&r, "revenue").iter().sum();
    assert!((revenue - 135.01).abs() < 1e-9, "{revenue}");
    assert!((f64s(&r, "revenue_share").iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert_eq!(null_count(&r, "mean_recency_days"), 0);
}

#[test]
fn clear_errors() {
    let store = store();
    let cfg = SegmentReportParams::new(date(2024, 2, 1)).validate().unwrap();
    let par = Parallelism::current();
    let err = segment_report(&store, &table(&[1, 99], &["A", "B"], &[1, 1]), &cfg, &par).unwrap_err();
    assert!(err.to_string().contains("customer 99 is not in the store"), "{err}");
    let cfg2 = SegmentReportParams::new(date(2024, 2, 1))
        .segment_column("tier")
        .validate()
        .unwrap();
    let err = segment_report(&store, &table(&[1], &["A"], &[1]), &cfg2, &par).unwrap_err();
    assert!(err.to_string().contains("no `tier` column"), "{err}");
    assert!(
        SegmentReportParams::new(date(2024, 2, 1))
            .segment_column(" ")
            .validate()
            .is_err()
    );
    // Integer segment labels (k-means clusters) are reported as text.
    let t = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(vec![1, 2, 3])) as _),
        ("cluster", Arc::new(arrow_array::UInt32Array::from(vec![0, 1, 0])) as _),
    ])
    .unwrap();
    let cfg3 = SegmentReportParams::new(date(2024, 2, 1))
        .segment_column("cluster")
        .validate()
        .unwrap();
    let r = segment_report(&store, &t, &cfg3, &par).unwrap();
    assert_eq!(strs(&r, "segment"), ["0", "1"]);
}

#[test]
fn duplicate_and_null_customers_are_refused_and_null_values_left_out_of_means() {
    let store = store();
    let cfg = SegmentReportParams::new(date(2024, 2, 1)).validate().unwrap();
    let par = Parallelism::current();
    let err = segment_report(&store, &table(&[1, 1], &["A", "B"], &[1, 1]), &cfg, &par).unwrap_err();
    assert!(err.to_string().contains("customer 1 has more than one row"), "{err}");
    let nulls = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(vec![Some(1), None])) as _),
        ("segment", Arc::new(StringArray::from(vec!["A", "A"])) as _),
    ])
    .unwrap();
    let err = segment_report(&store, &nulls, &cfg, &par).unwrap_err();
    assert!(err.to_string().contains("row 2: the customer_id is null"), "{err}");
    // Customer 3's frequency is null: A's mean is customer 1's 2, not (2 + 0) / 2.
    let t = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(vec![1, 2, 3])) as _),
        ("segment", Arc::new(StringArray::from(vec!["A", "B", "A"])) as _),
        (
            "frequency",
            Arc::new(Int64Array::from(vec![Some(2), Some(1), None])) as _,
        ),
    ])
    .unwrap();
    let r = segment_report(&store, &t, &cfg, &par).unwrap();
    assert_eq!(f64s(&r, "mean_frequency"), [2.0, 1.0]);
}
