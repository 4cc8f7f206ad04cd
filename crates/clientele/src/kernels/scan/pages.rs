//! The purchase scan's fast path: a row group's Parquet pages decoded straight into purchases.
//!
//! The Arrow reader builds every row of every projected column: it expands dictionary
//! indices into 8-byte keys and times for all rows, builds the event-type dictionary arrays,
//! and reads the file in thousands of small calls. The scan needs far less: the event type
//! of every row, then the amount, time and key of the purchase rows only. This path reads each
//! column chunk with one call (or, past 8 MB, page by page: a worker then holds one page of the
//! chunk, not all of it), lets the parquet crate's page reader decompress the pages, and
//! decodes them itself:
//!
//! 1. event types: the dictionary's strings are classified once (purchase, other, blank); the
//!    rows whose index is a purchase become the selection;
//! 2. amount, time and key: each column's values are checked as the scan's batch check
//!    checks them (over every row, on the dictionary's values or the plain values, so a
//!    dictionary-encoded page costs one check per distinct value), and only the selected rows'
//!    values are gathered.
//!
//! It refuses (the scan then returns `None`) on the rows the batch check refuses: a null
//! key, time or event type, a blank event type, a time out of range, an amount that is not
//! finite or beyond ±10¹⁵, a negative purchase without `allow_refunds`, a purchase before
//! `until` outside the key range; and only after the whole row group has decoded, so that a
//! file the Arrow reader reports as damaged is not refused instead. It handles flat columns
//! whose data pages (format v1 or v2) are PLAIN or dictionary encoded, or
//! DELTA_BINARY_PACKED for INT64 columns; on any other page, and on anything it cannot read (a
//! codec, a corrupt page, a second dictionary), the row group is a [`Stop::Fallback`] and the
//! caller decodes it with the Arrow reader, which then decides, and reports errors. Nothing
//! reaches the sink before a whole row group has been decoded, so a fallback never counts a
//! purchase twice.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use parquet::basic::{Encoding, Type as PhysicalType};
use parquet::column::page::{Page, PageReader};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;

use super::keys::{KeyMap, RankScratch};
use super::{PurchaseScan, PurchaseSink};
use super::{delta, hybrid};
use crate::ingest::MAX_AMOUNT;
use crate::time::{END_EVENT_MICROS, MIN_EVENT_MICROS};

/// Why a row group was not aggregated on this path.
pub(super) enum Stop {
    /// A row the batch check refuses: the whole scan returns `None`.
    Refuse,
    /// Something this path does not decode: the caller decodes the row group with the Arrow
    /// reader instead.
    Fallback,
}

/// `Fallback` for every `None`: this path gives up on what it does not understand.
trait OrFallback<T> {
    fn or_fallback(self) -> Result<T, Stop>;
}

impl<T> OrFallback<T> for Option<T> {
    fn or_fallback(self) -> Result<T, Stop> {
        self.ok_or(Stop::Fallback)
    }
}

/// One column of the scan: its leaf index and maximum definition level (0 or 1).
#[derive(Debug, Clone, Copy)]
pub(super) struct Leaf {
    index: usize,
    max_def: i16,
    /// An INT64 column, whose pages may also be DELTA_BINARY_PACKED.
    integer: bool,
}

/// Where the scan's columns are among the file's leaves, when this path can read them.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    key: Leaf,
    time: Leaf,
    kind: Option<Leaf>,
    amount: Option<Leaf>,
}

impl Layout {
    /// The leaves of the named columns, or `None` when one is not a flat column of the
    /// physical type this path decodes (key and time INT64, event type BYTE_ARRAY, amount
    /// DOUBLE).
    pub(super) fn new(
        meta: &ParquetMetaData,
        key: &str,
        time: &str,
        kind: Option<&str>,
        amount: Option<&str>,
    ) -> Option<Layout> {
        let schema = meta.file_metadata().schema_descr();
        let leaf = |name: &str, physical: PhysicalType| -> Option<Leaf> {
            let index = schema.columns().iter().position(|c| {
                let parts = c.path().parts();
                parts.len() == 1 && parts.first().map(String::as_str) == Some(name)
            })?;
            let c = schema.columns().get(index)?;
            (c.physical_type() == physical && c.max_rep_level() == 0 && (0..=1).contains(&c.max_def_level())).then_some(
                Leaf {
                    index,
                    max_def: c.max_def_level(),
                    integer: physical == PhysicalType::INT64,
                },
            )
        };
        let optional = |name: Option<&str>, physical| match name {
            None => Some(None),
            Some(n) => leaf(n, physical).map(Some),
        };
        Some(Layout {
            key: leaf(key, PhysicalType::INT64)?,
            time: leaf(time, PhysicalType::INT64)?,
            kind: optional(kind, PhysicalType::BYTE_ARRAY)?,
            amount: optional(amount, PhysicalType::DOUBLE)?,
        })
    }
}

