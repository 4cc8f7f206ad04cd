//! A store with appended segments keeps its rollups current through their mergeable state:
//! the base's rollups with each segment's merged in equal the rollups of one store of all
//! the events, for appends cut at any time (on a day boundary or inside a day, one segment
//! or several, a segment bringing new customers and new event types), so `rfm` and the
//! summary answer from the rollups before any `compact`, byte for byte as from the events.
//! Appends whose purchase periods interleave with earlier ones keep an exact purchase rollup;
//! up to 256 such customers have their period totals recounted from their events, and with
//! more the activity rollup declines and the summary reads the events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{BooleanArray, RecordBatch};
use arrow_select::filter::filter_record_batch;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::kernels::rfm::{RfmParams, rfm};
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use clientele::pipeline::{EventSource, customer_rfm, customer_summary_all};
use clientele::store::{ActivityRollup, EventStore, KeyType, PeriodKind, PurchaseRollup, StoreFormat};
use common::{date, generated};

const DAY: i64 = 86_400_000_000;

fn par() -> Parallelism {
    Parallelism::threads(2).unwrap()
}

fn ingest(batch: &RecordBatch) -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("gen", [Ok(batch.clone())]).unwrap();
    ing.finish().unwrap().0
}

fn times(batch: &RecordBatch) -> Vec<i64> {
    batch
        .column_by_name("event_time")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>()
        .values()
        .to_vec()
}

