//! Bit-packed integers unpacked 32 at a time, with one compiled function per bit width.
//!
//! Both the RLE / bit-packed hybrid (dictionary indices, definition levels) and
//! DELTA_BINARY_PACKED store values least-significant bit first, so 32 values of `w` bits
//! take exactly `4 × w` bytes. With the width a compile-time constant every shift, mask and
//! load offset is a constant: the 32 values become 32 independent load-shift-mask steps, with
//! no loop-carried state and no variable-length copy.

/// A function unpacking 32 values from the first `4 × width` bytes of its input.
type Unpack32 = fn(&[u8], &mut [u64; 32]);

/// Bytes an unpacker reads: the 4 × 64 of the widest group, and slack for the last loads.
const SPAN: usize = 4 * 64 + 16;

/// Unpacks 32 values of `W` bits (`W ≤ 64`) from the first `4 × W` bytes of `bytes`
/// (missing bytes read as zero).
#[inline(always)]
fn unpack_width<const W: usize>(bytes: &[u8], out: &mut [u64; 32]) {
    if W == 0 {
        *out = [0; 32];
        return;
    }
    match bytes.first_chunk::<SPAN>() {
        // Loads past the group's 4 × W bytes read the next bytes, which the masks drop.
        Some(span) => unpack_span::<W>(span, out),
        None => {
            let mut span = [0u8; SPAN];
            let n = bytes.len().min(4 * W);
            if let (Some(dst), Some(src)) = (span.get_mut(..n), bytes.get(..n)) {
                dst.copy_from_slice(src);
            }
            unpack_span::<W>(&span, out);
        }
    }
}

#[inline(always)]
fn unpack_span<const W: usize>(span: &[u8; SPAN], out: &mut [u64; 32]) {
    let load = |at: usize| -> u64 {
        span.get(at..)
            .and_then(|b| b.first_chunk::<8>())
            .map_or(0, |w| u64::from_le_bytes(*w))
    };
    let mask = if W >= 64 { u64::MAX } else { (1u64 << W) - 1 };
    for (i, v) in out.iter_mut().enumerate() {
        let bit = i * W;
        let (at, shift) = (bit >> 3, bit & 7);
        *v = if W + shift <= 64 {
            (load(at) >> shift) & mask
        } else {
            // The value spans nine bytes: the low word's top bits and the next byte's low bits.
            ((load(at) >> shift) | (load(at + 8) << (64 - shift))) & mask
        };
    }
}

macro_rules! table {
    ($($w:literal)*) => {
        [$(unpack_width::<$w> as Unpack32),*]
    };
}

/// The unpacker of each width 0..=64.
static UNPACK: [Unpack32; 65] = table!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32
    33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64
);

/// The unpacker of `width`-bit values, `None` above 64 bits.
pub(super) fn unpacker(width: usize) -> Option<Unpack32> {
    UNPACK.get(width).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packs `values` of `width` bits least-significant bit first, one bit at a time.
    fn pack(values: &[u64], width: usize) -> Vec<u8> {
        let mut out = vec![0u8; (values.len() * width).div_ceil(8)];
        for (i, &v) in values.iter().enumerate() {
            for k in 0..width {
                if (v >> k) & 1 == 1 {
                    let bit = i * width + k;
                    out[bit / 8] |= 1 << (bit % 8);
                }
            }
        }
        out
    }

    #[test]
    fn every_width_round_trips() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for width in 0..=64usize {
            let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
            let values: Vec<u64> = (0..32)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // The extremes of the width too.
                    match i {
                        0 => mask,
                        1 => 0,
                        _ => x & mask,
                    }
                })
                .collect();
            let bytes = pack(&values, width);
            assert_eq!(bytes.len(), 4 * width);
            let mut out = [7u64; 32];
            unpacker(width).unwrap()(&bytes, &mut out);
            assert_eq!(out.as_slice(), values.as_slice(), "width {width}");
        }
        assert!(unpacker(65).is_none());
    }

    #[test]
    fn short_input_reads_as_zeros() {
        let mut out = [7u64; 32];
        unpacker(8).unwrap()(&[1, 2, 3], &mut out);
        assert_eq!(&out[..4], &[1, 2, 3, 0]);
        assert!(out[4..].iter().all(|&v| v == 0));
        // Bytes past the group are not values.
        let mut long = vec![0u8; 600];
        long[0] = 5;
        long[4..].fill(0xff);
        unpacker(1).unwrap()(&long, &mut out);
        let mut want = [0u64; 32];
        want[0] = 1;
        want[2] = 1;
        assert_eq!(out, want);
    }
}
