//! Hand-checkable summaries (the documented semantics of `lifetimes`' summary functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use common::*;

fn run(rows: &[(&str, &str, &str, Option<f64>)], params: SummaryParams) -> arrow_array::RecordBatch {
    let (store, report) = store_of(events(rows));
    assert!(report.reconciles());
    summarize(&store, &params.validate().unwrap(), &Parallelism::current()).unwrap()
}

#[test]
fn lifetimes_documented_example() {
    // lifetimes' docs: observation end 2015-02-07, daily periods.
    let rows = [
        ("c1", "2015-02-01", "purchase", Some(1.0)),
        ("c1", "2015-02-06", "purchase", Some(2.0)),
        ("c2", "2015-01-01", "purchase", Some(3.0)),
        ("c3", "2015-01-01", "purchase", Some(4.0)),
        ("c3", "2015-01-02", "purchase", Some(5.0)),
        ("c3", "2015-01-05", "purchase", Some(6.0)),
    ];
    let s = run(&rows, SummaryParams::new(date(2015, 2, 7)));
    assert_eq!(strs(&s, "customer_id"), ["c1", "c2", "c3"]);
    assert_eq!(f64s(&s, "frequency"), [1.0, 0.0, 2.0]);
    assert_eq!(f64s(&s, "recency"), [5.0, 0.0, 4.0]);
    assert_eq!(f64s(&s, "T"), [6.0, 37.0, 37.0]);
    // Mean spend over repeat periods: c1 → 2, c2 → 0, c3 → (5 + 6) / 2.
    assert_eq!(f64s(&s, "monetary_value"), [2.0, 0.0, 5.5]);
    assert_eq!(f64s(&s, "total_spend"), [3.0, 3.0, 15.0]);
    assert_eq!(u64s(&s, "purchase_count"), [2, 1, 3]);
}

#[test]
fn same_day_purchases_are_one_period() {
    let rows = [
        ("a", "2020-03-01 09:00:00", "purchase", Some(10.0)),
        ("a", "2020-03-01 18:30:00", "purchase", Some(5.0)),
    ];
    let s = run(&rows, SummaryParams::new(date(2020, 3, 10)));
    assert_eq!(f64s(&s, "frequency"), [0.0]);
    assert_eq!(u64s(&s, "purchase_count"), [2]);
    assert_eq!(f64s(&s, "monetary_value"), [0.0]);
    assert_eq!(f64s(&s, "total_spend"), [15.0]);
}

#[test]
fn calibration_end_is_inclusive_and_holdout_is_after_it() {
    let rows = [
        ("a", "2020-01-01", "purchase", Some(1.0)),
        ("a", "2020-01-10 23:59:59", "purchase", Some(2.0)), // last instant of calibration
        ("a", "2020-01-11", "purchase", Some(4.0)),          // holdout
        ("a", "2020-01-11 12:00:00", "purchase", Some(6.0)), // same holdout day
        ("a", "2020-01-20", "purchase", Some(8.0)),          // holdout
        ("a", "2020-01-21", "purchase", Some(100.0)),        // after observation end: ignored
        ("b", "2020-01-15", "purchase", Some(1.0)),          // first seen in holdout: not listed
    ];
    let p = SummaryParams::new(date(2020, 1, 10)).observation_end(date(2020, 1, 20));
    let s = run(&rows, p);
    assert_eq!(strs(&s, "customer_id"), ["a"]);
    assert_eq!(f64s(&s, "frequency"), [1.0]);
    assert_eq!(f64s(&s, "recency"), [9.0]);
    assert_eq!(f64s(&s, "T"), [9.0]);
    assert_eq!(f64s(&s, "frequency_holdout"), [2.0]);
    assert_eq!(f64s(&s, "monetary_value_holdout"), [(10.0 + 8.0) / 2.0]);
    assert_eq!(f64s(&s, "duration_holdout"), [10.0]);
}

#[test]
fn monetary_value_does_not_depend_on_row_order() {
    let mut rows = vec![
        ("a", "2020-01-01", "purchase", Some(0.1)),
        ("a", "2020-01-02", "purchase", Some(0.2)),
        ("a", "2020-01-02", "purchase", Some(0.3)),
        ("a", "2020-01-03", "purchase", Some(1e-3)),
        ("a", "2020-01-03", "purchase", Some(1e6)),
        ("a", "2020-01-03", "purchase", Some(0.7)),
    ];
    let p = SummaryParams::new(date(2020, 2, 1));
    let first = run(&rows, p.clone());
    for _ in 0..6 {
        rows.rotate_left(1);
        assert_eq!(run(&rows, p.clone()), first);
    }
    rows.reverse();
    assert_eq!(run(&rows, p), first);
}