/// A worker's buffers, reused from row group to row group.
#[derive(Default)]
pub(super) struct Scratch {
    /// The selected (purchase) rows of the row group.
    rows: Vec<u32>,
    amounts: Vec<u64>,
    times: Vec<u64>,
    keys: Vec<u64>,
    /// One page's dictionary indices and definition levels.
    indices: Vec<u32>,
    levels: Levels,
    /// One page's event-type codes.
    codes: Vec<u8>,
    /// One page's delta-decoded values.
    decoded: Vec<u64>,
    /// The current dictionary's values (8-byte types) and per-value refusal flags.
    dictionary: Vec<u64>,
    flags: Vec<bool>,
    /// Column chunk buffers, reused.
    pool: Vec<Vec<u8>>,
    /// Sparse keys: the purchases' keys and positions, and their ranking's buffers.
    sparse_keys: Vec<i64>,
    sparse_at: Vec<u32>,
    ranking: RankScratch,
    /// The largest column chunk held in memory; `None`: [`HOLD_MAX`] (tests lower it).
    pub(super) hold_max: Option<u64>,
}

/// Sparse keys are ranked this many purchases at a time
/// ([`SparseKeys::rank_all`](super::keys::SparseKeys::rank_all); tests use small pieces).
#[cfg(not(test))]
const RANK_PIECE: usize = 1 << 16;
#[cfg(test)]
const RANK_PIECE: usize = 7;

/// Column chunks up to this size are read with one call and held; larger ones (Spark's 128 MB
/// row groups hold chunks of tens of megabytes, and each worker decodes its own row group) are
/// read page by page through the file, so a worker holds one page, not the chunk.
const HOLD_MAX: u64 = 8 << 20;

/// A column chunk, addressed by file offsets (what the page reader expects): held in memory,
/// or left in the file and read a page at a time.
enum Chunk {
    Held {
        start: u64,
        bytes: Bytes,
    },
    /// Bytes `start..end` of `file`; reads stop at `end`, as a held chunk's do (a header
    /// whose lengths run on into the next chunk must meet the end of its input).
    InFile {
        file: File,
        start: u64,
        end: u64,
    },
}

impl Length for Chunk {
    fn len(&self) -> u64 {
        match self {
            Chunk::Held { start, bytes } => start + bytes.len() as u64,
            Chunk::InFile { end, .. } => *end,
        }
    }
}

impl ChunkReader for Chunk {
    type T = Box<dyn Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        match self {
            Chunk::Held { start: first, bytes } => {
                let from = start
                    .checked_sub(*first)
                    .and_then(|f| usize::try_from(f).ok())
                    .filter(|&f| f <= bytes.len())
                    .ok_or_else(|| ParquetError::General(format!("offset {start} outside the column chunk")))?;
                Ok(Box::new(bytes.slice(from..).reader()))
            }
            Chunk::InFile {
                file,
                start: first,
                end,
            } => {
                if start < *first || start > *end {
                    return Err(ParquetError::General(format!(
                        "offset {start} outside the column chunk"
                    )));
                }
                Ok(Box::new(file.get_read(start)?.take(end - start)))
            }
        }
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self {
            Chunk::Held { start: first, bytes } => {
                let from = start.checked_sub(*first).and_then(|f| usize::try_from(f).ok());
                let range = from
                    .and_then(|f| Some(f..f.checked_add(length)?))
                    .filter(|r| r.end <= bytes.len())
                    .ok_or_else(|| ParquetError::General(format!("bytes {start}+{length} outside the column chunk")))?;
                Ok(bytes.slice(range))
            }
            Chunk::InFile {
                file,
                start: first,
                end,
            } => {
                let inside = start >= *first && start.checked_add(length as u64).is_some_and(|e| e <= *end);
                if !inside {
                    return Err(ParquetError::General(format!(
                        "bytes {start}+{length} outside the column chunk"
                    )));
                }
                file.get_bytes(start, length)
            }
        }
    }
}

/// One column chunk of a row group: its bytes, read with one call into a buffer of `pool`
/// (or, past [`HOLD_MAX`], left in the file), and their page reader. [`Column::recycle`] gives
/// the buffer back.
struct Column {
    chunk: Arc<Chunk>,
    reader: SerializedPageReader<Chunk>,
}

