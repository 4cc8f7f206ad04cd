//! SQL `NTILE` scoring, with counting sorts for small-integer axes.

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
/// scored by [`ntile`]. Small non-negative keys (the usual recency days and frequencies) are
/// ordered by a counting sort, others by a comparison sort.
pub fn ntile_scores(keys: &[i64], descending: bool, bins: u32) -> Vec<u8> {
    let n = keys.len();
    let order = order_by(keys, descending);
    let mut scores = vec![0u8; n];
    for (position, &c) in order.iter().enumerate() {
        scores[c as usize] = ntile(position, n, bins) as u8;
    }
    scores
}

/// Customer indices ordered by (key, index) or (key descending, index).
fn order_by(keys: &[i64], descending: bool) -> Vec<u32> {
    let n = keys.len();
    let (min, max) = keys
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &k| (lo.min(k), hi.max(k)));
    let small = n > 0 && min >= 0 && max < (4 * n as i64).max(1 << 16);
    if small {
        // Counting sort: stable, so ties keep index order.
        let width = max as usize + 1;
        let slot = |k: i64| {
            if descending {
                max as usize - k as usize
            } else {
                k as usize
            }
        };
        let mut counts = vec![0usize; width + 1];
        for &k in keys {
            counts[slot(k) + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut order = vec![0u32; n];
        for (c, &k) in keys.iter().enumerate() {
            let s = &mut counts[slot(k)];
            order[*s] = c as u32;
            *s += 1;
        }
        order
    } else {
        // (key, index) pairs are distinct, so an unstable (parallel) sort of the pairs gives
        // the one (key, index) order in any pool; `!k` reverses the key order exactly.
        let mut pairs: Vec<(i64, u32)> = keys
            .iter()
            .enumerate()
            .map(|(c, &k)| (if descending { !k } else { k }, c as u32))
            .collect();
        pairs.par_sort_unstable();
        pairs.into_iter().map(|(_, c)| c).collect()
    }
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
        let big: Vec<i64> = keys.iter().map(|k| k * 1_000_000_007 - 5).collect(); // comparison path
        assert_eq!(order_by(&big, false), order_by(&keys, false));
        assert_eq!(order_by(&big, true), order_by(&keys, true));
        assert_eq!(ntile_scores(&keys, false, 2), [2, 1, 2, 1, 1, 2]);
        assert!(ntile_scores(&[], false, 5).is_empty());
    }
}
