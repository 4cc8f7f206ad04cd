//! SQL `NTILE` scoring, without building an order: a counting pass for small-integer axes,
//! selection of each bucket's first (value, customer) pair for the others.

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
/// scored by [`ntile`]. No ordering is built: small non-negative keys (the usual recency days
/// and frequencies) are scored in a counting pass (a customer's position is the count of
/// smaller keys plus the equal keys before it), others by finding the first (key, index) of
/// each bucket by selection and comparing every customer with those `bins − 1` boundaries.
/// Scores are `u8`: with more than 255 bins the higher ones read 255 (RFM allows 1 to 9).
pub fn ntile_scores(keys: &[i64], descending: bool, bins: u32) -> Vec<u8> {
    let n = keys.len();
    let (min, max) = keys
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &k| (lo.min(k), hi.max(k)));
    if n > 0 && min >= 0 && max < (4 * n as i64).max(1 << 16) {
        counting_scores(keys, max, descending, bins)
    } else {
        selection_scores(keys, descending, bins)
    }
}

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

/// [`ntile_scores`] of keys in `0..=max`: one counting pass, then one scoring pass.
fn counting_scores(keys: &[i64], max: i64, descending: bool, bins: u32) -> Vec<u8> {
    let n = keys.len();
    let slot = |k: i64| -> usize {
        let k = usize::try_from(k).unwrap_or(0);
        let max = usize::try_from(max).unwrap_or(0);
        if descending { max.saturating_sub(k) } else { k }
    };
    // counts[s] becomes the position of the first key in slot s.
    let mut counts = vec![0usize; slot(0).max(slot(max)) + 2];
    for &k in keys {
        if let Some(c) = counts.get_mut(slot(k) + 1) {
            *c += 1;
        }
    }
    let mut total = 0;
    for c in counts.iter_mut() {
        total += *c;
        *c = total;
    }
    // A score by comparisons with the bucket starts (no division per customer).
    let starts = bucket_starts(n, bins);
    keys.iter()
        .map(|&k| match counts.get_mut(slot(k)) {
            Some(position) => {
                let p = *position;
                *position += 1;
                let score = 1 + starts.iter().map(|&s| usize::from(s <= p)).sum::<usize>();
                u8::try_from(score).unwrap_or(u8::MAX)
            }
            None => 0,
        })
        .collect()
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
fn select_positions(pairs: &mut [(i64, u32)], offset: usize, positions: &[usize]) {
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
        let big: Vec<i64> = keys.iter().map(|k| k * 1_000_000_007 - 5).collect(); // selection path
        assert_eq!(ntile_scores(&keys, false, 2), [2, 1, 2, 1, 1, 2]);
        assert_eq!(ntile_scores(&big, false, 2), [2, 1, 2, 1, 1, 2]);
        assert_eq!(ntile_scores(&keys, true, 3), [1, 2, 2, 3, 3, 1]);
        assert_eq!(ntile_scores(&big, true, 3), [1, 2, 2, 3, 3, 1]);
        assert!(ntile_scores(&[], false, 5).is_empty());
    }

    /// Both scoring passes give the scores of the full ordering, for every row count around
    /// the bin count, heavy ties, negative keys and every bin count up to 12.
    #[test]
    fn counting_and_selection_equal_the_sorted_reference() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for n in [0usize, 1, 2, 3, 4, 5, 6, 7, 11, 50, 1_000, 4_099] {
            // A spread of 0: half the keys tied at one value, the others spread over 2^40.
            for spread in [1i64, 3, 1_000, 1 << 40, 0] {
                let keys: Vec<i64> = (0..n)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        match spread {
                            0 if x.is_multiple_of(2) => 12_345,
                            0 => (x % (1 << 40)) as i64 - (1 << 39),
                            _ => (x % spread as u64) as i64 - if spread > 1_000 { spread / 2 } else { 0 },
                        }
                    })
                    .collect();
                for bins in 1..=12u32 {
                    for descending in [false, true] {
                        let mut want = vec![0u8; n];
                        for (position, &c) in order_by(&keys, descending).iter().enumerate() {
                            want[c as usize] = ntile(position, n, bins) as u8;
                        }
                        let at = format!("n {n} spread {spread} bins {bins} descending {descending}");
                        assert_eq!(ntile_scores(&keys, descending, bins), want, "{at}");
                        assert_eq!(selection_scores(&keys, descending, bins), want, "{at}");
                        let max = keys.iter().copied().max().unwrap_or(0);
                        if keys.iter().all(|&k| k >= 0) && n > 0 && max < 1 << 16 {
                            assert_eq!(counting_scores(&keys, max, descending, bins), want, "{at}");
                        }
                    }
                }
            }
        }
    }
}