impl Column {
    fn open(file: &mut File, rg: &RowGroupMetaData, leaf: Leaf, s: &mut Scratch) -> Result<Column, Stop> {
        let pool = &mut s.pool;
        let meta = rg.columns().get(leaf.index).or_fallback()?;
        let (start, len) = meta.byte_range();
        // The footer's range must lie in the file before it sizes an allocation.
        let size = file.metadata().map_err(|_| Stop::Fallback)?.len();
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(Stop::Fallback);
        }
        // A damaged page header (a list that declares billions of elements) would keep the
        // Parquet crate's Thrift parser busy for seconds: walk the headers with every length
        // bounded first, and leave a damaged chunk to the Arrow reader path, which reports it.
        let chunk = if len > s.hold_max.unwrap_or(HOLD_MAX) {
            // A small first window: the walk grows it while a header goes on past it, and
            // reads little more than the headers themselves (the pages are read next).
            if crate::io::page_headers::check_chunk_in(file, start, len, 1 << 10).is_err() {
                return Err(Stop::Fallback);
            }
            Chunk::InFile {
                file: file.try_clone().map_err(|_| Stop::Fallback)?,
                start,
                end: start + len,
            }
        } else {
            let mut buf = pool.pop().unwrap_or_default();
            // A reused buffer keeps its bytes: only a longer chunk zeroes the new part.
            let want = usize::try_from(len).map_err(|_| Stop::Fallback)?;
            if buf.len() >= want {
                buf.truncate(want);
            } else {
                buf.resize(want, 0);
            }
            file.seek(SeekFrom::Start(start)).map_err(|_| Stop::Fallback)?;
            if file.read_exact(&mut buf).is_err() {
                pool.push(buf);
                return Err(Stop::Fallback);
            }
            if crate::io::page_headers::check_chunk(&buf).is_err() {
                pool.push(buf);
                return Err(Stop::Fallback);
            }
            Chunk::Held {
                start,
                bytes: Bytes::from(buf),
            }
        };
        let chunk = Arc::new(chunk);
        let rows = usize::try_from(rg.num_rows()).map_err(|_| Stop::Fallback)?;
        let reader = SerializedPageReader::new(chunk.clone(), meta, rows, None).map_err(|_| Stop::Fallback)?;
        Ok(Column { chunk, reader })
    }

    /// Returns the chunk's buffer to `pool` (reused buffers spare the page faults and zeroing
    /// of fresh megabytes for every chunk).
    fn recycle(self, pool: &mut Vec<Vec<u8>>) {
        let Column { chunk, reader } = self;
        drop(reader);
        if let Some(Chunk::Held { bytes, .. }) = Arc::try_unwrap(chunk).ok()
            && let Ok(buf) = bytes.try_into_mut()
        {
            pool.push(Vec::from(buf));
        }
    }
}

/// A data page split into its parts.
struct Data<'a> {
    rows: usize,
    /// The null count a v2 page header states.
    nulls: Option<usize>,
    /// The definition levels (RLE / bit-packed hybrid, width 1), for an optional column.
    levels: Option<&'a [u8]>,
    encoding: Kind,
    values: &'a [u8],
}

/// How a data page stores its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Dictionary,
    Delta,
}

impl Data<'_> {
    /// `Fallback` unless a v2 page's stated null count is `rows − defined` (the Arrow reader
    /// errors on a count that does not fit).
    fn check_nulls(&self, defined: usize) -> Result<(), Stop> {
        match self.nulls {
            Some(n) if n != self.rows - defined => Err(Stop::Fallback),
            _ => Ok(()),
        }
    }
}

/// The most rows a data page may claim here (writers use about 20,000): a larger claim
/// goes to the Arrow reader, which decodes in batches, rather than into one allocation.
const MAX_PAGE_ROWS: usize = 1 << 24;

/// Splits a data page; `None` for a dictionary page, an encoding or level layout this path
/// does not decode (levels other than RLE in v1, repetition levels, a v2 page whose rows
/// and values differ, more than [`MAX_PAGE_ROWS`] rows) or cut-off level data.
fn split(page: &Page, max_def: i16) -> Option<Data<'_>> {
    let data = split_unchecked(page, max_def)?;
    (data.rows <= MAX_PAGE_ROWS).then_some(data)
}

