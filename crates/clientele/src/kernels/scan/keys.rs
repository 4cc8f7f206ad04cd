//! Customer keys of a purchase scan: how a row's key becomes the sink's customer offset, and
//! the pass over the key column that text keys need before the scan.
//!
//! Integer (Int64) keys need no pass when the row groups' statistics give a dense range (at
//! most 4 × the rows apart, and 2²⁸): a key's offset is `key − min`. Without statistics the
//! pass finds the range; integer keys too far apart for offsets (ids from a hash or a sequence
//! with gaps) are gathered and ranked instead ([`KeyMap::Sparse`]). Text keys are read as ingestion reads them (trimmed; a null, blank
//! or, unless the keys are declared strings, null-marker key is a rejected row), so the scan
//! reads the key column once first:
//! - under [`KeyType::Auto`] and [`KeyType::Int`], when every key reads as an integer (as the
//!   store then types them), the keys are those integers and offsets are `key − min`, as for
//!   an Int64 column, dense or sparse (a key that does not read refuses under `Int`, as
//!   ingestion rejects it);
//! - otherwise (and always under [`KeyType::String`]) the distinct keys are gathered, ordered
//!   by their bytes (the store's customer order) and each key's offset is its rank. Under
//!   `Auto`, text keys some of which read as integers refuse: the store path warns about them
//!   (`KeyTyping::warning`), which a table alone cannot.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Int64Array, StringArray};
use arrow_schema::DataType;
use hashbrown::HashTable;
use rayon::prelude::*;

use crate::error::Result;
use crate::exec::Parallelism;
use crate::ingest::KeyType;
use crate::ingest::normalize::is_null_marker;

/// Random seeds (ahash's run-time source): crafted keys cannot collide on purpose. The hashes
/// only place keys in tables and never order anything (ranks follow the keys' sorted order),
/// so results do not depend on them.
fn hasher() -> ahash::RandomState {
    ahash::RandomState::new()
}

/// How a scan turns a row's customer key into its sink's customer offset.
pub(crate) enum KeyMap {
    /// Integer keys (an Int64 column, or text keys that all read as integers): the offset is
    /// `key − min`.
    Range {
        /// The smallest key.
        min: i64,
    },
    /// Text keys: the offset is the key's rank among the distinct keys.
    Ranked(Ranks),
    /// Integer keys too far apart for offsets: the offset is the key's rank among the distinct
    /// keys (numeric order, as the store orders them).
    Sparse(SparseKeys),
}

impl KeyMap {
    /// What output keys are built from: `base + offset` (the smallest key for integer keys,
    /// 0, a rank, for text keys), then turned into the key column by [`KeyMap::column`].
    pub fn base(&self) -> i64 {
        match self {
            KeyMap::Range { min } => *min,
            KeyMap::Ranked(_) | KeyMap::Sparse(_) => 0,
        }
    }

    /// The output key column of `keys` built as `base() + offset`: the integers themselves, or
    /// the text keys of those ranks.
    pub fn column(&self, keys: Vec<i64>) -> ArrayRef {
        match self {
            KeyMap::Range { .. } => Arc::new(Int64Array::from(keys)),
            KeyMap::Sparse(s) => Arc::new(Int64Array::from_iter_values(keys.iter().map(|&k| {
                usize::try_from(k)
                    .ok()
                    .and_then(|k| s.sorted.get(k))
                    .copied()
                    .unwrap_or_default()
            }))),
            KeyMap::Ranked(r) => Arc::new(StringArray::from_iter_values(keys.iter().map(|&k| {
                usize::try_from(k)
                    .ok()
                    .filter(|&k| k < r.sorted.len())
                    .map_or("", |k| r.sorted.value(k))
            }))),
        }
    }
}

/// The distinct text keys in byte order (as the store orders its customers), with a table from
/// a key to its rank.
pub(crate) struct Ranks {
    sorted: StringArray,
    table: HashTable<u32>,
    hasher: ahash::RandomState,
}

