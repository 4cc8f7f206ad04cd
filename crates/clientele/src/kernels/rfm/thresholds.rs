//! Threshold scoring: R `rfm`'s quantile method and custom break points.
//!
//! Semantics of the R `rfm` package (`rfm_table_order`, helper `rfm_prep_bins`): for `n`
//! bins the internal thresholds are the type-7 sample quantiles at `k / n` (`k = 1 .. n-1`)
//! **plus one**; bin `i` is `[lower_i, upper_i)` with `lower_1` = the minimum and `upper_n` =
//! the maximum + 1. With custom break points the thresholds are the points themselves. So a
//! value's bin is `1 + #{thresholds <= value}`: equal values always share a score (unlike
//! NTILE), and bins can be empty when thresholds coincide. Recency scores are reversed (the
//! most recent customers score `n`); frequency and monetary scores are the bin.

/// The type-7 sample quantile (R's default, numpy's `linear`) of sorted `x` at probability `p`.
pub fn quantile_type7(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    let last = *sorted.last()?;
    let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let (a, b) = (
        sorted.get(lo).copied().unwrap_or(last),
        sorted.get(lo + 1).copied().unwrap_or(last),
    );
    Some(a + (h - lo as f64) * (b - a))
}

/// R `rfm`'s internal thresholds for `bins` bins: type-7 quantiles at `k / bins`, plus one.
pub fn rfm_quantile_thresholds(values: &[f64], bins: u32) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    (1..bins)
        .filter_map(|k| quantile_type7(&sorted, f64::from(k) / f64::from(bins)).map(|q| q + 1.0))
        .collect()
}

/// Scores `values` against non-decreasing `thresholds`: bin = 1 + the number of thresholds
/// less than or equal to the value; with `reverse`, score = bins + 1 - bin.
pub fn threshold_scores(values: &[f64], thresholds: &[f64], reverse: bool) -> Vec<u8> {
    let bins = thresholds.len() + 1;
    values
        .iter()
        .map(|&v| {
            let bin = 1 + thresholds.partition_point(|&t| t <= v);
            (if reverse { bins + 1 - bin } else { bin }) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type7_matches_r() {
        // R: quantile(c(1, 2, 3, 4, 10), c(0.2, 0.5, 0.8)) = 1.8, 3.0, 5.2
        let x = [1.0, 2.0, 3.0, 4.0, 10.0];
        let q: Vec<f64> = [0.2, 0.5, 0.8]
            .iter()
            .map(|&p| quantile_type7(&x, p).unwrap())
            .collect();
        assert!(
            (q[0] - 1.8).abs() < 1e-12 && (q[1] - 3.0).abs() < 1e-12 && (q[2] - 5.2).abs() < 1e-12,
            "{q:?}"
        );
        assert_eq!(quantile_type7(&[], 0.5), None);
        assert_eq!(quantile_type7(&[7.0], 0.3), Some(7.0));
    }

    #[test]
    fn bins_are_lower_closed_and_ties_share_a_score() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        let t = rfm_quantile_thresholds(&v, 2); // median 3 + 1 = 4
        assert_eq!(t, [4.0]);
        assert_eq!(threshold_scores(&v, &t, false), [1, 1, 1, 2, 2]);
        assert_eq!(threshold_scores(&v, &t, true), [2, 2, 2, 1, 1]);
        // Coinciding thresholds leave a bin empty.
        assert_eq!(threshold_scores(&[1.0, 5.0, 9.0], &[5.0, 5.0], false), [1, 3, 3]);
        assert_eq!(
            threshold_scores(&[2.0, 2.0, 2.0], &rfm_quantile_thresholds(&[2.0, 2.0, 2.0], 3), false),
            [1, 1, 1]
        );
    }
}
