//! A bounded walk over the page headers of a Parquet column chunk held in memory, before the
//! Parquet crate parses them.
//!
//! Page headers are Thrift (compact protocol) structures. A damaged header can declare a list
//! of billions of elements; the Parquet crate's parser then skips element after element past
//! the end of its input, each a no-op, for seconds (the fuzz harness found a 38 KB file that
//! took 2.3-6 s). Every element of a compact-protocol list takes at least one byte, so a list
//! longer than the bytes left, a string longer than the bytes left, nesting deeper than any
//! Parquet structure or an unknown type cannot be a header: [`check_chunk`] refuses them in
//! time linear in the chunk's headers. Anything else it leaves to the Parquet crate (a page
//! that runs past the chunk, say, ends the walk without an error), so no file the crate reads
//! is refused here.

/// Nesting deeper than this is not a Parquet page header (the deepest, statistics inside a
/// data page header inside the page header, is 3).
const MAX_DEPTH: u32 = 32;

/// Why bytes cannot be a page header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadHeader {
    /// Offset of the page header in the chunk.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

/// A cursor over one chunk's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

type Step<T> = std::result::Result<T, &'static str>;

impl Cursor<'_> {
    fn left(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    fn byte(&mut self) -> Step<u8> {
        let b = *self.bytes.get(self.at).ok_or("the header runs past the chunk")?;
        self.at += 1;
        Ok(b)
    }

    fn skip(&mut self, n: usize) -> Step<()> {
        if n > self.left() {
            return Err("a field is longer than the bytes left");
        }
        self.at += n;
        Ok(())
    }

    fn varint(&mut self) -> Step<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("a varint longer than 10 bytes")
    }

    fn zigzag(&mut self) -> Step<i64> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// Skips one value of compact type `t` (in a list, booleans take a byte each).
    fn value(&mut self, t: u8, depth: u32, in_list: bool) -> Step<()> {
        match t {
            1 | 2 if !in_list => Ok(()),
            1..=3 => self.skip(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let n = usize::try_from(self.varint()?).map_err(|_| "a string longer than memory")?;
                self.skip(n)
            }
            9 | 10 => {
                let head = self.byte()?;
                let short = usize::from(head >> 4);
                let n = if short == 15 {
                    usize::try_from(self.varint()?).map_err(|_| "a list longer than memory")?
                } else {
                    short
                };
                if n > self.left() {
                    return Err("a list has more elements than bytes left");
                }
                for _ in 0..n {
                    self.value(head & 0x0f, depth + 1, true)?;
                }
                Ok(())
            }
            11 => {
                let n = usize::try_from(self.varint()?).map_err(|_| "a map longer than memory")?;
                if n == 0 {
                    return Ok(());
                }
                let kinds = self.byte()?;
                if n > self.left() {
                    return Err("a map has more entries than bytes left");
                }
                for _ in 0..n {
                    self.value(kinds >> 4, depth + 1, true)?;
                    self.value(kinds & 0x0f, depth + 1, true)?;
                }
                Ok(())
            }
            12 => self.structure(depth + 1).map(|_| ()),
            _ => Err("an unknown Thrift type"),
        }
    }

    /// Skips a struct; returns its field 3 when it is an i32 (a page header's
    /// `compressed_page_size`).
    fn structure(&mut self, depth: u32) -> Step<Option<i64>> {
        if depth > MAX_DEPTH {
            return Err("structures nested deeper than a page header's");
        }
        let mut id = 0i64;
        let mut field3 = None;
        loop {
            let head = self.byte()?;
            if head == 0 {
                return Ok(field3);
            }
            let t = head & 0x0f;
            id = match head >> 4 {
                0 => self.zigzag()?,
                delta => id + i64::from(delta),
            };
            if id == 3 && t == 5 {
                field3 = Some(self.zigzag()?);
            } else {
                self.value(t, depth, false)?;
            }
        }
    }
}

/// Walks the page headers of the column chunk `chunk` (its bytes from its first page): each
/// header, then its `compressed_page_size` bytes, to the chunk's end.
///
/// # Errors
/// [`BadHeader`] for a header that cannot be one (see the module docs); a walk that cannot
/// continue for another reason (a page past the chunk, a header the walk does not end) stops
/// without an error.
pub(crate) fn check_chunk(chunk: &[u8]) -> std::result::Result<(), BadHeader> {
    let mut c = Cursor { bytes: chunk, at: 0 };
    while c.left() > 0 {
        let offset = c.at;
        let size = match c.structure(0) {
            Ok(Some(size)) => size,
            Ok(None) => return Ok(()),
            Err("the header runs past the chunk") => return Ok(()),
            Err(reason) => return Err(BadHeader { offset, reason }),
        };
        match usize::try_from(size) {
            Ok(n) if n <= c.left() => c.at += n,
            _ => return Ok(()),
        }
    }
    Ok(())
}

