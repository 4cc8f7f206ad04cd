//! Parquet's RLE / bit-packed hybrid encoding, decoded into `u32`s.
//!
//! Dictionary indices and definition levels are stored as a sequence of runs, each led by a
//! ULEB128 header: an even header `2n` is a run of `n` copies of one value stored in
//! ⌈width / 8⌉ little-endian bytes; an odd header `2g + 1` is `g` groups of 8 values packed
//! least-significant bit first, `width` bytes a group. The last group may carry padding
//! values beyond the count, which are dropped.

use super::bitpack;

/// Appends the first `count` values of the hybrid-encoded `data` of bit width `width` to
/// `out` (cleared first); `None` when `data` ends early, a header is malformed or `width`
/// exceeds 32.
pub(super) fn decode(mut data: &[u8], width: u8, count: usize, out: &mut Vec<u32>) -> Option<()> {
    out.clear();
    if width > 32 {
        return None;
    }
    out.reserve(count);
    let width = usize::from(width);
    let value_bytes = width.div_ceil(8);
    while out.len() < count {
        let (header, rest) = uleb128(data)?;
        data = rest;
        let left = count - out.len();
        if header & 1 == 0 {
            let run = usize::try_from(header >> 1).ok()?;
            let bytes = data.get(..value_bytes)?;
            data = data.get(value_bytes..)?;
            let value = bytes.iter().rev().fold(0u32, |v, &b| (v << 8) | u32::from(b));
            if run == 0 || (width < 32 && value >> width != 0) {
                // A zero-length run makes no progress, and a run value wider than the bit
                // width is not a value of the stream: malformed.
                return None;
            }
            out.resize(out.len() + run.min(left), value);
        } else {
            let groups = usize::try_from(header >> 1).ok()?;
            let len = groups.checked_mul(width)?;
            if groups == 0 || data.len() < len {
                return None;
            }
            // Only the groups holding wanted values are unpacked (the rest is padding or
            // beyond the count), 32 values (4 groups) at a time.
            let take = left.min(groups.saturating_mul(8));
            let unpack = bitpack::unpacker(width)?;
            let start = out.len();
            out.resize(start + take, 0);
            let mut packed = data;
            let mut values = [0u64; 32];
            for dst in out.get_mut(start..)?.chunks_mut(32) {
                // Bytes past the run (a next header, or groups past 4 × width) are read as
                // the group's tail and dropped with the values past `take`.
                unpack(packed, &mut values);
                packed = packed.get(4 * width..).unwrap_or_default();
                for (d, &v) in dst.iter_mut().zip(&values) {
                    *d = v as u32;
                }
            }
            data = data.get(len..)?;
        }
    }
    Some(())
}

/// Reads an unsigned LEB128 integer (at most 10 bytes) from the front of `data`.
pub(super) fn uleb128(data: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in data.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, data.get(i + 1..)?));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `values` as bit-packed groups only (the padding values are zeros).
    fn packed(values: &[u32], width: usize) -> Vec<u8> {
        let groups = values.len().div_ceil(8);
        let mut out = Vec::new();
        let mut header = ((groups as u64) << 1) | 1;
        loop {
            let b = (header & 0x7f) as u8;
            header >>= 7;
            if header == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        let mut bits = vec![false; groups * 8 * width];
        for (i, &v) in values.iter().enumerate() {
            for k in 0..width {
                bits[i * width + k] = (v >> k) & 1 == 1;
            }
        }
        for byte in bits.chunks(8) {
            out.push(byte.iter().enumerate().fold(0u8, |a, (k, &b)| a | (u8::from(b) << k)));
        }
        out
    }

    #[test]
    fn bit_packed_values_of_every_width_decode() {
        for width in 0..=32usize {
            let max = if width == 32 {
                u32::MAX
            } else {
                (1u32 << width).wrapping_sub(1)
            };
            let values: Vec<u32> = (0..203u32).map(|i| i.wrapping_mul(2_654_435_761) & max).collect();
            let data = packed(&values, width);
            let mut out = Vec::new();
            decode(&data, width as u8, values.len(), &mut out).unwrap();
            assert_eq!(out, values, "width {width}");
        }
    }

    #[test]
    fn runs_and_groups_mix_and_stop_at_the_count() {
        // A run of 300 sevens (header 600 = 0xd8 0x04, value in one byte), then 16 packed
        // 3-bit values of which only 10 are wanted.
        let mut data = vec![0xd8, 0x04, 7];
        let values: Vec<u32> = (0..16).map(|i| i % 8).collect();
        data.extend(packed(&values, 3));
        let mut out = Vec::new();
        decode(&data, 3, 310, &mut out).unwrap();
        assert_eq!(out.len(), 310);
        assert!(out[..300].iter().all(|&v| v == 7));
        assert_eq!(&out[300..], &values[..10]);
        // A run longer than the count is cut.
        decode(&[0xd8, 0x04, 7], 3, 5, &mut out).unwrap();
        assert_eq!(out, vec![7; 5]);
    }

    #[test]
    fn malformed_streams_are_none() {
        let mut out = Vec::new();
        assert!(decode(&[], 3, 1, &mut out).is_none(), "no data");
        assert!(decode(&[0x02], 3, 1, &mut out).is_none(), "run without its value");
        assert!(decode(&[0x00, 1], 3, 1, &mut out).is_none(), "empty run");
        assert!(
            decode(&[0x02, 8], 3, 1, &mut out).is_none(),
            "run value wider than 3 bits"
        );
        assert!(decode(&[0x03, 0xff], 3, 8, &mut out).is_none(), "group cut short");
        assert!(decode(&[0x80; 11], 3, 1, &mut out).is_none(), "endless header");
        assert!(decode(&[0x02, 0, 0, 0, 0, 0], 33, 1, &mut out).is_none(), "width");
        assert!(decode(&[], 3, 0, &mut out).is_some(), "nothing wanted");
    }
}
