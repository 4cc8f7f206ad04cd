//! Mergeability: summarizing partitions apart and merging gives exactly the one-pass result,
//! and the store kernel agrees with the accumulator, whatever the thread count.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
use clientele::exec::Parallelism;
use clientele::ingest::IngestOptions;
use clientele::kernels::summary::{Period, SummaryAccumulator, SummaryParams, TimeUnit, summarize};
use common::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Ev {
    customer: i64,
    day: i64,
    second: i64,
    kind: usize,
    cents: Option<i64>,
}

const KINDS: [&str; 4] = ["purchase", "web_visit", "complaint", "purchase"];

fn batch(evs: &[Ev]) -> RecordBatch {
    let base = 19_000i64; // 2022-01-08
    RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(Int64Array::from(evs.iter().map(|e| e.customer).collect::<Vec<_>>())) as _,
        ),
        (
            "event_time",
            Arc::new(StringArray::from(
                evs.iter()
                    .map(|e| {
                        let d = clientele::time::days_to_date(base + e.day).unwrap();
                        format!(
                            "{d} {:02}:{:02}:{:02}",
                            e.second / 3600,
                            (e.second / 60) % 60,
                            e.second % 60
                        )
                    })
                    .collect::<Vec<_>>(),
            )) as _,
        ),
        (
            "event_type",
            Arc::new(StringArray::from(evs.iter().map(|e| KINDS[e.kind]).collect::<Vec<_>>())) as _,
        ),
        (
            "amount",
            Arc::new(Float64Array::from(
                evs.iter()
                    .map(|e| e.cents.map(|c| c as f64 / 100.0 + 1e-3))
                    .collect::<Vec<_>>(),
            )) as _,
        ),
    ])
    .unwrap()
}

fn ev() -> impl Strategy<Value = Ev> {
    (
        0i64..12,
        0i64..200,
        0i64..86_400,
        0usize..4,
        proptest::option::weighted(0.9, 0i64..100_000),
    )
        .prop_map(|(customer, day, second, kind, cents)| Ev {
            customer,
            day,
            second,
            kind,
            cents,
        })
}

fn params() -> impl Strategy<Value = SummaryParams> {
    (0usize..4, 0usize..3, 40i64..160, proptest::option::of(0i64..80)).prop_map(|(p, u, cal, hold)| {
        let period = [Period::Day, Period::Week, Period::Month, Period::Days(10)][p];
        let unit = [TimeUnit::Period, TimeUnit::Day, TimeUnit::Week][u];
        let cal_date = clientele::time::days_to_date(19_000 + cal).unwrap();
        let mut sp = SummaryParams::new(cal_date).period(period).time_unit(unit);
        if let Some(h) = hold {
            sp = sp.observation_end(clientele::time::days_to_date(19_000 + cal + h).unwrap());
        }
        sp
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn partitions_merge_to_the_one_pass_result(
        evs in proptest::collection::vec(ev(), 0..160),
        assignment in proptest::collection::vec(0usize..5, 160),
        params in params(),
    ) {
        let cfg = params.validate().unwrap();
        let opts = IngestOptions::default();
        // One pass through the accumulator.
        let mut one = SummaryAccumulator::new(&cfg, &opts).unwrap();
        one.update(&batch(&evs)).unwrap();
        let one = one.finish().unwrap();
        // Random partitions, summarized apart, merged in reverse order.
        let mut parts: Vec<Vec<Ev>> = vec![Vec::new(); 5];
        for (e, &p) in evs.iter().zip(&assignment) {
            parts[p].push(e.clone());
        }
        let partials: Vec<SummaryAccumulator> = parts.iter().map(|p| {
            let mut a = SummaryAccumulator::new(&cfg, &opts).unwrap();
            // Each partition in two batches, to exercise update on several batches.
            let (x, y) = p.split_at(p.len() / 2);
            a.update(&batch(x)).unwrap();
            a.update(&batch(y)).unwrap();
            a
        }).collect();
        // The same partials as Arrow state batches (the cross-process path), merged into an
        // empty accumulator.
        let mut via_state = SummaryAccumulator::new(&cfg, &opts).unwrap();
        for p in &partials {
            via_state.merge_state(&p.state().unwrap()).unwrap();
        }
        prop_assert_eq!(&via_state.finish().unwrap(), &one);
        let mut partials = partials;
        let mut merged = partials.pop().unwrap();
        while let Some(p) = partials.pop() {
            merged.merge(p).unwrap();
        }
        let merged = merged.finish().unwrap();
        prop_assert_eq!(&merged, &one);
        // The store kernel, with 1 and 3 threads, gives the same table.
        let (store, _) = store_of(batch(&evs));
        let k1 = summarize(&store, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
        let k3 = summarize(&store, &cfg, &Parallelism::threads(3).unwrap()).unwrap();
        prop_assert_eq!(&k1, &k3);
        if evs.is_empty() {
            prop_assert_eq!(k1.num_rows(), 0);
            prop_assert_eq!(one.num_rows(), 0);
        } else {
            prop_assert_eq!(&k1, &one);
        }
    }
}

#[test]
fn cdnow_split_into_partitions_merges_exactly() {
    let (store, _) = cdnow_store();
    let cfg = SummaryParams::new(date(1997, 9, 30))
        .observation_end(date(1998, 6, 30))
        .time_unit(TimeUnit::Week)
        .validate()
        .unwrap();
    let direct = summarize(&store, &cfg, &Parallelism::current()).unwrap();
    // Feed the store's events back as canonical batches split at every size from 1 to 7 rows
    // per partition... and at a few large sizes.
    let canonical = canonical_events(&store);
    for size in [1usize, 2, 3, 7, 100, 1000, 6919] {
        let mut acc: Option<SummaryAccumulator> = None;
        let mut offset = 0;
        while offset < canonical.num_rows() {
            let len = size.min(canonical.num_rows() - offset);
            let mut part = SummaryAccumulator::new(&cfg, &IngestOptions::default()).unwrap();
            part.update(&canonical.slice(offset, len)).unwrap();
            match acc.as_mut() {
                None => acc = Some(part),
                Some(a) => a.merge(part).unwrap(),
            }
            offset += len;
        }
        assert_eq!(acc.unwrap().finish().unwrap(), direct, "partition size {size}");
    }
}

#[test]
fn types_that_no_row_uses_are_not_columns() {
    // Regression (found by the property test): with no purchase at all, the accumulator used to
    // add a `count_purchase` column that the store, which keeps only used types, has not.
    let batch = events(&[("a", "2024-01-01", "web_visit", None)]);
    let cfg = SummaryParams::new(date(2024, 2, 1))
        .include_non_buyers(true)
        .validate()
        .unwrap();
    let mut acc = SummaryAccumulator::new(&cfg, &IngestOptions::default()).unwrap();
    acc.update(&batch).unwrap();
    let from_acc = acc.finish().unwrap();
    let (store, _) = store_of(batch);
    let from_store = summarize(&store, &cfg, &Parallelism::current()).unwrap();
    assert_eq!(from_acc, from_store);
    assert!(from_acc.column_by_name("count_purchase").is_none());
    assert_eq!(u64s(&from_acc, "count_web_visit"), [1]);
}