impl Ranks {
    /// The rank of the (trimmed) key `key`, if it is one of the keys.
    #[inline]
    pub fn rank(&self, key: &str) -> Option<u32> {
        let h = self.hasher.hash_one(key.as_bytes());
        self.table
            .find(h, |&r| self.sorted.value(r as usize).as_bytes() == key.as_bytes())
            .copied()
    }

    /// The number of distinct keys.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }
}

/// The distinct integer keys in order (a key's rank is its position).
pub(crate) struct SparseKeys {
    sorted: Vec<i64>,
}

impl SparseKeys {
    /// The rank of `key`, if it is one of the keys (a binary search: to rank many keys, use
    /// [`rank_all`](Self::rank_all)).
    #[cfg(test)]
    pub fn rank(&self, key: i64) -> Option<u32> {
        self.sorted.binary_search(&key).ok().map(|r| r as u32)
    }
}

/// Reused buffers of [`SparseKeys::rank_all`].
#[derive(Default)]
pub(crate) struct RankScratch {
    /// The keys to rank with their positions, sorted.
    order: Vec<(i64, u32)>,
    /// The ranks, in the keys' order.
    pub ranks: Vec<u32>,
}

impl SparseKeys {
    /// Ranks `keys` (in any order) into `scratch.ranks`, in the keys' order; `false` when one
    /// of them is not among the keys, or there are 2³² or more of them (the ranks are then
    /// unspecified).
    ///
    /// The keys are sorted first and the ranks found in one forward walk over the sorted
    /// distinct keys (a galloping search from the last rank found). A hash table of a million
    /// keys (what this replaced) does not fit the cache, and nearly every lookup in it misses
    /// the cache; the walk reads the sorted keys in order.
    pub fn rank_all(&self, keys: &[i64], scratch: &mut RankScratch) -> bool {
        // positions are u32 (callers rank a row group or a batch at a time)
        if u32::try_from(keys.len()).is_err() {
            return false;
        }
        let RankScratch { order, ranks } = scratch;
        order.clear();
        order.extend(keys.iter().zip(0u32..).map(|(&k, i)| (k, i)));
        // by key alone: the order among equal keys does not matter
        order.sort_unstable_by_key(|&(k, _)| k);
        ranks.clear();
        ranks.resize(keys.len(), 0);
        let mut at = 0usize;
        for &(k, i) in order.iter() {
            at += gallop(self.sorted.get(at..).unwrap_or_default(), k);
            match (self.sorted.get(at), ranks.get_mut(i as usize)) {
                (Some(&x), Some(r)) if x == k => *r = at as u32,
                _ => return false,
            }
        }
        true
    }
}

/// The first position in ascending `s` whose value is at least `k` (`s.len()` if none),
/// searched in steps that double from the start and then by bisection.
#[inline]
fn gallop(s: &[i64], k: i64) -> usize {
    if s.first().is_none_or(|&x| x >= k) {
        return 0;
    }
    // s[lo] < k throughout
    let (mut lo, mut step) = (0usize, 1usize);
    loop {
        let hi = lo.saturating_add(step);
        match s.get(hi) {
            Some(&x) if x < k => {
                lo = hi;
                step = step.saturating_mul(2);
            }
            _ => {
                let hi = hi.min(s.len());
                let within = s.get(lo + 1..hi).unwrap_or_default();
                return lo + 1 + within.partition_point(|&x| x < k);
            }
        }
    }
}

/// A column of text keys in one of Arrow's string layouts.
pub(crate) enum TextKeys<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    Dict(&'a [i32], &'a arrow_array::StringArray),
}

