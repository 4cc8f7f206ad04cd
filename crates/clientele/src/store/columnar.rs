//! The column files of a saved store (format version 2): one Arrow IPC file per column,
//! buffers compressed with zstd, rows in batches of [`BLOCK_ROWS`], and every IPC block's
//! place, size and CRC-32 recorded in the manifest.
//!
//! Because each column is its own file, a command reads only the columns it needs; because
//! each block is checksummed on its own, a point lookup reads and verifies only the footer,
//! the dictionaries and the blocks that hold one customer's rows. Opening a whole file still
//! verifies the whole file's checksum, and its batches decode in parallel.
//!
//! The files are plain Arrow IPC files (with the standard buffer compression), so pyarrow,
//! Polars or DuckDB read them as they are.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::{FileDecoder, read_footer_length};
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
use arrow_ipc::{Block, CompressionType, MetadataVersion};
use arrow_schema::SchemaRef;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::integrity::checksum;
use crate::error::{Error, Result};

/// Rows per IPC record batch in a column file: small enough that a point lookup decodes little
/// (512 KB of an 8-byte column), large enough that compression works and the manifest stays
/// short (291 blocks per column at 19M events, a 381 KB manifest). At 262,144 rows a lookup
/// on the 1M-customer store took 37 ms, at 65,536 15 ms; the store grew by 2.3%.
pub(crate) const BLOCK_ROWS: usize = 1 << 16;

/// What an IPC block of a column file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BlockKind {
    /// A dictionary batch (read before any record batch).
    Dictionary,
    /// A record batch of `rows` rows.
    Batch,
    /// The footer (schema and block index) with the trailing length and magic; in a
    /// Parquet events file, everything after the last row group (page indexes, file metadata,
    /// length and magic).
    Footer,
    /// The leading magic of a Parquet events file.
    Head,
    /// One row group of a Parquet events file (`rows` rows): all its column chunks.
    RowGroup,
}

impl BlockKind {
    fn as_str(self) -> &'static str {
        match self {
            BlockKind::Dictionary => "dictionary",
            BlockKind::Batch => "batch",
            BlockKind::Footer => "footer",
            BlockKind::Head => "head",
            BlockKind::RowGroup => "row_group",
        }
    }
}

/// One block of a column file as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlockEntry {
    /// What the block holds.
    pub kind: BlockKind,
    /// Its first byte in the file.
    pub offset: u64,
    /// Its length in bytes.
    pub bytes: u64,
    /// Rows of a record batch (0 for the other kinds).
    #[serde(default)]
    pub rows: u64,
    /// CRC-32 of its bytes, 8 lowercase hex digits.
    pub crc32: String,
    /// For a record batch of a customers file: its first customer key, so that a point
    /// lookup reads only the one block that can hold a key (absent in older stores, which
    /// a lookup then reads whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_key: Option<BlockKey>,
    /// For a record batch of a customers file: the events of its customers, so that a lookup
    /// finds a customer's first event row without reading the blocks before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
}

/// The first customer key of a customers-file block, as the manifest records it (a JSON
/// number for integer keys, a string for string keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum BlockKey {
    /// An integer key.
    Int(i64),
    /// A string key.
    Str(String),
}

impl BlockKey {
    /// Whether `key` (a block's first key as read) is this recorded first key.
    pub fn is(&self, key: Option<super::KeyRef<'_>>) -> bool {
        match (key, self) {
            (Some(super::KeyRef::Int(a)), BlockKey::Int(k)) => a == *k,
            (Some(super::KeyRef::Str(a)), BlockKey::Str(k)) => a == k,
            _ => false,
        }
    }
}

impl BlockEntry {
    /// The line this block adds to the manifest's binding checksum.
    pub fn binding_line(&self) -> String {
        let mut line = format!(
            "block={} {} {} {} {}",
            self.kind.as_str(),
            self.offset,
            self.bytes,
            self.rows,
            self.crc32
        );
        // Stores saved before these fields existed keep their binding.
        match &self.first_key {
            Some(BlockKey::Int(k)) => line.push_str(&format!(" key=i{k}")),
            Some(BlockKey::Str(k)) => line.push_str(&format!(" key=s{}:{k}", k.len())),
            None => {}
        }
        if let Some(n) = self.events {
            line.push_str(&format!(" events={n}"));
        }
        line.push('\n');
        line
    }

