//! Parquet's DELTA_BINARY_PACKED encoding of 64-bit integers, decoded.
//!
//! A header (block size in values, miniblocks per block, value count, first value, all
//! ULEB128, the first value zigzag-encoded) is followed by blocks: each holds its minimum
//! delta (zigzag ULEB128), one bit-width byte per miniblock, and the miniblocks' deltas minus
//! that minimum, bit-packed least-significant bit first. Each value is the previous one plus
//! its delta, in wrapping arithmetic. The last miniblock may be padded; the last block may
//! list widths of miniblocks it does not store.

use super::bitpack;
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
    out.resize(count, 0);
    let mut last = zigzag(first);
    let (first_slot, mut rest) = out.split_first_mut()?;
    *first_slot = last;
    let mut deltas = [0u64; 32];
    while !rest.is_empty() {
        let (min_delta, tail) = uleb128(data)?;
        let min_delta = zigzag(min_delta);
        let widths = tail.get(..miniblocks)?;
        data = tail.get(miniblocks..)?;
        for &width in widths {
            if rest.is_empty() {
                break;
            }
            let width = usize::from(width);
            let unpack = bitpack::unpacker(width)?;
            // A miniblock is a whole number of 32-value groups of 4 × width bytes each.
            for _ in 0..per_mini / 32 {
                if data.len() < 4 * width {
                    return None;
                }
                unpack(data, &mut deltas);
                data = data.get(4 * width..)?;
                let take = rest.len().min(32);
                let (dst, tail) = rest.split_at_mut(take);
                for (slot, &d) in dst.iter_mut().zip(&deltas) {
                    last = last.wrapping_add(min_delta).wrapping_add(d);
                    *slot = last;
                }
                rest = tail;
                if rest.is_empty() {
                    break;
                }
            }
        }
    }
    Some(())
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
