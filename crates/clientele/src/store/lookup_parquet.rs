//! Point lookups in a Parquet-storage store (format version 1): decode one customer's rows,
//! not the whole store.
//!
//! A Parquet-storage store keeps one `customers` file (the keys, in order) and one `events`
//! file whose rows are ordered by `customer_index`. A lookup reads and verifies the customers
//! file (small) and finds the customer's index in the keys. Stores saved since the manifest
//! checksums the events file's parts ([`parquet_blocks`](super::parquet_blocks)) then have
//! only the events file's tail (metadata and page indexes) and the row groups whose
//! `customer_index` statistics can hold the customer read and verified; older stores have the
//! events file read and verified whole. Either way only those row groups are decoded, their
//! other columns only where `customer_index` equals the customer (a row filter, with the page
//! index to skip pages). The store's latest event, which a 360 card measures tenure against,
//! comes from the row groups' `event_time` statistics. Appended segments (IPC) are looked into
//! as on an IPC store, and the customer's events in them merged in. Where something it relies
//! on is missing (an unverified store, a file without exact statistics) the store is opened
//! whole, as before.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;
use arrow_array::{BooleanArray, RecordBatch};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowFilter,
    RowSelection, RowSelector,
};
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::reader::ChunkReader;
use parquet::file::statistics::Statistics;
use parquet::schema::types::SchemaDescriptor;

use super::columnar::{BlockEntry, BlockKey, BlockKind, read_block};
use super::integrity::FileEntry;
use super::lookup::block_for;
use super::parquet_blocks::{Parts, row_group_range};

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
    let shown = dir.join(&customers).display().to_string();
    let at = crate::error::guard_decode(&shown, "parquet", || find_key(dir, m, &customers, customers_entry, key))?;
    let c = at.as_ref().map(|(c, _)| *c);
    if c.is_none() && m.segments.is_empty() {
        // The keys answer: the events file is not read.
        return Ok(Some(None));
    }
    let path = dir.join(&events);
    let shown = path.display().to_string();
    let read = crate::error::guard_decode(&shown, "parquet", || customer_rows(dir, &path, events_entry, c))?;
    let Some(rows) = read else {
        return Ok(None);
    };
    // With segments, merging orders ties by amount: read it for the merge (dropped after).
    let read = if m.segments.is_empty() {
        roles.map(<[Role]>::to_vec)
    } else {
        merge_roles(roles)
    };
    let found = match at {
        Some((_, one_key)) => Some(one_customer(dir, m, one_key, key, rows.batches)?.project(read.as_deref())),
        None => None,
    };
    if m.segments.is_empty() {
        return Ok(Some(found.map(|f| f.with_last_event(rows.last_event))));
    }
    let names = wanted_among(&rows.columns, roles);
    with_segments_found(dir, m, key, roles, found, names, rows.last_event).map(Some)
}

