//! Appending to a saved store writes a segment of the new events only; opening merges the
//! segments in, and the result is the store one ingest of every input would build.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, BooleanArray, RecordBatch, UInt32Array};
use clientele::Error;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::kernels::summary::{SummaryAccumulator, SummaryParams, summarize};
use clientele::schema::Role;
use clientele::store::{EventStore, KeyRef, SourceFile, StoreFormat};
use clientele::views::{Customer360Params, customer_lookup};
use common::generated;

fn ingest(batches: &[RecordBatch]) -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    for (i, b) in batches.iter().enumerate() {
        ing.read_batches(&format!("part{i}"), [Ok(b.clone())]).unwrap();
    }
    ing.finish().unwrap().0
}

fn par() -> Parallelism {
    Parallelism::threads(2).unwrap()
}

/// The rows of `b` where `keep(row, customer_id)` holds.
fn rows(b: &RecordBatch, keep: impl Fn(usize, i64) -> bool) -> RecordBatch {
    let ids = b
        .column_by_name("customer_id")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow_array::Int64Array>()
        .unwrap();
    let mask: BooleanArray = (0..b.num_rows()).map(|i| Some(keep(i, ids.value(i)))).collect();
    arrow_select::filter::filter_record_batch(b, &mask).unwrap()
}

/// `b` without column `name`.
fn without(b: &RecordBatch, name: &str) -> RecordBatch {
    let keep: Vec<usize> = (0..b.num_columns())
        .filter(|&i| b.schema().field(i).name() != name)
        .collect();
    b.project(&keep).unwrap()
}

/// Three parts of one generated history, as a day's appends look: the base holds most rows;
/// the first append holds later rows of existing customers, exact copies of some base rows
/// (ties that must keep the base's first) and the customers whose id is a multiple of 17
/// (new), without the campaign column; the second append a scattering of rows.
fn parts() -> (RecordBatch, RecordBatch, RecordBatch) {
    let all = generated(2_500, 5);
    let a = rows(&all, |i, id| id % 17 != 0 && i % 13 != 0 && i % 29 != 0);
    let copies = rows(&all, |i, id| id % 17 != 0 && i % 13 != 0 && i % 29 != 0 && i % 101 == 0);
    let b1 = rows(&all, |i, id| id % 17 == 0 || i % 13 == 0);
    let b = arrow_select::concat::concat_batches(
        &without(&b1, "campaign_id").schema(),
        &[without(&b1, "campaign_id"), without(&copies, "campaign_id")],
    )
    .unwrap();
    let c = rows(&all, |i, id| id % 17 != 0 && i % 13 != 0 && i % 29 == 0);
    (a, b, c)
}

fn assert_same(got: &EventStore, want: &EventStore, what: &str) {
    assert_eq!(got.customer_keys(), want.customer_keys(), "{what}: keys");
    assert_eq!(got.offsets(), want.offsets(), "{what}: offsets");
    let (g, w) = (got.events().unwrap(), want.events().unwrap());
    for i in 0..g.num_columns() {
        if g.column(i) != w.column(i) {
            let (x, y) = (g.column(i), w.column(i));
            let first = (0..x.len()).find(|&r| x.slice(r, 1) != y.slice(r, 1));
            eprintln!(
                "{what}: column {} differs first at {first:?} of {}",
                g.schema().field(i).name(),
                x.len()
            );
            if let Some(r) = first {
                eprintln!(
                    "{:?}\n{:?}",
                    g.slice(r.saturating_sub(2), 5),
                    w.slice(r.saturating_sub(2), 5)
                );
            }
        }
    }
    assert_eq!(g, w, "{what}: events");
}

