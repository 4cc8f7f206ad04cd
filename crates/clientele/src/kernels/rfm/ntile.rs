//! SQL `NTILE` scoring, without building an order: a counting pass into a histogram of at
//! most 2^16 bins scores every bin that no bucket boundary cuts; only the rows of the few cut
//! bins are looked at again (for small-integer axes, such as recency days and frequencies, a
//! bin is one key and a boundary is found by counting rows in index order; for others, by
//! selection among the cut bins' (key, customer) pairs).

use rayon::prelude::*;

/// The 1-based NTILE bucket of the row at 0-based `position` among `rows` rows cut into
/// `bins` buckets: bucket sizes differ by at most one, and the first `rows % bins` buckets
/// hold the extra rows (SQL semantics).
///
/// # Example
/// ```
/// use clientele::kernels::rfm::ntile;
/// // 7 rows in 5 buckets: sizes 2, 2, 1, 1, 1.
/// let buckets: Vec<u32> = (0..7).map(|p| ntile(p, 7, 5)).collect();
/// assert_eq!(buckets, [1, 1, 2, 2, 3, 4, 5]);
/// ```
pub fn ntile(position: usize, rows: usize, bins: u32) -> u32 {
    let k = bins.max(1) as usize;
    let (q, r) = (rows / k, rows % k);
    let big = r * (q + 1);
    let bucket = if position < big {
        position / (q + 1)
    } else {
        r + (position - big) / q.max(1)
    };
    (bucket + 1) as u32
}

/// Scores for `keys` (one per customer, customers in key order): customers are ordered by
/// key (ascending, or descending with `descending`) with ties broken by customer index, and
/// scored by [`ntile`]. No ordering is built: a histogram of the keys (at most 2^16 bins of
/// consecutive keys, so it stays in the cache) gives every bin the positions of its rows, so
/// a bin that no bucket boundary cuts scores all its rows at once; only the few bins that a
/// boundary cuts are looked into, to find the (key, index) pair at each boundary.
/// Scores are `u8`: with more than 255 bins the higher ones read 255 (RFM allows 1 to 9).
pub fn ntile_scores(keys: &[i64], descending: bool, bins: u32) -> Vec<u8> {
    if keys.is_empty() {
        return Vec::new();
    }
    if u32::try_from(keys.len()).is_err() || bins > u32::from(u8::MAX) {
        // Customer indexes beyond u32 (not reachable from an event store), or scores that
        // saturate: a full selection of the bucket starts instead.
        return selection_scores(keys, descending, bins);
    }
    binned_scores(keys, descending, bins)
}

/// Rows per task of the parallel passes that must see rows in index order.
const CHUNK: usize = 1 << 16;

/// The first position of every [`ntile`] bucket after the first, for `rows` rows (empty
/// buckets have none): a position's score is one plus the number of starts at or below it.
fn bucket_starts(rows: usize, bins: u32) -> Vec<usize> {
    let k = bins.max(1) as usize;
    let (q, r) = (rows / k, rows % k);
    (1..k)
        .map(|b| if b < r { b * (q + 1) } else { r * (q + 1) + (b - r) * q })
        .filter(|&p| p < rows)
        .collect()
}

/// `key` as an unsigned number in the scoring order: ascending keys, or their exact reversal.
fn ordered(key: i64, descending: bool) -> u64 {
    let u = (key as u64) ^ (1 << 63);
    if descending { !u } else { u }
}

/// A row's place in the scoring order, as one number: its [`ordered`] key, then its index.
fn place(key: i64, descending: bool, index: usize) -> u128 {
    (u128::from(ordered(key, descending)) << 32) | index as u128
}

/// A histogram bin that a bucket start cuts: its rows need their exact positions.
struct Cut {
    /// The bin.
    bin: usize,
    /// One plus the bucket starts at or before the bin's first position.
    base: u8,
    /// The bin's rows.
    rows: usize,
    /// The bin's starts, as offsets from its first position.
    ranks: Vec<usize>,
    /// The [`place`] of the row at each of those starts.
    boundaries: Vec<u128>,
}

