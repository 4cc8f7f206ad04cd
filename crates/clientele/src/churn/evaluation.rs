//! Evaluation of churn scores against 0/1 labels.
//!
//! | metric | definition |
//! |---|---|
//! | [`roc_auc`] | P(score of a random positive > score of a random negative) + ½ P(tie): the Mann–Whitney U statistic with mid-ranks, equal to the trapezoid area under the ROC curve |
//! | [`average_precision`] | Σₖ (Rₖ − Rₖ₋₁)·Pₖ over the distinct thresholds in decreasing order (scikit-learn's step definition, no interpolation) |
//! | [`lift_at`] | the churn rate among the top `fraction` of scores (⌈fraction·n⌉ rows; ties at the boundary broken by row order) over the overall rate, and the share of all churners captured there |
//! | [`brier_score`] | mean (pᵢ − yᵢ)² |
//! | [`calibration_table`] | rows sorted by score (ties by row order), cut into `bins` equal-count bins (bin b holds rows ⌊b·n/bins⌋ to ⌊(b+1)·n/bins⌋): mean predicted vs observed rate |
//!
//! Labels are 0.0 or 1.0; scores are finite. Every function is sequential and exact given its
//! inputs (no parallel sums).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Checks labels and scores; returns the number of positives.
fn check(labels: &[f64], scores: &[f64]) -> Result<usize> {
    if labels.len() != scores.len() {
        return Err(Error::param(
            "scores",
            format!("{} scores for {} labels", scores.len(), labels.len()),
        ));
    }
    if labels.is_empty() {
        return Err(Error::param("labels", "no rows"));
    }
    let mut pos = 0;
    for (row, (&y, &s)) in labels.iter().zip(scores).enumerate() {
        if y != 0.0 && y != 1.0 {
            return Err(Error::InvalidModelData {
                column: "label",
                row,
                value: y,
                reason: "a label must be 0 or 1",
            });
        }
        if !s.is_finite() {
            return Err(Error::InvalidModelData {
                column: "score",
                row,
                value: s,
                reason: "a score must be finite",
            });
        }
        pos += usize::from(y == 1.0);
    }
    Ok(pos)
}

fn both_classes(pos: usize, n: usize) -> Result<()> {
    if pos == 0 || pos == n {
        return Err(Error::param("labels", "both classes (0 and 1) must be present"));
    }
    Ok(())
}

/// Row indices by score, descending, ties in row order.
fn order_desc(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// ROC AUC with ties counted ½ (Mann–Whitney).
///
/// # Errors
/// [`Error::InvalidParameter`] for different lengths, no rows or a single class;
/// [`Error::InvalidModelData`] for a label other than 0/1 or a non-finite score.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::churn::evaluation::roc_auc;
/// // pairs (pos, neg): (0.8, 0.1) win, (0.8, 0.4) win, (0.4, 0.1) win, (0.4, 0.4) tie → 3.5 / 4
/// assert_eq!(roc_auc(&[1.0, 0.0, 1.0, 0.0], &[0.8, 0.1, 0.4, 0.4])?, 0.875);
/// # Ok(()) }
/// ```
pub fn roc_auc(labels: &[f64], scores: &[f64]) -> Result<f64> {
    let pos = check(labels, scores)?;
    let n = labels.len();
    both_classes(pos, n)?;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, mid-) ranks of the positives, doubled to stay in integers.
    let mut rank2_sum: u128 = 0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        // ranks i+1..=j+1, mid-rank (i + j + 2) / 2
        let p = idx[i..=j].iter().filter(|&&r| labels[r] == 1.0).count() as u128;
        rank2_sum += p * (i + j + 2) as u128;
        i = j + 1;
    }
    let (p, q) = (pos as u128, (n - pos) as u128);
    let u2 = rank2_sum - p * (p + 1);
    Ok(u2 as f64 / (2.0 * (p * q) as f64))
}

