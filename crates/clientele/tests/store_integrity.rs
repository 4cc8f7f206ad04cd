//! A saved store is what was saved, or it does not open: damaged files, an edited manifest,
//! files from another ingest and an interrupted save are refused or leave the old store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::path::{Path, PathBuf};

use clientele::Error;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::store::{EventStore, StoreFormat};
use common::generated;

fn store(customers: u64, seed: u64) -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("gen", [Ok(generated(customers, seed))]).unwrap();
    ing.finish().unwrap().0
}

fn file(dir: &Path, stem: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{stem}."))
        })
        .unwrap()
}

fn open(dir: &Path) -> clientele::Result<EventStore> {
    EventStore::open(dir, &Parallelism::current())
}

fn corrupt(r: clientele::Result<EventStore>) -> String {
    match r {
        Err(e @ Error::CorruptStore { .. }) => e.to_string(),
        Err(e) => panic!("expected CorruptStore, got {e}"),
        Ok(_) => panic!("a damaged store opened"),
    }
}

#[test]
fn damaged_edited_or_mixed_stores_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for format in [StoreFormat::Ipc, StoreFormat::Parquet] {
        let d = dir.path().join(format!("{format:?}"));
        let s = store(500, 1);
        s.save(&d, format).unwrap();
        assert_eq!(open(&d).unwrap().events().unwrap(), s.events().unwrap());
        // one flipped bit in the events file
        let events = file(&d, "events");
        let good = std::fs::read(&events).unwrap();
        let mut bad = good.clone();
        let at = bad.len() / 2;
        bad[at] ^= 0x04;
        std::fs::write(&events, &bad).unwrap();
        assert!(corrupt(open(&d)).contains("checksum"), "{format:?}");
        std::fs::write(&events, &good).unwrap();
        // an edited manifest (the purchase type changes what every kernel counts)
        let manifest = d.join("manifest.json");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            text.replace("\"purchase_type\": \"purchase\"", "\"purchase_type\": \"refund\""),
        )
        .unwrap();
        assert!(corrupt(open(&d)).contains("does not match its checksum"));
        // a field this build does not know, bound by the checksum (as a newer build would
        // write it), is named as such
        let binding = text.split("\"binding\": \"").nth(1).unwrap().get(..8).unwrap();
        let newer = text
            .replacen("\"crc32\"", "\"zone_map\": [1, 2],\n      \"crc32\"", 1)
            .replace(binding, "0badc0de");
        std::fs::write(&manifest, &newer).unwrap();
        let why = corrupt(open(&d));
        assert!(
            why.contains("does not know (files[0].zone_map)") && why.contains("newer Clientele"),
            "{why}"
        );
        std::fs::write(&manifest, &text).unwrap();
        // the customers file of another ingest with the same customer count
        let other_dir = dir.path().join(format!("other-{format:?}"));
        store(500, 2).save(&other_dir, format).unwrap();
        let customers = file(&d, "customers");
        let ours = std::fs::read(&customers).unwrap();
        std::fs::copy(file(&other_dir, "customers"), &customers).unwrap();
        if std::fs::read(&customers).unwrap() != ours {
            corrupt(open(&d));
        }
        std::fs::write(&customers, &ours).unwrap();
        assert!(open(&d).is_ok());
    }
}

#[test]
fn a_save_leaves_one_generation_and_an_interrupted_one_leaves_the_old_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("s");
    let first = store(300, 1);
    first.save(&d, StoreFormat::Ipc).unwrap();
    // A save killed before its manifest: new files beside the old ones, the old manifest.
    let manifest = std::fs::read(d.join("manifest.json")).unwrap();
    let second = store(400, 2);
    second.save(&d, StoreFormat::Ipc).unwrap();
    let new_files: Vec<(PathBuf, Vec<u8>)> = ["customers", "events"]
        .iter()
        .map(|s| file(&d, s))
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    first.save(&d, StoreFormat::Ipc).unwrap();
    for (p, b) in &new_files {
        std::fs::write(p, b).unwrap(); // the half-done save's files
    }
    assert_eq!(open(&d).unwrap().num_customers(), 300, "the old store, whole");
    drop(manifest);
    // The next save removes every file the new manifest does not name.
    second.save(&d, StoreFormat::Ipc).unwrap();
    let names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // the manifest, the customers file, one file per event column, the purchase rollup and
    // the activity rollup
    let columns = second.events_schema().fields().len() - 1;
    assert_eq!(names.len(), 4 + columns, "{names:?}");
    assert!(
        names.iter().all(|n| n == "manifest.json" || n.contains(".g4.")),
        "{names:?}"
    );
    assert_eq!(open(&d).unwrap().num_customers(), 400);
}
