//! Appended segments: adding events to a saved store at the cost of the new events.
//!
//! A full save writes every column of every customer. Appending a day's events that way would
//! cost as much as the first ingest, so [`EventStore::append_saved`] instead saves the new
//! events as a *segment*: a store of their own (format version 2) in `appends/<name>/` inside
//! the store directory, recorded in the main manifest with its own manifest's CRC-32, its
//! counts and the input files it came from. The base files are not touched. This holds for
//! both storages: a Parquet-storage base keeps its Parquet files (any Parquet tool still
//! reads the base) and its segments are IPC column files like any segment, until
//! [`EventStore::compact_saved`] writes one Parquet base again.
//!
//! Opening ([`EventStore::open_columns`], [`open_customer`](EventStore::open_customer)) merges
//! the segments into the base (see [`merge`](super::merge)): the result is row for row the
//! store that one ingest of the base's inputs followed by each segment's would build (the
//! appended inputs keyed as the store is: an integer-keyed store takes integer keys only), so
//! every command's output is the same as after a full re-ingest. The merge costs a linear pass per
//! open; [`EventStore::compact_saved`] folds the segments into a new base when that matters.
//!
//! Segments hold only the appended events, so per-customer state is updated from them alone:
//! [`EventStore::open_segment`] opens one, and a summary accumulator fed from it merges into
//! the state kept from earlier events (see
//! [`SummaryAccumulator`](crate::kernels::summary::SummaryAccumulator)).
//!
//! # Re-appending the same file
//!
//! Every save and append records each input file's size and CRC-32 ([`SourceFile`]). An
//! append whose input has the size and checksum of a file already in the store is refused
//! with [`Error::AlreadyIngested`], which names the earlier file and how many rows it added:
//! nothing is written. (Refused, not de-duplicated: events that equal earlier ones in every
//! column can be real, two identical orders on one day, so rows are never dropped by value.)
//!
//! # Integrity
//!
//! A segment's files are checked by its own manifest, which the main manifest binds by its
//! CRC-32; a missing, edited or foreign segment is refused on open. An append writes the
//! segment's files, then switches the main manifest in one atomic rename: an append killed
//! before that leaves the store as it was (the orphan directory is replaced by the next append
//! or removed by the next full save).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::columnar::BlockKey;
use super::persist::{
    FORMAT_V1, FORMAT_V2, Manifest, corrupt, read_customers_v2, read_manifest, read_manifest_text, wanted_columns,
};
use super::{CustomerKeys, EventStore, KeyType, StoreFormat, merge};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::schema::Role;

/// Rows per IPC block of a segment's column files: a lookup decodes the block holding the
/// customer's rows in every part it has rows in, and segments are small, so their blocks are
/// too (a full save uses [`BLOCK_ROWS`](super::columnar::BLOCK_ROWS), 65,536).
const SEGMENT_BLOCK_ROWS: usize = 1 << 14;

/// The directory, inside a store, that holds its appended segments.
pub(super) const APPENDS: &str = "appends";

/// One input file as a store records it: enough to recognise the same bytes again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// The file's name as given to the ingest.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// CRC-32 (IEEE) of its bytes, 8 lowercase hex digits.
    pub crc32: String,
    /// The rows the ingest accepted from it.
    pub rows_accepted: u64,
}

impl SourceFile {
    /// The fingerprint of the file at `path` (read once, in 1 MiB pieces), with the number of
    /// rows an ingest accepted from it.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read.
    pub fn of(path: impl AsRef<Path>, rows_accepted: u64) -> Result<Self> {
        let path = path.as_ref();
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut hasher = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
            let Some(piece) = buf.get(..n).filter(|p| !p.is_empty()) else {
                break;
            };
            hasher.update(piece);
            bytes += n as u64;
        }
        Ok(SourceFile {
            name: path.display().to_string(),
            bytes,
            crc32: format!("{:08x}", hasher.finalize()),
            rows_accepted,
        })
    }

    /// Whether `other` has the same bytes (size and checksum; names may differ).
    pub fn same_bytes(&self, other: &SourceFile) -> bool {
        self.bytes == other.bytes && self.crc32 == other.crc32
    }

    pub(super) fn binding_line(&self) -> String {
        format!("{} {} {} {}", self.name, self.bytes, self.crc32, self.rows_accepted)
    }
}