    fn range(&self) -> std::result::Result<Range<usize>, String> {
        let start = usize::try_from(self.offset).map_err(|_| "block offset beyond memory")?;
        let len = usize::try_from(self.bytes).map_err(|_| "block length beyond memory")?;
        let end = start.checked_add(len).ok_or("block end overflows")?;
        Ok(start..end)
    }

    fn mismatch(&self, bytes: &[u8]) -> Option<String> {
        let found = format!("{:08x}", checksum(bytes));
        (bytes.len() as u64 != self.bytes || found != self.crc32).then(|| {
            format!(
                "{} block at byte {}: checksum {found}, the manifest says {} (a damaged or replaced file)",
                self.kind.as_str(),
                self.offset,
                self.crc32
            )
        })
    }
}

/// A parsed IPC footer: the schema and the dictionary and record-batch blocks.
struct Footer {
    schema: SchemaRef,
    version: MetadataVersion,
    dictionaries: Vec<Block>,
    batches: Vec<Block>,
    /// Where the footer starts in the bytes it was parsed from.
    start: usize,
}

/// Parses the footer at the end of `tail` (the whole file, or its last bytes from the footer
/// on). The footer is untrusted: its fields are checked before use.
fn parse_footer(tail: &[u8]) -> std::result::Result<Footer, String> {
    let len = tail.len();
    let trailer: [u8; 10] = tail
        .get(len.saturating_sub(10)..)
        .and_then(|t| t.try_into().ok())
        .ok_or("file too short for an Arrow IPC footer")?;
    let footer_len = read_footer_length(trailer).map_err(|e| e.to_string())?;
    let start = len
        .checked_sub(10 + footer_len)
        .ok_or("footer length beyond the file")?;
    let bytes = tail.get(start..len - 10).ok_or("footer beyond the file")?;
    let footer = arrow_ipc::root_as_footer(bytes).map_err(|e| e.to_string())?;
    let fb_schema = footer.schema().ok_or("footer has no schema")?;
    if fb_schema.endianness() != arrow_ipc::Endianness::Little {
        return Err("big-endian Arrow IPC files are not supported".into());
    }
    Ok(Footer {
        schema: Arc::new(arrow_ipc::convert::fb_to_schema(fb_schema)),
        version: footer.version(),
        dictionaries: footer.dictionaries().iter().flatten().copied().collect(),
        batches: footer.recordBatches().iter().flatten().copied().collect(),
        start,
    })
}

/// The byte range of `block` in a file of `len` bytes, checked.
fn block_range(block: &Block, len: usize) -> std::result::Result<Range<usize>, String> {
    let start = usize::try_from(block.offset()).map_err(|_| "negative block offset")?;
    let size = usize::try_from(block.bodyLength()).map_err(|_| "negative block length")?
        + usize::try_from(block.metaDataLength()).map_err(|_| "negative metadata length")?;
    if size < 8 || start.checked_add(size).is_none_or(|end| end > len) {
        return Err("block beyond the end of the file, or too small".into());
    }
    Ok(start..start + size)
}

