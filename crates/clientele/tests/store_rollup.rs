//! The purchase rollup saved with a store: equal to the totals of the events, RFM from it equal
//! to RFM from the events byte for byte, used only where it can answer, and verified like
//! every store file. Also the event-time file saved in seconds when every time is a whole
//! second, and in microseconds otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::Arc;

use arrow_array::{Array, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::DataType;
use clientele::Error;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::kernels::rfm::{RfmMode, RfmParams, rfm, rfm_rollup};
use clientele::pipeline::{EventSource, FileSource, customer_rfm};
use clientele::store::{CustomerPurchases, EventStore, PurchaseRollup, StoreFormat};
use common::{date, file_starting, generated};

fn ingest(batch: &RecordBatch) -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("gen", [Ok(batch.clone())]).unwrap();
    ing.finish().unwrap().0
}

fn par() -> Parallelism {
    Parallelism::threads(2).unwrap()
}

/// The totals of customer `c` counted the slow way, event by event.
fn by_hand(store: &EventStore, c: usize) -> CustomerPurchases {
    let cols = store.columns();
    let mut t = CustomerPurchases::default();
    for i in store.customer_range(c) {
        if Some(cols.event_type.keys().value(i)) == store.purchase_code() {
            let amount = cols.amount.as_ref().map_or(0.0, |a| a.value(i));
            t.update(cols.time.value(i), (amount * 1e9).round() as i128);
        }
    }
    t
}

#[test]
fn the_saved_rollup_holds_the_totals_of_the_events_and_rfm_from_it_is_rfm_from_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest(&generated(3000, 5));
    store.save(dir.path(), StoreFormat::Ipc).unwrap();
    let rollup = EventStore::open_rollup(dir.path(), &par())
        .unwrap()
        .expect("an IPC store has a rollup");
    assert_eq!(rollup.keys().array().as_ref(), store.customer_keys().array().as_ref());
    assert_eq!(rollup.customers().len(), store.num_customers());
    for c in 0..store.num_customers() {
        assert_eq!(rollup.customers()[c], by_hand(&store, c), "customer {c}");
    }
    assert!(rollup.customers().iter().any(|t| t.count == 1), "some bought once");
    // the rollup computed in memory is the saved one
    let fresh = PurchaseRollup::of(&store, &par());
    assert_eq!(fresh.customers(), rollup.customers());

    let last_day = chrono_day(rollup.last_purchase().unwrap());
    for (as_of, bins) in [(last_day + chrono::Days::new(1), 5), (date(2027, 3, 1), 3)] {
        for threads in [1, 3] {
            let p = Parallelism::threads(threads).unwrap();
            let cfg = RfmParams::new(as_of).bins(bins).validate().unwrap();
            let from_rollup = rfm_rollup(&rollup, &cfg, &p)
                .unwrap()
                .expect("as-of after every purchase");
            assert_eq!(
                from_rollup,
                rfm(&store, &cfg, &p).unwrap(),
                "{as_of} on {threads} threads"
            );
        }
    }
    // as-of on the day of the last purchase: purchases that day do not count, the rollup holds them
    let cfg = RfmParams::new(last_day).validate().unwrap();
    assert_eq!(rfm_rollup(&rollup, &cfg, &par()).unwrap(), None);
    // the btyd convention merges purchases per period: not the rollup's totals
    let btyd = RfmParams::new(date(2027, 3, 1))
        .mode(RfmMode::Btyd {
            period: Default::default(),
        })
        .validate()
        .unwrap();
    assert_eq!(rfm_rollup(&rollup, &btyd, &par()).unwrap(), None);
}