/// Errors of a walk over a window that a longer window might not give: the header (or a field
/// of it) may go on past the window's end.
fn may_need_more(reason: &str) -> bool {
    matches!(
        reason,
        "the header runs past the chunk"
            | "a field is longer than the bytes left"
            | "a list has more elements than bytes left"
            | "a map has more entries than bytes left"
    )
}

/// The first window [`check_chunk_in`] reads for a header: headers are tens of bytes, with
/// statistics a few hundred.
pub(crate) const HEADER_WINDOW: usize = 64 << 10;

/// [`check_chunk`] over a column chunk left in `file` (bytes `start..start + len`), for chunks
/// too large to hold: each header is read in a window of `window` bytes, grown (up to the rest
/// of the chunk) while the header may go on past it, and the walk seeks over the page bodies.
/// It reads a few kilobytes per page, so a chunk of hundreds of megabytes costs a few
/// megabytes of reads.
///
/// # Errors
/// As [`check_chunk`]: [`BadHeader`] (its offset counted from `start`) for a header that
/// cannot be one; a read that fails ends the walk without an error (the Parquet crate reports
/// it).
pub(crate) fn check_chunk_in<R: std::io::Read + std::io::Seek>(
    file: &mut R,
    start: u64,
    len: u64,
    window: usize,
) -> std::result::Result<(), BadHeader> {
    let mut at = 0u64;
    let mut size = window.max(1);
    let mut buf = Vec::new();
    while at < len {
        let rest = len - at;
        let want = usize::try_from(rest).map_or(size, |r| r.min(size));
        buf.resize(want, 0);
        let read = file
            .seek(std::io::SeekFrom::Start(start.saturating_add(at)))
            .and_then(|_| file.read_exact(&mut buf));
        if read.is_err() {
            return Ok(());
        }
        let mut c = Cursor { bytes: &buf, at: 0 };
        let offset = usize::try_from(at).unwrap_or(usize::MAX);
        match c.structure(0) {
            Ok(Some(body)) => match u64::try_from(body) {
                Ok(n) if n <= rest - c.at as u64 => {
                    at += c.at as u64 + n;
                    size = window.max(1);
                }
                _ => return Ok(()),
            },
            Ok(None) => return Ok(()),
            Err(reason) if may_need_more(reason) && (want as u64) < rest => {
                size = size.saturating_mul(4);
            }
            Err("the header runs past the chunk") => return Ok(()),
            Err(reason) => return Err(BadHeader { offset, reason }),
        }
    }
    Ok(())
}

/// The message for a damaged header of column `column` at file offset `at`.
pub(crate) fn damaged(column: usize, at: u64, reason: &str) -> String {
    format!("column {column}: the page header at byte {at} is damaged ({reason})")
}

