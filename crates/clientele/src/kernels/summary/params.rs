//! Summary parameters: unchecked [`SummaryParams`] validated into a [`SummaryConfig`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::period::{Period, TimeUnit};
use crate::error::{Error, Result};
use crate::time::{MICROS_PER_DAY, date_to_days};

/// Unchecked parameters of the customer summary.
///
/// The calibration window is every event up to and including `calibration_end` (a whole UTC
/// day). With `observation_end`, the holdout window is (`calibration_end`, `observation_end`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryParams {
    /// Last day of the calibration window (inclusive). There is no default: no hidden `now()`.
    pub calibration_end: NaiveDate,
    /// Last day of the holdout window (inclusive), if any.
    #[serde(default)]
    pub observation_end: Option<NaiveDate>,
    /// How purchases merge into occasions (default: day).
    #[serde(default)]
    pub period: Period,
    /// The unit of recency, `T` and durations (default: the period itself).
    #[serde(default)]
    pub time_unit: TimeUnit,
    /// Also list customers with calibration events but no calibration purchase (their
    /// purchase columns are null). Default false, as `lifetimes`.
    #[serde(default)]
    pub include_non_buyers: bool,
}

impl SummaryParams {
    /// Parameters with calibration end `calibration_end` and every other field at its default.
    pub fn new(calibration_end: NaiveDate) -> Self {
        SummaryParams {
            calibration_end,
            observation_end: None,
            period: Period::Day,
            time_unit: TimeUnit::Period,
            include_non_buyers: false,
        }
    }
    /// Sets the observation end (holdout).
    pub fn observation_end(mut self, d: NaiveDate) -> Self {
        self.observation_end = Some(d);
        self
    }
    /// Sets the period.
    pub fn period(mut self, p: Period) -> Self {
        self.period = p;
        self
    }
    /// Sets the time unit.
    pub fn time_unit(mut self, u: TimeUnit) -> Self {
        self.time_unit = u;
        self
    }
    /// Includes customers without calibration purchases.
    pub fn include_non_buyers(mut self, yes: bool) -> Self {
        self.include_non_buyers = yes;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`]: `observation_end` before `calibration_end`; `period` of
    /// zero days.
    pub fn validate(&self) -> Result<SummaryConfig> {
        if let Period::Days(0) = self.period {
            return Err(Error::param("period", "a period of 0 days"));
        }
        let cal_day = date_to_days(self.calibration_end);
        let obs_day = match self.observation_end {
            Some(o) if o < self.calibration_end => {
                return Err(Error::param(
                    "observation_end",
                    format!("{o} is before the calibration end {}", self.calibration_end),
                ));
            }
            Some(o) => Some(date_to_days(o)),
            None => None,
        };
        Ok(SummaryConfig {
            params: self.clone(),
            calibration_end_excl: (cal_day + 1) * MICROS_PER_DAY,
            observation_end_excl: obs_day.map(|d| (d + 1) * MICROS_PER_DAY),
            calibration_period: self.period.index(cal_day),
            observation_period: obs_day.map(|d| self.period.index(d)),
        })
    }
}

/// Validated summary parameters, with the window bounds precomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryConfig {
    pub(crate) params: SummaryParams,
    /// First instant after the calibration window (µs since the epoch).
    pub(crate) calibration_end_excl: i64,
    /// First instant after the holdout window.
    pub(crate) observation_end_excl: Option<i64>,
    /// The period that contains the calibration end.
    pub(crate) calibration_period: i64,
    /// The period that contains the observation end.
    pub(crate) observation_period: Option<i64>,
}

impl SummaryConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &SummaryParams {
        &self.params
    }
}