fn split_unchecked(page: &Page, max_def: i16) -> Option<Data<'_>> {
    let kind = |e: Encoding| match e {
        Encoding::PLAIN => Some(Kind::Plain),
        Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY => Some(Kind::Dictionary),
        Encoding::DELTA_BINARY_PACKED => Some(Kind::Delta),
        _ => None,
    };
    match page {
        Page::DataPage {
            buf,
            num_values,
            encoding,
            def_level_encoding,
            ..
        } => {
            let (levels, values) = if max_def > 0 {
                if *def_level_encoding != Encoding::RLE {
                    return None;
                }
                let len = u32::from_le_bytes(buf.get(..4)?.try_into().ok()?) as usize;
                let end = len.checked_add(4)?;
                (Some(buf.get(4..end)?), buf.get(end..)?)
            } else {
                (None, buf.as_ref())
            };
            Some(Data {
                rows: *num_values as usize,
                nulls: None,
                levels,
                encoding: kind(*encoding)?,
                values,
            })
        }
        Page::DataPageV2 {
            buf,
            num_values,
            num_rows,
            num_nulls,
            encoding,
            def_levels_byte_len,
            rep_levels_byte_len,
            ..
        } => {
            if *rep_levels_byte_len != 0 || num_rows != num_values {
                return None;
            }
            let len = *def_levels_byte_len as usize;
            let levels = if max_def > 0 {
                Some(buf.get(..len)?)
            } else if len == 0 {
                None
            } else {
                return None;
            };
            Some(Data {
                rows: *num_values as usize,
                nulls: Some(*num_nulls as usize),
                levels,
                encoding: kind(*encoding)?,
                values: buf.get(len..)?,
            })
        }
        Page::DictionaryPage { .. } => None,
    }
}

/// Whether an amount is finite and within ±`MAX_AMOUNT` (false for NaN).
#[inline]
fn amount_within_bounds(x: f64) -> bool {
    x.abs() <= MAX_AMOUNT
}

/// The check a column's values get: every value, in every row, as the batch check does.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// None (customer keys: their range is checked on the purchases).
    Nothing,
    /// A time (raw units × `scale` µs) in `[MIN_EVENT_MICROS, END_EVENT_MICROS)`.
    Time { scale: i64 },
    /// An amount finite and within ±`MAX_AMOUNT`.
    Amount,
}

impl Check {
    /// Whether one stored value is refused.
    fn refuses(self, bits: u64) -> bool {
        match self {
            Check::Nothing => false,
            Check::Time { scale } => (bits as i64)
                .checked_mul(scale)
                .is_none_or(|t| !(MIN_EVENT_MICROS..END_EVENT_MICROS).contains(&t)),
            Check::Amount => !amount_within_bounds(f64::from_bits(bits)),
        }
    }

    /// Whether any of `words` is refused; a reduction the compiler vectorizes (a time range
    /// by its extremes: scaling keeps the order).
    fn refuses_words(self, words: impl Iterator<Item = u64>) -> bool {
        match self {
            Check::Nothing => false,
            Check::Time { .. } => {
                let (lo, hi) = words.fold((i64::MAX, i64::MIN), |(lo, hi), w| (lo.min(w as i64), hi.max(w as i64)));
                lo <= hi && (self.refuses(lo as u64) || self.refuses(hi as u64))
            }
            Check::Amount => words.fold(false, |bad, w| bad | !amount_within_bounds(f64::from_bits(w))),
        }
    }
}

/// A page's definition levels as a bitmap (bit `i` set when row `i` is defined), with the
/// number of defined rows before each 64-row word, so that a row's stored position is one
/// popcount away.
#[derive(Default)]
pub(super) struct Levels {
    bits: Vec<u64>,
    ranks: Vec<u32>,
}

/// The definition levels of a page with a null row (see [`Levels`]).
#[derive(Clone, Copy)]
struct Defined<'l> {
    bits: &'l [u64],
    ranks: &'l [u32],
}

impl Defined<'_> {
    /// The stored position of row `offset`'s value, `None` for a null row; `Fallback` for a
    /// row past the page.
    #[inline]
    fn position(self, offset: usize) -> Result<Option<usize>, Stop> {
        let word = *self.bits.get(offset / 64).or_fallback()?;
        let before = *self.ranks.get(offset / 64).or_fallback()? as usize;
        let below = word & ((1u64 << (offset % 64)) - 1);
        Ok((word >> (offset % 64) & 1 == 1).then_some(before + below.count_ones() as usize))
    }
}

/// Decodes a page's definition levels into `levels`; returns them with the number of defined
/// rows, or `None` when every row is defined (no levels, or levels that are all ones).
fn definitions<'a>(data: &Data<'_>, levels: &'a mut Levels) -> Result<(Option<Defined<'a>>, usize), Stop> {
    let Some(encoded) = data.levels else {
        return Ok((None, data.rows));
    };
    hybrid::decode_bits(encoded, data.rows, &mut levels.bits).or_fallback()?;
    levels.ranks.clear();
    let mut defined = 0usize;
    for w in &levels.bits {
        levels.ranks.push(u32::try_from(defined).map_err(|_| Stop::Fallback)?);
        defined += w.count_ones() as usize;
    }
    Ok(if defined == data.rows {
        (None, defined)
    } else {
        (
            Some(Defined {
                bits: &levels.bits,
                ranks: &levels.ranks,
            }),
            defined,
        )
    })
}