/// Average precision (scikit-learn's `average_precision_score`).
///
/// # Errors
/// [`Error::InvalidParameter`] for different lengths, no rows or no positive;
/// [`Error::InvalidModelData`] for a label other than 0/1 or a non-finite score.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::churn::evaluation::average_precision;
/// // thresholds 0.9 (TP 1, FP 0: P 1, R 1/2), 0.5 (TP 1, FP 1), 0.3 (TP 2, FP 1: P 2/3, R 1)
/// // AP = 1/2·1 + 0·1/2 + 1/2·2/3 = 5/6
/// let ap = average_precision(&[1.0, 0.0, 1.0], &[0.9, 0.5, 0.3])?;
/// assert!((ap - 5.0 / 6.0).abs() < 1e-15);
/// # Ok(()) }
/// ```
pub fn average_precision(labels: &[f64], scores: &[f64]) -> Result<f64> {
    let pos = check(labels, scores)?;
    if pos == 0 {
        return Err(Error::param("labels", "no positive label"));
    }
    let idx = order_desc(scores);
    let (mut tp, mut fp, mut prev_recall, mut ap) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let s = scores[idx[i]];
        while i < idx.len() && scores[idx[i]] == s {
            if labels[idx[i]] == 1.0 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let recall = tp as f64 / pos as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    Ok(ap)
}

/// Lift and capture rate of the top-scored `fraction` of rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lift {
    /// Rows in the top group (⌈fraction·n⌉).
    pub rows: usize,
    /// Churn rate in the top group / overall churn rate.
    pub lift: f64,
    /// Churners in the top group / all churners.
    pub capture_rate: f64,
}

/// Lift and capture rate at the top `fraction` (0 < fraction ≤ 1; 0.1 for the top decile).
///
/// # Errors
/// As [`roc_auc`] (no positive label is also an error), and [`Error::InvalidParameter`] for a
/// fraction outside (0, 1].
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::churn::evaluation::lift_at;
/// // 10 rows, 2 churners; the top 10% (1 row, score 0.9) is a churner:
/// // rate 1 / overall 0.2 = lift 5; it captures 1 of 2 churners.
/// let y = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
/// let s = [0.9, 0.8, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1];
/// let l = lift_at(&y, &s, 0.1)?;
/// assert_eq!((l.rows, l.lift, l.capture_rate), (1, 5.0, 0.5));
/// # Ok(()) }
/// ```
pub fn lift_at(labels: &[f64], scores: &[f64], fraction: f64) -> Result<Lift> {
    let pos = check(labels, scores)?;
    if fraction.is_nan() || fraction <= 0.0 || fraction > 1.0 {
        return Err(Error::param("fraction", format!("must be in (0, 1], got {fraction}")));
    }
    if pos == 0 {
        return Err(Error::param("labels", "no positive label"));
    }
    let n = labels.len();
    // (less a rounding allowance, so that 0.1·30 counts 3 rows)
    let k = ((fraction * n as f64 - 1e-9).ceil() as usize).clamp(1, n);
    let top = order_desc(scores)[..k].iter().filter(|&&i| labels[i] == 1.0).count();
    Ok(Lift {
        rows: k,
        lift: (top as f64 / k as f64) / (pos as f64 / n as f64),
        capture_rate: top as f64 / pos as f64,
    })
}

/// The Brier score, mean (pᵢ − yᵢ)².
///
/// # Errors
/// As [`roc_auc`], except that a single class is allowed.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::churn::evaluation::brier_score;
/// // ((0.75 − 1)² + (0.5 − 0)²) / 2 = (0.0625 + 0.25) / 2
/// assert_eq!(brier_score(&[1.0, 0.0], &[0.75, 0.5])?, 0.15625);
/// # Ok(()) }
/// ```
pub fn brier_score(labels: &[f64], scores: &[f64]) -> Result<f64> {
    check(labels, scores)?;
    Ok(labels.iter().zip(scores).map(|(y, p)| (p - y) * (p - y)).sum::<f64>() / labels.len() as f64)
}