#[test]
fn a_store_with_appended_segments_opens_as_one_ingest_of_every_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("store");
    let (a, b, c) = parts();
    assert!(b.num_rows() > 0 && c.num_rows() > 0);
    ingest(std::slice::from_ref(&a)).save(&d, StoreFormat::Ipc).unwrap();
    let before = std::fs::read(d.join("events.event_time.g1.arrow")).unwrap();

    let first = ingest(std::slice::from_ref(&b)).append_saved(&d, &[], &par()).unwrap();
    assert_eq!(first.segment.as_deref(), Some("a1"));
    assert!(first.new_customers > 0, "{first:?}");
    let second = ingest(std::slice::from_ref(&c)).append_saved(&d, &[], &par()).unwrap();
    assert_eq!(second.segment.as_deref(), Some("a2"));
    assert_eq!(second.new_customers, 0);
    // the base files are not rewritten
    assert_eq!(std::fs::read(d.join("events.event_time.g1.arrow")).unwrap(), before);

    let full = ingest(&[a.clone(), b.clone(), c.clone()]);
    let opened = EventStore::open(&d, &par()).unwrap();
    assert_same(&opened, &full, "all columns");
    let info = EventStore::inspect_saved(&d).unwrap();
    assert_eq!(info.num_customers as usize, full.num_customers());
    assert_eq!(info.num_events as usize, full.num_events());
    assert_eq!(info.segments.len(), 2);
    assert_eq!(second.store_events as usize, full.num_events());

    for roles in [
        &[Role::EventType, Role::Amount][..],
        &[Role::EventType, Role::Channel, Role::CampaignId],
        &[Role::EventType],
    ] {
        let projected = EventStore::open_columns(&d, Some(roles), &par()).unwrap();
        let mut ing = Ingestor::new(&IngestOptions::default().only(roles)).unwrap();
        for (i, p) in [&a, &b, &c].into_iter().enumerate() {
            ing.read_batches(&format!("part{i}"), [Ok(p.clone())]).unwrap();
        }
        assert_same(&projected, &ing.finish().unwrap().0, &format!("{roles:?}"));
    }

    // one customer: in the base only, in the base and both segments, in a segment only
    let keys = full.customer_keys();
    for c in 0..full.num_customers() {
        let KeyRef::Int(k) = keys.get(c).unwrap() else { panic!() };
        if c % 97 != 0 && k % 17 != 0 {
            continue;
        }
        let one = EventStore::open_customer(&d, KeyRef::Int(k), None, &par())
            .unwrap()
            .unwrap();
        // the same events and the same 360 card (dictionaries hold the parts' values)
        assert_eq!(
            as_text(&one.customer_events(0).unwrap()),
            as_text(&full.customer_events(c).unwrap()),
            "customer {k}"
        );
        let cfg = Customer360Params::default().validate().unwrap();
        assert_eq!(
            customer_lookup(&one, KeyRef::Int(k), None, &cfg).unwrap(),
            customer_lookup(&full, KeyRef::Int(k), None, &cfg).unwrap(),
            "card of {k}"
        );
        assert_eq!(one.last_event_micros(), full.last_event_micros());
    }
    assert!(
        EventStore::open_customer(&d, KeyRef::Int(-5), None, &par())
            .unwrap()
            .is_none()
    );

    // compaction folds the segments into a new base with the same events
    assert_eq!(EventStore::compact_saved(&d, &par()).unwrap(), 2);
    assert!(!d.join("appends").exists());
    assert_same(&EventStore::open(&d, &par()).unwrap(), &full, "compacted");
    assert!(EventStore::inspect_saved(&d).unwrap().segments.is_empty());
    assert_eq!(EventStore::compact_saved(&d, &par()).unwrap(), 0);
}

#[test]
fn appending_to_an_empty_store_and_nothing_to_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("store");
    EventStore::empty("purchase")
        .unwrap()
        .save(&d, StoreFormat::Ipc)
        .unwrap();
    let (a, _, _) = parts();
    let out = ingest(std::slice::from_ref(&a)).append_saved(&d, &[], &par()).unwrap();
    assert_eq!(out.new_customers, out.customers);
    assert_same(&EventStore::open(&d, &par()).unwrap(), &ingest(&[a]), "into empty");
    let none = EventStore::empty("purchase")
        .unwrap()
        .append_saved(&d, &[], &par())
        .unwrap();
    assert_eq!((none.segment, none.events), (None, 0));
    assert_eq!(EventStore::inspect_saved(&d).unwrap().segments.len(), 1);
}

#[test]
fn the_appended_events_alone_update_a_kept_summary_state() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("store");
    let (a, b, c) = parts();
    ingest(std::slice::from_ref(&a)).save(&d, StoreFormat::Ipc).unwrap();
    ingest(&[b.clone(), c.clone()]).append_saved(&d, &[], &par()).unwrap();
    let cfg = SummaryParams::new(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        .validate()
        .unwrap();
    // the state kept from the base's events, then fed the segment's events only
    let mut kept = SummaryAccumulator::new(&cfg, &IngestOptions::default()).unwrap();
    kept.update(&with_keys(&EventStore::open(&d, &par()).unwrap(), Some(&a)))
        .unwrap();
    let segment = EventStore::open_segment(&d, "a1", None, &par()).unwrap();
    assert_eq!(segment.num_events(), b.num_rows() + c.num_rows());
    let mut fresh = SummaryAccumulator::new(&cfg, &IngestOptions::default()).unwrap();
    fresh.update(&with_keys(&segment, None)).unwrap();
    kept.merge(fresh).unwrap();
    let whole = summarize(&EventStore::open(&d, &par()).unwrap(), &cfg, &par()).unwrap();
    assert_eq!(kept.finish().unwrap(), whole);
    assert!(matches!(
        EventStore::open_segment(&d, "a9", None, &par()),
        Err(Error::InvalidParameter { field: "segment", .. })
    ));
}