impl<'a> TextKeys<'a> {
    /// The text keys of `a`, or `None` for a column of another type (or a dictionary with
    /// other than Int32 keys over Utf8 values: the scan asks the reader for views).
    pub fn of(a: &'a ArrayRef) -> Option<TextKeys<'a>> {
        match a.data_type() {
            DataType::Utf8 => a.as_string_opt::<i32>().map(TextKeys::Utf8),
            DataType::LargeUtf8 => a.as_string_opt::<i64>().map(TextKeys::Large),
            DataType::Utf8View => a.as_string_view_opt().map(TextKeys::View),
            DataType::Dictionary(..) => {
                let d = a.as_dictionary_opt::<Int32Type>()?;
                let values = d.values().as_string_opt::<i32>()?;
                // a null among the values counts as a null key (no value of it is read)
                (values.null_count() == 0).then(|| TextKeys::Dict(d.keys().values(), values))
            }
            _ => None,
        }
    }

    /// Key `i`, untrimmed; `None` when it is null (the caller checks the null count first).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            TextKeys::Utf8(a) => (i < a.len()).then(|| a.value(i)),
            TextKeys::Large(a) => (i < a.len()).then(|| a.value(i)),
            TextKeys::View(a) => (i < a.len()).then(|| a.value(i)),
            TextKeys::Dict(k, v) => {
                let k = usize::try_from(*k.get(i)?).ok()?;
                (k < v.len()).then(|| v.value(k))
            }
        }
    }

    /// Calls `f` with every key in order (nulls read as ""; the caller checks the null count
    /// first), up to its first error.
    ///
    /// # Errors
    /// `f`'s first error.
    #[inline]
    pub fn try_for_each<E>(
        &self,
        mut f: impl FnMut(&'a str) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self {
            TextKeys::Utf8(a) => (0..a.len()).try_for_each(|i| f(a.value(i))),
            TextKeys::Large(a) => (0..a.len()).try_for_each(|i| f(a.value(i))),
            TextKeys::View(a) => (0..a.len()).try_for_each(|i| f(a.value(i))),
            TextKeys::Dict(k, v) => k.iter().try_for_each(|&k| {
                let k = usize::try_from(k).ok().filter(|&k| k < v.len());
                f(k.map_or("", |k| v.value(k)))
            }),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            TextKeys::Utf8(a) => a.len(),
            TextKeys::Large(a) => a.len(),
            TextKeys::View(a) => a.len(),
            TextKeys::Dict(k, _) => k.len(),
        }
    }
}

/// Distinct byte strings in insertion order: the bytes side by side, a table of their indices.
#[derive(Default)]
struct Interner {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    table: HashTable<u32>,
    /// The index of the last string interned or found (runs of one key cost one comparison).
    last: Option<u32>,
}

/// String `i` of an interner's `bytes` and `ends`.
#[inline]
fn slot<'b>(bytes: &'b [u8], ends: &[usize], i: u32) -> &'b [u8] {
    let i = i as usize;
    let start = match i.checked_sub(1) {
        Some(p) => ends.get(p).copied().unwrap_or(0),
        None => 0,
    };
    let end = ends.get(i).copied().unwrap_or(start);
    bytes.get(start..end).unwrap_or_default()
}

impl Interner {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: u32) -> &[u8] {
        slot(&self.bytes, &self.ends, i)
    }

    /// Adds `s` unless it is there already.
    #[inline]
    fn intern(&mut self, s: &[u8], hasher: &ahash::RandomState) {
        let Interner {
            bytes,
            ends,
            table,
            last,
        } = self;
        if last.is_some_and(|l| slot(bytes, ends, l) == s) {
            return;
        }
        let h = hasher.hash_one(s);
        if let Some(&i) = table.find(h, |&i| slot(bytes, ends, i) == s) {
            *last = Some(i);
            return;
        }
        let i = ends.len() as u32;
        bytes.extend_from_slice(s);
        ends.push(bytes.len());
        table.insert_unique(h, i, |&j| hasher.hash_one(slot(bytes, ends, j)));
        *last = Some(i);
    }
}

/// Why a key pass stops early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A key ingestion rejects (null, blank, a null marker, not an integer under `Int`), or a
    /// column that is not text: the scan refuses.
    Refuse,
    /// Under `Auto`, a key that does not read as an integer: the keys are text.
    NotInts,
}