/// Where key `key` is in the customers file `name` (entry `entry`) of the store of manifest `m`
/// in `dir`: its customer index and the key alone; `None` when the store does not hold it.
/// With first keys of the file's row groups in the manifest, reads and verifies only the tail
/// and the one row group that can hold the key; otherwise the whole file.
fn find_key(
    dir: &Path,
    m: &Manifest,
    name: &str,
    entry: &FileEntry,
    key: KeyRef<'_>,
) -> Result<Option<(u32, CustomerKeys)>> {
    let groups: Vec<&BlockEntry> = entry.blocks.iter().filter(|b| b.kind == BlockKind::RowGroup).collect();
    let firsts: Option<Vec<&BlockKey>> = groups.iter().map(|b| b.first_key.as_ref()).collect();
    let Some(firsts) = firsts.filter(|f| !f.is_empty()) else {
        let keys = read_keys(dir, &read_file(dir, name, m.storage, Some(entry))?)?;
        if keys.len() as u64 != m.num_customers {
            return Err(corrupt(dir, "customer counts differ from the manifest"));
        }
        return Ok(keys.position(key).map(|c| (c, keys.slice(c as usize, 1))));
    };
    let bad = |what: &str| corrupt(dir, format!("the manifest's customer block index {what}"));
    if groups.iter().map(|b| b.rows).sum::<u64>() != m.num_customers {
        return Err(bad("does not add up to the store's customers"));
    }
    let Some(g) = block_for(&firsts, key).map_err(bad)? else {
        return Ok(None);
    };
    let (Some(block), Some(first)) = (groups.get(g), firsts.get(g)) else {
        return Err(bad("is short"));
    };
    let before: u64 = groups.iter().take(g).map(|b| b.rows).sum();
    let path = dir.join(name);
    let Some((mut file, mut parts, meta)) = open_parts(&path, entry, ArrowReaderOptions::new())? else {
        return Err(bad("has no tail block"));
    };
    let range = block.offset..block.offset.saturating_add(block.bytes);
    let Some(index) = meta
        .metadata()
        .row_groups()
        .iter()
        .position(|rg| row_group_range(rg).as_ref() == Some(&range))
    else {
        return Err(bad(&format!("differs from the row groups of {name}")));
    };
    parts.add(block.offset, read_block(&mut file, &path, block)?);
    let batches = ParquetRecordBatchReaderBuilder::new_with_metadata(parts, meta)
        .with_row_groups(vec![index])
        .with_batch_size(1 << 20)
        .build()
        .map_err(|e| parquet_error(&path, e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| parquet_error(&path, e.into()))?;
    let keys = read_keys(dir, &batches)?;
    let first_matches = first.is(keys.get(0));
    if keys.len() as u64 != block.rows || !first_matches {
        return Err(bad(&format!("differs from row group {index} of {name}")));
    }
    let Some(i) = keys.position(key) else {
        return Ok(None);
    };
    let c = u32::try_from(before + u64::from(i)).map_err(|_| bad("is beyond the customer index"))?;
    Ok(Some((c, keys.slice(i as usize, 1))))
}

/// The store of customer `key` alone (its one-key slice `one_key`) from its rows `batches`,
/// checked.
fn one_customer(
    dir: &Path,
    m: &Manifest,
    one_key: CustomerKeys,
    key: KeyRef<'_>,
    batches: Vec<RecordBatch>,
) -> Result<EventStore> {
    if batches.iter().all(|b| b.num_rows() == 0) {
        return Err(corrupt(dir, format!("customer {key} has no events")));
    }
    let columns = store_columns(dir, &|_| Some(batches.clone()))?;
    let offsets = vec![0, columns.len()];
    check_order(dir, &offsets, &columns)?;
    EventStore::from_parts(one_key, offsets, columns, m.purchase_type.clone())
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

/// How [`customer_rows`] reads the events file.
fn options() -> ArrowReaderOptions {
    // The page index (each page's rows and `customer_index` range) lets the filtered read
    // decode only the pages that can hold the customer's rows.
    ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional)
}

/// The rows of customer `c` in the events file at `path` with manifest entry `entry` (every
/// column but `customer_index`; none for `None`), with the file's latest event time and its
/// column names; `None` when the file lacks the exact statistics that choosing row groups and
/// finding the latest event need. Reads and verifies only the tail and the row groups that
/// can hold `c` when the manifest checksums them apart, and the whole file otherwise.
fn customer_rows(dir: &Path, path: &Path, entry: &FileEntry, c: Option<u32>) -> Result<Option<CustomerRows>> {
    if !entry.blocks.is_empty()
        && let Some(rows) = rows_by_parts(path, entry, c)?
    {
        return Ok(Some(rows));
    }
    let bytes = read_parallel(path).map_err(|e| Error::io(path, e))?;
    if let Some(why) = entry.mismatch(&bytes) {
        return Err(corrupt(dir, why));
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(bytes::Bytes::from(bytes), options())
        .map_err(|e| parquet_error(path, e))?;
    let Some(plan) = plan(builder.metadata(), builder.parquet_schema(), c) else {
        return Ok(None);
    };
    decode(path, builder, plan, c).map(Some)
}

/// [`customer_rows`] from the verified tail and row groups alone; `None` when the recorded
/// parts do not cover what the metadata points to (the caller then reads the file whole).
fn rows_by_parts(path: &Path, entry: &FileEntry, c: Option<u32>) -> Result<Option<CustomerRows>> {
    let Some((mut file, mut parts, meta)) = open_parts(path, entry, options())? else {
        return Ok(None);
    };
    let Some(plan) = plan(meta.metadata(), meta.parquet_schema(), c) else {
        return Ok(None);
    };
    for &g in &plan.groups {
        let Some(range) = meta.metadata().row_groups().get(g).and_then(row_group_range) else {
            return Ok(None);
        };
        let Some(block) = entry
            .blocks
            .iter()
            .find(|b| b.kind == BlockKind::RowGroup && b.offset == range.start && b.offset + b.bytes == range.end)
        else {
            return Ok(None);
        };
        parts.add(block.offset, read_block(&mut file, path, block)?);
    }
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(parts, meta);
    decode(path, builder, plan, c).map(Some)
}

/// The Parquet file at `path` (entry `entry`) opened by its parts: the file, its verified tail
/// and the metadata read from it with `options`; `None` when the entry records no tail.
fn open_parts(
    path: &Path,
    entry: &FileEntry,
    options: ArrowReaderOptions,
) -> Result<Option<(File, Parts, ArrowReaderMetadata)>> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len != entry.bytes {
        return Err(Error::CorruptStore {
            path: path.to_path_buf(),
            message: format!(
                "{}: {len} bytes, the manifest says {} (a damaged or replaced file)",
                entry.name, entry.bytes
            ),
        });
    }
    let Some(tail) = entry
        .blocks
        .iter()
        .find(|b| b.kind == BlockKind::Footer && b.offset.checked_add(b.bytes) == Some(len))
    else {
        return Ok(None);
    };
    let mut parts = Parts::new(len);
    parts.add(tail.offset, read_block(&mut file, path, tail)?);
    let meta = ArrowReaderMetadata::load(&parts, options).map_err(|e| parquet_error(path, e))?;
    Ok(Some((file, parts, meta)))
}

fn parquet_error(path: &Path, e: parquet::errors::ParquetError) -> Error {
    Error::Format {
        source_name: path.display().to_string(),
        format: "parquet",
        message: e.to_string(),
    }
}

/// What the row groups' statistics say for a lookup of customer `c`.
struct Plan {
    /// The leaf of `customer_index`.
    ci: usize,
    /// The row groups whose `customer_index` range holds `c`.
    groups: Vec<usize>,
    /// The file's latest event time.
    last_event: Option<i64>,
}

/// The [`Plan`] for customer `c` in a file with metadata `meta`; `None` without exact
/// `customer_index` and `event_time` statistics.
fn plan(meta: &ParquetMetaData, schema: &SchemaDescriptor, c: Option<u32>) -> Option<Plan> {
    let leaves = schema.columns();
    let leaf = |name: &str| leaves.iter().position(|d| d.path().string() == name);
    let (ci, ti) = (leaf(CUSTOMER_INDEX)?, leaf(EVENT_TIME)?);
    let mut groups = Vec::new();
    let mut last: Option<i64> = None;
    for (g, rg) in meta.row_groups().iter().enumerate() {
        // Customer indexes are UInt32, saved as INT32 and compared unsigned.
        let Some(Statistics::Int32(s)) = rg.column(ci).statistics() else {
            return None;
        };
        let (&lo, &hi) = (s.min_opt()?, s.max_opt()?);
        if !(s.min_is_exact() && s.max_is_exact()) {
            return None;
        }
        if c.is_some_and(|c| (lo as u32) <= c && c <= (hi as u32)) {
            groups.push(g);
        }
        let Some(Statistics::Int64(t)) = rg.column(ti).statistics() else {
            return None;
        };
        match t.max_opt() {
            Some(&max) if t.max_is_exact() => last = Some(last.map_or(max, |l| l.max(max))),
            Some(_) => return None,
            None => {}
        }
    }
    Some(Plan {
        ci,
        groups,
        last_event: last,
    })
}

/// The rows of row groups `groups` (in order) on the pages whose `customer_index` range
/// holds `c`, from the page index; `None` when the file has no usable page index for the
/// column (every row of the groups is then filtered).
fn page_selection(meta: &ParquetMetaData, groups: &[usize], ci: usize, c: u32) -> Option<RowSelection> {
    let (ranges, places) = (meta.column_index()?, meta.offset_index()?);
    let mut selectors = Vec::new();
    for &g in groups {
        let rows = usize::try_from(meta.row_groups().get(g)?.num_rows()).ok()?;
        let ColumnIndexMetaData::INT32(range) = ranges.get(g)?.get(ci)? else {
            return None;
        };
        let pages = places.get(g)?.get(ci)?.page_locations();
        if range.num_pages() != pages.len() as u64 || pages.first()?.first_row_index != 0 {
            return None;
        }
        for (p, page) in pages.iter().enumerate() {
            let first = usize::try_from(page.first_row_index).ok()?;
            let end = match pages.get(p + 1) {
                Some(next) => usize::try_from(next.first_row_index).ok()?,
                None => rows,
            };
            let n = end.checked_sub(first)?;
            // Compared unsigned, as the statistics are; a page of nulls holds no customer.
            let holds = match (range.min_value(p), range.max_value(p)) {
                (Some(&lo), Some(&hi)) => (lo as u32) <= c && c <= (hi as u32),
                _ => false,
            };
            selectors.push(if holds {
                RowSelector::select(n)
            } else {
                RowSelector::skip(n)
            });
        }
    }
    Some(RowSelection::from(selectors))
}

/// Decodes customer `c`'s rows of `plan`'s row groups through `builder` (a row filter on
/// `customer_index`).
fn decode<R: ChunkReader + 'static>(
    path: &Path,
    builder: ParquetRecordBatchReaderBuilder<R>,
    plan: Plan,
    c: Option<u32>,
) -> Result<CustomerRows> {
    let columns = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    let Some(c) = c else {
        return Ok(CustomerRows {
            batches: Vec::new(),
            last_event: plan.last_event,
            columns,
        });
    };
    let leaves = builder.parquet_schema().columns().len();
    let index_only = ProjectionMask::leaves(builder.parquet_schema(), [plan.ci]);
    let others = ProjectionMask::leaves(builder.parquet_schema(), (0..leaves).filter(|&i| i != plan.ci));
    let predicate = ArrowPredicateFn::new(index_only, move |batch: RecordBatch| {
        let index = batch
            .columns()
            .first()
            .and_then(|a| a.as_primitive_opt::<UInt32Type>())
            .ok_or_else(|| arrow_schema::ArrowError::InvalidArgumentError("customer_index is not UInt32".into()))?;
        Ok(BooleanArray::from_iter(index.iter().map(|v| Some(v == Some(c)))))
    });
    let pages = page_selection(builder.metadata(), &plan.groups, plan.ci, c);
    let builder = match pages {
        Some(selection) => builder.with_row_selection(selection),
        None => builder,
    };
    let reader = builder
        .with_row_groups(plan.groups)
        .with_projection(others)
        .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
        .with_batch_size(1 << 13)
        .build()
        .map_err(|e| parquet_error(path, e))?;
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| parquet_error(path, e.into()))?;
    Ok(CustomerRows {
        batches,
        last_event: plan.last_event,
        columns,
    })
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

    /// Rewrites file `stem` of the Parquet store in `dir` with `props` (as another writer
    /// would lay it out) and records its new bytes in the manifest, with its parts' checksums
    /// when `parts` (as a save records them) or without (as in stores saved before them);
    /// `index` then edits the parts (with the manifest's other fields) before it is saved.
    fn rewrite(dir: &Path, stem: &str, props: WriterProperties, parts: bool, index: impl FnOnce(&mut FileEntry)) {
        let mut m = read_manifest(dir).unwrap();
        let (name, entry) = m.file(stem);
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
        if parts {
            e.blocks = crate::store::parquet_blocks::blocks_of(&dir.join(&name), e).unwrap();
            assert!(!e.blocks.is_empty());
        }
        index(e);
        write_manifest(dir, &mut m).unwrap();
    }

    /// [`rewrite`] of the events file.
    fn rewrite_events(dir: &Path, props: WriterProperties, parts: bool) {
        rewrite(dir, "events", props, parts, |_| {});
    }

    /// Rewrites the customers file of the Parquet store in `dir` (of `full`) in row groups of
    /// `rows` keys, recorded in the manifest with their first keys as a save records them.
    fn rewrite_customers(dir: &Path, full: &EventStore, rows: usize) {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(rows))
            .build();
        rewrite(dir, "customers", props, true, |e| {
            let counts: Vec<u32> = (0..full.num_customers())
                .map(|c| full.customer_events(c).unwrap().num_rows() as u32)
                .collect();
            crate::store::lookup::index_customer_blocks(&mut e.blocks, full.customer_keys(), &counts);
            assert!(e.blocks.iter().filter(|b| b.first_key.is_some()).count() > 2);
        });
    }

    /// A generated store of `customers` (string keys when `strings`) saved as Parquet.
    fn saved(customers: u64, strings: bool) -> (EventStore, tempfile::TempDir) {
        let full = store(customers, strings);
        let dir = tempfile::tempdir().unwrap();
        full.save(dir.path(), StoreFormat::Parquet).unwrap();
        (full, dir)
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
            let (full, dir) = saved(60, strings);
            every_customer_answers(dir.path(), &full, true);
        }
    }

    #[test]
    fn small_row_groups_and_pages_from_another_writer_split_customers_between_them() {
        let (full, dir) = saved(40, false);
        // Row groups of 7 rows and pages of 3: most customers span several of each.
        for parts in [true, false] {
            let props = WriterProperties::builder()
                .set_max_row_group_row_count(Some(7))
                .set_data_page_row_count_limit(3)
                .set_write_batch_size(3)
                .build();
            rewrite_events(dir.path(), props, parts);
            every_customer_answers(dir.path(), &full, true);
        }
        // Keys in row groups of 6, found by the manifest's first keys.
        for strings in [false, true] {
            let (full, dir) = saved(40, strings);
            rewrite_customers(dir.path(), &full, 6);
            every_customer_answers(dir.path(), &full, true);
        }
    }

    #[test]
    fn a_damaged_customers_row_group_or_index_is_refused() {
        let (full, dir) = saved(30, false);
        rewrite_customers(dir.path(), &full, 8);
        let m = read_manifest(dir.path()).unwrap();
        let (name, entry) = m.file("customers");
        let groups: Vec<_> = entry
            .unwrap()
            .blocks
            .iter()
            .filter(|b| b.kind == BlockKind::RowGroup)
            .cloned()
            .collect();
        let path = dir.path().join(name);
        let clean = std::fs::read(&path).unwrap();
        let mut bytes = clean.clone();
        bytes[(groups[1].offset + groups[1].bytes / 2) as usize] ^= 0x08;
        std::fs::write(&path, &bytes).unwrap();
        for c in 0..full.num_customers() {
            let key = full.customer_keys().get(c).unwrap();
            let one = EventStore::open_customer(dir.path(), key, None, &par());
            if (8..16).contains(&c) {
                assert!(matches!(one, Err(Error::CorruptStore { .. })), "{key}");
            } else {
                assert_eq!(one.unwrap().unwrap().customer_keys().get(0), Some(key));
            }
        }
        // A first key the row group does not start with (a manifest edited and re-bound).
        std::fs::write(&path, &clean).unwrap();
        let mut m = read_manifest(dir.path()).unwrap();
        let e = m.files.iter_mut().find(|f| f.name.starts_with("customers")).unwrap();
        let b = e
            .blocks
            .iter_mut()
            .filter(|b| b.kind == BlockKind::RowGroup)
            .nth(2)
            .unwrap();
        b.first_key = Some(BlockKey::Int(
            full.customer_keys().get(17).unwrap().to_string().parse().unwrap(),
        ));
        write_manifest(dir.path(), &mut m).unwrap();
        let key = full.customer_keys().get(18).unwrap();
        let e = EventStore::open_customer(dir.path(), key, None, &par()).unwrap_err();
        assert!(matches!(e, Error::CorruptStore { .. }), "{e}");
    }

    #[test]
    fn the_page_index_narrows_the_rows_filtered_to_the_customers_pages() {
        let (full, dir) = saved(40, false);
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(200))
            .set_data_page_row_count_limit(4)
            .set_write_batch_size(4)
            .build();
        rewrite_events(dir.path(), props, true);
        let (path, _) = events_entry(dir.path());
        let bytes = bytes::Bytes::from(std::fs::read(path).unwrap());
        let meta = ArrowReaderMetadata::load(&bytes, options()).unwrap();
        for c in [0u32, 17, 39] {
            let plan = plan(meta.metadata(), meta.parquet_schema(), Some(c)).unwrap();
            let in_groups: usize = plan
                .groups
                .iter()
                .map(|&g| meta.metadata().row_group(g).num_rows() as usize)
                .sum();
            let selection = page_selection(meta.metadata(), &plan.groups, plan.ci, c).unwrap();
            let events = full.customer_events(c as usize).unwrap().num_rows();
            // Every row of the customer, in pages of 4 rows: at most 3 others on each side.
            assert!(selection.row_count() >= events, "{c}");
            assert!(selection.row_count() <= events + 6, "{c}: {}", selection.row_count());
            assert!(selection.row_count() < in_groups, "{c}");
        }
    }

    /// The events file's entry in the manifest of the store in `dir`, with its path.
    fn events_entry(dir: &Path) -> (std::path::PathBuf, FileEntry) {
        let m = read_manifest(dir).unwrap();
        let (name, entry) = m.file("events");
        (dir.join(name), entry.unwrap().clone())
    }

    #[test]
    fn a_save_checksums_the_events_file_by_parts_that_tile_it() {
        let (full, dir) = saved(30, false);
        let (path, entry) = events_entry(dir.path());
        let kinds: Vec<BlockKind> = entry.blocks.iter().map(|b| b.kind).collect();
        assert_eq!(kinds, [BlockKind::Head, BlockKind::RowGroup, BlockKind::Footer]);
        let bytes = std::fs::read(&path).unwrap();
        let mut at = 0;
        for b in &entry.blocks {
            assert_eq!(b.offset, at);
            let part = &bytes[b.offset as usize..(b.offset + b.bytes) as usize];
            assert_eq!(b.crc32, format!("{:08x}", crc32fast::hash(part)));
            at += b.bytes;
        }
        assert_eq!(at, entry.bytes);
        assert_eq!(entry.blocks[1].rows, full.num_events() as u64);
        // The store opens whole as before (the whole file's checksum is still checked).
        let back = EventStore::open(dir.path(), &par()).unwrap();
        assert_eq!(back.num_events(), full.num_events());
    }

    #[test]
    fn a_lookup_verifies_the_row_group_it_reads_and_not_the_others() {
        let (full, dir) = saved(40, false);
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(50))
            .build();
        rewrite_events(dir.path(), props, true);
        let (path, entry) = events_entry(dir.path());
        let groups: Vec<_> = entry.blocks.iter().filter(|b| b.kind == BlockKind::RowGroup).collect();
        assert!(groups.len() > 3, "{}", groups.len());
        // Damage the middle of the second row group: it holds rows 50..100.
        let mut bytes = std::fs::read(&path).unwrap();
        let hit = (groups[1].offset + groups[1].bytes / 2) as usize;
        bytes[hit] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let mut first_row = 0;
        let (mut refused, mut answered) = (0, 0);
        for c in 0..full.num_customers() {
            let rows = full.customer_events(c).unwrap().num_rows();
            let in_damaged = first_row < 100 && first_row + rows > 50;
            first_row += rows;
            let key = full.customer_keys().get(c).unwrap();
            let one = EventStore::open_customer(dir.path(), key, None, &par());
            if in_damaged {
                assert!(matches!(one, Err(Error::CorruptStore { .. })), "{key}");
                refused += 1;
            } else {
                let one = one.unwrap().unwrap();
                assert_eq!(
                    one.customer_events(0).unwrap(),
                    full.customer_events(c).unwrap(),
                    "{key}"
                );
                assert_eq!(one.last_event_micros(), full.last_event_micros());
                answered += 1;
            }
        }
        assert!(refused > 0 && answered > 0, "{refused} {answered}");
        // Opening the store whole checks every byte.
        let e = EventStore::open(dir.path(), &par()).unwrap_err();
        assert!(matches!(e, Error::CorruptStore { .. }), "{e}");
    }

    #[test]
    fn a_damaged_tail_or_a_resized_file_is_refused() {
        let full = store(20, true);
        let key = full.customer_keys().get(4).unwrap();
        for damage in ["tail", "length"] {
            let dir = tempfile::tempdir().unwrap();
            full.save(dir.path(), StoreFormat::Parquet).unwrap();
            let (path, entry) = events_entry(dir.path());
            let mut bytes = std::fs::read(&path).unwrap();
            match damage {
                "tail" => {
                    let tail = entry.blocks.last().unwrap();
                    assert_eq!(tail.kind, BlockKind::Footer);
                    bytes[(tail.offset + 2) as usize] ^= 0x01;
                }
                _ => bytes.insert(10, 0),
            }
            std::fs::write(&path, &bytes).unwrap();
            let e = EventStore::open_customer(dir.path(), key, None, &par()).unwrap_err();
            assert!(matches!(e, Error::CorruptStore { .. }), "{damage}: {e}");
        }
    }

    #[test]
    fn a_file_without_statistics_is_opened_whole_with_the_same_answers() {
        let (full, dir) = saved(25, true);
        let props = WriterProperties::builder()
            .set_statistics_enabled(EnabledStatistics::None)
            .build();
        rewrite_events(dir.path(), props, false);
        every_customer_answers(dir.path(), &full, false);
    }

    #[test]
    fn an_edited_events_file_is_refused() {
        let (full, dir) = saved(20, false);
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