/// The events of `store` with a `customer_id` column (or `base` as it is).
fn with_keys(store: &EventStore, base: Option<&RecordBatch>) -> RecordBatch {
    if let Some(b) = base {
        return b.clone();
    }
    let events = store.events().unwrap();
    let idx = events.column(0).as_any().downcast_ref::<UInt32Array>().unwrap().clone();
    let keys = arrow_select::take::take(store.customer_keys().array().as_ref(), &idx, None).unwrap();
    let mut fields = vec![arrow_schema::Field::new("customer_id", keys.data_type().clone(), false)];
    fields.extend(events.schema().fields().iter().skip(1).map(|f| f.as_ref().clone()));
    let mut cols = vec![keys];
    cols.extend(events.columns().iter().skip(1).cloned());
    RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), cols).unwrap()
}

/// `b` with dictionary columns as plain strings.
fn as_text(b: &RecordBatch) -> RecordBatch {
    let cols = b
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            arrow_schema::DataType::Dictionary(_, _) => arrow_cast::cast(c, &arrow_schema::DataType::Utf8).unwrap(),
            _ => c.clone(),
        })
        .collect::<Vec<_>>();
    let fields: Vec<arrow_schema::Field> = b
        .schema()
        .fields()
        .iter()
        .zip(&cols)
        .map(|(f, c)| arrow_schema::Field::new(f.name(), c.data_type().clone(), f.is_nullable()))
        .collect();
    RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), cols).unwrap()
}

fn write(path: &Path, bytes: &[u8]) -> SourceFile {
    std::fs::write(path, bytes).unwrap();
    SourceFile::of(path, 3).unwrap()
}

#[test]
fn an_exact_re_append_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("store");
    let (a, b, _) = parts();
    let first = write(&dir.path().join("day1.csv"), b"one file");
    let copy = write(&dir.path().join("copy-of-day1.csv"), b"one file");
    let second = write(&dir.path().join("day2.csv"), b"another file");
    assert!(first.same_bytes(&copy) && !first.same_bytes(&second));
    ingest(std::slice::from_ref(&a))
        .save_sourced(&d, StoreFormat::Ipc, std::slice::from_ref(&first))
        .unwrap();
    let new = ingest(std::slice::from_ref(&b));
    let manifest = std::fs::read(d.join("manifest.json")).unwrap();
    match new.append_saved(&d, std::slice::from_ref(&copy), &par()) {
        Err(Error::AlreadyIngested {
            source_name,
            earlier,
            rows,
            ..
        }) => {
            assert!(source_name.ends_with("copy-of-day1.csv"));
            assert!(earlier.contains("day1.csv") && earlier.contains("base"), "{earlier}");
            assert_eq!(rows, 3);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(d.join("manifest.json")).unwrap(), manifest);
    assert!(!d.join("appends").exists());
    // the same file twice in one append
    assert!(matches!(
        new.append_saved(&d, &[second.clone(), second.clone()], &par()),
        Err(Error::InvalidParameter { field: "input", .. })
    ));
    new.append_saved(&d, std::slice::from_ref(&second), &par()).unwrap();
    let again = new.append_saved(&d, std::slice::from_ref(&second), &par()).unwrap_err();
    assert!(again.to_string().contains("segment a1"), "{again}");
    let info = EventStore::inspect_saved(&d).unwrap();
    assert_eq!(info.all_sources().len(), 2);
    // a file from which no row was accepted (a header-only export) may come again
    let mut empty = write(&dir.path().join("empty.csv"), b"customer_id,event_time\n");
    empty.rows_accepted = 0;
    let third = write(&dir.path().join("day3.csv"), b"a third file");
    new.append_saved(&d, &[empty.clone(), third], &par()).unwrap();
    let none = EventStore::empty("purchase").unwrap();
    assert_eq!(none.append_saved(&d, &[empty], &par()).unwrap().segment, None);
    // the sources are bound into the manifest: dropping one is refused
    let text = std::fs::read_to_string(d.join("manifest.json")).unwrap();
    let edited = text.replace("day2.csv", "dayX.csv");
    assert_ne!(text, edited);
    std::fs::write(d.join("manifest.json"), &edited).unwrap();
    assert!(matches!(EventStore::open(&d, &par()), Err(Error::CorruptStore { .. })));
    std::fs::write(d.join("manifest.json"), &text).unwrap();
    // a compaction keeps them
    EventStore::compact_saved(&d, &par()).unwrap();
    assert!(new.append_saved(&d, std::slice::from_ref(&second), &par()).is_err());
}