/// One worker's state in a key pass.
enum Pass {
    /// The smallest and largest integer key so far.
    Ints { min: i64, max: i64 },
    /// The distinct integer keys so far (keys too far apart for offsets).
    IntSet(IntSet),
    /// The distinct text keys so far.
    Text(Interner),
}

/// What a key pass gathers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ints,
    IntSet,
    Text,
}

/// Hash partitions of an [`IntSet`] (2^`PART_BITS`).
const PART_BITS: u32 = 8;
const PARTS: usize = 1 << PART_BITS;

/// Keys staged before an [`IntSet`] flushes them (4 MB; tests flush often).
#[cfg(not(test))]
const STAGE_MAX: usize = 1 << 19;
#[cfg(test)]
const STAGE_MAX: usize = 1 << 6;

/// Distinct integers, in [`PARTS`] tables by hash. Keys are first spread over the partitions
/// ([`IntSet::stage`], one sequential write each), then, once [`STAGE_MAX`] are staged, each
/// partition's keys go into its table ([`IntSet::flush`]), which holds a 256th of the keys and
/// stays in the cache while its thousands of staged keys are looked up: one table of a million
/// keys, probed once per row in row order, misses the cache on most probes.
struct IntSet {
    parts: Vec<HashTable<i64>>,
    /// Per partition, the keys staged since the last flush.
    staged: Vec<Vec<i64>>,
    /// The number of staged keys.
    pending: usize,
    last: Option<i64>,
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet {
            parts: (0..PARTS).map(|_| HashTable::new()).collect(),
            staged: vec![Vec::new(); PARTS],
            pending: 0,
            last: None,
        }
    }
}

impl IntSet {
    /// The partition of hash `h`: bits the tables use neither for a bucket (the low bits) nor
    /// for a control tag (the top 7).
    #[inline]
    fn part(h: u64) -> usize {
        ((h >> 40) as usize) & (PARTS - 1)
    }

    /// Stages `k` (a repeat of the previous key is skipped), and flushes once [`STAGE_MAX`]
    /// keys are staged.
    #[inline]
    fn stage(&mut self, k: i64, hasher: &ahash::RandomState) {
        if self.last == Some(k) {
            return;
        }
        self.last = Some(k);
        if let Some(part) = self.staged.get_mut(Self::part(hasher.hash_one(k))) {
            part.push(k);
        }
        self.pending += 1;
        if self.pending >= STAGE_MAX {
            self.flush(hasher);
        }
    }

    /// Adds the staged keys to their partitions' tables.
    fn flush(&mut self, hasher: &ahash::RandomState) {
        for (table, staged) in self.parts.iter_mut().zip(&mut self.staged) {
            for k in staged.drain(..) {
                let h = hasher.hash_one(k);
                if table.find(h, |&x| x == k).is_none() {
                    table.insert_unique(h, k, |&x| hasher.hash_one(x));
                }
            }
        }
        self.pending = 0;
    }

    /// The distinct keys (staged ones too), in no particular order.
    fn into_keys(mut self, hasher: &ahash::RandomState) -> impl Iterator<Item = i64> {
        self.flush(hasher);
        self.parts.into_iter().flatten()
    }
}

/// A key pass's worker: feeds key columns, one at a time.
pub(crate) struct Worker<'h> {
    pass: Pass,
    key_type: KeyType,
    hasher: &'h ahash::RandomState,
}

