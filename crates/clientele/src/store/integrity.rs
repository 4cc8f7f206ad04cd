//! What binds a saved store's files together: per-file sizes and CRC-32 checksums, and a
//! checksum of the manifest's own fields, so that a damaged, edited or mixed store is refused
//! on open instead of giving wrong answers.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::columnar::BlockEntry;

/// Bytes per piece of the parallel checksum.
const PIECE: usize = 16 << 20;

/// CRC-32 (IEEE) of `bytes`: pieces hashed in parallel in the current pool and combined (when
/// called inside one), the same value as one sequential pass.
pub(crate) fn checksum(bytes: &[u8]) -> u32 {
    if rayon::current_thread_index().is_none() {
        // Not inside a pool (a save called outside `Parallelism::install`): one sequential
        // pass, so that rayon's global pool is never started behind the caller's back.
        return crc32fast::hash(bytes);
    }
    let parts: Vec<crc32fast::Hasher> = bytes
        .par_chunks(PIECE)
        .map(|piece| {
            let mut h = crc32fast::Hasher::new();
            h.update(piece);
            h
        })
        .collect();
    let mut all = crc32fast::Hasher::new();
    for p in &parts {
        all.combine(p);
    }
    all.finalize()
}

/// One data file of a store as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileEntry {
    /// The file name inside the store directory.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// CRC-32 of its bytes, 8 lowercase hex digits.
    pub crc32: String,
    /// Its IPC blocks with their own checksums, so that a part of the file can be read and
    /// verified alone (column files of format version 2; empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<BlockEntry>,
}

impl FileEntry {
    /// The entry of `name` with contents `bytes`.
    #[cfg(test)]
    pub fn of(name: String, bytes: &[u8]) -> Self {
        FileEntry {
            name,
            bytes: bytes.len() as u64,
            crc32: format!("{:08x}", crc32fast::hash(bytes)),
            blocks: Vec::new(),
        }
    }

    /// Why `bytes` are not this file's recorded contents, if they are not.
    pub fn mismatch(&self, bytes: &[u8]) -> Option<String> {
        if bytes.len() as u64 != self.bytes {
            return Some(format!(
                "{}: {} bytes, the manifest says {} (a damaged or replaced file)",
                self.name,
                bytes.len(),
                self.bytes
            ));
        }
        let found = format!("{:08x}", checksum(bytes));
        (found != self.crc32).then(|| {
            format!(
                "{}: checksum {found}, the manifest says {} (a damaged or replaced file)",
                self.name, self.crc32
            )
        })
    }
}

/// A writer that hashes what it passes on, so that a saved file's entry costs no second read
/// (one sequential pass: saving takes no thread pool, and its cost is the disk write).
pub(crate) struct Hashing<W> {
    inner: W,
    hasher: crc32fast::Hasher,
    bytes: u64,
}

impl<W: std::io::Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: crc32fast::Hasher::new(),
            bytes: 0,
        }
    }

    /// The entry of the bytes written, as file `name`.
    pub fn entry(&self, name: String) -> FileEntry {
        FileEntry {
            name,
            bytes: self.bytes,
            crc32: format!("{:08x}", self.hasher.clone().finalize()),
            blocks: Vec::new(),
        }
    }
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let done = buf.get(..n).unwrap_or_default();
        self.hasher.update(done);
        self.bytes += done.len() as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The checksum binding a manifest's fields: CRC-32 of one line per field, in a fixed order.
pub(crate) fn binding(fields: &[(&str, String)], files: &[FileEntry]) -> String {
    let mut text = String::new();
    for (k, v) in fields {
        text.push_str(k);
        text.push('=');
        text.push_str(v);
        text.push('\n');
    }
    for f in files {
        text.push_str(&format!("file={} {} {}\n", f.name, f.bytes, f.crc32));
        for b in &f.blocks {
            text.push_str(&b.binding_line());
        }
    }
    format!("{:08x}", crc32fast::hash(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;

    #[test]
    fn the_parallel_checksum_is_the_sequential_crc32() {
        let bytes: Vec<u8> = (0..(PIECE * 2 + 12_345)).map(|i| (i * 31 % 251) as u8).collect();
        assert_eq!(checksum(&bytes), crc32fast::hash(&bytes));
        assert_eq!(checksum(b"123456789"), 0xcbf4_3926, "the CRC-32 check value");
        assert_eq!(checksum(&[]), 0);
    }

    #[test]
    fn the_hashing_writer_records_what_was_written() {
        use std::io::Write;
        let mut h = Hashing::new(Vec::new());
        h.write_all(b"1234").unwrap();
        h.write_all(b"56789").unwrap();
        assert_eq!(h.entry("f".into()), FileEntry::of("f".into(), b"123456789"));
    }

    #[test]
    fn one_flipped_bit_is_a_mismatch() {
        let mut bytes = vec![7u8; 1000];
        let e = FileEntry::of("events.g1.arrow".into(), &bytes);
        assert!(e.mismatch(&bytes).is_none());
        bytes[500] ^= 0x10;
        assert!(e.mismatch(&bytes).unwrap().contains("checksum"));
        assert!(e.mismatch(&bytes[..999]).unwrap().contains("999 bytes"));
    }
}