fn ids(batch: &RecordBatch) -> Vec<i64> {
    batch
        .column_by_name("customer_id")
        .unwrap()
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

fn types(batch: &RecordBatch) -> Vec<String> {
    let c = batch.column_by_name("event_type").unwrap();
    c.as_string::<i32>()
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect()
}

/// The rows of `batch` where `keep` holds.
fn rows(batch: &RecordBatch, keep: impl Fn(usize) -> bool) -> RecordBatch {
    let mask = BooleanArray::from((0..batch.num_rows()).map(keep).collect::<Vec<_>>());
    filter_record_batch(batch, &mask).unwrap()
}

/// Generated events of `customers` (seed `seed`), their store, and that store saved in
/// `whole/` of a new temporary directory.
fn saved_whole(customers: u64, seed: u64) -> (tempfile::TempDir, RecordBatch, EventStore, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let all = generated(customers, seed);
    let whole = ingest(&all);
    let whole_dir = tmp.path().join("whole");
    whole.save(&whole_dir, StoreFormat::Ipc).unwrap();
    (tmp, all, whole, whole_dir)
}

/// A store saved from `parts[0]` with each later part appended as a segment.
fn appended(dir: &Path, parts: &[RecordBatch]) {
    ingest(&parts[0]).save(dir, StoreFormat::Ipc).unwrap();
    for p in &parts[1..] {
        ingest(p).append_saved(dir, &[], &par()).unwrap();
    }
}

fn assert_same_purchases(got: &PurchaseRollup, want: &PurchaseRollup, what: &str) {
    assert_eq!(
        got.keys().array().as_ref(),
        want.keys().array().as_ref(),
        "{what}: keys"
    );
    assert_eq!(got.customers(), want.customers(), "{what}: totals");
}

fn assert_same_activity(got: &ActivityRollup, want: &ActivityRollup, what: &str) {
    assert_eq!(
        got.keys().array().as_ref(),
        want.keys().array().as_ref(),
        "{what}: keys"
    );
    assert_eq!(got.types(), want.types(), "{what}: types");
    assert_eq!(got.first_event(), want.first_event(), "{what}: first events");
    assert_eq!(got.last_event(), want.last_event(), "{what}: last events");
    for kind in [PeriodKind::Day, PeriodKind::Week, PeriodKind::Month] {
        assert_eq!(got.periods(kind), want.periods(kind), "{what}: {kind:?} periods");
    }
    for t in 0..want.types().len() {
        assert_eq!(got.counts(t), want.counts(t), "{what}: counts of {}", want.types()[t]);
    }
}

/// Every summary the activity rollup answers.
fn summaries() -> Vec<SummaryParams> {
    let mut out = Vec::new();
    for period in [Period::Day, Period::Week, Period::Month] {
        for (unit, non_buyers) in [(TimeUnit::Period, false), (TimeUnit::Week, true)] {
            out.push(
                SummaryParams::new(date(2027, 1, 1))
                    .period(period)
                    .time_unit(unit)
                    .include_non_buyers(non_buyers),
            );
        }
    }
    out
}

/// The rollups of the appended store in `dir` are those of `whole` (saved in `whole_dir`),
/// and `rfm` and the summaries answer from them with the events' tables.
fn check_merged(dir: &Path, whole_dir: &Path, whole: &EventStore, what: &str) {
    let want_p = EventStore::open_rollup(whole_dir, &par()).unwrap().unwrap();
    let (_, want_a) = EventStore::open_activity(whole_dir, &par()).unwrap().unwrap();
    let got_p = EventStore::open_rollup(dir, &par())
        .unwrap()
        .unwrap_or_else(|| panic!("{what}: an appended IPC store has a purchase rollup"));
    assert_same_purchases(&got_p, &want_p, what);
    let (p, a) = EventStore::open_activity(dir, &par())
        .unwrap()
        .unwrap_or_else(|| panic!("{what}: appends in time order keep the activity rollup"));
    assert_same_purchases(&p, &want_p, what);
    assert_same_activity(&a, &want_a, what);
    // the same merge in any pool
    for threads in [1, 3] {
        let (p, a) = EventStore::open_activity(dir, &Parallelism::threads(threads).unwrap())
            .unwrap()
            .unwrap();
        assert_same_purchases(&p, &want_p, what);
        assert_same_activity(&a, &want_a, what);
    }

    let source = EventSource::Saved(dir.to_path_buf());
    let cfg = RfmParams::new(date(2027, 1, 1)).validate().unwrap();
    let run = customer_rfm(&source, &cfg, &par()).unwrap();
    assert!(run.from_rollup, "{what}");
    assert_eq!(run.table, rfm(whole, &cfg, &par()).unwrap(), "{what}: rfm");
    for params in summaries() {
        let cfg = params.validate().unwrap();
        let run = customer_summary_all(&source, &cfg, &par()).unwrap();
        assert!(run.from_rollup, "{what}");
        assert_eq!(
            run.summary.table(),
            &summarize(whole, &cfg, &par()).unwrap(),
            "{what}: {params:?}"
        );
    }
}

#[test]
fn appends_in_time_order_keep_both_rollups_exact() {
    let (tmp, all, whole, whole_dir) = saved_whole(1200, 31);
    let t = times(&all);
    let (lo, hi) = (*t.iter().min().unwrap(), *t.iter().max().unwrap());
    let day0 = lo.div_euclid(DAY) * DAY;
    // Cuts on day boundaries and inside days (a customer's purchases of one day, week and
    // month on both sides), early, in the middle and at the very last event.
    let mid = day0 + (hi - lo) / 2 / DAY * DAY;
    let cuts = [
        day0 + 30 * DAY,
        mid,
        mid + DAY / 2 + 1,
        mid + 13 * DAY + 7 * 3_600_000_000,
        hi,
    ];
    for (n, &cut) in cuts.iter().enumerate() {
        let dir = tmp.path().join(format!("cut{n}"));
        let parts = [rows(&all, |i| t[i] < cut), rows(&all, |i| t[i] >= cut)];
        appended(&dir, &parts);
        check_merged(&dir, &whole_dir, &whole, &format!("cut at {cut}"));
    }
    // Three segments after the base, one of them cut inside a day.
    let dir = tmp.path().join("three");
    let b = [mid - 90 * DAY, mid - DAY / 3, mid + 40 * DAY];
    let parts = [
        rows(&all, |i| t[i] < b[0]),
        rows(&all, |i| t[i] >= b[0] && t[i] < b[1]),
        rows(&all, |i| t[i] >= b[1] && t[i] < b[2]),
        rows(&all, |i| t[i] >= b[2]),
    ];
    appended(&dir, &parts);
    check_merged(&dir, &whole_dir, &whole, "three segments");
}

#[test]
fn a_segment_with_new_event_types_and_customers_merges_its_counts_in() {
    let (tmp, all, whole, whole_dir) = saved_whole(900, 7);
    let (t, ty) = (times(&all), types(&all));
    let ids = ids(&all);
    let cut = {
        let mut s = t.clone();
        s.sort_unstable();
        s[s.len() * 2 / 3]
    };
    // The base has no complaints and no e-mail opens, even before the cut (those events are
    // not purchases, so the purchase periods still come in order), and one customer in ten
    // is only in the segment.
    let late = |i: usize| t[i] >= cut || ty[i] == "complaint" || ty[i] == "email_open" || ids[i] % 10 == 3;
    let parts = [rows(&all, |i| !late(i)), rows(&all, late)];
    assert!(types(&parts[0]).iter().all(|x| x != "complaint"));
    assert!(types(&parts[1]).iter().any(|x| x == "complaint"));
    let dir = tmp.path().join("appended");
    appended(&dir, &parts);
    let info = EventStore::inspect_saved(&dir).unwrap();
    assert!(
        info.segments[0].new_customers > 0,
        "customers first seen in the segment"
    );
    check_merged(&dir, &whole_dir, &whole, "new types");
}

#[test]
fn interleaved_appends_keep_the_purchase_rollup_and_the_summary_reads_the_events() {
    // More customers than are recounted (256) interleave.
    let (tmp, all, whole, whole_dir) = saved_whole(2000, 5);
    // Every other row in the segment: customers' purchase days alternate between the parts.
    let dir = tmp.path().join("interleaved");
    appended(&dir, &[rows(&all, |i| i % 2 == 0), rows(&all, |i| i % 2 == 1)]);
    let want = EventStore::open_rollup(&whole_dir, &par()).unwrap().unwrap();
    let got = EventStore::open_rollup(&dir, &par()).unwrap().unwrap();
    assert_same_purchases(&got, &want, "interleaved");
    assert!(EventStore::open_activity(&dir, &par()).unwrap().is_none());

    let source = EventSource::Saved(dir.clone());
    let cfg = RfmParams::new(date(2027, 1, 1)).validate().unwrap();
    let run = customer_rfm(&source, &cfg, &par()).unwrap();
    assert!(run.from_rollup);
    assert_eq!(run.table, rfm(&whole, &cfg, &par()).unwrap());
    let cfg = SummaryParams::new(date(2027, 1, 1)).validate().unwrap();
    let run = customer_summary_all(&source, &cfg, &par()).unwrap();
    assert!(!run.from_rollup, "the events answer");
    assert_eq!(run.summary.table(), &summarize(&whole, &cfg, &par()).unwrap());
}

#[test]
fn a_few_customers_appended_out_of_order_are_recounted_and_the_summary_keeps_the_rollups() {
    let (tmp, all, whole, whole_dir) = saved_whole(300, 7);
    let t = times(&all);
    let ty = types(&all);
    let ids = ids(&all);
    let mut sorted = t.clone();
    sorted.sort_unstable();
    let cut = sorted[sorted.len() / 2];
    // Customers whose id is a multiple of 40 keep every other later row in the base: their
    // purchase days on the two sides interleave. Everyone else is cut in time order.
    let late = |i: usize| ids[i] % 40 == 0 && i.is_multiple_of(2);
    let base = |i: usize| t[i] < cut || late(i);
    // Three parts: the rows in time order before the cut with the late ones, then the rest
    // split in two at a later time (a customer can interleave with both segments).
    let later = sorted[sorted.len() * 3 / 4];
    let parts = [
        rows(&all, base),
        rows(&all, |i| !base(i) && t[i] < later),
        rows(&all, |i| !base(i) && t[i] >= later),
    ];
    // Some customers' purchase days do interleave: a base purchase after a segment's first.
    let mut late_ids: Vec<i64> = ids.iter().copied().filter(|c| c % 40 == 0).collect();
    late_ids.sort_unstable();
    late_ids.dedup();
    let interleaving = late_ids
        .iter()
        .filter(|c| {
            let bought = |keep: &dyn Fn(usize) -> bool| -> Vec<i64> {
                (0..t.len())
                    .filter(|&i| ids[i] == **c && ty[i] == "purchase" && keep(i))
                    .map(|i| t[i] / DAY)
                    .collect()
            };
            let (a, b) = (bought(&base), bought(&|i| !base(i)));
            match (a.iter().max(), b.iter().min(), b.iter().max(), a.iter().min()) {
                (Some(la), Some(fb), Some(lb), Some(fa)) => la > fb && lb > fa,
                _ => false,
            }
        })
        .count();
    assert!((1..=256).contains(&interleaving), "{interleaving}");
    let dir = tmp.path().join("late");
    appended(&dir, &parts);
    check_merged(&dir, &whole_dir, &whole, "a few late customers");
}

#[test]
fn a_damaged_segment_rollup_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let all = generated(300, 9);
    let half = all.num_rows() / 2;
    appended(
        tmp.path(),
        &[all.slice(0, half), all.slice(half, all.num_rows() - half)],
    );
    let seg = tmp.path().join("appends").join("a1");
    let file = common::file_starting(&seg, "rollup.");
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let e = EventStore::open_rollup(tmp.path(), &par()).unwrap_err();
    assert!(matches!(e, clientele::Error::CorruptStore { .. }), "{e}");
    assert!(EventStore::open_activity(tmp.path(), &par()).is_err());
}

