//! Finding one customer in a saved store without reading all customers.
//!
//! A version 2 store's customers file holds every key with its event count, in batches of
//! [`BLOCK_ROWS`](super::columnar::BLOCK_ROWS). The manifest records, for each batch, its
//! first key and the events of its customers ([`index_customer_blocks`]). A lookup then picks
//! the one batch whose key range can hold the key from the manifest's first keys (one
//! comparison per block, which also checks that the keys are all of one kind), reads and
//! verifies that batch alone, and finds the customer's first event row as the events of
//! the batches before it plus the counts before it in its batch ([`find_customer`]).
//!
//! Stores saved before the manifest carried these fields are read whole, as before.

use std::cmp::Ordering;
use std::path::Path;

use super::columnar::{self, BlockEntry, BlockKey, BlockKind};
use super::keys::{CustomerKeys, KeyRef};
use super::persist::{Manifest, corrupt, customers_of, read_customers_v2};
use crate::error::Result;

/// Where a customer's events are: its key (a one-key slice), its first event row and its
/// number of events.
pub(super) struct Found {
    pub key: CustomerKeys,
    pub first_event: usize,
    pub events: usize,
}

/// Records in the customers file's batch blocks (row groups, in a Parquet file) their first
/// key and their events (`counts` holds each customer's events, in key order).
pub(super) fn index_customer_blocks(blocks: &mut [BlockEntry], keys: &CustomerKeys, counts: &[u32]) {
    let mut start = 0usize;
    for b in blocks
        .iter_mut()
        .filter(|b| matches!(b.kind, BlockKind::Batch | BlockKind::RowGroup))
    {
        let rows = usize::try_from(b.rows).unwrap_or(usize::MAX);
        let end = start.saturating_add(rows).min(counts.len());
        b.first_key = keys.get(start).map(|k| match k {
            KeyRef::Int(k) => BlockKey::Int(k),
            KeyRef::Str(s) => BlockKey::Str(s.to_string()),
        });
        b.events = counts.get(start..end).map(|c| c.iter().map(|&n| u64::from(n)).sum());
        start = end;
    }
}

/// The lookup key in the store's key type: an integer key is looked up in string keys by its
/// decimal text, a string key in integer keys if it parses (as [`CustomerKeys::position`]).
enum Probe<'a> {
    Int(i64),
    Str(std::borrow::Cow<'a, str>),
}

impl<'a> Probe<'a> {
    /// `None` when the key cannot be in a store whose first key is `like`.
    fn new(key: KeyRef<'a>, like: &BlockKey) -> Option<Self> {
        Some(match (like, key) {
            (BlockKey::Int(_), KeyRef::Int(k)) => Probe::Int(k),
            (BlockKey::Int(_), KeyRef::Str(s)) => Probe::Int(s.trim().parse().ok()?),
            (BlockKey::Str(_), KeyRef::Str(s)) => Probe::Str(s.into()),
            (BlockKey::Str(_), KeyRef::Int(k)) => Probe::Str(k.to_string().into()),
        })
    }

    /// How `first` compares with the probe; `None` when the kinds differ.
    fn cmp_block(&self, first: &BlockKey) -> Option<Ordering> {
        match (first, self) {
            (BlockKey::Int(b), Probe::Int(k)) => Some(b.cmp(k)),
            (BlockKey::Str(b), Probe::Str(k)) => Some(b.as_str().cmp(k.as_ref())),
            _ => None,
        }
    }
}

