//! One Parquet row group's bytes, read ahead into memory for the Arrow reader.
//!
//! Over a `File`, the Parquet page reader parses each page header through a reader that goes
//! to the operating system for every small read, and a damaged header (a long list of fields
//! to skip) then costs one system call per field: the fuzz harness found 38 KB files that
//! took 30 s. Reading the row group's column chunks into memory first makes the same parse a
//! walk over a buffer (an error within milliseconds) and replaces many small reads by one
//! positional read per row group. Before the crate parses them, the page headers of each
//! chunk are walked once with every length bounded by the bytes left (`page_headers`): a
//! header that declares a list of billions of elements is refused at once instead of being
//! skipped element by element for seconds. Row groups too large to read ahead (Spark's 128 MB
//! ones) are read through the file, after the same walk through the file (a few kilobytes read
//! per page).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use bytes::{Buf, Bytes};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};

use crate::error::{Error, Result};

/// Row groups whose projected column chunks span more bytes than this are read through the
/// file instead of ahead (Spark-like files have row groups of hundreds of MB).
pub(crate) const READ_AHEAD_MAX: u64 = 32 << 20;

/// An Arrow reader of row group `rg` of `path` (columns `mask`, batches of `batch_size` rows):
/// over the row group's bytes read ahead, or over the file when they exceed
/// [`READ_AHEAD_MAX`].
///
/// # Errors
/// [`Error::Io`] / [`Error::Format`] when the file cannot be read or the reader not built.
pub(crate) fn reader(
    path: &Path,
    meta: &ArrowReaderMetadata,
    rg: usize,
    mask: &ProjectionMask,
    batch_size: usize,
) -> Result<ParquetRecordBatchReader> {
    fn build<T: ChunkReader + 'static>(
        input: T,
        path: &Path,
        meta: &ArrowReaderMetadata,
        rg: usize,
        mask: &ProjectionMask,
        batch_size: usize,
    ) -> Result<ParquetRecordBatchReader> {
        ParquetRecordBatchReaderBuilder::new_with_metadata(input, meta.clone())
            .with_projection(mask.clone())
            .with_row_groups(vec![rg])
            .with_batch_size(batch_size)
            .build()
            .map_err(|e| Error::parquet(&path.display().to_string(), e))
    }
    match RowGroupBytes::read(path, meta.metadata(), rg, mask)? {
        Some(bytes) => build(bytes, path, meta, rg, mask, batch_size),
        None => build(
            File::open(path).map_err(|e| Error::io(path, e))?,
            path,
            meta,
            rg,
            mask,
            batch_size,
        ),
    }
}

/// The bytes of one row group's projected column chunks (`start..start + data.len()` of the
/// file; chunks between them that the projection skips are read too, in the same read).
pub(crate) struct RowGroupBytes {
    start: u64,
    data: Bytes,
    file_len: u64,
}

impl RowGroupBytes {
    /// Reads the byte range that holds the column chunks of row group `rg` of `path` that
    /// `mask` projects, clamped to the file's length (a damaged footer cannot make it read
    /// past the end).
    ///
    /// `None` when those chunks span more than [`READ_AHEAD_MAX`] bytes (the caller reads
    /// through the file: one row group per worker must not cost its whole size in memory); their
    /// page headers are walked through the file first.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Format`] for a row group index
    /// beyond the footer's.
    pub(crate) fn read(path: &Path, meta: &ParquetMetaData, rg: usize, mask: &ProjectionMask) -> Result<Option<Self>> {
        let name = path.display().to_string();
        let group = meta.row_groups().get(rg).ok_or_else(|| Error::Format {
            source_name: name.clone(),
            format: "parquet",
            message: format!("row group {rg} beyond the footer's {}", meta.num_row_groups()),
        })?;
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let (mut lo, mut hi) = (u64::MAX, 0u64);
        for (i, c) in group.columns().iter().enumerate() {
            if !mask.leaf_included(i) {
                continue;
            }
            let (s, n) = c.byte_range();
            lo = lo.min(s);
            hi = hi.max(s.saturating_add(n));
        }
        let lo = lo.min(file_len);
        let hi = hi.clamp(lo, file_len);
        if hi - lo > READ_AHEAD_MAX {
            // Too large to hold: the headers are walked through the file instead.
            for (i, c) in group.columns().iter().enumerate() {
                if !mask.leaf_included(i) {
                    continue;
                }
                let (s, n) = c.byte_range();
                let s = s.min(file_len);
                let n = n.min(file_len - s);
                let window = crate::io::page_headers::HEADER_WINDOW;
                if let Err(bad) = crate::io::page_headers::check_chunk_in(&mut file, s, n, window) {
                    return Err(Error::Format {
                        source_name: name,
                        format: "parquet",
                        message: format!(
                            "row group {rg}, {}",
                            crate::io::page_headers::damaged(i, s + bad.offset as u64, bad.reason)
                        ),
                    });
                }
            }
            return Ok(None);
        }
        let len = usize::try_from(hi - lo).map_err(|_| Error::Format {
            source_name: name.clone(),
            format: "parquet",
            message: "row group larger than memory".into(),
        })?;
        let mut data = vec![0u8; len];
        file.seek(SeekFrom::Start(lo))
            .and_then(|_| file.read_exact(&mut data))
            .map_err(|e| Error::io(path, e))?;
        // Page headers that cannot be ones are refused before the Parquet crate's parser
        // walks them (see `io::page_headers`).
        if let Err(why) = crate::io::page_headers::check_row_group(group, &data, lo, |i| mask.leaf_included(i)) {
            return Err(Error::Format {
                source_name: name,
                format: "parquet",
                message: format!("row group {rg}, {why}"),
            });
        }
        Ok(Some(RowGroupBytes {
            start: lo,
            data: Bytes::from(data),
            file_len,
        }))
    }

    /// The held bytes from absolute file offset `start` on.
    fn from(&self, start: u64) -> parquet::errors::Result<Bytes> {
        let off = start
            .checked_sub(self.start)
            .and_then(|o| usize::try_from(o).ok())
            .filter(|&o| o <= self.data.len())
            .ok_or_else(|| {
                ParquetError::General(format!(
                    "offset {start} outside the row group's column chunks ({}..{})",
                    self.start,
                    self.start + self.data.len() as u64
                ))
            })?;
        Ok(self.data.slice(off..))
    }
}

impl Length for RowGroupBytes {
    fn len(&self) -> u64 {
        self.file_len
    }
}

impl ChunkReader for RowGroupBytes {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.from(start)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let rest = self.from(start)?;
        if length > rest.len() {
            return Err(ParquetError::EOF(format!(
                "{length} bytes at offset {start}: the column chunks end {} bytes later",
                rest.len()
            )));
        }
        Ok(rest.slice(..length))
    }
}