/// Decodes a whole Arrow IPC file held in one buffer without copying its (uncompressed) data
/// again; record batches decode in parallel in the current pool, each under the decode guard
/// (a decoder panic on damaged bytes becomes [`Error::Format`] naming `name`). The footer is
/// untrusted: every block range is checked before use. A file without batches gives one empty
/// batch of its schema.
pub(crate) fn decode_file(name: &str, bytes: Vec<u8>) -> Result<Vec<RecordBatch>> {
    let fmt_err = |message: String| Error::Format {
        source_name: name.to_string(),
        format: "arrow-ipc",
        message,
    };
    let buffer = Buffer::from_vec(bytes);
    let len = buffer.len();
    // The footer's schema conversion asserts on some damage: under the guard too.
    let footer = crate::error::guard_decode(name, "arrow-ipc", || parse_footer(buffer.as_slice()).map_err(fmt_err))?;
    let mut decoder = FileDecoder::new(footer.schema.clone(), footer.version);
    for block in &footer.dictionaries {
        let r = block_range(block, len).map_err(fmt_err)?;
        let data = buffer.slice_with_length(r.start, r.len());
        crate::error::guard_decode(name, "arrow-ipc", || {
            decoder
                .read_dictionary(block, &data)
                .map_err(|e| fmt_err(e.to_string()))
        })?;
    }
    let decoded: Vec<Option<RecordBatch>> = footer
        .batches
        .par_iter()
        .map(|block| {
            let r = block_range(block, len).map_err(fmt_err)?;
            let data = buffer.slice_with_length(r.start, r.len());
            crate::error::guard_decode(name, "arrow-ipc", || {
                decoder
                    .read_record_batch(block, &data)
                    .map_err(|e| fmt_err(e.to_string()))
            })
        })
        .collect::<Result<_>>()?;
    let mut out: Vec<RecordBatch> = decoded.into_iter().flatten().collect();
    if out.is_empty() {
        out.push(RecordBatch::new_empty(footer.schema));
    }
    Ok(out)
}

/// Encodes `batch` as an Arrow IPC file in memory (zstd-compressed buffers, record batches of
/// `block_rows` rows, [`BLOCK_ROWS`] in a full save) and lists its blocks with their checksums.
pub(crate) fn encode(batch: &RecordBatch, block_rows: usize) -> Result<(Vec<u8>, Vec<BlockEntry>)> {
    let block_rows = block_rows.max(1);
    let options = IpcWriteOptions::default().try_with_compression(Some(CompressionType::ZSTD))?;
    let mut bytes = Vec::new();
    let mut rows = Vec::new();
    {
        let mut w = FileWriter::try_new_with_options(&mut bytes, &batch.schema(), options)?;
        let mut start = 0;
        while start < batch.num_rows() {
            let n = block_rows.min(batch.num_rows() - start);
            w.write(&batch.slice(start, n))?;
            rows.push(n as u64);
            start += n;
        }
        w.finish()?;
    }
    let internal = |message: String| Error::Capacity {
        message: format!("internal: an Arrow IPC file just written does not parse: {message}"),
    };
    let footer = parse_footer(&bytes).map_err(internal)?;
    if footer.batches.len() != rows.len() {
        return Err(internal("block count".into()));
    }
    let entry = |kind, range: Range<usize>, rows: u64| -> Result<BlockEntry> {
        let piece = bytes.get(range.clone()).ok_or_else(|| internal("block range".into()))?;
        Ok(BlockEntry {
            kind,
            offset: range.start as u64,
            bytes: range.len() as u64,
            rows,
            crc32: format!("{:08x}", checksum(piece)),
            first_key: None,
            events: None,
        })
    };
    let mut blocks = Vec::with_capacity(footer.dictionaries.len() + rows.len() + 1);
    for b in &footer.dictionaries {
        blocks.push(entry(
            BlockKind::Dictionary,
            block_range(b, bytes.len()).map_err(internal)?,
            0,
        )?);
    }
    for (b, &n) in footer.batches.iter().zip(&rows) {
        blocks.push(entry(
            BlockKind::Batch,
            block_range(b, bytes.len()).map_err(internal)?,
            n,
        )?);
    }
    blocks.push(entry(BlockKind::Footer, footer.start..bytes.len(), 0)?);
    Ok((bytes, blocks))
}

/// Reads the bytes of block `entry` of `file`, verified against `entry`.
pub(crate) fn read_block(file: &mut File, path: &Path, entry: &BlockEntry) -> Result<Vec<u8>> {
    let corrupt = |message: String| Error::CorruptStore {
        path: path.to_path_buf(),
        message,
    };
    let range = entry.range().map_err(&corrupt)?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if range.end as u64 > file_len {
        return Err(corrupt(format!(
            "{} block at byte {} runs past the file's {file_len} bytes",
            entry.kind.as_str(),
            entry.offset
        )));
    }
    let mut buf = vec![0u8; range.len()];
    file.seek(SeekFrom::Start(entry.offset))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(|e| Error::io(path, e))?;
    match entry.mismatch(&buf) {
        Some(why) => Err(corrupt(why)),
        None => Ok(buf),
    }
}

