//! Point lookups in a Parquet-storage store (format version 1): decode one customer's rows,
//! not the whole store.
//!
//! A Parquet-storage store keeps one `customers` file (the keys, in order) and one `events`
//! file whose rows are ordered by `customer_index`. Its manifest checksums each file whole, so
//! a lookup still reads and verifies both files' bytes (the events file only when the keys
//! hold the customer, or segments may); what it saves is the decoding. It
//! finds the customer's index in the keys, keeps the row groups whose `customer_index`
//! statistics can hold it, and decodes their other columns only where `customer_index`
//! equals it (a row filter, with the page index to skip pages). The store's latest event,
//! which a 360 card measures tenure against, comes from the row groups' `event_time`
//! statistics. Appended segments (IPC) are looked into as on an IPC store, and the customer's
//! events in them merged in. Where something it relies on is missing (an unverified store, a
//! file without exact statistics) the store is opened whole, as before.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;
use arrow_array::{BooleanArray, RecordBatch};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowPredicateFn, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowFilter};
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::statistics::Statistics;

use super::persist::{
    FORMAT_V1, Manifest, StoreFormat, check_order, corrupt, read_file, read_keys, read_parallel, store_columns,
    wanted_among,
};
use super::segments::{merge_roles, with_segments_found};
use super::{CUSTOMER_INDEX, CustomerKeys, EventStore, KeyRef};
use crate::error::{Error, Result};
use crate::schema::{EVENT_TIME, Role};

/// The one-customer store of `key` in the Parquet-storage store of manifest `m` in `dir`:
/// `Some(None)` when it does not hold the key, and `None` when this path does not apply and
/// the store is to be opened whole (see the [module docs](self)).
///
/// # Errors
/// As [`EventStore::open`]: a file whose bytes are not the manifest's, or rows that break the
/// store's invariants, give [`Error::CorruptStore`].
pub(super) fn lookup_v1(
    dir: &Path,
    m: &Manifest,
    key: KeyRef<'_>,
    roles: Option<&[Role]>,
) -> Result<Option<Option<EventStore>>> {
    let (customers, customers_entry) = m.file("customers");
    let (events, events_entry) = m.file("events");
    let (Some(customers_entry), Some(events_entry)) = (customers_entry, events_entry) else {
        return Ok(None);
    };
    if m.version != FORMAT_V1 || m.storage != StoreFormat::Parquet {
        return Ok(None);
    }
    let keys = read_keys(dir, &read_file(dir, &customers, m.storage, Some(customers_entry))?)?;
    if keys.len() as u64 != m.num_customers {
        return Err(corrupt(dir, "customer counts differ from the manifest"));
    }
    let c = keys.position(key);
    if c.is_none() && m.segments.is_empty() {
        // The keys answer: the events file is not read.
        return Ok(Some(None));
    }
    let path = dir.join(&events);
    let bytes = read_parallel(&path).map_err(|e| Error::io(&path, e))?;
    if let Some(why) = events_entry.mismatch(&bytes) {
        return Err(corrupt(dir, why));
    }
    let shown = path.display().to_string();
    let read = crate::error::guard_decode(&shown, "parquet", || customer_rows(&shown, bytes, c))?;
    let Some(rows) = read else {
        return Ok(None);
    };
    // With segments, merging orders ties by amount: read it for the merge (dropped after).
    let read = if m.segments.is_empty() {
        roles.map(<[Role]>::to_vec)
    } else {
        merge_roles(roles)
    };
    let found = match c {
        Some(c) => Some(one_customer(dir, m, &keys, c, key, rows.batches)?.project(read.as_deref())),
        None => None,
    };
    if m.segments.is_empty() {
        return Ok(Some(found.map(|f| f.with_last_event(rows.last_event))));
    }
    let names = wanted_among(&rows.columns, roles);
    with_segments_found(dir, m, key, roles, found, names, rows.last_event).map(Some)
}