/// A histogram bin's entry at or above this marks a cut bin: `CUT + ` its index in the cuts.
const CUT: u16 = 0x100;

/// [`ntile_scores`] for fewer than 2^32 keys and at most 255 bins.
fn binned_scores(keys: &[i64], descending: bool, bins: u32) -> Vec<u8> {
    let n = keys.len();
    let (lo, hi) = keys
        .par_iter()
        .map(|&k| ordered(k, descending))
        .fold(|| (u64::MAX, 0), |(lo, hi), u| (lo.min(u), hi.max(u)))
        .reduce(|| (u64::MAX, 0), |a, b| (a.0.min(b.0), a.1.max(b.1)));
    let span = hi.wrapping_sub(lo);
    let shift = (u64::BITS - span.leading_zeros()).saturating_sub(16);
    let width = usize::try_from(span >> shift).unwrap_or(0) + 1;
    let bin = move |u: u64| (u.wrapping_sub(lo) >> shift) as usize;

    // The histogram, added up from one per thread's share of the rows (the same for any
    // pool), or from one per chunk when a bin is one key and the bins are few: those counts
    // then also place each cut bin's rows among the chunks (see `find_tied_boundaries`).
    let tied = shift == 0;
    let per_chunk = tied && width <= 1 << 12;
    let share = if per_chunk {
        CHUNK
    } else {
        n.div_ceil(rayon::current_num_threads().max(1)).max(CHUNK)
    };
    let parts: Vec<Vec<u32>> = keys
        .par_chunks(share)
        .map(|part| {
            let mut h = vec![0u32; width];
            for &k in part {
                if let Some(c) = h.get_mut(bin(ordered(k, descending))) {
                    *c += 1;
                }
            }
            h
        })
        .collect();
    let mut counts = vec![0u32; width];
    for part in &parts {
        counts.iter_mut().zip(part).for_each(|(x, &y)| *x += y);
    }

    // Each bin's score (at most 255), or `CUT +` the index of its cut (at most 254 cuts).
    let starts = bucket_starts(n, bins);
    let score_at = |below: usize| u8::try_from(1 + below).unwrap_or(u8::MAX);
    let mut table = vec![0u16; width];
    let mut cuts: Vec<Cut> = Vec::new();
    let (mut first, mut below) = (0usize, 0usize);
    for (b, (&c, entry)) in counts.iter().zip(table.iter_mut()).enumerate() {
        let end = first + c as usize;
        while starts.get(below).is_some_and(|&s| s <= first) {
            below += 1;
        }
        let inside = starts.get(below..).unwrap_or_default().iter().take_while(|&&s| s < end);
        let ranks: Vec<usize> = inside.map(|&s| s - first).collect();
        if ranks.is_empty() {
            *entry = u16::from(score_at(below));
        } else {
            *entry = CUT + u16::try_from(cuts.len()).unwrap_or(u16::MAX - CUT);
            cuts.push(Cut {
                bin: b,
                base: score_at(below),
                rows: c as usize,
                ranks,
                boundaries: Vec::new(),
            });
        }
        first = end;
    }
    drop(counts);

    if tied {
        let per_chunk = per_chunk.then_some(parts.as_slice());
        find_tied_boundaries(keys, descending, &bin, &table, per_chunk, &mut cuts);
    } else {
        find_boundaries(keys, descending, &bin, &table, &mut cuts);
    }

    // Without branches (a cut row is often as likely as not): slot 0 stands for the uncut
    // bins, whose score is the table entry and whose boundaries are all above any place;
    // slot `j + 1` holds cut `j`'s base score and boundaries, padded the same way.
    let wide = cuts.iter().map(|c| c.boundaries.len()).max().unwrap_or(0);
    // Slot 0 has no base of its own: its score is the entry itself (added below).
    let mut bases = vec![0u8; cuts.len() + 1];
    let mut bounds = vec![u128::MAX; (cuts.len() + 1) * wide];
    for ((cut, base), row) in cuts
        .iter()
        .zip(bases.iter_mut().skip(1))
        .zip(bounds.chunks_mut(wide.max(1)).skip(1))
    {
        *base = cut.base;
        row.iter_mut().zip(&cut.boundaries).for_each(|(b, &p)| *b = p);
    }
    keys.par_iter()
        .enumerate()
        .map(|(i, &k)| {
            let u = ordered(k, descending);
            let entry = table.get(bin(u)).copied().unwrap_or(0);
            let slot = usize::from(entry.saturating_sub(CUT - 1));
            let base = bases.get(slot).copied().unwrap_or(0) + (entry as u8) * u8::from(slot == 0);
            let me = (u128::from(u) << 32) | i as u128;
            let row = bounds.get(slot * wide..(slot + 1) * wide).unwrap_or_default();
            base.saturating_add(row.iter().map(|&b| u8::from(b <= me)).sum::<u8>())
        })
        .collect()
}

