//! What a report covers: dates, the model window and discounting, with documented defaults.

use chrono::NaiveDate;
use clientele::kernels::summary::TimeUnit;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Unchecked report settings (validate into a [`ReportConfig`]).
///
/// Dates are explicit: `as_of` is the report date (events strictly before it count, as in
/// RFM); `calibration_end` closes the window the models are fitted on, and the days from it to
/// `as_of` are the holdout on which they are checked and the churn model is evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportParams {
    /// The report date: events strictly before it count.
    pub as_of: NaiveDate,
    /// The last day of the models' calibration window (must be before `as_of`).
    pub calibration_end: NaiveDate,
    /// The models' time unit (default weeks, as lifetimes' CDNOW examples).
    pub time_unit: TimeUnit,
    /// Monthly discount rate of the lifetime value (default 0.01).
    pub monthly_discount: f64,
    /// Lifetime value horizon in months (default 12).
    pub clv_months: u32,
    /// Days after a cutoff in which a customer who does not buy counts as churned (default 90,
    /// capped by the holdout's length).
    pub churn_horizon_days: u32,
    /// The most recent acquisition cohorts drawn in the cohort heatmaps (default 24).
    pub max_cohorts: usize,
    /// The page title (default "Customer report").
    pub title: String,
}

impl ReportParams {
    /// Settings with the documented defaults.
    pub fn new(as_of: NaiveDate, calibration_end: NaiveDate) -> Self {
        ReportParams {
            as_of,
            calibration_end,
            time_unit: TimeUnit::Week,
            monthly_discount: 0.01,
            clv_months: 12,
            churn_horizon_days: 90,
            max_cohorts: 24,
            title: "Customer report".into(),
        }
    }

    /// Sets the page title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Sets the models' time unit.
    pub fn time_unit(mut self, unit: TimeUnit) -> Self {
        self.time_unit = unit;
        self
    }

    /// Sets the monthly discount rate.
    pub fn monthly_discount(mut self, rate: f64) -> Self {
        self.monthly_discount = rate;
        self
    }

    /// Sets the churn horizon in days.
    pub fn churn_horizon_days(mut self, days: u32) -> Self {
        self.churn_horizon_days = days;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the field: `calibration_end` not before `as_of`,
    /// `monthly_discount` outside [0, 1), `clv_months` 0 or over 1200, `churn_horizon_days` 0,
    /// `max_cohorts` 0 or over 120.
    pub fn validate(&self) -> Result<ReportConfig> {
        let bad = |name, reason: String| Err(Error::InvalidParameter { name, reason });
        if self.calibration_end >= self.as_of {
            return bad(
                "calibration_end",
                format!("{} is not before the report date {}", self.calibration_end, self.as_of),
            );
        }
        if !(0.0..1.0).contains(&self.monthly_discount) {
            return bad(
                "monthly_discount",
                format!("{} is outside [0, 1)", self.monthly_discount),
            );
        }
        if !(1..=1200).contains(&self.clv_months) {
            return bad("clv_months", format!("{} is outside 1..=1200", self.clv_months));
        }
        if self.churn_horizon_days == 0 {
            return bad("churn_horizon_days", "must be at least 1".into());
        }
        if !(1..=120).contains(&self.max_cohorts) {
            return bad("max_cohorts", format!("{} is outside 1..=120", self.max_cohorts));
        }
        Ok(ReportConfig { params: self.clone() })
    }
}

/// Validated report settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportConfig {
    params: ReportParams,
}

impl ReportConfig {
    /// The settings this was validated from.
    pub fn params(&self) -> &ReportParams {
        &self.params
    }

    /// The holdout's length in days (from the day after the calibration end to the day before
    /// the report date).
    pub fn holdout_days(&self) -> i64 {
        (self.params.as_of - self.params.calibration_end).num_days() - 1
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;

    #[test]
    fn each_invalid_field_is_named() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let ok = ReportParams::new(d(2026, 1, 1), d(2025, 6, 30));
        assert!(ok.validate().is_ok());
        let name = |p: ReportParams| match p.validate() {
            Err(Error::InvalidParameter { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        assert_eq!(name(ReportParams::new(d(2026, 1, 1), d(2026, 1, 1))), "calibration_end");
        assert_eq!(name(ok.clone().monthly_discount(1.5)), "monthly_discount");
        assert_eq!(name(ok.clone().churn_horizon_days(0)), "churn_horizon_days");
        assert_eq!(
            name(ReportParams {
                clv_months: 0,
                ..ok.clone()
            }),
            "clv_months"
        );
        assert_eq!(name(ReportParams { max_cohorts: 0, ..ok }), "max_cohorts");
    }
}