/// An appended segment as the main manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct SegmentEntry {
    /// Its directory name inside `appends/`.
    pub name: String,
    /// CRC-32 of its `manifest.json`.
    pub manifest_crc32: String,
    /// Customers with events in it.
    pub num_customers: u64,
    /// Of those, customers neither the base nor an earlier segment holds.
    pub new_customers: u64,
    /// Its events.
    pub num_events: u64,
    /// Its latest event, microseconds since the epoch.
    pub last_event: Option<i64>,
    /// The input files appended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceFile>,
}

impl SegmentEntry {
    pub(super) fn binding_line(&self) -> String {
        let mut line = format!(
            "{} {} {} {} {} {}",
            self.name,
            self.manifest_crc32,
            self.num_customers,
            self.new_customers,
            self.num_events,
            self.last_event.map_or_else(String::new, |t| t.to_string())
        );
        for s in &self.sources {
            line.push_str(" source=");
            line.push_str(&s.binding_line());
        }
        line
    }

    /// The segment's number: its name is `a<N>`.
    fn number(&self) -> Option<u64> {
        self.name.strip_prefix('a')?.parse().ok()
    }
}

/// One appended segment of a saved store, as [`SavedStore`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentInfo {
    /// Its name (pass it to [`EventStore::open_segment`]).
    pub name: String,
    /// Customers with events in it.
    pub customers: u64,
    /// Of those, customers the store did not hold before it.
    pub new_customers: u64,
    /// Its events.
    pub events: u64,
    /// The input files it came from.
    pub sources: Vec<SourceFile>,
}

/// What a saved store holds, read from its manifest (and, for the key type, its customers
/// file) without opening its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedStore {
    /// The store format version (1 or 2).
    pub version: u32,
    /// How its columns are saved.
    pub storage: StoreFormat,
    /// The event type that counts as a purchase.
    pub purchase_type: String,
    /// [`KeyType::Int`] or [`KeyType::String`] as the store's keys are; [`KeyType::Auto`]
    /// for a store without customers (or an older one, whose keys are not read here).
    pub key_type: KeyType,
    /// Customers, base and segments together.
    pub num_customers: u64,
    /// Events, base and segments together.
    pub num_events: u64,
    /// The appended segments, oldest first.
    pub segments: Vec<SegmentInfo>,
    /// The input files of the base save (segments list their own).
    pub sources: Vec<SourceFile>,
    /// Whether [`EventStore::append_saved`] can add a segment (an IPC store of format version
    /// 2, or a Parquet-storage store saved with checksums); older stores are appended to by
    /// rebuilding them.
    pub appendable: bool,
}

impl SavedStore {
    /// Every input file recorded, the base's then each segment's: where each came from.
    pub fn all_sources(&self) -> Vec<(String, &SourceFile)> {
        let base = self.sources.iter().map(|s| ("the base save".to_string(), s));
        let segs = self
            .segments
            .iter()
            .flat_map(|g| g.sources.iter().map(move |s| (format!("segment {}", g.name), s)));
        base.chain(segs).collect()
    }