/// The boundaries of cut bins that each hold one key (`shift` 0): the pair at rank `r` is the
/// bin's `r`-th row in index order, found from per-chunk counts and one chunk's scan.
fn find_tied_boundaries(
    keys: &[i64],
    descending: bool,
    bin: &(impl Fn(u64) -> usize + Sync),
    table: &[u16],
    histograms: Option<&[Vec<u32>]>,
    cuts: &mut [Cut],
) {
    if cuts.is_empty() {
        return;
    }
    // Slot 0 for rows outside the cut bins, `j + 1` for cut `j`.
    let slot = |k: i64| {
        usize::from(
            table
                .get(bin(ordered(k, descending)))
                .map_or(0, |&t| t.saturating_sub(CUT - 1)),
        )
    };
    // Each chunk's rows in each slot: from the per-chunk histograms when there are some.
    let per_chunk: Vec<Vec<usize>> = match histograms {
        Some(histograms) => histograms
            .iter()
            .map(|h| {
                let cut = cuts.iter().map(|c| h.get(c.bin).map_or(0, |&n| n as usize));
                std::iter::once(0).chain(cut).collect()
            })
            .collect(),
        None => keys
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut seen = vec![0usize; cuts.len() + 1];
                for &k in chunk {
                    if let Some(c) = seen.get_mut(slot(k)) {
                        *c += 1;
                    }
                }
                seen
            })
            .collect(),
    };
    let found: Vec<Vec<u128>> = cuts
        .par_iter()
        .enumerate()
        .map(|(j, cut)| {
            let mut out = Vec::with_capacity(cut.ranks.len());
            let mut before = 0;
            let mut ranks = cut.ranks.iter().peekable();
            for (c, counts) in per_chunk.iter().enumerate() {
                let here = counts.get(j + 1).copied().unwrap_or(0);
                let mut seen = before;
                let chunk = keys.get(c * CHUNK..).unwrap_or_default().iter().take(CHUNK);
                if ranks.peek().is_some_and(|&&r| r < before + here) {
                    for (i, &k) in chunk.enumerate() {
                        if slot(k) == j + 1 {
                            while ranks.next_if(|&&r| r == seen).is_some() {
                                out.push(place(k, descending, c * CHUNK + i));
                            }
                            seen += 1;
                        }
                    }
                }
                before += here;
            }
            out
        })
        .collect();
    for (cut, boundaries) in cuts.iter_mut().zip(found) {
        cut.boundaries = boundaries;
    }
}