#[test]
fn weeks_are_monday_to_sunday_and_measured_in_weeks() {
    // 2024-01-01 is a Monday.
    let rows = [
        ("a", "2024-01-01", "purchase", Some(1.0)),
        ("a", "2024-01-07", "purchase", Some(1.0)), // Sunday: same week
        ("a", "2024-01-08", "purchase", Some(1.0)), // next Monday: new week
        ("a", "2024-01-24", "purchase", Some(1.0)), // Wednesday, week 4
    ];
    let s = run(&rows, SummaryParams::new(date(2024, 2, 4)).period(Period::Week));
    assert_eq!(f64s(&s, "frequency"), [2.0]);
    assert_eq!(f64s(&s, "recency"), [3.0]);
    assert_eq!(f64s(&s, "T"), [4.0]); // 2024-02-04 is the Sunday of week 4
    // The same periods measured in days between week starts.
    let s = run(
        &rows,
        SummaryParams::new(date(2024, 2, 4))
            .period(Period::Week)
            .time_unit(TimeUnit::Day),
    );
    assert_eq!(f64s(&s, "recency"), [21.0]);
    assert_eq!(f64s(&s, "T"), [28.0]);
}

#[test]
fn months_and_day_blocks() {
    let rows = [
        ("a", "2024-01-31", "purchase", Some(1.0)),
        ("a", "2024-02-01", "purchase", Some(1.0)),
        ("a", "2024-02-29", "purchase", Some(1.0)),
    ];
    let s = run(&rows, SummaryParams::new(date(2024, 5, 15)).period(Period::Month));
    assert_eq!(
        (f64s(&s, "frequency"), f64s(&s, "recency"), f64s(&s, "T")),
        (vec![1.0], vec![1.0], vec![4.0])
    );
    let s = run(&rows, SummaryParams::new(date(2024, 5, 15)).period(Period::Days(30)));
    // 1970-based 30-day blocks: 2024-01-31 is day 19753 (block 658), 02-01 and 02-29 are 19754 and 19782 (block 658, 659).
    assert_eq!(f64s(&s, "frequency"), [1.0]);
}

#[test]
fn other_event_types_are_counted_not_purchases() {
    let rows = [
        ("a", "2024-01-01", "web_visit", None),
        ("a", "2024-01-02", "purchase", Some(20.0)),
        ("a", "2024-01-05", "complaint", None),
        ("a", "2024-01-09", "purchase", Some(30.0)),
        ("b", "2024-01-03", "web_visit", None),
    ];
    let s = run(&rows, SummaryParams::new(date(2024, 1, 31)));
    assert_eq!(strs(&s, "customer_id"), ["a"]);
    assert_eq!(u64s(&s, "count_complaint"), [1]);
    assert_eq!(u64s(&s, "count_purchase"), [2]);
    assert_eq!(u64s(&s, "count_web_visit"), [1]);
    assert_eq!(strs(&s, "first_event"), ["2024-01-01T00:00:00Z"]);
    assert_eq!(strs(&s, "first_purchase"), ["2024-01-02T00:00:00Z"]);
    assert_eq!(f64s(&s, "recency"), [7.0]);
    // Non-buyers on request, with null purchase columns.
    let s = run(&rows, SummaryParams::new(date(2024, 1, 31)).include_non_buyers(true));
    assert_eq!(strs(&s, "customer_id"), ["a", "b"]);
    assert_eq!(null_count(&s, "frequency"), 1);
    assert_eq!(u64s(&s, "count_web_visit"), [1, 1]);
}

#[test]
fn invalid_parameters_name_the_field() {
    let e = SummaryParams::new(date(2024, 1, 31))
        .observation_end(date(2024, 1, 1))
        .validate()
        .unwrap_err();
    assert!(
        matches!(
            e,
            clientele::Error::InvalidParameter {
                field: "observation_end",
                ..
            }
        ),
        "{e}"
    );
    let e = SummaryParams::new(date(2024, 1, 31))
        .period(Period::Days(0))
        .validate()
        .unwrap_err();
    assert!(
        matches!(e, clientele::Error::InvalidParameter { field: "period", .. }),
        "{e}"
    );
}

#[test]
fn empty_store_gives_an_empty_summary() {
    let (store, _) = store_of(events(&[]));
    let s = summarize(
        &store,
        &SummaryParams::new(date(2024, 1, 31)).validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap();
    assert_eq!(s.num_rows(), 0);
    assert!(s.column_by_name("frequency").is_some());
}