/// The block, among blocks of sorted keys whose first keys are `firsts`, whose key range can
/// hold `key`: the last whose first key is at most it; `None` when the key sorts before them
/// all or is of no kind the keys can hold (one comparison per block, which also checks that
/// the first keys are all of one kind).
///
/// # Errors
/// What is wrong with the index, when its first keys mix integer and string keys.
pub(super) fn block_for(firsts: &[&BlockKey], key: KeyRef<'_>) -> std::result::Result<Option<usize>, &'static str> {
    let Some(probe) = firsts.first().and_then(|k| Probe::new(key, k)) else {
        return Ok(None);
    };
    let mut after = Vec::with_capacity(firsts.len());
    for k in firsts {
        after.push(probe.cmp_block(k).ok_or("mixes integer and string keys")? != Ordering::Greater);
    }
    // The last block whose first key is at most the probe (the flags are true, then false).
    Ok(after.iter().take_while(|&&le| le).count().checked_sub(1))
}

/// Finds `key` in the version 2 store (base or segment) of manifest `m` in `dir`; `None` when
/// the store does not hold it. With a block index in the manifest only the footer and one
/// batch of the customers file are read (and verified); otherwise the whole file.
///
/// # Errors
/// [`Error::CorruptStore`](crate::Error::CorruptStore) when the manifest, the customers file
/// and the block index disagree; [`Error::Io`](crate::Error::Io) when the file is unreadable.
pub(super) fn find_customer(dir: &Path, m: &Manifest, key: KeyRef<'_>) -> Result<Option<Found>> {
    let (name, entry) = m.file("customers");
    let entry = entry.ok_or_else(|| corrupt(dir, "manifest.json does not list the customers file"))?;
    let batches: Vec<&BlockEntry> = entry.blocks.iter().filter(|b| b.kind == BlockKind::Batch).collect();
    let index: Option<Vec<(&BlockKey, u64)>> = batches.iter().map(|b| b.first_key.as_ref().zip(b.events)).collect();
    let Some(index) = index.filter(|i| !i.is_empty()) else {
        return find_in_whole_file(dir, m, key);
    };
    let bad = |what: &str| corrupt(dir, format!("the manifest's customer block index {what}"));
    // The index must add up to the manifest's counts.
    let rows: u64 = batches.iter().map(|b| b.rows).sum();
    let events: u64 = index.iter().map(|&(_, n)| n).sum();
    if rows != m.num_customers || events != m.num_events {
        return Err(bad("does not add up to the store's customers and events"));
    }
    let firsts: Vec<&BlockKey> = index.iter().map(|&(k, _)| k).collect();
    let Some(b) = block_for(&firsts, key).map_err(&bad)? else {
        return Ok(None);
    };
    let to_usize = |v: u64| usize::try_from(v).map_err(|_| bad("is beyond memory"));
    let row_start = to_usize(batches.iter().take(b).map(|e| e.rows).sum())?;
    let block_rows = to_usize(batches.get(b).map_or(0, |e| e.rows))?;
    let events_before = to_usize(index.iter().take(b).map(|&(_, n)| n).sum())?;
    let read = columnar::read_rows(&dir.join(&name), &entry.blocks, row_start..row_start + block_rows)?;
    let (keys, counts) = customers_of(dir, &read)?;
    let (first, block_events) = index.get(b).copied().ok_or_else(|| bad("is short"))?;
    let first_matches = first.is(keys.get(0));
    let sum: u64 = counts.iter().map(|&n| u64::from(n)).sum();
    if keys.len() != block_rows || !first_matches || sum != block_events {
        return Err(bad(&format!("differs from block {b} of the customers file")));
    }
    let Some(c) = keys.position(key) else {
        return Ok(None);
    };
    let c = c as usize;
    let before: usize = counts.get(..c).map_or(0, |h| h.iter().map(|&n| n as usize).sum());
    Ok(Some(Found {
        key: keys.slice(c, 1),
        first_event: events_before + before,
        events: counts.get(c).map_or(0, |&n| n as usize),
    }))
}

/// [`find_customer`] for stores without a block index: reads the whole customers file.
fn find_in_whole_file(dir: &Path, m: &Manifest, key: KeyRef<'_>) -> Result<Option<Found>> {
    let (keys, counts) = read_customers_v2(dir, m)?;
    let Some(c) = keys.position(key) else {
        return Ok(None);
    };
    let c = c as usize;
    Ok(Some(Found {
        key: keys.slice(c, 1),
        first_event: counts.get(..c).map_or(0, |h| h.iter().map(|&n| n as usize).sum()),
        events: counts.get(c).map_or(0, |&n| n as usize),
    }))
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use std::sync::Arc;

    use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};

    use super::*;
    use crate::error::Error;
    use crate::exec::Parallelism;
    use crate::ingest::{IngestOptions, Ingestor};
    use crate::store::{EventStore, StoreFormat};
    use crate::synth::{GenerateParams, generate};

    /// A generated store whose keys are `k · 7 + 3` (gaps between them) or `c<k>` (string
    /// keys, whose byte order is not the numeric one).
    pub(in crate::store) fn store(customers: u64, strings: bool) -> EventStore {
        let params = GenerateParams::default()
            .customers(customers)
            .seed(5)
            .validate()
            .unwrap();
        let batches: Vec<RecordBatch> = generate(&params)
            .unwrap()
            .into_iter()
            .map(|b| {
                let i = b.schema().index_of(crate::schema::CUSTOMER_ID).unwrap();
                let ids = b.column(i).as_any().downcast_ref::<Int64Array>().unwrap().clone();
                let keys: ArrayRef = if strings {
                    Arc::new(ids.iter().map(|k| k.map(|k| format!("c{k}"))).collect::<StringArray>())
                } else {
                    Arc::new(ids.iter().map(|k| k.map(|k| k * 7 + 3)).collect::<Int64Array>())
                };
                let mut columns = b.columns().to_vec();
                columns[i] = keys;
                let fields: Vec<_> = b
                    .schema()
                    .fields()
                    .iter()
                    .enumerate()
                    .map(|(j, f)| {
                        if j == i {
                            Arc::new(f.as_ref().clone().with_data_type(columns[i].data_type().clone()))
                        } else {
                            f.clone()
                        }
                    })
                    .collect();
                RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), columns).unwrap()
            })
            .collect();
        let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
        ing.read_batches("gen", batches.into_iter().map(Ok)).unwrap();
        ing.finish().unwrap().0
    }

    fn par() -> Parallelism {
        Parallelism::threads(2).unwrap()
    }

    fn owned(k: KeyRef<'_>) -> (Option<i64>, Option<String>) {
        match k {
            KeyRef::Int(k) => (Some(k), None),
            KeyRef::Str(s) => (None, Some(s.to_string())),
        }
    }

    fn probe(dir: &Path, k: &(Option<i64>, Option<String>)) -> Option<EventStore> {
        let key = match k {
            (Some(k), _) => KeyRef::Int(*k),
            (None, Some(s)) => KeyRef::Str(s),
            _ => unreachable!(),
        };
        EventStore::open_customer(dir, key, None, &par()).unwrap()
    }

    /// Every customer of `full` is found in the store saved in `dir` with its own events.
    fn every_customer_answers(dir: &Path, full: &EventStore) {
        for c in 0..full.num_customers() {
            let k = owned(full.customer_keys().get(c).unwrap());
            let one = probe(dir, &k).unwrap_or_else(|| panic!("customer {k:?} not found"));
            assert_eq!(one.customer_keys().get(0).map(owned), Some(k.clone()));
            assert_eq!(
                one.customer_events(0).unwrap(),
                full.customer_events(c).unwrap(),
                "{k:?}"
            );
        }
    }

    #[test]
    fn every_key_is_found_in_its_block_whatever_the_block_size() {
        for strings in [false, true] {
            let full = store(40, strings);
            for block_rows in [1, 3, 7, 40, 1 << 16] {
                let dir = tempfile::tempdir().unwrap();
                full.save_blocks(dir.path(), StoreFormat::Ipc, &[], block_rows).unwrap();
                let m = super::super::persist::read_manifest(dir.path()).unwrap();
                let (_, entry) = m.file("customers");
                let batches: Vec<_> = entry
                    .unwrap()
                    .blocks
                    .iter()
                    .filter(|b| b.kind == BlockKind::Batch)
                    .collect();
                assert_eq!(batches.len(), 40usize.div_ceil(block_rows));
                assert!(batches.iter().all(|b| b.first_key.is_some() && b.events.is_some()));
                every_customer_answers(dir.path(), &full);
                // Keys the store does not hold: before the first, between two, after the last,
                // and (integer keys) text that is no number.
                let absent: Vec<(Option<i64>, Option<String>)> = if strings {
                    ["a", "c", "c10x", "c1 ", "d", ""]
                        .iter()
                        .map(|s| (None, Some(s.to_string())))
                        .collect()
                } else {
                    vec![
                        (Some(2), None),
                        (Some(11), None),
                        (Some(i64::MAX), None),
                        (Some(i64::MIN), None),
                        (None, Some("x".into())),
                    ]
                };
                for k in &absent {
                    assert!(probe(dir.path(), k).is_none(), "{k:?} found, block rows {block_rows}");
                }
                // An integer key in string keys is looked up by its text, and the other way round.
                let first = full.customer_keys().get(0).map(owned).unwrap();
                let other = match &first {
                    (Some(k), _) => (None, Some(format!(" {k} "))),
                    (None, Some(s)) => (s.trim_start_matches('c').parse().ok(), None),
                    _ => unreachable!(),
                };
                if strings {
                    // "c<k>" has no integer form: the key is absent.
                    assert!(probe(dir.path(), &(Some(0), None)).is_none());
                } else {
                    assert!(probe(dir.path(), &other).is_some(), "{other:?}");
                }
            }
        }
    }

    /// Rewrites the manifest of `dir` through `edit`, bound again (as a save would write it).
    fn edit_manifest(dir: &Path, edit: impl Fn(&mut BlockEntry, usize)) {
        let mut m = super::super::persist::read_manifest(dir).unwrap();
        let (name, _) = m.file("customers");
        let f = m.files.iter_mut().find(|f| f.name == name).unwrap();
        for (i, b) in f.blocks.iter_mut().filter(|b| b.kind == BlockKind::Batch).enumerate() {
            edit(b, i);
        }
        super::super::persist::write_manifest(dir, &mut m).unwrap();
    }

    #[test]
    fn a_store_without_the_block_index_is_read_whole_with_the_same_answers() {
        let full = store(30, false);
        let dir = tempfile::tempdir().unwrap();
        full.save_blocks(dir.path(), StoreFormat::Ipc, &[], 4).unwrap();
        edit_manifest(dir.path(), |b, _| {
            b.first_key = None;
            b.events = None;
        });
        let text = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
        assert!(!text.contains("first_key") && !text.contains("\"events\""));
        every_customer_answers(dir.path(), &full);
        assert!(probe(dir.path(), &(Some(2), None)).is_none());
        // the key type is then read from the keys, not the manifest
        let info = EventStore::inspect_saved(dir.path()).unwrap();
        assert_eq!(info.key_type, crate::store::KeyType::Int);
        let strings = tempfile::tempdir().unwrap();
        store(30, true)
            .save_blocks(strings.path(), StoreFormat::Ipc, &[], 4)
            .unwrap();
        let info = EventStore::inspect_saved(strings.path()).unwrap();
        assert_eq!(info.key_type, crate::store::KeyType::String, "from the manifest");
        edit_manifest(strings.path(), |b, _| b.first_key = None);
        let info = EventStore::inspect_saved(strings.path()).unwrap();
        assert_eq!(info.key_type, crate::store::KeyType::String, "from the keys");
    }

    #[test]
    fn an_index_that_disagrees_with_the_file_is_a_corrupt_store() {
        let full = store(30, false);
        // Customer 5 is in block 1 (blocks of 4).
        let in_block_1 = owned(full.customer_keys().get(5).unwrap());
        type Edit = Box<dyn Fn(&mut BlockEntry, usize)>;
        let edits: [(&str, Edit); 3] = [
            // Events moved from block 1 to block 2: the totals still add up.
            (
                "differs from block",
                Box::new(|b: &mut BlockEntry, i| match i {
                    1 => b.events = b.events.map(|n| n - 1),
                    2 => b.events = b.events.map(|n| n + 1),
                    _ => {}
                }),
            ),
            (
                "does not add up",
                Box::new(|b: &mut BlockEntry, _| b.events = b.events.map(|n| n + 1)),
            ),
            (
                "mixes integer and string keys",
                Box::new(|b: &mut BlockEntry, i| {
                    if i == 3 {
                        b.first_key = Some(BlockKey::Str("x".into()));
                    }
                }),
            ),
        ];
        for (why, edit) in edits {
            let dir = tempfile::tempdir().unwrap();
            full.save_blocks(dir.path(), StoreFormat::Ipc, &[], 4).unwrap();
            edit_manifest(dir.path(), edit);
            let key = KeyRef::Int(in_block_1.0.unwrap());
            match EventStore::open_customer(dir.path(), key, None, &par()) {
                Err(Error::CorruptStore { message, .. }) => assert!(message.contains(why), "{message}"),
                other => panic!("{why}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_binding_covers_the_block_index() {
        let full = store(10, false);
        let dir = tempfile::tempdir().unwrap();
        full.save_blocks(dir.path(), StoreFormat::Ipc, &[], 4).unwrap();
        let path = dir.path().join("manifest.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let first = full.customer_keys().get(4).map(owned).unwrap().0.unwrap();
        let edited = text.replacen(
            &format!("\"first_key\": {first}"),
            &format!("\"first_key\": {}", first + 7),
            1,
        );
        assert_ne!(edited, text);
        std::fs::write(&path, edited).unwrap();
        match EventStore::open_customer(dir.path(), KeyRef::Int(first), None, &par()) {
            Err(Error::CorruptStore { message, .. }) => assert!(message.contains("checksum"), "{message}"),
            other => panic!("{other:?}"),
        }
    }
}