/// Rows `rows` of the column file at `path` whose blocks are `blocks`: reads and verifies only
/// the footer, the dictionaries and the record batches that overlap `rows`, and returns those
/// batches sliced to `rows` (one empty batch of the file's schema when `rows` is empty).
pub(crate) fn read_rows(path: &Path, blocks: &[BlockEntry], rows: Range<usize>) -> Result<Vec<RecordBatch>> {
    let shown = path.display().to_string();
    let corrupt = |message: String| Error::CorruptStore {
        path: path.to_path_buf(),
        message: format!("{shown}: {message}"),
    };
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let footer_entry = blocks
        .iter()
        .find(|b| b.kind == BlockKind::Footer)
        .ok_or_else(|| corrupt("the manifest lists no footer".into()))?;
    let tail = read_block(&mut file, path, footer_entry)?;
    let footer = crate::error::guard_decode(&shown, "arrow-ipc", || parse_footer(&tail).map_err(&corrupt))?;
    let dict_entries: Vec<&BlockEntry> = blocks.iter().filter(|b| b.kind == BlockKind::Dictionary).collect();
    let batch_entries: Vec<&BlockEntry> = blocks.iter().filter(|b| b.kind == BlockKind::Batch).collect();
    if dict_entries.len() != footer.dictionaries.len() || batch_entries.len() != footer.batches.len() {
        return Err(corrupt("the footer and the manifest list different blocks".into()));
    }
    let same = |block: &Block, entry: &BlockEntry| {
        u64::try_from(block.offset()).ok() == Some(entry.offset)
            && u64::try_from(block.bodyLength())
                .ok()
                .zip(u64::try_from(block.metaDataLength()).ok())
                .map(|(b, m)| b + m)
                == Some(entry.bytes)
    };
    let mut decoder = FileDecoder::new(footer.schema.clone(), footer.version);
    for (block, entry) in footer.dictionaries.iter().zip(&dict_entries) {
        if !same(block, entry) {
            return Err(corrupt("a dictionary block differs from the manifest".into()));
        }
        let bytes = read_block(&mut file, path, entry)?;
        crate::error::guard_decode(&shown, "arrow-ipc", || {
            decoder
                .read_dictionary(block, &Buffer::from_vec(bytes))
                .map_err(Error::from)
        })?;
    }
    let mut out = Vec::new();
    let mut first = 0usize;
    for (block, entry) in footer.batches.iter().zip(&batch_entries) {
        let n = usize::try_from(entry.rows).map_err(|_| corrupt("block rows beyond memory".into()))?;
        let end = first
            .checked_add(n)
            .ok_or_else(|| corrupt("block rows overflow".into()))?;
        let here = first..end;
        first = end;
        let lo = rows.start.max(here.start);
        let hi = rows.end.min(here.end);
        if lo >= hi {
            continue;
        }
        if !same(block, entry) {
            return Err(corrupt("a record batch block differs from the manifest".into()));
        }
        let bytes = read_block(&mut file, path, entry)?;
        let batch = crate::error::guard_decode(&shown, "arrow-ipc", || {
            decoder
                .read_record_batch(block, &Buffer::from_vec(bytes))
                .map_err(Error::from)
        })?
        .ok_or_else(|| corrupt("a record batch block holds no batch".into()))?;
        if batch.num_rows() != n {
            return Err(corrupt("a record batch has other rows than the manifest says".into()));
        }
        out.push(batch.slice(lo - here.start, hi - lo));
    }
    if rows.end > first {
        return Err(corrupt(format!("rows {rows:?} beyond the file's {first} rows")));
    }
    if out.is_empty() {
        out.push(RecordBatch::new_empty(footer.schema));
    }
    Ok(out)
}
