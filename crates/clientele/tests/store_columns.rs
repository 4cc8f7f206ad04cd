//! A saved store reads only what a job needs: the columns of its roles, or one customer's rows
//! (the blocks that hold them, each verified), with the same answers as the whole store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::Path;

use clientele::Error;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::schema::Role;
use clientele::store::{EventStore, KeyRef, StoreFormat};
use clientele::synth::{GenerateParams, generate};
use clientele::views::{Customer360Params, customer_lookup};

fn batches(customers: u64, seed: u64) -> Vec<arrow_array::RecordBatch> {
    generate(
        &GenerateParams::default()
            .customers(customers)
            .seed(seed)
            .validate()
            .unwrap(),
    )
    .unwrap()
}

fn ingest(batches: &[arrow_array::RecordBatch], options: IngestOptions) -> EventStore {
    let mut ing = Ingestor::new(&options).unwrap();
    ing.read_batches("gen", batches.iter().cloned().map(Ok)).unwrap();
    ing.finish().unwrap().0
}

fn par() -> Parallelism {
    Parallelism::threads(2).unwrap()
}

fn key(store: &EventStore, c: usize) -> i64 {
    match store.customer_keys().get(c).unwrap() {
        KeyRef::Int(k) => k,
        KeyRef::Str(s) => panic!("string key {s}"),
    }
}

#[test]
fn a_projection_is_the_store_an_ingest_of_the_same_roles_builds() {
    let dir = tempfile::tempdir().unwrap();
    let b = batches(1500, 7);
    let full = ingest(&b, IngestOptions::default());
    for format in [StoreFormat::Ipc, StoreFormat::Parquet] {
        let d = dir.path().join(format!("{format:?}"));
        full.save(&d, format).unwrap();
        assert_eq!(
            EventStore::open(&d, &par()).unwrap().events().unwrap(),
            full.events().unwrap()
        );
        for roles in [
            &[Role::EventType, Role::Amount][..],
            &[Role::EventType, Role::Channel, Role::Score],
            &[Role::EventType, Role::Product],
            &[Role::EventType],
        ] {
            let projected = EventStore::open_columns(&d, Some(roles), &par()).unwrap();
            let expected = ingest(&b, IngestOptions::default().only(roles));
            assert_eq!(
                projected.events().unwrap(),
                expected.events().unwrap(),
                "{format:?} {roles:?}"
            );
            assert_eq!(projected.customer_keys(), expected.customer_keys());
            assert_eq!(projected.offsets(), expected.offsets());
        }
    }
}

#[test]
fn one_customer_is_read_alone_and_answers_as_the_whole_store() {
    let dir = tempfile::tempdir().unwrap();
    // More than 262,144 events, a block boundary (blocks are 65,536 rows): some customer
    // straddles it.
    let full = ingest(&batches(16_000, 11), IngestOptions::default());
    assert!(full.num_events() > 262_144, "{} events", full.num_events());
    let straddler = (0..full.num_customers())
        .find(|&c| {
            let r = full.customer_range(c);
            r.start < 262_144 && r.end > 262_144
        })
        .or_else(|| (0..full.num_customers()).find(|&c| full.customer_range(c).start == 262_144))
        .unwrap();
    let cfg = Customer360Params::new().recent(5).validate().unwrap();
    for format in [StoreFormat::Ipc, StoreFormat::Parquet] {
        let d = dir.path().join(format!("{format:?}"));
        full.save(&d, format).unwrap();
        for c in [0, 1, straddler, full.num_customers() / 2, full.num_customers() - 1] {
            let k = key(&full, c);
            let one = EventStore::open_customer(&d, KeyRef::Int(k), None, &par())
                .unwrap()
                .unwrap_or_else(|| panic!("customer {k} not found"));
            assert_eq!(one.num_customers(), 1);
            let mine = one.customer_events(0).unwrap();
            assert_eq!(mine, full.customer_events(c).unwrap(), "{format:?} customer {c}");
            assert_eq!(
                customer_lookup(&one, KeyRef::Int(k), None, &cfg).unwrap(),
                customer_lookup(&full, KeyRef::Int(k), None, &cfg).unwrap(),
                "{format:?} card of {c}"
            );
            // A one-customer store saves and reopens as a store of its own.
            let again = dir.path().join(format!("one-{format:?}-{c}"));
            one.save(&again, StoreFormat::Ipc).unwrap();
            let reopened = EventStore::open(&again, &par()).unwrap();
            assert_eq!(reopened.events().unwrap(), one.events().unwrap());
            let projected = EventStore::open_customer(&d, KeyRef::Int(k), Some(&[Role::Amount]), &par())
                .unwrap()
                .unwrap();
            assert!(projected.columns().channel.is_none() && projected.columns().amount.is_some());
        }
        let absent = key(&full, full.num_customers() - 1) + 1_000_000;
        assert!(
            EventStore::open_customer(&d, KeyRef::Int(absent), None, &par())
                .unwrap()
                .is_none()
        );
    }
}