/// One bin of a calibration table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Rows in the bin.
    pub rows: usize,
    /// Mean score of the bin.
    pub mean_predicted: f64,
    /// Share of label 1 in the bin.
    pub observed_rate: f64,
}

/// Calibration table of `bins` equal-count bins (10 for deciles), lowest scores first; bins
/// without rows (more bins than rows) are left out.
///
/// # Errors
/// As [`brier_score`], and [`Error::InvalidParameter`] for 0 bins.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::churn::evaluation::calibration_table;
/// // sorted scores 0.1 0.2 | 0.5 0.75 with labels 0 1 | 1 1
/// let t = calibration_table(&[1.0, 0.0, 1.0, 1.0], &[0.2, 0.1, 0.75, 0.5], 2)?;
/// assert_eq!((t[0].rows, t[0].mean_predicted, t[0].observed_rate), (2, 0.15000000000000002, 0.5));
/// assert_eq!((t[1].mean_predicted, t[1].observed_rate), (0.625, 1.0));
/// # Ok(()) }
/// ```
pub fn calibration_table(labels: &[f64], scores: &[f64], bins: usize) -> Result<Vec<CalibrationBin>> {
    check(labels, scores)?;
    if bins == 0 {
        return Err(Error::param("bins", "must be at least 1"));
    }
    let n = labels.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    Ok((0..bins)
        .filter_map(|b| {
            let (lo, hi) = (b * n / bins, (b + 1) * n / bins);
            let rows = &idx[lo..hi];
            (!rows.is_empty()).then(|| {
                let k = rows.len() as f64;
                CalibrationBin {
                    rows: rows.len(),
                    mean_predicted: rows.iter().map(|&i| scores[i]).sum::<f64>() / k,
                    observed_rate: rows.iter().map(|&i| labels[i]).sum::<f64>() / k,
                }
            })
        })
        .collect())
}

/// All metrics at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnEvaluation {
    /// Rows evaluated.
    pub rows: usize,
    /// Share of label 1.
    pub churn_rate: f64,
    /// ROC AUC.
    pub roc_auc: f64,
    /// Average precision (PR AUC).
    pub average_precision: f64,
    /// Lift and capture at the top decile.
    pub top_decile: Lift,
    /// Brier score.
    pub brier_score: f64,
    /// Ten equal-count calibration bins.
    pub calibration: Vec<CalibrationBin>,
}

