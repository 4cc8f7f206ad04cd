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
pub(super) fn decode(data: &[u8], width: u8, count: usize, out: &mut Vec<u32>) -> Option<()> {
    decode_map(data, width, count, out, |v| v)
}

/// [`decode`], each value passed through `map` on its way to `out` (a dictionary index to
/// what its dictionary entry stands for, without a pass over the indices themselves).
pub(super) fn decode_map<T: Copy + Default>(
    mut data: &[u8],
    width: u8,
    count: usize,
    out: &mut Vec<T>,
    map: impl Fn(u32) -> T,
) -> Option<()> {
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
            out.resize(out.len() + run.min(left), map(value));
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
            out.resize(start + take, T::default());
            let mut packed = data;
            let mut values = [0u64; 32];
            for dst in out.get_mut(start..)?.chunks_mut(32) {
                // Bytes past the run (a next header, or groups past 4 × width) are read as
                // the group's tail and dropped with the values past `take`.
                unpack(packed, &mut values);
                packed = packed.get(4 * width..).unwrap_or_default();
                for (d, &v) in dst.iter_mut().zip(&values) {
                    *d = map(v as u32);
                }
            }
            data = data.get(len..)?;
        }
    }
    Some(())
}

/// Decodes the first `count` values of a hybrid stream of bit width 1 (definition levels of
/// a flat optional column) into a bitmap, `bits` (cleared first): bit `i % 64` of word
/// `i / 64` is value `i`. `None` on the malformed streams [`decode`] refuses.
pub(super) fn decode_bits(mut data: &[u8], count: usize, bits: &mut Vec<u64>) -> Option<()> {
    bits.clear();
    bits.resize(count.div_ceil(64), 0);
    let mut at = 0usize;
    while at < count {
        let (header, rest) = uleb128(data)?;
        let left = count - at;
        if header & 1 == 0 {
            let run = usize::try_from(header >> 1).ok()?;
            let (&value, rest) = rest.split_first()?;
            data = rest;
            if run == 0 || value > 1 {
                return None;
            }
            let n = run.min(left);
            if value == 1 {
                set_ones(bits, at, at + n);
            }
            at += n;
        } else {
            // Groups of 8 one-bit values: one byte each.
            let groups = usize::try_from(header >> 1).ok()?;
            if groups == 0 || rest.len() < groups {
                return None;
            }
            let take = left.min(groups.saturating_mul(8));
            for (i, &byte) in rest.get(..take.div_ceil(8))?.iter().enumerate() {
                // The last byte's values past `take` are padding (or beyond the count).
                let wanted = (take - 8 * i).min(8);
                let byte = u64::from(byte) & ((1u64 << wanted) - 1);
                let bit = at + 8 * i;
                if let Some(w) = bits.get_mut(bit / 64) {
                    *w |= byte << (bit % 64);
                }
                if bit % 64 > 56
                    && let Some(w) = bits.get_mut(bit / 64 + 1)
                {
                    *w |= byte >> (64 - bit % 64);
                }
            }
            at += take;
            data = rest.get(groups..)?;
        }
    }
    Some(())
}

/// Sets bits `from..to` of `bits`.
fn set_ones(bits: &mut [u64], from: usize, to: usize) {
    let mut bit = from;
    while bit < to {
        let (word, offset) = (bit / 64, bit % 64);
        let n = (64 - offset).min(to - bit);
        let mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << offset };
        if let Some(w) = bits.get_mut(word) {
            *w |= mask;
        }
        bit += n;
    }
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
        // Mapped on the way out: runs and groups alike.
        let mut mapped: Vec<u8> = Vec::new();
        decode_map(&data, 3, 310, &mut mapped, |v| b"abcdefgh"[v as usize]).unwrap();
        let want: Vec<u8> = std::iter::repeat_n(b'h', 300)
            .chain(values[..10].iter().map(|&v| b"abcdefgh"[v as usize]))
            .collect();
        assert_eq!(mapped, want);
    }

    /// The bitmap decoder gives the values of the u32 decoder, for runs and groups at every
    /// bit offset, counts that cut a group, and refuses what it refuses.
    #[test]
    fn bitmaps_equal_the_values() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for trial in 0..200 {
            // Runs of 1..=150 values and packed groups, mixed.
            let mut data = Vec::new();
            let mut values = Vec::new();
            for _ in 0..(trial % 9 + 1) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(2) {
                    let run = (x % 150 + 1) as u32;
                    data.extend(uleb(u64::from(run) << 1));
                    let v = ((x >> 8) % 2) as u8;
                    data.push(v);
                    values.extend(std::iter::repeat_n(u32::from(v), run as usize));
                } else {
                    let n = ((x % 5 + 1) * 8) as usize;
                    let group: Vec<u32> = (0..n).map(|i| ((x >> (i % 60)) & 1) as u32).collect();
                    data.extend(packed(&group, 1));
                    values.extend(group);
                }
            }
            for count in [values.len(), values.len().saturating_sub(3), values.len() / 2] {
                let mut bits = Vec::new();
                decode_bits(&data, count, &mut bits).unwrap();
                let got: Vec<u32> = (0..count).map(|i| ((bits[i / 64] >> (i % 64)) & 1) as u32).collect();
                assert_eq!(got, values[..count], "trial {trial} count {count}");
                assert!(
                    bits.iter().map(|w| w.count_ones() as usize).sum::<usize>() == got.iter().sum::<u32>() as usize,
                    "no bit beyond the count"
                );
            }
        }
        let mut bits = Vec::new();
        assert!(
            decode_bits(&[0x02, 2], 1, &mut bits).is_none(),
            "run value wider than 1 bit"
        );
        assert!(decode_bits(&[0x00, 1], 1, &mut bits).is_none(), "empty run");
        assert!(decode_bits(&[0x05, 0xff], 16, &mut bits).is_none(), "group cut short");
        assert!(decode_bits(&[], 1, &mut bits).is_none(), "no data");
    }

    fn uleb(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
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