/// The store of customer `c` (key `key`) alone from its rows `batches`, checked.
fn one_customer(
    dir: &Path,
    m: &Manifest,
    keys: &CustomerKeys,
    c: u32,
    key: KeyRef<'_>,
    batches: Vec<RecordBatch>,
) -> Result<EventStore> {
    if batches.iter().all(|b| b.num_rows() == 0) {
        return Err(corrupt(dir, format!("customer {key} has no events")));
    }
    let columns = store_columns(dir, &|_| Some(batches.clone()))?;
    let offsets = vec![0, columns.len()];
    check_order(dir, &offsets, &columns)?;
    EventStore::from_parts(keys.slice(c as usize, 1), offsets, columns, m.purchase_type.clone())
}

/// What [`customer_rows`] reads from the events file.
struct CustomerRows {
    /// The customer's rows (none when it is not asked for).
    batches: Vec<RecordBatch>,
    /// The file's latest event time.
    last_event: Option<i64>,
    /// The file's column names.
    columns: Vec<String>,
}

/// The rows of customer `c` in the events file `bytes` (every column but `customer_index`;
/// none for `None`), with the file's latest event time and its column names; `None` when the
/// file lacks the exact statistics that choosing row groups and finding the latest event need.
fn customer_rows(shown: &str, bytes: Vec<u8>, c: Option<u32>) -> Result<Option<CustomerRows>> {
    let fmt = |e: parquet::errors::ParquetError| Error::Format {
        source_name: shown.to_string(),
        format: "parquet",
        message: e.to_string(),
    };
    // The offset index lets the filtered read skip the pages without the customer's rows.
    let options = ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional);
    let builder =
        ParquetRecordBatchReaderBuilder::try_new_with_options(bytes::Bytes::from(bytes), options).map_err(fmt)?;
    let meta = builder.metadata().clone();
    let leaves = builder.parquet_schema().columns();
    let leaf = |name: &str| leaves.iter().position(|d| d.path().string() == name);
    let (Some(ci), Some(ti)) = (leaf(CUSTOMER_INDEX), leaf(EVENT_TIME)) else {
        return Ok(None);
    };
    let mut groups = Vec::new();
    let mut last: Option<i64> = None;
    for (g, rg) in meta.row_groups().iter().enumerate() {
        // Customer indexes are UInt32, saved as INT32 and compared unsigned.
        let Some(Statistics::Int32(s)) = rg.column(ci).statistics() else {
            return Ok(None);
        };
        let (Some(&lo), Some(&hi)) = (s.min_opt(), s.max_opt()) else {
            return Ok(None);
        };
        if !(s.min_is_exact() && s.max_is_exact()) {
            return Ok(None);
        }
        if c.is_some_and(|c| (lo as u32) <= c && c <= (hi as u32)) {
            groups.push(g);
        }
        let Some(Statistics::Int64(t)) = rg.column(ti).statistics() else {
            return Ok(None);
        };
        match t.max_opt() {
            Some(&max) if t.max_is_exact() => last = Some(last.map_or(max, |l| l.max(max))),
            Some(_) => return Ok(None),
            None => {}
        }
    }
    let columns = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    let Some(c) = c else {
        return Ok(Some(CustomerRows {
            batches: Vec::new(),
            last_event: last,
            columns,
        }));
    };
    let index_only = ProjectionMask::leaves(builder.parquet_schema(), [ci]);
    let others = ProjectionMask::leaves(builder.parquet_schema(), (0..leaves.len()).filter(|&i| i != ci));
    let predicate = ArrowPredicateFn::new(index_only, move |batch: RecordBatch| {
        let index = batch
            .columns()
            .first()
            .and_then(|a| a.as_primitive_opt::<UInt32Type>())
            .ok_or_else(|| arrow_schema::ArrowError::InvalidArgumentError("customer_index is not UInt32".into()))?;
        Ok(BooleanArray::from_iter(index.iter().map(|v| Some(v == Some(c)))))
    });
    let reader = builder
        .with_row_groups(groups)
        .with_projection(others)
        .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
        .with_batch_size(1 << 13)
        .build()
        .map_err(fmt)?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| fmt(e.into()))?;
    Ok(Some(CustomerRows {
        batches,
        last_event: last,
        columns,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};

    use super::*;
    use crate::exec::Parallelism;
    use crate::store::integrity::FileEntry;
    use crate::store::lookup::tests::store;
    use crate::store::persist::{read_manifest, write_manifest};

    fn par() -> Parallelism {
        Parallelism::threads(2).unwrap()
    }

    /// Rewrites the events file of the Parquet store in `dir` with `props` (as another writer
    /// would lay it out) and records its new bytes in the manifest.
    fn rewrite_events(dir: &Path, props: WriterProperties) {
        let mut m = read_manifest(dir).unwrap();
        let (name, entry) = m.file("events");
        let batches = read_file(dir, &name, m.storage, entry).unwrap();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, batches[0].schema(), Some(props)).unwrap();
        for b in &batches {
            w.write(b).unwrap();
        }
        w.close().unwrap();
        std::fs::write(dir.join(&name), &out).unwrap();
        let e = m.files.iter_mut().find(|f| f.name == name).unwrap();
        *e = FileEntry::of(name.clone(), &out);
        write_manifest(dir, &mut m).unwrap();
    }

    /// Every customer of `full` (and a missing key) answers from the store in `dir` as from
    /// the whole store, with the whole store's latest event; `partial` says whether the
    /// lookup decodes only the customer's rows.
    fn every_customer_answers(dir: &Path, full: &EventStore, partial: bool) {
        let m = read_manifest(dir).unwrap();
        for c in 0..full.num_customers() {
            let key = full.customer_keys().get(c).unwrap();
            let direct = lookup_v1(dir, &m, key, None).unwrap();
            assert_eq!(direct.is_some(), partial, "{key}");
            let one = EventStore::open_customer(dir, key, None, &par()).unwrap().unwrap();
            assert_eq!(one.customer_keys().get(0), Some(key));
            assert_eq!(
                one.customer_events(0).unwrap(),
                full.customer_events(c).unwrap(),
                "{key}"
            );
            assert_eq!(one.last_event_micros(), full.last_event_micros(), "{key}");
            assert_eq!(one.purchase_type(), full.purchase_type());
        }
        let absent = match full.customer_keys().get(0).unwrap() {
            KeyRef::Int(_) => EventStore::open_customer(dir, KeyRef::Int(2), None, &par()),
            KeyRef::Str(_) => EventStore::open_customer(dir, KeyRef::Str("zz-none"), None, &par()),
        };
        assert!(absent.unwrap().is_none());
    }

    #[test]
    fn every_customer_is_decoded_alone_with_integer_and_string_keys() {
        for strings in [false, true] {
            let full = store(60, strings);
            let dir = tempfile::tempdir().unwrap();
            full.save(dir.path(), StoreFormat::Parquet).unwrap();
            every_customer_answers(dir.path(), &full, true);
        }
    }

    #[test]
    fn small_row_groups_and_pages_from_another_writer_split_customers_between_them() {
        let full = store(40, false);
        let dir = tempfile::tempdir().unwrap();
        full.save(dir.path(), StoreFormat::Parquet).unwrap();
        // Row groups of 7 rows and pages of 3: most customers span several of each.
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(7))
            .set_data_page_row_count_limit(3)
            .set_write_batch_size(3)
            .build();
        rewrite_events(dir.path(), props);
        every_customer_answers(dir.path(), &full, true);
    }

    #[test]
    fn a_file_without_statistics_is_opened_whole_with_the_same_answers() {
        let full = store(25, true);
        let dir = tempfile::tempdir().unwrap();
        full.save(dir.path(), StoreFormat::Parquet).unwrap();
        let props = WriterProperties::builder()
            .set_statistics_enabled(EnabledStatistics::None)
            .build();
        rewrite_events(dir.path(), props);
        every_customer_answers(dir.path(), &full, false);
    }

    #[test]
    fn an_edited_events_file_is_refused() {
        let full = store(20, false);
        let dir = tempfile::tempdir().unwrap();
        full.save(dir.path(), StoreFormat::Parquet).unwrap();
        let m = read_manifest(dir.path()).unwrap();
        let (name, _) = m.file("events");
        let path = dir.path().join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let key = full.customer_keys().get(3).unwrap();
        let e = EventStore::open_customer(dir.path(), key, None, &par()).unwrap_err();
        assert!(matches!(e, Error::CorruptStore { .. }), "{e}");
        // A key the (verified) customers file does not hold is answered without the events.
        let absent = EventStore::open_customer(dir.path(), KeyRef::Int(2), None, &par()).unwrap();
        assert!(absent.is_none());
    }
}