#[test]
fn edge_histories_with_string_keys_merge_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let base = [
        ("b", "2024-01-03T10:00:00.000001Z", "purchase", Some(10.005)),
        ("a", "2024-01-05T12:00:00Z", "web_visit", None),
        ("d", "2024-01-01T00:00:00Z", "purchase", Some(-0.0)),
        ("f", "2024-02-26T08:00:00Z", "purchase", Some(3.0)),
    ];
    let appended_rows = [
        // b again on the day (and week and month) of its last purchase: one shared period,
        // and b's first period spend is both parts' when that period is its only one
        ("b", "2024-01-03T18:00:00Z", "purchase", Some(1.25)),
        // a first buys in the segment; c is new and first buys on the last day
        ("a", "2024-02-01T00:00:00Z", "purchase", None),
        ("c", "2024-03-31T23:59:59Z", "purchase", Some(0.1)),
        // e is new and never buys
        ("e", "2024-03-01T00:00:00Z", "email_open", None),
        // f buys in the next week of the same month
        ("f", "2024-03-04T08:00:00Z", "purchase", Some(4.0)),
    ];
    let all: Vec<_> = base.iter().chain(&appended_rows).copied().collect();
    let (whole, _) = common::store_of(common::events(&all));
    let whole_dir = tmp.path().join("whole");
    whole.save(&whole_dir, StoreFormat::Ipc).unwrap();
    let dir = tmp.path().join("appended");
    common::store_of(common::events(&base))
        .0
        .save(&dir, StoreFormat::Ipc)
        .unwrap();
    common::store_of(common::events(&appended_rows))
        .0
        .append_saved(&dir, &[], &par())
        .unwrap();
    check_merged(&dir, &whole_dir, &whole, "edge histories");
    assert_eq!(EventStore::inspect_saved(&dir).unwrap().key_type, KeyType::String);
    let (p, a) = EventStore::open_activity(&dir, &par()).unwrap().unwrap();
    let days: Vec<u32> = a.periods(PeriodKind::Day).iter().map(|t| t.periods).collect();
    assert_eq!(days, [1, 1, 1, 1, 0, 2], "a b c d e f");
    let b = &a.periods(PeriodKind::Day)[1];
    assert_eq!(b.first_units, 11_255_000_000);
    assert_eq!(p.customers()[1].count, 2);
}