/// [`check_chunk`] over the column chunks of `group` that `wanted` selects, whose bytes are
/// `bytes` from file offset `base` on (chunks partly outside are checked as far as held).
///
/// # Errors
/// A message naming the column and the damaged header's file offset.
pub(crate) fn check_row_group(
    group: &parquet::file::metadata::RowGroupMetaData,
    bytes: &[u8],
    base: u64,
    wanted: impl Fn(usize) -> bool,
) -> std::result::Result<(), String> {
    for (i, c) in group.columns().iter().enumerate() {
        if !wanted(i) {
            continue;
        }
        let (start, len) = c.byte_range();
        let from = usize::try_from(start.saturating_sub(base))
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let to = usize::try_from(start.saturating_add(len).saturating_sub(base))
            .unwrap_or(usize::MAX)
            .clamp(from, bytes.len());
        if let Some(chunk) = bytes.get(from..to)
            && let Err(bad) = check_chunk(chunk)
        {
            return Err(damaged(i, base + (from + bad.offset) as u64, bad.reason));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;

    fn zigzag(v: i64) -> Vec<u8> {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        let mut out = Vec::new();
        loop {
            let b = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    /// A page header: type (field 1, i32), uncompressed and compressed sizes (2, 3), then
    /// `extra` as field 4's value bytes of type `t`, then the page body.
    fn page(body: usize, extra: Option<(u8, Vec<u8>)>) -> Vec<u8> {
        let mut h = vec![0x15];
        h.extend(zigzag(0));
        h.push(0x15);
        h.extend(zigzag(body as i64));
        h.push(0x15);
        h.extend(zigzag(body as i64));
        if let Some((t, bytes)) = extra {
            h.push(0x10 | t);
            h.extend(bytes);
        }
        h.push(0);
        h.extend(vec![7u8; body]);
        h
    }

    #[test]
    fn well_formed_headers_pass_and_the_walk_follows_the_sizes() {
        let mut chunk = page(100, None);
        chunk.extend(page(3, Some((12, vec![0x15, 0x02, 0x00])))); // a nested struct
        chunk.extend(page(0, Some((9, vec![0x33, 1, 2, 3])))); // a list of 3 bytes
        chunk.extend(page(5, Some((11, vec![0])))); // an empty map
        assert_eq!(check_chunk(&chunk), Ok(()));
        // a truncated chunk is left to the Parquet crate
        assert_eq!(check_chunk(&chunk[..chunk.len() - 2]), Ok(()));
        assert_eq!(check_chunk(&[]), Ok(()));
    }

    #[test]
    fn the_walk_through_a_reader_agrees_with_the_walk_in_memory() {
        let mut chunk = page(100, None);
        chunk.extend(page(3, Some((12, vec![0x15, 0x02, 0x00]))));
        // a string of 300 bytes (varint 0xac 0x02): longer than the small windows
        let mut long_string = vec![0xac, 0x02];
        long_string.extend(vec![b'x'; 300]);
        chunk.extend(page(0, Some((8, long_string))));
        chunk.extend(page(7, Some((9, vec![0x33, 1, 2, 3]))));
        let mut file = vec![9u8; 11];
        file.extend(&chunk);
        file.extend([1, 2, 3]);
        for window in [1, 5, 16, 64, 1 << 16] {
            let mut r = std::io::Cursor::new(file.clone());
            assert_eq!(
                check_chunk_in(&mut r, 11, chunk.len() as u64, window),
                Ok(()),
                "window {window}"
            );
            // a chunk cut short is left to the Parquet crate, as in memory
            assert_eq!(check_chunk_in(&mut r, 11, chunk.len() as u64 - 2, window), Ok(()));
        }
        // a damaged header in the third page: the same offset as the walk in memory
        let mut bad = page(4, None);
        bad.extend(page(5, None));
        let offset = bad.len();
        let mut long = vec![0xf3];
        long.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
        bad.extend(page(0, Some((9, long))));
        bad.extend(page(2, None));
        let want = check_chunk(&bad).unwrap_err();
        assert_eq!(want.offset, offset);
        for window in [1, 3, 16, 1 << 16] {
            let mut r = std::io::Cursor::new(bad.clone());
            assert_eq!(
                check_chunk_in(&mut r, 0, bad.len() as u64, window),
                Err(want.clone()),
                "window {window}"
            );
        }
        // a chunk past the end of the file ends the walk without an error
        let mut r = std::io::Cursor::new(bad.clone());
        assert_eq!(check_chunk_in(&mut r, 0, bad.len() as u64 + 100, 8), Ok(()));
    }

    #[test]
    fn impossible_headers_are_refused_fast() {
        // a list of 2^40 bytes in a 20-byte chunk
        let mut long = vec![0xf3];
        long.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
        let bad = page(0, Some((9, long)));
        let e = check_chunk(&bad).unwrap_err();
        assert_eq!(e.reason, "a list has more elements than bytes left");
        // a string longer than the chunk
        let e = check_chunk(&page(0, Some((8, vec![0xff, 0x7f])))).unwrap_err();
        assert_eq!(e.reason, "a field is longer than the bytes left");
        // nesting deeper than any header
        let mut deep = vec![0x1c; 40];
        deep.extend(vec![0; 41]);
        let e = check_chunk(&deep).unwrap_err();
        assert_eq!(e.reason, "structures nested deeper than a page header's");
        // an unknown type, in the second page
        let mut two = page(4, None);
        let offset = two.len();
        two.extend(page(0, Some((13, vec![]))));
        assert_eq!(
            check_chunk(&two),
            Err(BadHeader {
                offset,
                reason: "an unknown Thrift type"
            })
        );
    }
}