/// A data page of rows `first..end` (see [`data_page`]).
struct DataPage<'p, 'l> {
    data: Data<'p>,
    end: usize,
    /// The definition levels, when some row is null.
    levels: Option<Defined<'l>>,
    /// The number of stored (defined) values.
    defined: usize,
}

/// Splits the data page of rows `first..` (its end within `total`) and decodes its levels.
fn data_page<'p, 'l>(
    page: &'p Page,
    max_def: i16,
    first: usize,
    total: usize,
    levels: &'l mut Levels,
) -> Result<DataPage<'p, 'l>, Stop> {
    let data = split(page, max_def).or_fallback()?;
    let end = first.checked_add(data.rows).filter(|&e| e <= total).or_fallback()?;
    let (levels, defined) = definitions(&data, levels)?;
    data.check_nulls(defined)?;
    Ok(DataPage {
        data,
        end,
        levels,
        defined,
    })
}

/// Reads the 8-byte value at `position` of plain `values`.
fn word(values: &[u8], position: usize) -> Option<u64> {
    let at = position.checked_mul(8)?;
    let mut b = [0u8; 8];
    b.copy_from_slice(values.get(at..at.checked_add(8)?)?);
    Some(u64::from_le_bytes(b))
}

/// Gathers the values `want` names from an 8-byte column (INT64 / DOUBLE) into `out`. The
/// whole chunk is decoded even after a refusal, so that `Ok(true)` (a row refuses) is only
/// returned for a chunk that decodes, as the Arrow reader would.
fn gather(
    reader: &mut SerializedPageReader<Chunk>,
    Leaf { max_def, integer, .. }: Leaf,
    Want {
        total,
        rows,
        check,
        null,
    }: Want<'_>,
    s: &mut Scratch,
    out: &mut Vec<u64>,
) -> Result<bool, Stop> {
    out.clear();
    out.reserve(rows.len());
    s.dictionary.clear();
    s.flags.clear();
    let (mut have_dictionary, mut dictionary_refuses) = (false, false);
    let (mut first, mut next, mut refused) = (0usize, 0usize, false);
    while let Some(page) = reader.get_next_page().map_err(|_| Stop::Fallback)? {
        if let Page::DictionaryPage {
            buf,
            num_values,
            encoding,
            ..
        } = &page
        {
            // The Arrow reader refuses a second dictionary in a primitive column chunk.
            if have_dictionary || !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
                return Err(Stop::Fallback);
            }
            let n = *num_values as usize;
            let bytes = buf.get(..n.checked_mul(8).or_fallback()?).or_fallback()?;
            s.dictionary.clear();
            s.dictionary.extend(
                bytes
                    .chunks_exact(8)
                    .filter_map(|w| Some(u64::from_le_bytes(w.try_into().ok()?))),
            );
            s.flags.clear();
            s.flags.extend(s.dictionary.iter().map(|&v| check.refuses(v)));
            dictionary_refuses = s.flags.iter().any(|&f| f);
            have_dictionary = true;
            continue;
        }
        let DataPage {
            data,
            end,
            levels,
            defined,
        } = data_page(&page, max_def, first, total, &mut s.levels)?;
        refused |= null.is_none() && defined < data.rows;
        // A null row's value (a null that refuses is gathered as 0: nothing is emitted then).
        let null = null.unwrap_or(0);
        // The selected rows of this page, and each one's position among the stored values.
        let stop = next
            + rows
                .get(next..)
                .unwrap_or_default()
                .partition_point(|&r| (r as usize) < end);
        let selected = rows.get(next..stop).unwrap_or_default();
        // The stored position of a selected row's value, or `None` for a null row.
        let position = |row: u32| -> Result<Option<usize>, Stop> {
            let offset = (row as usize).checked_sub(first).or_fallback()?;
            match levels {
                None => Ok(Some(offset)),
                Some(l) => l.position(offset),
            }
        };
        if data.encoding == Kind::Dictionary {
            if !have_dictionary {
                return Err(Stop::Fallback);
            }
            let (&width, encoded) = data.values.split_first().or_fallback()?;
            hybrid::decode(encoded, width, defined, &mut s.indices).or_fallback()?;
            if s.indices
                .iter()
                .copied()
                .max()
                .is_some_and(|i| i as usize >= s.dictionary.len())
            {
                return Err(Stop::Fallback);
            }
            refused |= dictionary_refuses && s.indices.iter().any(|&i| s.flags.get(i as usize) == Some(&true));
            for &row in selected {
                out.push(match position(row)? {
                    Some(p) => {
                        let i = *s.indices.get(p).or_fallback()? as usize;
                        *s.dictionary.get(i).or_fallback()?
                    }
                    None => null,
                });
            }
        } else if data.encoding == Kind::Delta {
            if !integer {
                return Err(Stop::Fallback);
            }
            delta::decode(data.values, defined, &mut s.decoded).or_fallback()?;
            refused |= check.refuses_words(s.decoded.iter().copied());
            for &row in selected {
                out.push(match position(row)? {
                    Some(p) => *s.decoded.get(p).or_fallback()?,
                    None => null,
                });
            }
        } else {
            let values = data.values.get(..defined.checked_mul(8).or_fallback()?).or_fallback()?;
            refused |= check.refuses_words(values.chunks_exact(8).map(|w| {
                let mut b = [0u8; 8];
                b.copy_from_slice(w);
                u64::from_le_bytes(b)
            }));
            for &row in selected {
                out.push(match position(row)? {
                    Some(p) => word(values, p).or_fallback()?,
                    None => null,
                });
            }
        }
        first = end;
        next = stop;
    }
    if first != total || out.len() != rows.len() {
        return Err(Stop::Fallback);
    }
    Ok(refused)
}