/// Every metric of the module: AUCs, top-decile lift, Brier score, 10-bin calibration.
///
/// # Errors
/// As [`roc_auc`].
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// let e = clientele::churn::evaluation::evaluate(&[1.0, 0.0, 1.0, 0.0], &[0.8, 0.1, 0.4, 0.4])?;
/// assert_eq!(e.roc_auc, 0.875);
/// assert_eq!(e.top_decile.rows, 1);
/// # Ok(()) }
/// ```
pub fn evaluate(labels: &[f64], scores: &[f64]) -> Result<ChurnEvaluation> {
    let pos = check(labels, scores)?;
    Ok(ChurnEvaluation {
        rows: labels.len(),
        churn_rate: pos as f64 / labels.len() as f64,
        roc_auc: roc_auc(labels, scores)?,
        average_precision: average_precision(labels, scores)?,
        top_decile: lift_at(labels, scores, 0.1)?,
        brier_score: brier_score(labels, scores)?,
        calibration: calibration_table(labels, scores, 10)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn auc_counts_ties_as_half() {
        // positives 0.5, 0.5; negatives 0.5, 0.2: pairs (0.5,0.5) tie ×2, (0.5,0.2) win ×2 → 3/4
        assert_eq!(roc_auc(&[1.0, 1.0, 0.0, 0.0], &[0.5, 0.5, 0.5, 0.2]).unwrap(), 0.75);
        // perfect and reversed rankings
        assert_eq!(roc_auc(&[0.0, 1.0], &[0.1, 0.9]).unwrap(), 1.0);
        assert_eq!(roc_auc(&[1.0, 0.0], &[0.1, 0.9]).unwrap(), 0.0);
        // all tied → 1/2
        assert_eq!(roc_auc(&[1.0, 0.0, 0.0], &[0.3, 0.3, 0.3]).unwrap(), 0.5);
        assert!(roc_auc(&[1.0, 1.0], &[0.3, 0.4]).is_err());
        assert!(roc_auc(&[2.0, 0.0], &[0.3, 0.4]).is_err());
        assert!(roc_auc(&[1.0, 0.0], &[f64::NAN, 0.4]).is_err());
    }

    #[test]
    fn average_precision_groups_tied_scores() {
        // scores 0.8 (y 1), 0.5 tie (y 1, y 0), 0.1 (y 0); 2 positives
        // threshold 0.8: TP 1 FP 0 → P 1, R 1/2; threshold 0.5: TP 2 FP 1 → P 2/3, R 1
        // AP = 1/2·1 + 1/2·2/3 = 5/6
        let ap = average_precision(&[1.0, 1.0, 0.0, 0.0], &[0.8, 0.5, 0.5, 0.1]).unwrap();
        assert!((ap - 5.0 / 6.0).abs() < 1e-15);
        // a perfect ranking → 1
        assert_eq!(average_precision(&[0.0, 1.0, 1.0], &[0.1, 0.7, 0.9]).unwrap(), 1.0);
    }

    #[test]
    fn lift_and_capture_at_top_fraction() {
        // 20 rows, 4 churners; top 10% = 2 rows (scores 0.95, 0.9): one churner
        // rate 1/2 over 4/20 → lift 2.5; captures 1 of 4.
        let mut y = vec![0.0; 20];
        let mut s: Vec<f64> = (0..20).map(|i| i as f64 / 100.0).collect();
        s[0] = 0.95;
        y[0] = 1.0;
        s[1] = 0.9;
        for i in [5, 6, 7] {
            y[i] = 1.0;
        }
        let l = lift_at(&y, &s, 0.1).unwrap();
        assert_eq!((l.rows, l.lift, l.capture_rate), (2, 2.5, 0.25));
        assert!(lift_at(&y, &s, 0.0).is_err());
    }

    #[test]
    fn brier_and_calibration_by_hand() {
        // (0.1−0)² + (0.9−1)² + (0.5−1)² + (0.5−0)² = 0.01 + 0.01 + 0.25 + 0.25 = 0.52 → /4 = 0.13
        let y = [0.0, 1.0, 1.0, 0.0];
        let p = [0.1, 0.9, 0.5, 0.5];
        assert!((brier_score(&y, &p).unwrap() - 0.13).abs() < 1e-15);
        // 10 rows in 10 bins: one row each, sorted by score
        let y10: Vec<f64> = (0..10).map(|i| f64::from(i >= 5)).collect();
        let p10: Vec<f64> = (0..10).rev().map(|i| i as f64 / 10.0).collect();
        let t = calibration_table(&y10, &p10, 10).unwrap();
        assert_eq!(t.len(), 10);
        // lowest score 0.0 is row 9 (label 1)
        assert_eq!((t[0].mean_predicted, t[0].observed_rate), (0.0, 1.0));
        assert_eq!((t[9].mean_predicted, t[9].observed_rate), (0.9, 0.0));
        // 3 rows in 2 bins: rows 0..1 and 1..3
        let t = calibration_table(&[0.0, 1.0, 1.0], &[0.1, 0.2, 0.3], 2).unwrap();
        assert_eq!((t[0].rows, t[1].rows), (1, 2));
        assert_eq!(t[1].observed_rate, 1.0);
    }
}
