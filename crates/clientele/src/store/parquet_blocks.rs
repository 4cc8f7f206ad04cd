//! The parts of a Parquet-storage events file that can be read and verified alone: its
//! leading magic, each row group (all its column chunks) and its tail (page indexes, file
//! metadata, length and magic), each with its own CRC-32 in the manifest beside the whole
//! file's.
//!
//! A point lookup then reads the tail and the one row group whose statistics can hold the
//! customer, and checks only those bytes, instead of reading and checksumming the whole file
//! (184 MB on the 1M-customer store). The parts are found in the metadata of the file just
//! written and must tile it exactly, in order; the checksums of the parts, combined, must be
//! the whole file's. A file laid out otherwise (bloom filters between row groups, say) gets no
//! parts, and a lookup reads it whole as before.

use std::fs::File;
use std::ops::Range;
use std::path::Path;

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData};
use parquet::file::reader::{ChunkReader, Length};

use super::columnar::{BlockEntry, BlockKind};
use super::integrity::FileEntry;
use crate::error::{Error, Result};

/// The byte range of row group `rg`: from its first column chunk's first page to its last
/// column chunk's end; `None` when the metadata's offsets are negative or overflow.
pub(super) fn row_group_range(rg: &RowGroupMetaData) -> Option<Range<u64>> {
    let mut range: Option<Range<u64>> = None;
    for col in rg.columns() {
        let start = col.dictionary_page_offset().unwrap_or(col.data_page_offset());
        let start = u64::try_from(start).ok()?;
        let end = start.checked_add(u64::try_from(col.compressed_size()).ok()?)?;
        range = Some(match range {
            Some(r) => r.start.min(start)..r.end.max(end),
            None => start..end,
        });
    }
    range
}

/// The parts of the Parquet file at `path`, whose whole-file entry is `whole`, with their
/// checksums: empty when its row groups do not tile it (see the [module docs](self)).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::Format`] when its metadata does not
/// parse, and [`Error::CorruptStore`] when the parts' bytes are not the whole file's entry.
pub(super) fn blocks_of(path: &Path, whole: &FileEntry) -> Result<Vec<BlockEntry>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = ParquetMetaDataReader::new()
        .parse_and_finish(&file)
        .map_err(|e| Error::Format {
            source_name: path.display().to_string(),
            format: "parquet",
            message: e.to_string(),
        })?;
    let Some(parts) = tiling(&meta, whole.bytes) else {
        return Ok(Vec::new());
    };
    let mut all = crc32fast::Hasher::new();
    let mut blocks = Vec::with_capacity(parts.len());
    for (kind, range, rows) in parts {
        let len = usize::try_from(range.end - range.start)
            .map_err(|_| Error::io(path, std::io::Error::other("a row group larger than memory")))?;
        let mut buf = vec![0u8; len];
        read_at(&file, &mut buf, range.start).map_err(|e| Error::io(path, e))?;
        let mut h = crc32fast::Hasher::new();
        h.update(&buf);
        all.combine(&h);
        blocks.push(BlockEntry {
            kind,
            offset: range.start,
            bytes: range.end - range.start,
            rows,
            crc32: format!("{:08x}", h.finalize()),
            first_key: None,
            events: None,
        });
    }
    let found = format!("{:08x}", all.finalize());
    if found != whole.crc32 {
        return Err(Error::CorruptStore {
            path: path.to_path_buf(),
            message: format!(
                "{}: its parts checksum to {found}, the file was written as {} (it changed on disk)",
                whole.name, whole.crc32
            ),
        });
    }
    Ok(blocks)
}