#[test]
fn a_damaged_missing_or_foreign_segment_is_refused_and_a_killed_append_leaves_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("store");
    let (a, b, c) = parts();
    ingest(std::slice::from_ref(&a)).save(&d, StoreFormat::Ipc).unwrap();
    // an append killed before its manifest switch: an orphan segment directory
    ingest(std::slice::from_ref(&c))
        .save(d.join("appends").join("a1"), StoreFormat::Ipc)
        .unwrap();
    assert_same(
        &EventStore::open(&d, &par()).unwrap(),
        &ingest(std::slice::from_ref(&a)),
        "orphan ignored",
    );
    ingest(std::slice::from_ref(&b)).append_saved(&d, &[], &par()).unwrap();
    assert_same(
        &EventStore::open(&d, &par()).unwrap(),
        &ingest(&[a.clone(), b.clone()]),
        "orphan replaced",
    );

    let seg = d.join("appends").join("a1");
    let good = std::fs::read(seg.join("manifest.json")).unwrap();
    // a segment from another append (same layout, other events)
    let other = dir.path().join("other");
    ingest(std::slice::from_ref(&c)).save(&other, StoreFormat::Ipc).unwrap();
    std::fs::write(
        seg.join("manifest.json"),
        std::fs::read(other.join("manifest.json")).unwrap(),
    )
    .unwrap();
    let e = EventStore::open(&d, &par()).unwrap_err();
    assert!(
        matches!(e, Error::CorruptStore { .. }) && e.to_string().contains("segment a1"),
        "{e}"
    );
    std::fs::write(seg.join("manifest.json"), &good).unwrap();
    // a damaged segment file
    let file = seg.join("events.amount.g1.arrow");
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();
    assert!(matches!(EventStore::open(&d, &par()), Err(Error::CorruptStore { .. })));
    bytes[mid] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();
    EventStore::open(&d, &par()).unwrap();
    // a missing segment
    std::fs::remove_dir_all(&seg).unwrap();
    assert!(matches!(EventStore::open(&d, &par()), Err(Error::CorruptStore { .. })));
    // an edited segment list in the main manifest
    let text = std::fs::read_to_string(d.join("manifest.json")).unwrap();
    std::fs::write(d.join("manifest.json"), text.replace("\"a1\"", "\"a2\"")).unwrap();
    assert!(matches!(EventStore::open(&d, &par()), Err(Error::CorruptStore { .. })));
}

#[test]
fn keys_of_another_type_are_refused_by_ipc_and_parquet_stores() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, _) = parts();
    let d = dir.path().join("ints");
    ingest(std::slice::from_ref(&a)).save(&d, StoreFormat::Ipc).unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default().key_type(clientele::ingest::KeyType::String)).unwrap();
    ing.read_batches("b", [Ok(b.clone())]).unwrap();
    let strings = ing.finish().unwrap().0;
    assert!(matches!(
        strings.append_saved(&d, &[], &par()),
        Err(Error::InvalidParameter { field: "key_type", .. })
    ));
    // an empty base takes the key type of its first segment
    let e = dir.path().join("empty-base");
    EventStore::empty("purchase")
        .unwrap()
        .save(&e, StoreFormat::Ipc)
        .unwrap();
    ingest(std::slice::from_ref(&a)).append_saved(&e, &[], &par()).unwrap();
    assert_eq!(
        EventStore::inspect_saved(&e).unwrap().key_type,
        clientele::ingest::KeyType::Int
    );
    assert!(matches!(
        strings.append_saved(&e, &[], &par()),
        Err(Error::InvalidParameter { field: "key_type", .. })
    ));
    EventStore::open(&e, &par()).unwrap();
    // A Parquet store takes segments too, keyed as its base is.
    let p = dir.path().join("parquet");
    ingest(std::slice::from_ref(&a)).save(&p, StoreFormat::Parquet).unwrap();
    let info = EventStore::inspect_saved(&p).unwrap();
    assert!(info.appendable);
    assert_eq!(info.key_type, clientele::ingest::KeyType::Int);
    assert!(matches!(
        strings.append_saved(&p, &[], &par()),
        Err(Error::InvalidParameter { field: "key_type", .. })
    ));
    ingest(&[b]).append_saved(&p, &[], &par()).unwrap();
}

