//! The data window a model was fitted on, and horizons given with their unit.
//!
//! A model has no time unit of its own: its rates are per unit of the summary it was fitted on
//! (weeks, days, or whole periods). [`DataWindow`] records how that summary was prepared
//! (calibration end, period, time unit), so that a saved model refuses to score a summary
//! prepared with another period or unit, and so that a [`Horizon`] such as `12m`, `26w` or
//! `90d` becomes the right number of model time units.
//!
//! Conversions follow the `lifetimes` convention for months: a month is 4.345 weeks or 30 days
//! ([`WEEKS_PER_MONTH`], [`DAYS_PER_MONTH`]); a week is 7 days.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::clv::{DAYS_PER_MONTH, WEEKS_PER_MONTH};
use crate::error::{Error, Result};
use crate::kernels::summary::{Period, TimeUnit};

/// The longest horizon accepted anywhere, in months (100 years): CLV sums are linear in the
/// horizon, and nothing a CRM decides looks further.
pub const MAX_HORIZON_MONTHS: f64 = 1200.0;

/// How the summary a model was fitted on (or is applied to) was prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataWindow {
    /// Last day of the calibration window (inclusive); `None` when unknown (a summary file).
    #[serde(default)]
    pub calibration_end: Option<NaiveDate>,
    /// The purchase period (day, week, month, Nd).
    pub period: Period,
    /// The unit of recency and T, and so of the model's rates.
    pub time_unit: TimeUnit,
}

/// The model's time unit, resolved: what one unit of t, t_x and T is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    /// A number of days (1 for days, 7 for weeks, n for Nd periods).
    Days(f64),
    /// Calendar months.
    Months,
}

impl DataWindow {
    /// A window with the given period and time unit (calibration end unknown).
    pub fn new(period: Period, time_unit: TimeUnit) -> Self {
        DataWindow {
            calibration_end: None,
            period,
            time_unit,
        }
    }

    /// Sets the calibration end.
    pub fn calibration_end(mut self, d: NaiveDate) -> Self {
        self.calibration_end = Some(d);
        self
    }

    fn unit(&self) -> Unit {
        match (self.time_unit, self.period) {
            (TimeUnit::Week, _) | (TimeUnit::Period, Period::Week) => Unit::Days(7.0),
            (TimeUnit::Day, _) | (TimeUnit::Period, Period::Day) => Unit::Days(1.0),
            (TimeUnit::Period, Period::Month) => Unit::Months,
            (TimeUnit::Period, Period::Days(n)) => Unit::Days(f64::from(n)),
        }
    }

    /// Model time units per month, for the discrete monthly CLV convention: 4.345 for weeks,
    /// 30 for days, 1 for months, 30 / n for n-day periods.
    pub fn time_units_per_month(&self) -> f64 {
        match self.unit() {
            Unit::Days(7.0) => WEEKS_PER_MONTH,
            Unit::Days(d) => DAYS_PER_MONTH / d,
            Unit::Months => 1.0,
        }
    }

    /// A readable name of the model's time unit: `week`, `day`, `month` or `14-day period`.
    pub fn unit_name(&self) -> String {
        match self.unit() {
            Unit::Days(7.0) => "week".into(),
            Unit::Days(1.0) => "day".into(),
            Unit::Days(d) => format!("{d}-day period"),
            Unit::Months => "month".into(),
        }
    }

    /// Checks that a model fitted on `self` may score a summary prepared as `other`: the same
    /// period and time unit (the calibration end may differ: that is scoring later data).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (field `window`) naming both settings.
    pub fn check_compatible(&self, other: &DataWindow) -> Result<()> {
        if self.period != other.period || self.time_unit != other.time_unit {
            return Err(Error::param(
                "window",
                format!(
                    "the model was fitted on a summary with period {} and time unit {}, \
                     but the data to score has period {} and time unit {}: prepare it the same way",
                    self.period, self.time_unit, other.period, other.time_unit
                ),
            ));
        }
        Ok(())
    }

    /// The number of model time units in `h`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (field `horizon`) for a horizon in model units
    /// ([`HorizonUnit::TimeUnits`]) beyond [`MAX_HORIZON_MONTHS`].
    pub fn time_units(&self, h: Horizon) -> Result<f64> {
        let per_month = self.time_units_per_month();
        let units = match (h.unit, self.unit()) {
            (HorizonUnit::TimeUnits, _) => h.value,
            (HorizonUnit::Months, _) => h.value * per_month,
            (HorizonUnit::Weeks, Unit::Days(d)) => h.value * 7.0 / d,
            (HorizonUnit::Days, Unit::Days(d)) => h.value / d,
            (HorizonUnit::Weeks, Unit::Months) => h.value / WEEKS_PER_MONTH,
            (HorizonUnit::Days, Unit::Months) => h.value / DAYS_PER_MONTH,
        };
        if units / per_month > MAX_HORIZON_MONTHS {
            return Err(Error::param(
                "horizon",
                format!("{h} is beyond the longest horizon, {MAX_HORIZON_MONTHS} months"),
            ));
        }
        Ok(units)
    }
}

/// The unit of a [`Horizon`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HorizonUnit {
    /// Calendar months (`m`): 4.345 weeks or 30 days.
    Months,
    /// Weeks (`w`).
    Weeks,
    /// Days (`d`).
    Days,
    /// The model's own time unit (a bare number), whatever the summary used.
    TimeUnits,
}