/// The head, the row groups and the tail of a file of `len` bytes with metadata `meta`, as
/// (kind, bytes, rows); `None` unless they tile the file in order.
fn tiling(meta: &ParquetMetaData, len: u64) -> Option<Vec<(BlockKind, Range<u64>, u64)>> {
    let groups = meta.row_groups();
    if groups.is_empty() {
        return None;
    }
    let mut parts = Vec::with_capacity(groups.len() + 2);
    let mut at = 0;
    for rg in groups {
        let range = row_group_range(rg)?;
        if at == 0 {
            // The leading magic, before the first row group.
            if range.start == 0 {
                return None;
            }
            parts.push((BlockKind::Head, 0..range.start, 0));
        } else if range.start != at {
            return None;
        }
        at = range.end;
        parts.push((BlockKind::RowGroup, range, u64::try_from(rg.num_rows()).ok()?));
    }
    if at >= len {
        return None;
    }
    parts.push((BlockKind::Footer, at..len, 0));
    Some(parts)
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

/// A Parquet file of which only some byte ranges are in memory (the verified parts a lookup
/// read): reading outside them is an error, never a read of unverified bytes.
pub(super) struct Parts {
    len: u64,
    /// (first byte, bytes), by first byte.
    pieces: Vec<(u64, Bytes)>,
}

impl Parts {
    /// No bytes of a file of `len` bytes yet.
    pub fn new(len: u64) -> Self {
        Parts {
            len,
            pieces: Vec::new(),
        }
    }

    /// Adds the bytes `bytes` that start at byte `offset`.
    pub fn add(&mut self, offset: u64, bytes: Vec<u8>) {
        let at = self.pieces.partition_point(|(o, _)| *o < offset);
        self.pieces.insert(at, (offset, Bytes::from(bytes)));
    }

    /// The piece holding bytes `start..start + len`, sliced to them.
    fn slice(&self, start: u64, len: u64) -> parquet::errors::Result<Bytes> {
        let outside = || {
            ParquetError::General(format!(
                "bytes {start}..{} are not among the parts read (a store whose parts do not match its metadata)",
                start.saturating_add(len)
            ))
        };
        let end = start.checked_add(len).ok_or_else(outside)?;
        let at = self.pieces.partition_point(|(o, _)| *o <= start);
        let (offset, piece) = at.checked_sub(1).and_then(|i| self.pieces.get(i)).ok_or_else(outside)?;
        let from = usize::try_from(start - offset).map_err(|_| outside())?;
        let to = usize::try_from(end - offset).map_err(|_| outside())?;
        if to > piece.len() {
            return Err(outside());
        }
        Ok(piece.slice(from..to))
    }
}

impl Length for Parts {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for Parts {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use bytes::Buf;
        // To the end of the piece that holds `start`.
        let at = self.pieces.partition_point(|(o, _)| *o <= start);
        let rest = at
            .checked_sub(1)
            .and_then(|i| self.pieces.get(i))
            .map_or(0, |(o, p)| (o + p.len() as u64).saturating_sub(start));
        Ok(self.slice(start, rest.max(1))?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.slice(start, length as u64)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;

    #[test]
    fn parts_answer_only_inside_what_was_read() {
        let mut p = Parts::new(100);
        p.add(60, (60..100).collect());
        p.add(4, (4..20).collect());
        assert_eq!(p.get_bytes(4, 16).unwrap().as_ref(), &(4..20).collect::<Vec<u8>>()[..]);
        assert_eq!(
            p.get_bytes(90, 10).unwrap().as_ref(),
            &(90..100).collect::<Vec<u8>>()[..]
        );
        assert_eq!(p.get_bytes(10, 0).unwrap().len(), 0);
        // Across a gap, before the first piece, past a piece's end or the file's.
        for (start, len) in [(18, 5), (0, 4), (19, 2), (95, 10), (u64::MAX, 2)] {
            assert!(p.get_bytes(start, len).is_err(), "{start} {len}");
        }
        let mut rd = p.get_read(96).unwrap();
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut rd, &mut buf).unwrap();
        assert_eq!(buf, vec![96, 97, 98, 99]);
        assert!(p.get_read(30).is_err());
        assert_eq!(p.len(), 100);
    }
}