/// The bytes of every file directly in `dir` (not in `appends/`), by name.
fn base_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file() && e.file_name() != "manifest.json")
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_parquet_store_takes_segments_and_compacts_back_to_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = parts();
    let whole = ingest(&[a.clone(), b.clone(), c.clone()]);
    let d = dir.path().join("store");
    ingest(std::slice::from_ref(&a)).save(&d, StoreFormat::Parquet).unwrap();
    let before = base_files(&d);
    assert!(before.iter().all(|(n, _)| n.ends_with(".parquet")), "{before:?}");
    for p in [&b, &c] {
        let out = ingest(std::slice::from_ref(p)).append_saved(&d, &[], &par()).unwrap();
        assert!(out.segment.is_some());
    }
    // The base's Parquet files are untouched; the new events are in the segments.
    assert_eq!(base_files(&d), before);
    let info = EventStore::inspect_saved(&d).unwrap();
    assert_eq!(info.storage, StoreFormat::Parquet);
    assert_eq!(
        info.key_type,
        clientele::store::KeyType::Int,
        "read from the Parquet base's keys"
    );
    assert_eq!(info.segments.len(), 2);
    assert_eq!(
        (info.num_customers, info.num_events),
        (whole.num_customers() as u64, whole.num_events() as u64)
    );
    // Opened whole, projected, or one customer at a time: the store one ingest builds.
    assert_same(
        &EventStore::open(&d, &par()).unwrap(),
        &whole,
        "parquet base + 2 segments",
    );
    let roles = [Role::EventType, Role::Channel];
    let o = IngestOptions::default().only(&roles);
    let mut ing = Ingestor::new(&o).unwrap();
    for (i, p) in [&a, &b, &c].into_iter().enumerate() {
        ing.read_batches(&format!("part{i}"), [Ok(p.clone())]).unwrap();
    }
    assert_same(
        &EventStore::open_columns(&d, Some(&roles), &par()).unwrap(),
        &ing.finish().unwrap().0,
        "parquet base + 2 segments, projected",
    );
    // Every customer (in the base, in a segment, or both), whole and projected, with the
    // whole store's latest event: the Parquet base decodes only the customer's rows. (Some
    // forty customers: each lookup reads and checksums the base's files whole.)
    let n = whole.num_customers();
    let base_keys = ingest(std::slice::from_ref(&a)).customer_keys().clone();
    let mut picks: Vec<usize> = (0..n).step_by(n.div_ceil(40)).chain([n - 1]).collect();
    // and the first customers that only the segments hold
    let only_appended: Vec<usize> = (0..n)
        .filter(|&c| base_keys.position(whole.customer_keys().get(c).unwrap()).is_none())
        .take(3)
        .collect();
    assert!(!only_appended.is_empty(), "the segments bring new customers");
    picks.extend(only_appended);
    for c in picks {
        let KeyRef::Int(k) = whole.customer_keys().get(c).unwrap() else {
            panic!("integer keys")
        };
        let one = EventStore::open_customer(&d, KeyRef::Int(k), None, &par())
            .unwrap()
            .unwrap();
        assert_eq!(
            as_text(&one.customer_events(0).unwrap()),
            as_text(&whole.customer_events(c).unwrap()),
            "customer {k}"
        );
        assert_eq!(one.last_event_micros(), whole.last_event_micros(), "customer {k}");
        let projected = EventStore::open_customer(&d, KeyRef::Int(k), Some(&roles), &par())
            .unwrap()
            .unwrap();
        assert!(projected.columns().amount.is_none() && projected.columns().channel.is_some());
        assert_eq!(projected.num_events(), one.num_events(), "customer {k}");
    }
    assert!(
        EventStore::open_customer(&d, KeyRef::Int(-5), None, &par())
            .unwrap()
            .is_none()
    );
    // Compaction writes one Parquet base again, without segments.
    assert_eq!(EventStore::compact_saved(&d, &par()).unwrap(), 2);
    let info = EventStore::inspect_saved(&d).unwrap();
    assert_eq!((info.storage, info.segments.len()), (StoreFormat::Parquet, 0));
    assert!(!d.join("appends").exists());
    assert_same(
        &EventStore::open(&d, &par()).unwrap(),
        &whole,
        "compacted parquet store",
    );
    // A store in the version 1 IPC layout of earlier releases is still rebuilt, not appended to.
    let v1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/store-v1/store");
    assert!(!EventStore::inspect_saved(&v1).unwrap().appendable);
}