/// A prediction horizon with its unit: `12m`, `26w`, `90d`, or a bare number of the model's
/// time units.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::kernels::summary::{Period, TimeUnit};
/// use clientele::models::window::{DataWindow, Horizon};
/// let weekly = DataWindow::new(Period::Day, TimeUnit::Week);
/// assert_eq!(weekly.time_units("26w".parse::<Horizon>()?)?, 26.0);
/// assert_eq!(weekly.time_units("12m".parse::<Horizon>()?)?, 12.0 * 4.345);
/// assert_eq!(weekly.time_units("14d".parse::<Horizon>()?)?, 2.0);
/// assert!("12 parsecs".parse::<Horizon>().is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Horizon {
    /// How many units.
    pub value: f64,
    /// Which unit.
    pub unit: HorizonUnit,
}

impl Horizon {
    /// `n` months.
    pub fn months(n: f64) -> Self {
        Horizon {
            value: n,
            unit: HorizonUnit::Months,
        }
    }

    /// `n` weeks.
    pub fn weeks(n: f64) -> Self {
        Horizon {
            value: n,
            unit: HorizonUnit::Weeks,
        }
    }

    /// `n` days.
    pub fn days(n: f64) -> Self {
        Horizon {
            value: n,
            unit: HorizonUnit::Days,
        }
    }

    /// Whole months, when the horizon is given in months and is a whole number of them.
    pub fn whole_months(&self) -> Option<u32> {
        (self.unit == HorizonUnit::Months && self.value.fract() == 0.0 && self.value >= 0.0)
            .then_some(self.value as u32)
    }

    /// Parses `12m`, `26w`, `90d` or a bare non-negative number (the model's time units).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (field `horizon`) for another suffix, a negative or
    /// non-finite number, or more than [`MAX_HORIZON_MONTHS`] months (in any unit).
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        let (num, unit) = match t.char_indices().last() {
            Some((i, 'm' | 'M')) => (&t[..i], HorizonUnit::Months),
            Some((i, 'w' | 'W')) => (&t[..i], HorizonUnit::Weeks),
            Some((i, 'd' | 'D')) => (&t[..i], HorizonUnit::Days),
            _ => (t, HorizonUnit::TimeUnits),
        };
        let bad = || {
            Error::param(
                "horizon",
                format!("{text:?} is not a horizon: give a non-negative number with a unit, e.g. 12m, 26w or 90d"),
            )
        };
        let value: f64 = num.trim().parse().map_err(|_| bad())?;
        if !(value.is_finite() && value >= 0.0) {
            return Err(bad());
        }
        let h = Horizon { value, unit };
        let months = match unit {
            HorizonUnit::Months => value,
            HorizonUnit::Weeks => value / WEEKS_PER_MONTH,
            HorizonUnit::Days => value / DAYS_PER_MONTH,
            // checked against the model's unit when converted
            HorizonUnit::TimeUnits => 0.0,
        };
        if months > MAX_HORIZON_MONTHS {
            return Err(Error::param(
                "horizon",
                format!("{text} is beyond the longest horizon, {MAX_HORIZON_MONTHS} months"),
            ));
        }
        Ok(h)
    }
}

impl FromStr for Horizon {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl fmt::Display for Horizon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = match self.unit {
            HorizonUnit::Months => "m",
            HorizonUnit::Weeks => "w",
            HorizonUnit::Days => "d",
            HorizonUnit::TimeUnits => "",
        };
        write!(f, "{}{suffix}", self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizons_convert_to_each_unit() {
        let daily = DataWindow::new(Period::Day, TimeUnit::Day);
        assert_eq!(daily.time_units(Horizon::weeks(2.0)).unwrap(), 14.0);
        assert_eq!(daily.time_units(Horizon::months(2.0)).unwrap(), 60.0);
        let monthly = DataWindow::new(Period::Month, TimeUnit::Period);
        assert_eq!(monthly.time_units(Horizon::days(60.0)).unwrap(), 2.0);
        assert_eq!(monthly.time_units(Horizon::months(3.0)).unwrap(), 3.0);
        let fortnights = DataWindow::new(Period::Days(14), TimeUnit::Period);
        assert_eq!(fortnights.time_units(Horizon::weeks(4.0)).unwrap(), 2.0);
        assert_eq!(fortnights.unit_name(), "14-day period");
        assert!(daily.time_units("40000".parse().unwrap()).is_err());
        assert!(Horizon::parse("1201m").is_err());
        assert!(Horizon::parse("-3m").is_err());
        assert!(Horizon::parse("m").is_err());
        assert_eq!(Horizon::parse("12m").unwrap().whole_months(), Some(12));
        assert_eq!(Horizon::parse("26w").unwrap().whole_months(), None);
    }

    #[test]
    fn windows_of_another_unit_are_refused() {
        let weekly = DataWindow::new(Period::Day, TimeUnit::Week);
        assert!(
            weekly
                .check_compatible(&DataWindow::new(Period::Day, TimeUnit::Day))
                .is_err()
        );
        assert!(
            weekly
                .check_compatible(&DataWindow::new(Period::Week, TimeUnit::Week))
                .is_err()
        );
        let later = weekly.calibration_end(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        assert!(weekly.check_compatible(&later).is_ok());
    }
}