impl Worker<'_> {
    /// Reads the keys of `column` (a column of Int64 or text keys).
    ///
    /// # Errors
    /// The reason to stop: see [`Stop`].
    pub fn feed(&mut self, column: &ArrayRef) -> std::result::Result<(), Stop> {
        if column.null_count() > 0 {
            return Err(Stop::Refuse);
        }
        if let Some(ints) = column.as_primitive_opt::<Int64Type>() {
            match &mut self.pass {
                Pass::Ints { min, max } => {
                    let (lo, hi) = ints
                        .values()
                        .iter()
                        .fold((*min, *max), |(lo, hi), &k| (lo.min(k), hi.max(k)));
                    (*min, *max) = (lo, hi);
                }
                Pass::IntSet(set) => ints.values().iter().for_each(|&k| set.stage(k, self.hasher)),
                Pass::Text(_) => return Err(Stop::Refuse),
            }
            return Ok(());
        }
        let keys = TextKeys::of(column).ok_or(Stop::Refuse)?;
        let key_type = self.key_type;
        match &mut self.pass {
            // every key read as an integer in the pass before this one
            Pass::IntSet(set) => keys.try_for_each(|k| {
                let k = trim_key(k).parse::<i64>().map_err(|_| Stop::Refuse)?;
                set.stage(k, self.hasher);
                Ok(())
            }),
            Pass::Ints { min, max } => keys.try_for_each(|k| {
                let k = trim_key(k);
                match k.parse::<i64>() {
                    Ok(v) => {
                        *min = (*min).min(v);
                        *max = (*max).max(v);
                        Ok(())
                    }
                    // a blank key or a null marker (neither reads as an integer) is a rejected row
                    Err(_) if k.is_empty() || is_null_marker(k) || key_type == KeyType::Int => Err(Stop::Refuse),
                    Err(_) => Err(Stop::NotInts),
                }
            }),
            // null markers are looked for among the distinct keys, once the pass is over
            Pass::Text(interner) => keys.try_for_each(|k| {
                let k = trim_key(k);
                if k.is_empty() {
                    return Err(Stop::Refuse);
                }
                interner.intern(k.as_bytes(), self.hasher);
                Ok(())
            }),
        }
    }
}

/// `key.trim()` (ingestion trims keys), without the Unicode search when the key starts and ends
/// with a printable ASCII character (every whitespace character is ASCII up to the space, or
/// not ASCII).
#[inline]
pub(crate) fn trim_key(key: &str) -> &str {
    let graphic = |b: Option<&u8>| b.is_some_and(|&b| (0x21..0x7f).contains(&b));
    if graphic(key.as_bytes().first()) && graphic(key.as_bytes().last()) {
        key
    } else {
        key.trim()
    }
}

/// The widest range of integer keys read as offsets from the smallest (wider ranges are
/// ranked): 4 × the rows, and at most 2²⁸.
pub(crate) fn dense_limit(rows: usize) -> usize {
    rows.saturating_mul(4).min(1 << 28)
}