#[test]
fn customers_who_never_bought_or_bought_once_on_the_last_day_and_string_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = common::store_of(common::events(&[
        ("b", "2024-01-03T10:00:00.000001Z", "purchase", Some(10.005)),
        ("b", "2024-02-01T00:00:00Z", "purchase", None),
        ("a", "2024-01-05T12:00:00Z", "web_visit", None),
        ("c", "2024-03-31T23:59:59Z", "purchase", Some(0.1)),
        ("d", "2024-01-01T00:00:00Z", "purchase", Some(-0.0)),
    ]));
    store.save(dir.path(), StoreFormat::Ipc).unwrap();
    let rollup = EventStore::open_rollup(dir.path(), &par()).unwrap().unwrap();
    let counts: Vec<u64> = rollup.customers().iter().map(|t| t.count).collect();
    assert_eq!(counts, [0, 2, 1, 1]);
    assert_eq!(rollup.customers()[0], CustomerPurchases::default());
    assert_eq!(rollup.customers()[1].units, 10_005_000_000);
    for as_of in [date(2024, 4, 1), date(2024, 4, 2), date(2030, 1, 1)] {
        let cfg = RfmParams::new(as_of).bins(2).validate().unwrap();
        assert_eq!(
            rfm_rollup(&rollup, &cfg, &par()).unwrap(),
            Some(rfm(&store, &cfg, &par()).unwrap()),
            "{as_of}"
        );
    }
    // c bought at 23:59:59 on the 31st: an as-of of that day excludes it
    let cfg = RfmParams::new(date(2024, 3, 31)).validate().unwrap();
    assert_eq!(rfm_rollup(&rollup, &cfg, &par()).unwrap(), None);
    // an empty store saves an empty rollup
    let empty = dir.path().join("empty");
    EventStore::empty("purchase")
        .unwrap()
        .save(&empty, StoreFormat::Ipc)
        .unwrap();
    let r = EventStore::open_rollup(&empty, &par()).unwrap().unwrap();
    assert!(r.customers().is_empty() && r.last_purchase().is_none());
}

fn chrono_day(micros: i64) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp_micros(micros).unwrap().date_naive()
}

#[test]
fn the_rfm_job_on_a_saved_store_uses_the_rollup_only_where_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let events = generated(2000, 9);
    let parquet = dir.path().join("events.parquet");
    clientele::io::write_batch(&events, &parquet).unwrap();
    let store_dir = dir.path().join("store");
    ingest(&events).save(&store_dir, StoreFormat::Ipc).unwrap();
    let saved = EventSource::Saved(store_dir.clone());
    let file = EventSource::Files(FileSource::new([&parquet]));
    for (as_of, rollup_used) in [(date(2027, 1, 1), true), (date(2025, 3, 1), false)] {
        let cfg = RfmParams::new(as_of).validate().unwrap();
        let a = customer_rfm(&saved, &cfg, &par()).unwrap();
        let b = customer_rfm(&file, &cfg, &par()).unwrap();
        assert_eq!(a.from_rollup, rollup_used, "{as_of}");
        assert_eq!(a.table, b.table, "{as_of}");
    }
    // a Parquet-storage store has no rollup; the job reads its events
    let pq_dir = dir.path().join("pq-store");
    ingest(&events).save(&pq_dir, StoreFormat::Parquet).unwrap();
    assert!(EventStore::open_rollup(&pq_dir, &par()).unwrap().is_none());
    let cfg = RfmParams::new(date(2027, 1, 1)).validate().unwrap();
    let run = customer_rfm(&EventSource::Saved(pq_dir), &cfg, &par()).unwrap();
    assert!(!run.from_rollup);
    assert_eq!(run.table, customer_rfm(&file, &cfg, &par()).unwrap().table);
}