/// The boundaries of cut bins that span several keys: the rows of the cut bins as (ordered
/// key, index) pairs, grouped by bin, and each start's pair selected within its bin.
fn find_boundaries(
    keys: &[i64],
    descending: bool,
    bin: &(impl Fn(u64) -> usize + Sync),
    table: &[u16],
    cuts: &mut [Cut],
) {
    if cuts.is_empty() {
        return;
    }
    let mut rows: Vec<u128> = keys
        .par_iter()
        .enumerate()
        .filter(|&(_, &k)| table.get(bin(ordered(k, descending))).is_some_and(|&t| t >= CUT))
        .map(|(i, &k)| place(k, descending, i))
        .collect();
    // Bins are ranges of ordered keys, so in the full order of these rows each cut bin's
    // rows come together, after those of the cut bins below it: each boundary's position
    // among them is known, and selection moves just those pairs into place.
    let mut positions = Vec::new();
    let mut offset = 0;
    for cut in cuts.iter() {
        positions.extend(cut.ranks.iter().map(|r| offset + r));
        offset += cut.rows;
    }
    select_positions(&mut rows, 0, &positions);
    let mut at = positions.iter();
    for cut in cuts.iter_mut() {
        cut.boundaries = cut
            .ranks
            .iter()
            .filter_map(|_| at.next().and_then(|&p| rows.get(p).copied()))
            .collect();
    }
}

/// [`ntile_scores`] through the first (key, index) pair of each bucket, found by selection.
fn selection_scores(keys: &[i64], descending: bool, bins: u32) -> Vec<u8> {
    let n = keys.len();
    // Descending keys order as their bitwise complements ascending (an exact reversal).
    let pair = |c: usize, k: i64| (if descending { !k } else { k }, c as u32);
    let mut pairs: Vec<(i64, u32)> = keys.par_iter().enumerate().map(|(c, &k)| pair(c, k)).collect();
    let starts = bucket_starts(n, bins);
    select_positions(&mut pairs, 0, &starts);
    let boundaries: Vec<(i64, u32)> = starts.iter().filter_map(|&p| pairs.get(p).copied()).collect();
    drop(pairs);
    keys.par_iter()
        .enumerate()
        .map(|(c, &key)| {
            let me = pair(c, key);
            u8::try_from(1 + boundaries.partition_point(|&b| b <= me)).unwrap_or(u8::MAX)
        })
        .collect()
}

/// Moves the pair of each of the ascending `positions` (relative to `offset`, the position of
/// `pairs[0]`) into place, as a full sort would: selection at the middle position, then each
/// side on its own.
fn select_positions<T: Ord>(pairs: &mut [T], offset: usize, positions: &[usize]) {
    let Some(&mid) = positions.get(positions.len() / 2) else {
        return;
    };
    let Some(at) = mid.checked_sub(offset).filter(|&at| at < pairs.len()) else {
        return;
    };
    let (left, _, right) = pairs.select_nth_unstable(at);
    let (before, after) = positions.split_at(positions.len() / 2);
    select_positions(left, offset, before);
    select_positions(right, mid + 1, after.get(1..).unwrap_or_default());
}