/// What a key pass found: the key map and the number of offsets, or `None` when the scan
/// refuses (a rejected key; see the [module docs](self)). Int64 key columns and text keys
/// under `Auto` and `Int` are read as integers first; text keys otherwise.
///
/// `units` pieces of input are read in parallel: `each(unit, feed)` hands each key column of
/// piece `unit` to `feed` and stops at its first error. `known_sparse`: the keys are integers
/// known (from statistics) to be too far apart for offsets, so the pass for their range is
/// skipped.
///
/// # Errors
/// What `each` returns.
pub(crate) fn key_map<F>(
    units: usize,
    rows: usize,
    key_type: KeyType,
    known_sparse: bool,
    par: &Parallelism,
    each: F,
) -> Result<Option<(KeyMap, usize)>>
where
    F: Fn(usize, &mut Worker<'_>) -> Result<std::result::Result<(), Stop>> + Sync,
{
    let hasher = hasher();
    let text = if key_type == KeyType::String {
        true
    } else if known_sparse {
        false
    } else {
        match run(units, par, &hasher, key_type, Mode::Ints, &each)? {
            Ok(workers) => {
                let (mut lo, mut hi) = (i64::MAX, i64::MIN);
                for w in workers {
                    if let Pass::Ints { min, max } = w {
                        lo = lo.min(min);
                        hi = hi.max(max);
                    }
                }
                if lo > hi {
                    return Ok(None);
                }
                let range = usize::try_from(hi.wrapping_sub(lo)).ok().map(|r| r + 1);
                if let Some(range) = range.filter(|&r| r <= dense_limit(rows)) {
                    return Ok(Some((KeyMap::Range { min: lo }, range)));
                }
                false
            }
            Err(Stop::Refuse) => return Ok(None),
            Err(Stop::NotInts) => true,
        }
    };
    if !text {
        // integers too far apart for offsets: gather the distinct keys
        let Ok(workers) = run(units, par, &hasher, key_type, Mode::IntSet, &each)? else {
            return Ok(None);
        };
        let sparse = sparse(workers, &hasher, par);
        let n = sparse.sorted.len();
        return Ok((n > 0 && n < u32::MAX as usize).then_some((KeyMap::Sparse(sparse), n)));
    }
    let Ok(workers) = run(units, par, &hasher, key_type, Mode::Text, &each)? else {
        return Ok(None);
    };
    let ranks = ranks(workers, hasher, par);
    // Null markers are missing keys (rejected rows) unless the keys are declared strings.
    if key_type != KeyType::String && (0..ranks.len()).any(|r| is_null_marker(ranks.sorted.value(r))) {
        return Ok(None);
    }
    // Under Auto, text keys some of which are integers make the store warn (the ingest report's
    // `key_typing`, which this path has no report for): those files take the store path.
    if key_type == KeyType::Auto && (0..ranks.len()).any(|r| ranks.sorted.value(r).parse::<i64>().is_ok()) {
        return Ok(None);
    }
    let n = ranks.len();
    Ok((n > 0 && n < u32::MAX as usize).then_some((KeyMap::Ranked(ranks), n)))
}

/// One key pass over the `units` in parallel (integer or text keys): the workers' states, or
/// the first reason to stop.
fn run<F>(
    units: usize,
    par: &Parallelism,
    hasher: &ahash::RandomState,
    key_type: KeyType,
    mode: Mode,
    each: &F,
) -> Result<std::result::Result<Vec<Pass>, Stop>>
where
    F: Fn(usize, &mut Worker<'_>) -> Result<std::result::Result<(), Stop>> + Sync,
{
    let workers = par.install(rayon::current_num_threads).clamp(1, units.max(1));
    let next = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let outcomes: Vec<Result<std::result::Result<Pass, Stop>>> = par.install(|| {
        (0..workers)
            .into_par_iter()
            .map(|_| {
                let mut w = Worker {
                    pass: match mode {
                        Mode::Ints => Pass::Ints {
                            min: i64::MAX,
                            max: i64::MIN,
                        },
                        Mode::IntSet => Pass::IntSet(IntSet::default()),
                        Mode::Text => Pass::Text(Interner::default()),
                    },
                    key_type,
                    hasher,
                };
                loop {
                    let u = next.fetch_add(1, Ordering::Relaxed);
                    if u >= units || stopped.load(Ordering::Relaxed) {
                        break;
                    }
                    if let Err(stop) = each(u, &mut w)? {
                        stopped.store(true, Ordering::Relaxed);
                        return Ok(Err(stop));
                    }
                }
                Ok(Ok(w.pass))
            })
            .collect()
    });
    let mut passes = Vec::with_capacity(outcomes.len());
    // A refusal outweighs a switch to text keys (the text pass would refuse too).
    let mut stop = None;
    for o in outcomes {
        match o? {
            Ok(p) => passes.push(p),
            Err(Stop::Refuse) => stop = Some(Stop::Refuse),
            Err(Stop::NotInts) => stop = stop.or(Some(Stop::NotInts)),
        }
    }
    Ok(match stop {
        Some(s) => Err(s),
        None => Ok(passes),
    })
}

/// The workers' distinct text keys merged, ordered by their bytes, with a table from key to
/// rank.
fn ranks(workers: Vec<Pass>, hasher: ahash::RandomState, par: &Parallelism) -> Ranks {
    let mut interners: Vec<Interner> = workers
        .into_iter()
        .filter_map(|p| match p {
            Pass::Text(i) => Some(i),
            Pass::Ints { .. } | Pass::IntSet(_) => None,
        })
        .collect();
    // The largest worker's keys are kept as they are; the others are added to them.
    interners.sort_by_key(|i| std::cmp::Reverse(i.len()));
    let mut all = if interners.is_empty() {
        Interner::default()
    } else {
        interners.swap_remove(0)
    };
    for other in &interners {
        for i in 0..other.len() as u32 {
            all.intern(other.get(i), &hasher);
        }
    }
    drop(interners);
    all.table = HashTable::new();
    let mut order: Vec<u32> = (0..all.len() as u32).collect();
    par.install(|| order.par_sort_unstable_by(|&a, &b| all.get(a).cmp(all.get(b))));
    // Every string came from a `&str`, so the bytes are UTF-8.
    let sorted = StringArray::from_iter_values(
        order
            .iter()
            .map(|&i| std::str::from_utf8(all.get(i)).unwrap_or_default()),
    );
    drop(all);
    drop(order);
    let mut table = HashTable::with_capacity(sorted.len());
    for r in 0..sorted.len() {
        let h = hasher.hash_one(sorted.value(r).as_bytes());
        table.insert_unique(h, r as u32, |&j| hasher.hash_one(sorted.value(j as usize).as_bytes()));
    }
    Ranks { sorted, table, hasher }
}

/// The workers' distinct integer keys merged, in order.
fn sparse(workers: Vec<Pass>, hasher: &ahash::RandomState, par: &Parallelism) -> SparseKeys {
    let mut sorted: Vec<i64> = Vec::new();
    for w in workers {
        if let Pass::IntSet(set) = w {
            sorted.extend(set.into_keys(hasher));
        }
    }
    par.install(|| sorted.par_sort_unstable());
    sorted.dedup();
    SparseKeys { sorted }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;

    #[test]
    fn trim_key_is_trim() {
        let keys = [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\n",
            "\u{a0}a",
            "a\u{85}",
            "\u{3000}x\u{3000}",
            "x\u{7f}",
            "ab",
            "~!",
            "é",
            "\u{2028}",
            "a\u{1c}",
        ];
        for k in keys {
            assert_eq!(trim_key(k), k.trim(), "{k:?}");
        }
    }

    fn text_map(columns: &[&[&str]], key_type: KeyType, threads: usize) -> Option<(KeyMap, usize)> {
        let columns: Vec<ArrayRef> = columns
            .iter()
            .map(|c| Arc::new(StringArray::from(c.to_vec())) as ArrayRef)
            .collect();
        let rows = columns.iter().map(|c| c.len()).sum();
        let par = Parallelism::threads(threads).unwrap();
        let read = |u: usize, w: &mut Worker<'_>| Ok(w.feed(&columns[u]));
        key_map(columns.len(), rows, key_type, false, &par, read).unwrap()
    }

    #[test]
    fn text_keys_rank_in_byte_order_whatever_the_threads() {
        for threads in [1, 2, 3] {
            let (map, n) = text_map(&[&["b", " a", "b"], &["c", "a ", "B"], &["é"]], KeyType::Auto, threads).unwrap();
            assert_eq!(n, 5);
            let KeyMap::Ranked(r) = &map else { panic!("ranked") };
            assert_eq!(
                [r.rank("B"), r.rank("a"), r.rank("b"), r.rank("c"), r.rank("é")],
                [0, 1, 2, 3, 4].map(Some)
            );
            assert_eq!(r.rank("d"), None);
            let column = map.column(vec![4, 0]);
            assert_eq!(
                column.as_string::<i32>().iter().collect::<Vec<_>>(),
                [Some("é"), Some("B")]
            );
        }
    }

    #[test]
    fn integer_keys_read_as_integers_unless_declared_strings() {
        let (map, n) = text_map(&[&["7", " 9", "007"], &["+8"]], KeyType::Auto, 2).unwrap();
        assert!(matches!(map, KeyMap::Range { min: 7 }));
        assert_eq!(n, 3);
        let (map, n) = text_map(&[&["7", " 9", "007"], &["+8"]], KeyType::String, 2).unwrap();
        assert!(matches!(map, KeyMap::Ranked(_)));
        assert_eq!(n, 4);
        // under Int a text key is a rejected row; under Auto, a mix of integer and text keys
        // is left to the store path (which warns)
        assert!(text_map(&[&["7", "x"]], KeyType::Int, 2).is_none());
        assert!(text_map(&[&["7", "x"]], KeyType::Auto, 2).is_none());
        // blank keys and null markers are rejected rows; markers are keys when declared strings
        assert!(text_map(&[&["7", " "]], KeyType::String, 2).is_none());
        assert!(text_map(&[&["x", "NA"]], KeyType::Auto, 2).is_none());
        assert!(text_map(&[&["7", "NA"]], KeyType::Auto, 2).is_none());
        assert_eq!(text_map(&[&["x", "NA"]], KeyType::String, 2).unwrap().1, 2);
        // integer keys too far apart for offsets are ranked, in numeric order
        for threads in [1, 2] {
            let (map, n) = text_map(&[&["1000000", "-5"], &["1", "1000000 "]], KeyType::Auto, threads).unwrap();
            assert_eq!(n, 3);
            let KeyMap::Sparse(s) = &map else { panic!("sparse") };
            assert_eq!(
                [s.rank(-5), s.rank(1), s.rank(1_000_000), s.rank(2)],
                [Some(0), Some(1), Some(2), None]
            );
            let column = map.column(vec![2, 0]);
            assert_eq!(column.as_primitive::<Int64Type>().values().to_vec(), [1_000_000, -5]);
            let mut scratch = RankScratch::default();
            assert!(s.rank_all(&[1_000_000, -5, 1, -5, 1_000_000], &mut scratch));
            assert_eq!(scratch.ranks, [2, 0, 1, 0, 2]);
            assert!(s.rank_all(&[], &mut scratch));
            assert!(scratch.ranks.is_empty());
            assert!(!s.rank_all(&[1, 2], &mut scratch));
            assert!(!s.rank_all(&[i64::MAX], &mut scratch));
            assert!(!s.rank_all(&[i64::MIN], &mut scratch));
        }
    }

    /// `rank_all` agrees with `rank` one key at a time, on keys spread far apart, clustered,
    /// and missing, in every order.
    #[test]
    fn rank_all_is_rank_of_each_key() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20 {
            let n = 1 + (next() % 3000) as usize;
            // far apart (hashes), clustered (two dense runs far apart), or both
            let distinct: Vec<i64> = (0..n)
                .map(|i| match round % 3 {
                    0 => next() as i64,
                    1 => (i as i64 % 2) * (1 << 50) + i as i64,
                    _ => (next() % 5000) as i64 * 1_000_003,
                })
                .collect();
            let columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(distinct.clone())) as ArrayRef];
            let par = Parallelism::threads(2).unwrap();
            let read = |u: usize, w: &mut Worker<'_>| Ok(w.feed(&columns[u]));
            let Some((KeyMap::Sparse(s), _)) = key_map(1, 1, KeyType::Auto, true, &par, read).unwrap() else {
                panic!("sparse keys");
            };
            let mut scratch = RankScratch::default();
            let keys: Vec<i64> = (0..4 * n).map(|_| distinct[(next() % n as u64) as usize]).collect();
            assert!(s.rank_all(&keys, &mut scratch));
            let one: Vec<u32> = keys.iter().map(|&k| s.rank(k).unwrap()).collect();
            assert_eq!(scratch.ranks, one, "round {round}");
            let mut missing = keys.clone();
            missing.push(distinct[0].wrapping_add(1));
            if s.rank(distinct[0].wrapping_add(1)).is_none() {
                assert!(!s.rank_all(&missing, &mut scratch));
            }
        }
    }
}