/// What [`gather`] takes from a column chunk of `total` rows: the values of the selected
/// `rows`, after `check` on every stored value; a null row is `null` (or refuses when `None`).
#[derive(Clone, Copy)]
struct Want<'a> {
    total: usize,
    rows: &'a [u32],
    check: Check,
    null: Option<u64>,
}

/// [`gather`] over the column chunk of `leaf` in row group `rg`.
fn gather_column(
    file: &mut File,
    rg: &RowGroupMetaData,
    leaf: Leaf,
    want: Want<'_>,
    s: &mut Scratch,
    out: &mut Vec<u64>,
) -> Result<bool, Stop> {
    let mut c = Column::open(file, rg, leaf, s)?;
    let result = gather(&mut c.reader, leaf, want, s, out);
    c.recycle(&mut s.pool);
    result
}

/// Splits the first PLAIN byte array (a little-endian u32 length, then the bytes) off `data`.
fn byte_array(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, tail) = data.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len) as usize;
    Some((tail.get(..len)?, tail.get(len..)?))
}

/// An event type's code: 0 another type, 1 a purchase, 2 blank (ingestion trims types and
/// rejects blank ones); `None` when the bytes are not UTF-8 (the Arrow reader reports that).
fn classify(value: &[u8], purchase: &str) -> Option<u8> {
    let value = std::str::from_utf8(value).ok()?.trim();
    Some(if value.is_empty() {
        2
    } else {
        u8::from(value == purchase)
    })
}