#[test]
fn any_split_into_a_base_and_appends_opens_as_one_ingest() {
    // Seeded splits: every row goes to one of k parts by a hash of (row, seed); rows of one
    // customer land in several parts, and duplicated rows make ties across parts.
    let all = generated(400, 9);
    let dup = rows(&all, |i, _| i % 7 == 0);
    let all = arrow_select::concat::concat_batches(&all.schema(), &[all.clone(), dup]).unwrap();
    for seed in 0..6u64 {
        let k = 2 + (seed % 3) as usize;
        let part = |i: usize| {
            let h = (i as u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            ((h >> 33) % k as u64) as usize
        };
        let parts: Vec<RecordBatch> = (0..k).map(|p| rows(&all, |i, _| part(i) == p)).collect();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("store");
        ingest(&parts[..1]).save(&d, StoreFormat::Ipc).unwrap();
        for p in &parts[1..] {
            ingest(std::slice::from_ref(p)).append_saved(&d, &[], &par()).unwrap();
        }
        assert_same(
            &EventStore::open(&d, &par()).unwrap(),
            &ingest(&parts),
            &format!("seed {seed}, {k} parts"),
        );
    }
}

#[test]
fn a_projection_without_amounts_keeps_the_order_amounts_give() {
    // Events tied in time and type, with other amounts in the append: the merge orders them by
    // amount even when the job does not read amounts, as the compacted store does.
    let dir = tempfile::tempdir().unwrap();
    let (a, _, _) = parts();
    let b = rows(&a, |i, _| i % 5 == 0);
    let idx = b.schema().index_of("amount").unwrap();
    let amount = arrow_cast::cast(b.column(idx), &arrow_schema::DataType::Float64).unwrap();
    let amount = amount.as_any().downcast_ref::<arrow_array::Float64Array>().unwrap();
    let halved: arrow_array::Float64Array = amount.iter().map(|v| v.map(|v| v / 2.0)).collect();
    let halved = arrow_cast::cast(&halved, b.schema().field(idx).data_type()).unwrap();
    let mut cols = b.columns().to_vec();
    cols[idx] = halved;
    // and another channel and product, so that the order of tied rows shows without amounts
    for name in ["channel", "product"] {
        let i = b.schema().index_of(name).unwrap();
        let marked = arrow_array::StringArray::from(vec!["zz-appended"; b.num_rows()]);
        cols[i] = arrow_cast::cast(&marked, b.schema().field(i).data_type()).unwrap();
    }
    let b = RecordBatch::try_new(b.schema(), cols).unwrap();
    let d = dir.path().join("appended");
    ingest(std::slice::from_ref(&a)).save(&d, StoreFormat::Ipc).unwrap();
    ingest(std::slice::from_ref(&b)).append_saved(&d, &[], &par()).unwrap();
    let c = dir.path().join("compacted");
    ingest(&[a, b]).save(&c, StoreFormat::Ipc).unwrap();
    for roles in [
        &[Role::EventType, Role::Channel][..],
        &[Role::EventType, Role::Product, Role::Score],
    ] {
        assert_same(
            &EventStore::open_columns(&d, Some(roles), &par()).unwrap(),
            &EventStore::open_columns(&c, Some(roles), &par()).unwrap(),
            &format!("{roles:?}"),
        );
    }
    let full = EventStore::open(&c, &par()).unwrap();
    for ci in (0..full.num_customers()).step_by(50) {
        let KeyRef::Int(k) = full.customer_keys().get(ci).unwrap() else {
            panic!()
        };
        let roles = &[Role::EventType, Role::Channel][..];
        let one = EventStore::open_customer(&d, KeyRef::Int(k), Some(roles), &par())
            .unwrap()
            .unwrap();
        let want = EventStore::open_customer(&c, KeyRef::Int(k), Some(roles), &par())
            .unwrap()
            .unwrap();
        assert_eq!(
            as_text(&one.customer_events(0).unwrap()),
            as_text(&want.customer_events(0).unwrap()),
            "{k}"
        );
    }
}