/// The customers ordered as [`ntile_scores`] orders them (the reference it is tested against).
#[cfg(test)]
fn order_by(keys: &[i64], descending: bool) -> Vec<u32> {
    let mut pairs: Vec<(i64, u32)> = keys
        .iter()
        .enumerate()
        .map(|(c, &k)| (if descending { !k } else { k }, c as u32))
        .collect();
    pairs.sort_unstable();
    pairs.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_sizes_follow_sql() {
        let sizes = |rows: usize, bins: u32| {
            let mut s = vec![0; bins as usize];
            for p in 0..rows {
                s[ntile(p, rows, bins) as usize - 1] += 1;
            }
            s
        };
        assert_eq!(sizes(7, 5), [2, 2, 1, 1, 1]);
        assert_eq!(sizes(10, 5), [2, 2, 2, 2, 2]);
        assert_eq!(sizes(3, 5), [1, 1, 1, 0, 0]); // fewer rows than bins
        assert_eq!(sizes(1, 1), [1]);
    }

    #[test]
    fn ties_are_broken_by_index_and_both_sorts_agree() {
        let keys = [3, 1, 3, 0, 1, 1000];
        assert_eq!(order_by(&keys, false), [3, 1, 4, 0, 2, 5]);
        assert_eq!(order_by(&keys, true), [5, 0, 2, 1, 4, 3]);
        let big: Vec<i64> = keys.iter().map(|k| k * 1_000_000_007 - 5).collect(); // bins of many keys
        assert_eq!(ntile_scores(&keys, false, 2), [2, 1, 2, 1, 1, 2]);
        assert_eq!(ntile_scores(&big, false, 2), [2, 1, 2, 1, 1, 2]);
        assert_eq!(ntile_scores(&keys, true, 3), [1, 2, 2, 3, 3, 1]);
        assert_eq!(ntile_scores(&big, true, 3), [1, 2, 2, 3, 3, 1]);
        assert!(ntile_scores(&[], false, 5).is_empty());
    }

    #[test]
    fn more_than_255_bins_saturate_at_255() {
        let keys: Vec<i64> = (0..600).map(|k| (k * 7919) % 600).collect();
        let want: Vec<u8> = keys
            .iter()
            .map(|&k| ntile(k as usize, 600, 300).min(255) as u8)
            .collect();
        assert_eq!(ntile_scores(&keys, false, 300), want);
        assert_eq!(*ntile_scores(&keys, false, 300).iter().max().unwrap(), 255);
    }

    /// The scores of the full ordering, by sorting.
    fn reference(keys: &[i64], descending: bool, bins: u32) -> Vec<u8> {
        let mut want = vec![0u8; keys.len()];
        for (position, &c) in order_by(keys, descending).iter().enumerate() {
            want[c as usize] = ntile(position, keys.len(), bins) as u8;
        }
        want
    }

    /// A xorshift stream of keys: `spread` 0 ties half the keys at one value and spreads the
    /// others over 2^40; otherwise keys are uniform over `spread` values (centred when wide).
    fn keys(x: &mut u64, n: usize, spread: i64) -> Vec<i64> {
        (0..n)
            .map(|_| {
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                match spread {
                    0 if x.is_multiple_of(2) => 12_345,
                    0 => (*x % (1 << 40)) as i64 - (1 << 39),
                    _ => (*x % spread as u64) as i64 - if spread > 1_000 { spread / 2 } else { 0 },
                }
            })
            .collect()
    }

    /// Both scoring passes give the scores of the full ordering, for every row count around
    /// the bin count, heavy ties, negative keys and every bin count up to 12; one key per
    /// histogram bin (spreads up to 2^16) and several (wider spreads) take different paths.
    #[test]
    fn binned_and_selection_equal_the_sorted_reference() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for n in [0usize, 1, 2, 3, 4, 5, 6, 7, 11, 50, 1_000, 4_099] {
            for spread in [1i64, 3, 1_000, 10_000, 70_000, 1 << 40, 0] {
                let keys = keys(&mut x, n, spread);
                for bins in 1..=12u32 {
                    for descending in [false, true] {
                        let want = reference(&keys, descending, bins);
                        let at = format!("n {n} spread {spread} bins {bins} descending {descending}");
                        assert_eq!(ntile_scores(&keys, descending, bins), want, "{at}");
                        assert_eq!(selection_scores(&keys, descending, bins), want, "{at}");
                    }
                }
            }
        }
    }

    /// Past one chunk of rows (the tied path counts rows per chunk), at the ends of the i64
    /// range, and in pools of 1 and 3 threads.
    #[test]
    fn many_rows_extreme_keys_and_any_pool_give_the_reference() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut cases: Vec<Vec<i64>> = [7i64, 731, 20_000, 0, 1 << 40]
            .iter()
            .map(|&spread| keys(&mut x, 3 * CHUNK + 17, spread))
            .collect();
        let mut extreme = keys(&mut x, 1_000, 1 << 40);
        extreme.extend([i64::MIN, i64::MAX, i64::MIN, 0, i64::MAX]);
        cases.push(extreme);
        for keys in &cases {
            for (bins, descending) in [(5, false), (5, true), (9, true), (4, false)] {
                let want = reference(keys, descending, bins);
                for threads in [1, 3] {
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                    let got = pool.install(|| ntile_scores(keys, descending, bins));
                    assert_eq!(
                        got,
                        want,
                        "{} rows, bins {bins}, descending {descending}, {threads} threads",
                        keys.len()
                    );
                }
            }
        }
    }
}