    /// Checks that none of `sources` has the bytes of a file the store holds (a file from
    /// which no row was accepted, such as a header-only export, may come again), and that no
    /// file is given twice.
    ///
    /// # Errors
    /// [`Error::AlreadyIngested`] for the first file the store holds; [`Error::InvalidParameter`]
    /// (`input`) for a file given twice.
    pub fn check_new(&self, dir: &Path, sources: &[SourceFile]) -> Result<()> {
        let known = self.all_sources();
        for (i, s) in sources.iter().enumerate() {
            if let Some((w, k)) = known.iter().find(|(_, k)| k.rows_accepted > 0 && k.same_bytes(s)) {
                return Err(Error::AlreadyIngested {
                    store: dir.to_path_buf(),
                    source_name: s.name.clone(),
                    earlier: format!("{} ({w})", k.name),
                    rows: k.rows_accepted,
                });
            }
            if let Some(k) = sources
                .get(..i)
                .and_then(|before| before.iter().find(|k| k.same_bytes(s)))
            {
                return Err(Error::param(
                    "input",
                    format!(
                        "{} and {} have the same bytes: the same events given twice",
                        k.name, s.name
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// What [`EventStore::append_saved`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppendOutcome {
    /// The new segment's name (`None` when there was nothing to append).
    pub segment: Option<String>,
    /// Events appended.
    pub events: u64,
    /// Customers with appended events.
    pub customers: u64,
    /// Of those, customers the store did not hold before.
    pub new_customers: u64,
    /// The store's customers after the append.
    pub store_customers: u64,
    /// The store's events after the append.
    pub store_events: u64,
    /// The store's segments after the append.
    pub store_segments: usize,
}

/// A segment's directory and its manifest, checked against the main manifest's entry.
pub(super) fn segment_manifest(dir: &Path, seg: &SegmentEntry) -> Result<(PathBuf, Manifest)> {
    if seg.number().is_none_or(|n| format!("a{n}") != seg.name) {
        return Err(corrupt(dir, format!("a segment is named {:?}, not a<N>", seg.name)));
    }
    let sdir = dir.join(APPENDS).join(&seg.name);
    let path = sdir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            corrupt(dir, format!("segment {} is missing (no {})", seg.name, path.display()))
        } else {
            Error::io(&path, e)
        }
    })?;
    let crc = format!("{:08x}", crc32fast::hash(text.as_bytes()));
    if crc != seg.manifest_crc32 {
        return Err(corrupt(
            dir,
            format!(
                "segment {}: manifest.json checksum {crc}, the store's manifest says {} (a damaged or foreign segment)",
                seg.name, seg.manifest_crc32
            ),
        ));
    }
    let m = read_manifest_text(&sdir, &text)?;
    if m.version != FORMAT_V2 || m.num_events != seg.num_events || m.num_customers != seg.num_customers {
        return Err(corrupt(
            dir,
            format!("segment {}: its counts differ from the store's manifest", seg.name),
        ));
    }
    Ok((sdir, m))
}

/// The roles a merge reads: `roles` plus the amount, which orders events tied in time and
/// type (`None`: every column already).
pub(super) fn merge_roles(roles: Option<&[Role]>) -> Option<Vec<Role>> {
    roles.map(|r| {
        let mut v = r.to_vec();
        if !v.contains(&Role::Amount) {
            v.push(Role::Amount);
        }
        v
    })
}

/// `base` (the base store of manifest `m`, opened with `roles`) with every segment merged in.
pub(super) fn with_segments(dir: &Path, m: &Manifest, base: EventStore, roles: Option<&[Role]>) -> Result<EventStore> {
    if m.segments.is_empty() {
        return Ok(base);
    }
    let mut numbers: Vec<Option<u64>> = m.segments.iter().map(SegmentEntry::number).collect();
    numbers.sort_unstable();
    if numbers.windows(2).any(|w| w[0] == w[1]) {
        return Err(corrupt(dir, "the manifest lists a segment twice"));
    }
    let mut appended: Option<EventStore> = None;
    for seg in &m.segments {
        let (sdir, sm) = segment_manifest(dir, seg)?;
        let s = EventStore::open_v2(&sdir, &sm, roles)?;
        appended = Some(match appended {
            None => s,
            Some(a) => merge::merge(a, &s).map_err(|e| corrupt(dir, format!("segment {}: {e}", seg.name)))?,
        });
    }
    let Some(appended) = appended else {
        return Ok(base);
    };
    let store = merge::merge(base, &appended).map_err(|e| corrupt(dir, format!("appended segments: {e}")))?;
    let expected = m.num_customers + m.segments.iter().map(|s| s.new_customers).sum::<u64>();
    if store.num_customers() as u64 != expected {
        return Err(corrupt(
            dir,
            format!(
                "{} customers after merging the segments, the manifests say {expected}",
                store.num_customers()
            ),
        ));
    }
    Ok(store)
}

/// The one-customer store of `key` across the base and the segments (`None`: no events). Its
/// dictionaries hold the values of the parts that have the customer's rows (a store without
/// segments: the whole store's), which gives the same per-customer answers.
pub(super) fn lookup(
    dir: &Path,
    m: &Manifest,
    key: super::KeyRef<'_>,
    roles: Option<&[Role]>,
) -> Result<Option<EventStore>> {
    if m.segments.is_empty() {
        let found = EventStore::lookup_v2(dir, m, key, roles)?;
        return Ok(found.map(|s| s.with_last_event(m.last_event)));
    }
    // Merging orders ties by amount: read it for the merge, drop it after.
    let read = merge_roles(roles);
    let found = EventStore::lookup_v2(dir, m, key, read.as_deref())?;
    with_segments_found(dir, m, key, roles, found, wanted_columns(m, roles), m.last_event)
}

/// The one-customer store of `key` across the segments of manifest `m` and `found`, the
/// base's (read with [`merge_roles`] of `roles`; `None`: not in the base), whose saved columns
/// that `roles` want are `names` and whose latest event is `base_last`.
pub(super) fn with_segments_found(
    dir: &Path,
    m: &Manifest,
    key: super::KeyRef<'_>,
    roles: Option<&[Role]>,
    mut found: Option<EventStore>,
    mut names: Vec<&'static str>,
    base_last: Option<i64>,
) -> Result<Option<EventStore>> {
    let read = merge_roles(roles);
    let read = read.as_deref();
    // The whole store's columns: a column only some parts have is null in the others.
    for seg in &m.segments {
        let (sdir, sm) = segment_manifest(dir, seg)?;
        names.extend(wanted_columns(&sm, roles));
        if let Some(s) = EventStore::lookup_v2(&sdir, &sm, key, read)? {
            found = Some(match found {
                None => s,
                Some(f) => merge::merge(f, &s).map_err(|e| corrupt(dir, format!("segment {}: {e}", seg.name)))?,
            });
        }
    }
    let Some(f) = found else {
        return Ok(None);
    };
    names.sort_unstable();
    names.dedup();
    let f = merge::merge(f, &merge::shape(&names, &m.purchase_type)?)?.project(roles);
    let last = m.segments.iter().map(|s| s.last_event).fold(base_last, Option::max);
    Ok(Some(f.with_last_event(last)))
}

fn key_type_of(keys: &CustomerKeys) -> KeyType {
    match keys {
        CustomerKeys::Int(_) => KeyType::Int,
        CustomerKeys::Str(_) => KeyType::String,
    }
}

/// The key type of a store (base or segment) with customers in `dir`: from the first key its
/// manifest records for the customers file (see [`lookup`](super::lookup)), or, for a store
/// saved without that index, from its keys.
fn key_type_in(dir: &Path, m: &Manifest) -> Result<KeyType> {
    let (_, entry) = m.file("customers");
    let first = entry.and_then(|e| e.blocks.iter().find_map(|b| b.first_key.as_ref()));
    Ok(match first {
        Some(BlockKey::Int(_)) => KeyType::Int,
        Some(BlockKey::Str(_)) => KeyType::String,
        None => key_type_of(&keys_of(dir, m)?),
    })
}

/// Keys of a store (base or segment) in `dir`.
fn keys_of(dir: &Path, m: &Manifest) -> Result<CustomerKeys> {
    if m.version == FORMAT_V2 {
        read_customers_v2(dir, m).map(|(k, _)| k)
    } else {
        super::persist::read_keys_v1(dir, m)
    }
}

/// Whether the store of manifest `m` can take segments: an IPC store of format version 2, or
/// a Parquet-storage store (format version 1) whose files the manifest verifies. Older
/// stores are appended to by rebuilding them.
fn appendable(m: &Manifest) -> bool {
    match (m.version, m.storage) {
        (FORMAT_V2, StoreFormat::Ipc) => true,
        (FORMAT_V1, StoreFormat::Parquet) => !m.files.is_empty() && m.generation.is_some(),
        _ => false,
    }
}

/// What the store of manifest `m` holds, its keys being of `key_type`.
fn saved_store(m: &Manifest, key_type: KeyType) -> SavedStore {
    let segments: Vec<SegmentInfo> = m
        .segments
        .iter()
        .map(|s| SegmentInfo {
            name: s.name.clone(),
            customers: s.num_customers,
            new_customers: s.new_customers,
            events: s.num_events,
            sources: s.sources.clone(),
        })
        .collect();
    SavedStore {
        version: m.version,
        storage: m.storage,
        purchase_type: m.purchase_type.clone(),
        key_type,
        num_customers: m.num_customers + segments.iter().map(|s| s.new_customers).sum::<u64>(),
        num_events: m.num_events + segments.iter().map(|s| s.events).sum::<u64>(),
        segments,
        sources: m.sources.clone(),
        appendable: appendable(m),
    }
}

impl EventStore {
    /// What the saved store in `dir` holds, without reading its events.
    ///
    /// # Errors
    /// As [`open`](Self::open), for the manifest and the customers file.
    pub fn inspect_saved(dir: impl AsRef<Path>) -> Result<SavedStore> {
        let dir = dir.as_ref();
        let m = read_manifest(dir)?;
        // The keys of the first part with customers (an empty base takes its segments' type).
        let mut key_type = KeyType::Auto;
        if appendable(&m) {
            let mut parts = vec![(dir.to_path_buf(), m.clone())];
            for seg in &m.segments {
                parts.push(segment_manifest(dir, seg)?);
            }
            if let Some((pdir, pm)) = parts.iter().find(|(_, pm)| pm.num_customers > 0) {
                key_type = key_type_in(pdir, pm)?;
            }
        }
        Ok(saved_store(&m, key_type))
    }

    /// Appends this store's events (the new events, ingested alone) to the saved store in
    /// `dir` as a new segment, without rewriting what is saved there (see the
    /// [module docs](self)). `sources` are the input files the events came from; one whose
    /// bytes the store already holds is refused.
    ///
    /// # Errors
    /// - [`Error::AlreadyIngested`] for a re-appended input (nothing is written);
    /// - [`Error::InvalidParameter`]: `store` when the saved store cannot take segments (the
    ///   version 1 IPC layout, or a store saved before manifests carried checksums: rebuild it
    ///   instead), `purchase_type` or
    ///   `customer_id` when this store's purchase type or key type differs from the saved one's;
    /// - [`Error::Io`] and [`Error::CorruptStore`] as [`save`](Self::save) and
    ///   [`open`](Self::open).
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::ingest::{IngestOptions, Ingestor};
    /// use clientele::store::{EventStore, StoreFormat};
    /// use arrow_array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
    /// use std::sync::Arc;
    /// let par = clientele::exec::Parallelism::current();
    /// let events = |ids: Vec<i64>, day: i64| -> Result<EventStore, clientele::Error> {
    ///     let n = ids.len();
    ///     let batch = RecordBatch::try_from_iter([
    ///         ("customer_id", Arc::new(Int64Array::from(ids)) as _),
    ///         ("event_time", Arc::new(TimestampMicrosecondArray::from(vec![day * 86_400_000_000; n]).with_timezone("UTC")) as _),
    ///         ("event_type", Arc::new(StringArray::from(vec!["purchase"; n])) as _),
    ///     ])?;
    ///     let mut ing = Ingestor::new(&IngestOptions::default())?;
    ///     ing.read_batches("doc", [Ok(batch)])?;
    ///     Ok(ing.finish()?.0)
    /// };
    /// let dir = std::env::temp_dir().join(format!("clientele-append-doc-{}", std::process::id()));
    /// events(vec![1, 2, 3], 100)?.save(&dir, StoreFormat::Ipc)?;
    /// let out = events(vec![3, 4], 101)?.append_saved(&dir, &[], &par)?;
    /// assert_eq!((out.events, out.new_customers, out.store_customers), (2, 1, 4));
    /// let store = EventStore::open(&dir, &par)?;
    /// assert_eq!((store.num_customers(), store.num_events()), (4, 5));
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok(()) }
    /// ```
    pub fn append_saved(
        &self,
        dir: impl AsRef<Path>,
        sources: &[SourceFile],
        par: &Parallelism,
    ) -> Result<AppendOutcome> {
        let dir = dir.as_ref();
        par.install(|| self.append_in(dir, sources))
    }

    fn append_in(&self, dir: &Path, sources: &[SourceFile]) -> Result<AppendOutcome> {
        let mut m = read_manifest(dir)?;
        // Every part's keys, read once: the store's key type is the first non-empty part's,
        // and the appended customers that none holds are new.
        let mut held = Vec::new();
        if appendable(&m) {
            held.push(keys_of(dir, &m)?);
            for seg in &m.segments {
                let (sdir, sm) = segment_manifest(dir, seg)?;
                held.push(keys_of(&sdir, &sm)?);
            }
        }
        let key_type = held.iter().find(|k| !k.is_empty()).map_or(KeyType::Auto, key_type_of);
        let info = saved_store(&m, key_type);
        if !info.appendable {
            return Err(Error::param(
                "store",
                format!(
                    "{} is a format version {} store with {:?} storage, which cannot take segments (an IPC store of format version 2 or a Parquet store saved with checksums can); append by rebuilding, or re-ingest",
                    dir.display(),
                    info.version,
                    info.storage
                ),
            ));
        }
        if self.purchase_type() != m.purchase_type {
            return Err(Error::param(
                "purchase_type",
                format!(
                    "the store's purchase type is {:?}, the appended events' {:?}",
                    m.purchase_type,
                    self.purchase_type()
                ),
            ));
        }
        info.check_new(dir, sources)?;
        let mut outcome = AppendOutcome {
            segment: None,
            events: self.num_events() as u64,
            customers: self.num_customers() as u64,
            new_customers: 0,
            store_customers: info.num_customers,
            store_events: info.num_events,
            store_segments: m.segments.len(),
        };
        if self.num_events() == 0 {
            return Ok(outcome);
        }
        let mine = key_type_of(self.customer_keys());
        if info.key_type != KeyType::Auto && info.key_type != mine {
            return Err(Error::param(
                "key_type",
                format!(
                    "the store's customer keys are {:?}, the appended events' {mine:?} (ingest them with that key type)",
                    info.key_type
                ),
            ));
        }
        // Customers that neither the base nor an earlier segment holds.
        let keys = self.customer_keys();
        outcome.new_customers = (0..keys.len())
            .filter_map(|c| keys.get(c))
            .filter(|&k| held.iter().all(|h| h.position(k).is_none()))
            .count() as u64;

        let number = m
            .segments
            .iter()
            .filter_map(SegmentEntry::number)
            .max()
            .map_or(Some(1), |n| n.checked_add(1))
            .ok_or_else(|| corrupt(dir, "no segment number is left"))?;
        let name = format!("a{number}");
        let sdir = dir.join(APPENDS).join(&name);
        // An orphan of an append killed before its manifest switch.
        if sdir.exists() {
            std::fs::remove_dir_all(&sdir).map_err(|e| Error::io(&sdir, e))?;
        }
        self.save_blocks(&sdir, StoreFormat::Ipc, &[], SEGMENT_BLOCK_ROWS)?;
        // The new directory entries (appends/ and appends/a<N>) are durable before the
        // manifest that names them.
        crate::io::sync_parent(&sdir);
        crate::io::sync_parent(&dir.join(APPENDS));
        let spath = sdir.join("manifest.json");
        let text = std::fs::read_to_string(&spath).map_err(|e| Error::io(&spath, e))?;
        m.segments.push(SegmentEntry {
            name: name.clone(),
            manifest_crc32: format!("{:08x}", crc32fast::hash(text.as_bytes())),
            num_customers: outcome.customers,
            new_customers: outcome.new_customers,
            num_events: outcome.events,
            last_event: self.columns().time.values().iter().max().copied(),
            sources: sources.to_vec(),
        });
        super::persist::write_manifest(dir, &mut m)?;
        outcome.segment = Some(name);
        outcome.store_customers += outcome.new_customers;
        outcome.store_events += outcome.events;
        outcome.store_segments = m.segments.len();
        Ok(outcome)
    }

    /// Opens appended segment `name` of the saved store in `dir` alone: only the events that
    /// append added (the columns of `roles`, as [`open_columns`](Self::open_columns)), to
    /// update per-customer state kept from earlier events.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`segment`) when the store has no such segment; otherwise
    /// as [`open`](Self::open).
    pub fn open_segment(dir: impl AsRef<Path>, name: &str, roles: Option<&[Role]>, par: &Parallelism) -> Result<Self> {
        let dir = dir.as_ref();
        par.install(|| {
            let m = read_manifest(dir)?;
            let seg = m
                .segments
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| Error::param("segment", format!("{} has no segment {name:?}", dir.display())))?;
            let (sdir, sm) = segment_manifest(dir, seg)?;
            Self::open_v2(&sdir, &sm, roles)
        })
    }

    /// Folds the appended segments of the saved store in `dir` into a new base (one full
    /// save; the input files recorded are kept), so that opening it no longer merges. A store
    /// without segments is left as it is. Returns the number of segments folded.
    ///
    /// # Errors
    /// As [`open`](Self::open) and [`save`](Self::save).
    pub fn compact_saved(dir: impl AsRef<Path>, par: &Parallelism) -> Result<usize> {
        let dir = dir.as_ref();
        let m = read_manifest(dir)?;
        if m.segments.is_empty() {
            return Ok(0);
        }
        let store = Self::open(dir, par)?;
        let mut sources = m.sources.clone();
        sources.extend(m.segments.iter().flat_map(|s| s.sources.iter().cloned()));
        par.install(|| store.save_sourced(dir, m.storage, &sources))?;
        Ok(m.segments.len())
    }
}
