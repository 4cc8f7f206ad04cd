//! Non-contractual churn risk from a fitted "buy till you die" model: risk = 1 − P(alive),
//! graded into named tiers.
//!
//! Two tier rules ([`RiskTiers`]):
//! - `Cuts`: fixed cut points on the risk, ascending in (0, 1); a customer's tier is the
//!   number of cut points at or below the risk (bins `[lo, hi)`), named by `labels`
//!   (one more label than cut points). The default is cuts 0.5 and 0.8 with labels `low`,
//!   `medium`, `high`.
//! - `Quantiles`: `n` equal-count groups by risk (SQL `NTILE(n)` over risk ascending, ties by
//!   input order), named `q1` (lowest risk) to `qn` (highest).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::output::{CHURN_RISK, P_ALIVE};

/// How risks are graded into tiers; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum RiskTiers {
    /// Fixed cut points and a label per tier.
    Cuts {
        /// Ascending cut points in (0, 1).
        cuts: Vec<f64>,
        /// One label per tier (`cuts.len() + 1`), lowest risk first.
        labels: Vec<String>,
    },
    /// `n` equal-count groups.
    Quantiles {
        /// The number of groups (at least 1).
        n: u32,
    },
}

impl Default for RiskTiers {
    fn default() -> Self {
        RiskTiers::Cuts {
            cuts: vec![0.5, 0.8],
            labels: vec!["low".into(), "medium".into(), "high".into()],
        }
    }
}

/// Churn risk, 1 − P(alive), of each customer.
///
/// # Errors
/// [`Error::InvalidModelData`] (`p_alive`) for a value outside [0, 1] or not finite.
pub fn churn_risk(p_alive: &[f64]) -> Result<Vec<f64>> {
    p_alive
        .iter()
        .enumerate()
        .map(|(row, &p)| {
            if (0.0..=1.0).contains(&p) {
                Ok(1.0 - p)
            } else {
                Err(Error::InvalidModelData {
                    column: P_ALIVE,
                    row,
                    value: p,
                    reason: "must be a probability in [0, 1]",
                })
            }
        })
        .collect()
}

/// The tier label of each risk.
///
/// # Errors
/// [`Error::InvalidParameter`] (`risk_tiers`) for cut points that are not ascending in (0, 1),
/// a label count that is not one more than the cut count, or `n` = 0;
/// [`Error::InvalidModelData`] (`churn_risk`) for a risk that is not finite.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::churn::risk::{RiskTiers, churn_risk, risk_tiers};
/// let risk = churn_risk(&[0.9, 0.4, 0.1, 0.2])?; // 0.1, 0.6, 0.9, 0.8
/// assert_eq!(risk_tiers(&risk, &RiskTiers::default())?, ["low", "medium", "high", "high"]);
/// assert_eq!(risk_tiers(&risk, &RiskTiers::Quantiles { n: 2 })?, ["q1", "q1", "q2", "q2"]);
/// # Ok(()) }
/// ```
pub fn risk_tiers(risk: &[f64], tiers: &RiskTiers) -> Result<Vec<String>> {
    let (labels, codes) = risk_tier_codes(risk, tiers)?;
    Ok(codes
        .iter()
        .map(|&c| labels.get(c as usize).cloned().unwrap_or_default())
        .collect())
}

/// The tiers of [`risk_tiers`] as the list of labels and each customer's index into it (no
/// string per customer: build a string or dictionary column from the two).
///
/// # Errors
/// As [`risk_tiers`].
pub fn risk_tier_codes(risk: &[f64], tiers: &RiskTiers) -> Result<(Vec<String>, Vec<u32>)> {
    if let Some((row, &v)) = risk.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::InvalidModelData {
            column: CHURN_RISK,
            row,
            value: v,
            reason: "must be finite",
        });
    }
    match tiers {
        RiskTiers::Cuts { cuts, labels } => {
            if cuts.iter().any(|c| !(*c > 0.0 && *c < 1.0)) || cuts.windows(2).any(|w| w[0] >= w[1]) {
                return Err(Error::param(
                    "risk_tiers",
                    format!("cut points must ascend strictly in (0, 1), got {cuts:?}"),
                ));
            }
            if labels.len() != cuts.len() + 1 {
                return Err(Error::param(
                    "risk_tiers",
                    format!(
                        "{} cut points need {} labels, got {}",
                        cuts.len(),
                        cuts.len() + 1,
                        labels.len()
                    ),
                ));
            }
            let codes = risk
                .iter()
                .map(|r| cuts.iter().filter(|c| **c <= *r).count() as u32)
                .collect();
            Ok((labels.clone(), codes))
        }
        RiskTiers::Quantiles { n } => {
            if *n == 0 {
                return Err(Error::param(
                    "risk_tiers",
                    "the number of quantile groups must be at least 1",
                ));
            }
            let mut order: Vec<usize> = (0..risk.len()).collect();
            order.sort_by(|&a, &b| risk[a].total_cmp(&risk[b]).then(a.cmp(&b)));
            let mut codes = vec![0u32; risk.len()];
            for (pos, &i) in order.iter().enumerate() {
                if let Some(slot) = codes.get_mut(i) {
                    // NTILE groups are 1..=n; code g − 1 names "q{g}"
                    *slot = crate::kernels::rfm::ntile(pos, risk.len(), *n).saturating_sub(1);
                }
            }
            // groups beyond the row count are never used (NTILE gives one row each at most)
            let groups = (*n as usize).min(risk.len().max(1));
            Ok(((1..=groups).map(|g| format!("q{g}")).collect(), codes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_points_are_half_open_and_validated() {
        // A risk equal to a cut point belongs to the tier above it ([lo, hi)).
        let t = risk_tiers(&[0.0, 0.5, 0.79, 0.8, 1.0], &RiskTiers::default()).unwrap();
        assert_eq!(t, ["low", "medium", "medium", "high", "high"]);
        let bad = |cuts: Vec<f64>, labels: &[&str]| {
            risk_tiers(
                &[0.1],
                &RiskTiers::Cuts {
                    cuts,
                    labels: labels.iter().map(|s| s.to_string()).collect(),
                },
            )
            .unwrap_err()
        };
        assert!(matches!(
            bad(vec![0.8, 0.5], &["a", "b", "c"]),
            Error::InvalidParameter {
                field: "risk_tiers",
                ..
            }
        ));
        assert!(matches!(bad(vec![0.0], &["a", "b"]), Error::InvalidParameter { .. }));
        assert!(matches!(bad(vec![0.5], &["a"]), Error::InvalidParameter { .. }));
        assert!(risk_tiers(&[0.1], &RiskTiers::Quantiles { n: 0 }).is_err());
        assert!(matches!(
            churn_risk(&[0.5, 1.5]).unwrap_err(),
            Error::InvalidModelData { row: 1, .. }
        ));
        // Quantiles: 5 rows in 2 groups are 3 + 2. Ascending risk, ties in input order:
        // 0.1 (row 3), 0.2 (row 0), 0.2 (row 1) | 0.2 (row 4), 0.9 (row 2).
        let q = risk_tiers(&[0.2, 0.2, 0.9, 0.1, 0.2], &RiskTiers::Quantiles { n: 2 }).unwrap();
        assert_eq!(q, ["q1", "q1", "q2", "q1", "q2"]);
    }
}