fn flip(path: &Path, at: usize) -> Vec<u8> {
    let good = std::fs::read(path).unwrap();
    let mut bad = good.clone();
    bad[at] ^= 0x10;
    std::fs::write(path, &bad).unwrap();
    good
}

#[test]
fn a_lookup_verifies_every_block_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("s");
    let full = ingest(&batches(16_000, 5), IngestOptions::default());
    full.save(&d, StoreFormat::Ipc).unwrap();
    let amount = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("events.amount."))
        .unwrap();
    let first = key(&full, 0);
    let last = key(&full, full.num_customers() - 1);
    // Damage early in the file (the first block): the first customer's lookup is refused, the
    // last one's (in the second block) still answers, and opening the whole store is refused.
    let good = flip(&amount, 200);
    match EventStore::open_customer(&d, KeyRef::Int(first), None, &par()) {
        Err(e @ Error::CorruptStore { .. }) => assert!(e.to_string().contains("checksum"), "{e}"),
        other => panic!("expected CorruptStore, got {other:?}"),
    }
    assert!(
        EventStore::open_customer(&d, KeyRef::Int(last), None, &par())
            .unwrap()
            .is_some()
    );
    assert!(matches!(EventStore::open(&d, &par()), Err(Error::CorruptStore { .. })));
    // Damage in the footer: every lookup is refused.
    std::fs::write(&amount, &good).unwrap();
    let len = good.len();
    flip(&amount, len - 20);
    assert!(matches!(
        EventStore::open_customer(&d, KeyRef::Int(last), None, &par()),
        Err(Error::CorruptStore { .. })
    ));
    // A projection that does not read the damaged column opens.
    assert!(EventStore::open_columns(&d, Some(&[Role::Channel]), &par()).is_ok());
    std::fs::write(&amount, &good).unwrap();
    assert!(EventStore::open(&d, &par()).is_ok());
}

#[test]
fn a_store_saved_in_the_version_1_layout_still_opens() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/store-v1");
    let manifest = std::fs::read_to_string(root.join("store/manifest.json")).unwrap();
    assert!(manifest.contains("\"version\": 1") && manifest.contains("events.g1.arrow"));
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_path(root.join("events.parquet"), &Default::default()).unwrap();
    let fresh = ing.finish().unwrap().0;
    let old = EventStore::open(root.join("store"), &par()).unwrap();
    assert_eq!(old.events().unwrap(), fresh.events().unwrap());
    assert_eq!(old.customer_keys(), fresh.customer_keys());
    let roles = [Role::EventType, Role::Amount];
    let projected = EventStore::open_columns(root.join("store"), Some(&roles), &par()).unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default().only(&roles)).unwrap();
    ing.read_path(root.join("events.parquet"), &Default::default()).unwrap();
    assert_eq!(projected.events().unwrap(), ing.finish().unwrap().0.events().unwrap());
    let c = fresh.num_customers() / 2;
    let one = EventStore::open_customer(root.join("store"), KeyRef::Int(key(&fresh, c)), None, &par())
        .unwrap()
        .unwrap();
    assert_eq!(one.customer_events(0).unwrap(), fresh.customer_events(c).unwrap());
    assert_eq!(one.last_event_micros(), fresh.last_event_micros());
    // Saved again, it is a version 2 store with the same events.
    let dir = tempfile::tempdir().unwrap();
    old.save(dir.path(), StoreFormat::Ipc).unwrap();
    let text = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
    assert!(text.contains("\"version\": 2"), "{text}");
    assert_eq!(
        EventStore::open(dir.path(), &par()).unwrap().events().unwrap(),
        fresh.events().unwrap()
    );
}