/// Selects the rows of purchases: the event-type dictionary's strings are classified once;
/// `Ok(true)` when a null or blank type refuses (after decoding the whole chunk).
fn select(
    reader: &mut SerializedPageReader<Chunk>,
    max_def: i16,
    total: usize,
    purchase: &str,
    s: &mut Scratch,
) -> Result<bool, Stop> {
    s.rows.clear();
    let mut refused = false;
    // Per dictionary value, as `classify` codes it.
    let mut codes: Vec<u8> = Vec::new();
    let mut have_dictionary = false;
    let (mut first, mut taken) = (0usize, 0usize);
    while let Some(page) = reader.get_next_page().map_err(|_| Stop::Fallback)? {
        if let Page::DictionaryPage {
            buf,
            num_values,
            encoding,
            ..
        } = &page
        {
            if !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
                return Err(Stop::Fallback);
            }
            codes.clear();
            let mut rest: &[u8] = buf;
            for _ in 0..*num_values {
                let (value, tail) = byte_array(rest).or_fallback()?;
                rest = tail;
                codes.push(classify(value, purchase).or_fallback()?);
            }
            have_dictionary = true;
            continue;
        }
        let DataPage { data, end, defined, .. } = data_page(&page, max_def, first, total, &mut s.levels)?;
        // A null type refuses; the page's values are still decoded (they must decode).
        let nulls = defined < data.rows;
        refused |= nulls;
        // Each stored value's code (4: an index outside the dictionary).
        s.codes.clear();
        match data.encoding {
            Kind::Dictionary if have_dictionary => {
                let (&width, encoded) = data.values.split_first().or_fallback()?;
                let code = |i: u32| codes.get(i as usize).copied().unwrap_or(4);
                hybrid::decode_map(encoded, width, defined, &mut s.codes, code).or_fallback()?;
            }
            Kind::Plain => {
                let mut rest = data.values;
                for _ in 0..defined {
                    let (value, tail) = byte_array(rest).or_fallback()?;
                    rest = tail;
                    s.codes.push(classify(value, purchase).or_fallback()?);
                }
            }
            _ => return Err(Stop::Fallback),
        }
        if s.codes.len() != defined {
            return Err(Stop::Fallback);
        }
        let mut flags = 0u8;
        if nulls {
            // Refused: no selection needed, only the codes' check.
            flags = s.codes.iter().fold(0, |f, &c| f | c);
            s.codes.clear();
        }
        s.rows.resize(taken + s.codes.len(), 0);
        let dst = s.rows.get_mut(taken..).or_fallback()?;
        // Branch-free: every row is written to the next free slot, which advances only for
        // a purchase.
        let mut local = 0usize;
        for (row, &code) in (first as u32..).zip(s.codes.iter()) {
            flags |= code;
            if let Some(slot) = dst.get_mut(local) {
                *slot = row;
            }
            local += usize::from(code == 1);
        }
        if flags & 4 != 0 {
            return Err(Stop::Fallback);
        }
        refused |= flags & 2 != 0;
        // The page's purchases are the first `local` of its slots.
        taken += local;
        s.rows.truncate(taken);
        first = end;
    }
    if first != total {
        return Err(Stop::Fallback);
    }
    Ok(refused)
}

