//! Parquet's DELTA_BINARY_PACKED encoding of 64-bit integers, decoded.
//!
//! A header (block size in values, miniblocks per block, value count, first value, all
//! ULEB128, the first value zigzag-encoded) is followed by blocks: each holds its minimum
//! delta (zigzag ULEB128), one bit-width byte per miniblock, and the miniblocks' deltas minus
//! that minimum, bit-packed least-significant bit first. Each value is the previous one plus
//! its delta, in wrapping arithmetic. The last miniblock may be padded; the last block may
//! list widths of miniblocks it does not store.

use super::hybrid::uleb128;

/// Appends the first `count` values encoded in `data` to `out` (cleared first); `None` when
/// `data` is malformed or holds fewer than `count` values.
pub(super) fn decode(data: &[u8], count: usize, out: &mut Vec<u64>) -> Option<()> {
    out.clear();
    let (block, data) = uleb128(data)?;
    let (miniblocks, data) = uleb128(data)?;
    let (total, data) = uleb128(data)?;
    let (first, mut data) = uleb128(data)?;
    let block = usize::try_from(block).ok()?;
    let miniblocks = usize::try_from(miniblocks).ok()?;
    // The format requires a block size that is a multiple of 128 and miniblocks of a
    // multiple of 32 values.
    if block == 0 || block % 128 != 0 || miniblocks == 0 || block % miniblocks != 0 || (block / miniblocks) % 32 != 0 {
        return None;
    }
    let total = usize::try_from(total).ok()?;
    if total < count {
        return None;
    }
    if count == 0 {
        return Some(());
    }
    let per_mini = block / miniblocks;
    out.reserve(count);
    let mut last = zigzag(first);
    out.push(last);
    while out.len() < count {
        let (min_delta, rest) = uleb128(data)?;
        let min_delta = zigzag(min_delta);
        let widths = rest.get(..miniblocks)?;
        data = rest.get(miniblocks..)?;
        for &width in widths {
            if out.len() >= count {
                break;
            }
            let width = usize::from(width);
            if width > 64 {
                return None;
            }
            // A miniblock is a whole number of 32-value groups of 4 × width bytes each.
            for _ in 0..per_mini / 32 {
                let bytes = data.get(..4 * width)?;
                data = data.get(4 * width..)?;
                let mut deltas = [0u64; 32];
                unpack32(bytes, width, &mut deltas);
                let take = 32.min(count - out.len());
                for &d in deltas.iter().take(take) {
                    last = last.wrapping_add(min_delta).wrapping_add(d);
                    out.push(last);
                }
                if out.len() >= count {
                    break;
                }
            }
        }
    }
    Some(())
}

/// Unpacks 32 values of `width` bits from `bytes` (4 × `width` bytes, least-significant bit
/// first). Up to 56 bits, each value is one unaligned 8-byte load, a shift and a mask, with
/// no dependency between values.
fn unpack32(bytes: &[u8], width: usize, out: &mut [u64; 32]) {
    if width == 0 {
        *out = [0; 32];
        return;
    }
    let mut buf = [0u8; 4 * 64 + 8];
    if let Some(dst) = buf.get_mut(..bytes.len()) {
        dst.copy_from_slice(bytes);
    }
    if width <= 56 {
        let mask = (1u64 << width) - 1;
        for (i, v) in out.iter_mut().enumerate() {
            let bit = i * width;
            let word = buf
                .get(bit >> 3..)
                .and_then(|b| b.first_chunk::<8>())
                .map_or(0, |w| u64::from_le_bytes(*w));
            *v = (word >> (bit & 7)) & mask;
        }
    } else {
        let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
        // Wider values through a 128-bit buffer (up to 64 + 7 bits held at once).
        let (mut acc, mut bits) = (0u128, 0usize);
        let mut input = buf.iter();
        for v in out.iter_mut() {
            while bits < width {
                acc |= u128::from(input.next().copied().unwrap_or(0)) << bits;
                bits += 8;
            }
            *v = (acc as u64) & mask;
            acc >>= width;
            bits -= width;
        }
    }
}

fn zigzag(v: u64) -> u64 {
    (v >> 1) ^ (v & 1).wrapping_neg()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_maps_back() {
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(1) as i64, -1);
        assert_eq!(zigzag(2), 1);
        assert_eq!(zigzag(u64::MAX) as i64, i64::MIN);
    }

    #[test]
    fn malformed_headers_are_none() {
        let mut out = Vec::new();
        assert!(decode(&[], 1, &mut out).is_none());
        // Block size 100 is not a multiple of 128.
        assert!(decode(&[100, 4, 1, 0], 1, &mut out).is_none());
        // Fewer values than asked for.
        assert!(decode(&[0x80, 0x01, 4, 1, 0], 2, &mut out).is_none());
        // One value: the first, no block needed.
        decode(&[0x80, 0x01, 4, 1, 6], 1, &mut out).unwrap();
        assert_eq!(out, [3]);
    }
}