#[test]
fn after_an_append_the_rollup_answers_with_the_segment_merged_in() {
    let dir = tempfile::tempdir().unwrap();
    let all = generated(1500, 11);
    // the later half of the customers' rows as an append
    let (a, b) = (
        all.slice(0, all.num_rows() / 2),
        all.slice(all.num_rows() / 2, all.num_rows() - all.num_rows() / 2),
    );
    ingest(&a).save(dir.path(), StoreFormat::Ipc).unwrap();
    ingest(&b).append_saved(dir.path(), &[], &par()).unwrap();
    let cfg = RfmParams::new(date(2027, 1, 1)).validate().unwrap();
    let whole = ingest(&all);
    let want = rfm(&whole, &cfg, &par()).unwrap();
    let merged = EventStore::open_rollup(dir.path(), &par())
        .unwrap()
        .expect("the base's rollup with the segment's merged in");
    assert_eq!(rfm_rollup(&merged, &cfg, &par()).unwrap(), Some(want.clone()));
    let run = customer_rfm(&EventSource::Saved(dir.path().into()), &cfg, &par()).unwrap();
    assert!(run.from_rollup);
    assert_eq!(run.table, want);
    EventStore::compact_saved(dir.path(), &par()).unwrap();
    let rollup = EventStore::open_rollup(dir.path(), &par())
        .unwrap()
        .expect("compact saves a rollup");
    assert_eq!(rollup.customers(), merged.customers());
    assert_eq!(rfm_rollup(&rollup, &cfg, &par()).unwrap(), Some(want));
}

#[test]
fn a_damaged_or_foreign_rollup_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = ingest(&generated(800, 3));
    store.save(dir.path(), StoreFormat::Ipc).unwrap();
    let file = file_starting(dir.path(), "rollup.");
    let good = std::fs::read(&file).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x10;
    std::fs::write(&file, &bad).unwrap();
    let e = EventStore::open_rollup(dir.path(), &par()).unwrap_err();
    assert!(matches!(e, Error::CorruptStore { .. }), "{e}");
    // another store's rollup file under this store's name
    let other = tempfile::tempdir().unwrap();
    ingest(&generated(800, 4)).save(other.path(), StoreFormat::Ipc).unwrap();
    let theirs = file_starting(other.path(), "rollup.");
    std::fs::copy(theirs, &file).unwrap();
    let e = EventStore::open_rollup(dir.path(), &par()).unwrap_err();
    assert!(matches!(e, Error::CorruptStore { .. }), "{e}");
    std::fs::write(&file, &good).unwrap();
    assert!(EventStore::open_rollup(dir.path(), &par()).unwrap().is_some());
}

#[test]
fn event_times_are_saved_in_seconds_only_when_every_one_is_a_whole_second() {
    let dir = tempfile::tempdir().unwrap();
    let whole = generated(300, 2);
    // the same events with one time moved by one microsecond
    let mut columns: Vec<Arc<dyn Array>> = whole.columns().to_vec();
    let i = whole.schema().index_of("event_time").unwrap();
    let times = columns[i].as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap();
    let mut v = times.values().to_vec();
    v[17] += 1;
    columns[i] = Arc::new(TimestampMicrosecondArray::from(v).with_timezone_opt(times.timezone().map(str::to_string)));
    let odd = RecordBatch::try_new(whole.schema(), columns).unwrap();
    for (name, batch, unit) in [("whole", &whole, "s"), ("odd", &odd, "us")] {
        let d = dir.path().join(name);
        let store = ingest(batch);
        store.save(&d, StoreFormat::Ipc).unwrap();
        let file = file_starting(&d, "events.event_time.");
        let saved = arrow_ipc::reader::FileReader::try_new(std::fs::File::open(&file).unwrap(), None).unwrap();
        let dt = saved.schema().field(0).data_type().clone();
        match (unit, dt) {
            ("s", DataType::Timestamp(arrow_schema::TimeUnit::Second, Some(_)))
            | ("us", DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some(_))) => {}
            (u, other) => panic!("{name}: expected {u}, saved as {other}"),
        }
        let back = EventStore::open(&d, &par()).unwrap();
        assert_eq!(back.events().unwrap(), store.events().unwrap(), "{name}");
        assert_eq!(back.last_event_micros(), store.last_event_micros(), "{name}");
    }
}