/// Decodes row group `rg` of the scan's file and hands its purchases before `until` to
/// `sink`, once every column has decoded (see the [module docs](self) for what refuses and
/// what falls back).
pub(super) fn row_group<S: PurchaseSink>(
    scan: &PurchaseScan,
    layout: &Layout,
    file: &mut File,
    rg: usize,
    until: i64,
    sink: &mut S,
    s: &mut Scratch,
) -> Result<(), Stop> {
    let meta = scan.meta.metadata().row_groups().get(rg).or_fallback()?;
    let total = usize::try_from(meta.num_rows()).map_err(|_| Stop::Fallback)?;
    if u32::try_from(total).is_err() {
        return Err(Stop::Fallback);
    }
    // A refusing row is only reported once every column has decoded: until then an error
    // further on (which the Arrow reader reports) could still make this a fallback.
    let mut refused = match layout.kind {
        Some(kind) => {
            let mut c = Column::open(file, meta, kind, s)?;
            let result = select(&mut c.reader, kind.max_def, total, &scan.purchase, s);
            c.recycle(&mut s.pool);
            result?
        }
        None => {
            s.rows.clear();
            s.rows.extend(0..total as u32);
            false
        }
    };
    let rows = std::mem::take(&mut s.rows);
    let mut amounts = std::mem::take(&mut s.amounts);
    let mut times = std::mem::take(&mut s.times);
    let mut keys = std::mem::take(&mut s.keys);
    let result = (|| {
        match layout.amount {
            Some(a) => {
                let want = Want {
                    total,
                    rows: &rows,
                    check: Check::Amount,
                    null: Some(0),
                };
                refused |= gather_column(file, meta, a, want, s, &mut amounts)?;
                refused |= !scan.allow_refunds && amounts.iter().any(|&x| f64::from_bits(x) < 0.0);
            }
            None => {
                amounts.clear();
                amounts.resize(rows.len(), 0);
            }
        }
        let t = layout.time;
        let check = Check::Time { scale: scan.scale };
        let want = Want {
            total,
            rows: &rows,
            check,
            null: None,
        };
        refused |= gather_column(file, meta, t, want, s, &mut times)?;
        let k = layout.key;
        let want = Want {
            check: Check::Nothing,
            ..want
        };
        refused |= gather_column(file, meta, k, want, s, &mut keys)?;
        if refused {
            return Err(Stop::Refuse);
        }
        // The purchases before `until`, straight to the sink, their keys checked against the
        // statistics' range (a key outside refuses the whole scan, whose sinks are then
        // dropped, so what reached the sink before does not matter).
        let (lo, range) = (scan.keys.base(), scan.customers as u64);
        let mut outside = false;
        let purchases = keys.iter().zip(&times).zip(&amounts);
        match &scan.keys {
            KeyMap::Range { .. } => {
                for ((&key, &time), &amount) in purchases {
                    // Checked above (no row refused): scaling cannot overflow.
                    let time = (time as i64).wrapping_mul(scan.scale);
                    if time < until {
                        let k = (key as i64).wrapping_sub(lo) as u64;
                        outside |= k >= range;
                        sink.push(k as u32, time, f64::from_bits(amount));
                    }
                }
            }
            KeyMap::Sparse(sparse) => {
                // The keys of the purchases before `until`, ranked together (see `rank_all`) a
                // piece at a time, which bounds the buffers whatever the row group's size.
                let mut before = purchases
                    .zip(0u32..)
                    .filter(|&(((_, &time), _), _)| (time as i64).wrapping_mul(scan.scale) < until)
                    .map(|(((&key, _), _), at)| (key as i64, at))
                    .peekable();
                while !outside && before.peek().is_some() {
                    s.sparse_keys.clear();
                    s.sparse_at.clear();
                    for (key, at) in before.by_ref().take(RANK_PIECE) {
                        s.sparse_keys.push(key);
                        s.sparse_at.push(at);
                    }
                    if !sparse.rank_all(&s.sparse_keys, &mut s.ranking) {
                        outside = true;
                        break;
                    }
                    for (&at, &k) in s.sparse_at.iter().zip(&s.ranking.ranks) {
                        let at = at as usize;
                        if let (Some(&time), Some(&amount)) = (times.get(at), amounts.get(at)) {
                            sink.push(k, (time as i64).wrapping_mul(scan.scale), f64::from_bits(amount));
                        }
                    }
                }
            }
            // the page decoder reads Int64 keys only
            KeyMap::Ranked(_) => return Err(Stop::Fallback),
        }
        if outside {
            return Err(Stop::Refuse);
        }
        Ok(())
    })();
    s.rows = rows;
    s.amounts = amounts;
    s.times = times;
    s.keys = keys;
    result?;
    sink.end_batch();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, RecordBatch};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::{WriterProperties, WriterVersion};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    /// Every 64-bit pattern class survives the page decoder: deltas of every width up to
    /// 64 bits (i64::MIN next to i64::MAX), runs, and steps, in plain, dictionary and delta
    /// pages of both formats.
    #[test]
    fn int64_pages_decode_exactly() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut values: Vec<i64> = Vec::new();
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(match i % 7 {
                0 => i64::MIN,
                1 => i64::MAX,
                2 => (x >> (x % 64)) as i64,
                3 => -(i as i64),
                _ => (x % 1_000) as i64,
            });
        }
        let dir = tempfile::tempdir().unwrap();
        let batch =
            RecordBatch::try_from_iter([("k", std::sync::Arc::new(Int64Array::from(values.clone())) as _)]).unwrap();
        for (v, encoding, dictionary) in [
            (WriterVersion::PARQUET_1_0, Encoding::PLAIN, true),
            (WriterVersion::PARQUET_1_0, Encoding::PLAIN, false),
            (WriterVersion::PARQUET_1_0, Encoding::DELTA_BINARY_PACKED, false),
            (WriterVersion::PARQUET_2_0, Encoding::DELTA_BINARY_PACKED, false),
        ] {
            let path = dir.path().join(format!("{v:?}-{encoding}-{dictionary}.parquet"));
            let props = WriterProperties::builder()
                .set_writer_version(v)
                .set_dictionary_enabled(dictionary)
                .set_dictionary_page_size_limit(4_000)
                .set_encoding(encoding)
                .set_data_page_row_count_limit(1_000)
                .set_write_batch_size(333)
                .set_max_row_group_row_count(Some(7_000))
                .build();
            let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            let meta = SerializedFileReader::new(File::open(&path).unwrap())
                .unwrap()
                .metadata()
                .clone();
            let leaf = Leaf {
                index: 0,
                max_def: 0,
                integer: true,
            };
            let (mut file, mut s, mut got) = (File::open(&path).unwrap(), Scratch::default(), Vec::new());
            for rg in meta.row_groups() {
                let total = rg.num_rows() as usize;
                let rows: Vec<u32> = (0..total as u32).collect();
                let mut c = Column::open(&mut file, rg, leaf, &mut s).ok().unwrap();
                let mut out = Vec::new();
                assert!(
                    gather(
                        &mut c.reader,
                        leaf,
                        Want {
                            total,
                            rows: &rows,
                            check: Check::Nothing,
                            null: None
                        },
                        &mut s,
                        &mut out
                    )
                    .is_ok()
                );
                c.recycle(&mut s.pool);
                got.extend(out.iter().map(|&w| w as i64));
            }
            assert_eq!(got, values, "{v:?} {encoding} dictionary {dictionary}");
        }
    }
}
