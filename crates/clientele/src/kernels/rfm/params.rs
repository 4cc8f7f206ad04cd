//! RFM parameters: unchecked [`RfmParams`] validated into an [`RfmConfig`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::segments::SegmentMap;
use crate::error::{Error, Result};
use crate::kernels::summary::Period;
use crate::time::{MICROS_PER_DAY, date_to_days};

/// How R, F and M are graded into scores.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// SQL `NTILE(bins)`: customers in order (recency descending so the most recent get the
    /// top score; frequency and monetary ascending), ties broken by customer key ascending,
    /// cut into `bins` groups whose sizes differ by at most one (the first groups are the
    /// larger ones). Equal values can get different scores; the order decides.
    #[default]
    Ntile,
    /// R `rfm` semantics: thresholds are the type-7 quantiles at `k / bins` plus one, bins
    /// `[lo, hi)`; equal values share a score (see [`super::thresholds`]).
    Quantile,
    /// Custom cut points per axis (non-decreasing, at most 8 each): a value's bin is one plus
    /// the number of cut points at or below it. Recency scores are reversed.
    Breaks {
        /// Cut points of recency in days.
        recency: Vec<f64>,
        /// Cut points of frequency.
        frequency: Vec<f64>,
        /// Cut points of monetary value.
        monetary: Vec<f64>,
    },
}

/// Which definition of R, F and M (see [`RfmParams`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum RfmMode {
    /// SQL / R `rfm` style: every purchase event counts, monetary is the total spend.
    #[default]
    Orders,
    /// `lifetimes` / BTYD style: purchases merged into periods, frequency is the number of
    /// repeat periods and monetary the mean spend per repeat period.
    Btyd {
        /// The purchase period (default: day).
        #[serde(default)]
        period: Period,
    },
}

/// Unchecked RFM parameters.
///
/// Only purchases strictly before `as_of` (midnight UTC) count, in both modes. Customers
/// without a purchase before `as_of` are not listed.
///
/// **`orders` mode** (the default): per customer, `frequency` = number of purchase events;
/// `monetary` = sum of their amounts rounded to cents (null amounts count as 0);
/// `recency_days` = whole days from the last purchase to `as_of` (floor); `t_days` likewise
/// from the first purchase.
///
/// **`btyd` mode** (the [`summary`](crate::kernels::summary) kernel's `lifetimes`
/// convention with the calibration ending the day before `as_of`, inclusive, which is
/// `lifetimes`' `observation_period_end = as_of − 1 day`): purchases in the same period merge
/// into one; `frequency` = x, the number of repeat periods; `monetary` = m̄, the mean spend per
/// repeat period rounded to cents (0 when x = 0); `t_days` = T and `recency_days` = T − t_x, the
/// days from the last purchase period to the calibration end (days between period starts).
/// For purchases that are not at midnight, `recency_days` and `t_days` with daily periods equal
/// the `orders` values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RfmParams {
    /// The analysis date: events strictly before its midnight (UTC) count. No default.
    pub as_of: NaiveDate,
    /// The R/F/M definition (default `orders`).
    #[serde(default)]
    pub mode: RfmMode,
    /// The number of score bins (default 5).
    #[serde(default = "default_bins")]
    pub bins: u32,
    /// The scoring method (default `ntile`).
    #[serde(default)]
    pub scoring: Scoring,
    /// The segment map (default: the `rfm` preset, see [`SegmentMap::preset`]).
    #[serde(default = "default_segments")]
    pub segments: SegmentMap,
}

fn default_segments() -> SegmentMap {
    // The preset exists by construction; an empty map is the (unreachable) fallback.
    SegmentMap::preset("rfm").unwrap_or(SegmentMap {
        name: "none".into(),
        default: "Others".into(),
        rules: Vec::new(),
    })
}

fn default_bins() -> u32 {
    5
}

impl RfmParams {
    /// Parameters for `as_of` with 5 bins and NTILE scoring.
    pub fn new(as_of: NaiveDate) -> Self {
        RfmParams {
            as_of,
            mode: RfmMode::Orders,
            bins: default_bins(),
            scoring: Scoring::Ntile,
            segments: default_segments(),
        }
    }

    /// Sets the R/F/M definition.
    pub fn mode(mut self, mode: RfmMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the scoring method.
    pub fn scoring(mut self, scoring: Scoring) -> Self {
        self.scoring = scoring;
        self
    }

    /// Sets the segment map.
    pub fn segments(mut self, segments: SegmentMap) -> Self {
        self.segments = segments;
        self
    }

    /// Sets the number of bins.
    pub fn bins(mut self, bins: u32) -> Self {
        self.bins = bins;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`]: `bins` unless 1 ≤ bins ≤ 9 (scores are one digit of
    /// `rfm_code`); `breaks` for more than 8 cut points on an axis, or cut points that are not
    /// finite and non-decreasing; [`Error::InvalidSegmentRule`] from the segment map.
    pub fn validate(&self) -> Result<RfmConfig> {
        if !(1..=9).contains(&self.bins) {
            return Err(Error::param(
                "bins",
                format!("must be between 1 and 9, got {}", self.bins),
            ));
        }
        if let Scoring::Breaks {
            recency,
            frequency,
            monetary,
        } = &self.scoring
        {
            for (axis, points) in [("recency", recency), ("frequency", frequency), ("monetary", monetary)] {
                if points.len() > 8 {
                    return Err(Error::param(
                        "breaks",
                        format!("{axis}: at most 8 cut points (9 scores), got {}", points.len()),
                    ));
                }
                if points.iter().any(|p| !p.is_finite()) || points.windows(2).any(|w| w[0] > w[1]) {
                    return Err(Error::param(
                        "breaks",
                        format!("{axis}: cut points must be finite and non-decreasing, got {points:?}"),
                    ));
                }
            }
        }
        self.segments.validate()?;
        Ok(RfmConfig {
            params: self.clone(),
            as_of_micros: date_to_days(self.as_of) * MICROS_PER_DAY,
        })
    }
}

/// Validated RFM parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmConfig {
    pub(crate) params: RfmParams,
    pub(crate) as_of_micros: i64,
}

impl RfmConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &RfmParams {
        &self.params
    }
}
