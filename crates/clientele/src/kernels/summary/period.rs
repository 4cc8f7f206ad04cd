//! Purchase periods and time units.
//!
//! A [`Period`] merges purchases into occasions: all purchases of a customer in the same period
//! count as one (their spend is summed). A [`TimeUnit`] measures recency, `T` and durations.
//! By default time is measured in whole periods, as `lifetimes` does with `freq="W"`;
//! `--period day --time-unit week` merges same-day purchases and measures days / 7, the
//! published CDNOW convention (`lifetimes` `freq="D", freq_multiplier=7`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::time::{civil_from_days, days_from_civil};

/// How purchases are merged into occasions. Periods are on the UTC calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Period {
    /// Calendar days.
    #[default]
    Day,
    /// Calendar weeks, Monday to Sunday (pandas' `W` = `W-SUN` period, which `lifetimes` uses).
    Week,
    /// Calendar months.
    Month,
    /// Blocks of `n` days counted from 1970-01-01 (`Nd`, for example `14d`).
    Days(u32),
}

impl Period {
    /// Parses `day`, `week`, `month` or `Nd` (`N` ≥ 1).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`period`).
    pub fn parse(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "day" | "d" | "1d" => Ok(Period::Day),
            "week" | "w" => Ok(Period::Week),
            "month" | "m" => Ok(Period::Month),
            _ => {
                let n = t
                    .strip_suffix('d')
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|&n| n >= 1);
                match n {
                    Some(n) => Ok(Period::Days(n)),
                    None => Err(Error::param(
                        "period",
                        format!("expected day, week, month or Nd (N ≥ 1), got {s:?}"),
                    )),
                }
            }
        }
    }

    /// The index of the period that contains day `day` (days since 1970-01-01).
    #[inline]
    pub fn index(self, day: i64) -> i64 {
        match self {
            Period::Day => day,
            // 1970-01-01 was a Thursday: the Monday on or before day d is d - (d + 3) mod 7.
            Period::Week => (day + 3).div_euclid(7),
            Period::Month => {
                let (y, m, _) = civil_from_days(day);
                (y - 1970) * 12 + (m - 1)
            }
            Period::Days(n) => day.div_euclid(i64::from(n.max(1))),
        }
    }

    /// The first day (days since 1970-01-01) of period `index`.
    pub fn start_day(self, index: i64) -> i64 {
        match self {
            Period::Day => index,
            Period::Week => index * 7 - 3,
            Period::Month => days_from_civil(1970 + index.div_euclid(12), index.rem_euclid(12) + 1, 1),
            Period::Days(n) => index * i64::from(n.max(1)),
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::Day => f.write_str("day"),
            Period::Week => f.write_str("week"),
            Period::Month => f.write_str("month"),
            Period::Days(n) => write!(f, "{n}d"),
        }
    }
}

impl TryFrom<String> for Period {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Period::parse(&s)
    }
}

impl From<Period> for String {
    fn from(p: Period) -> String {
        p.to_string()
    }
}

/// The unit of recency, `T` and durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Whole periods: the difference of period indices.
    #[default]
    Period,
    /// Days between period starts.
    Day,
    /// Days between period starts, divided by 7.
    Week,
}

impl TimeUnit {
    /// Parses `period`, `day` or `week`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`time_unit`).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "period" => Ok(TimeUnit::Period),
            "day" | "d" => Ok(TimeUnit::Day),
            "week" | "w" => Ok(TimeUnit::Week),
            _ => Err(Error::param(
                "time_unit",
                format!("expected period, day or week, got {s:?}"),
            )),
        }
    }

    /// The time from period `a` to period `b` in this unit.
    #[inline]
    pub fn measure(self, period: Period, a: i64, b: i64) -> f64 {
        match self {
            TimeUnit::Period => (b - a) as f64,
            TimeUnit::Day => (period.start_day(b) - period.start_day(a)) as f64,
            TimeUnit::Week => (period.start_day(b) - period.start_day(a)) as f64 / 7.0,
        }
    }
}

impl std::fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeUnit::Period => "period",
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::days_from_civil;

    #[test]
    fn weeks_run_monday_to_sunday() {
        let mon = days_from_civil(2024, 1, 1); // a Monday
        let sun = days_from_civil(2024, 1, 7);
        let next_mon = days_from_civil(2024, 1, 8);
        assert_eq!(Period::Week.index(mon), Period::Week.index(sun));
        assert_eq!(Period::Week.index(next_mon), Period::Week.index(mon) + 1);
        assert_eq!(Period::Week.start_day(Period::Week.index(sun)), mon);
        for d in -1000..1000 {
            let w = Period::Week.index(d);
            assert!(Period::Week.start_day(w) <= d && d < Period::Week.start_day(w + 1));
        }
    }

    #[test]
    fn months_and_blocks() {
        let d = days_from_civil(1997, 3, 15);
        let m = Period::Month.index(d);
        assert_eq!(m, 27 * 12 + 2);
        assert_eq!(Period::Month.start_day(m), days_from_civil(1997, 3, 1));
        assert_eq!(Period::Month.start_day(-1), days_from_civil(1969, 12, 1));
        assert_eq!(Period::Days(14).index(13), 0);
        assert_eq!(Period::Days(14).index(-1), -1);
        assert_eq!(Period::parse("14d").unwrap(), Period::Days(14));
        assert!(Period::parse("0d").is_err());
        assert!(Period::parse("fortnight").is_err());
        assert_eq!(TimeUnit::Week.measure(Period::Day, 0, 272), 272.0 / 7.0);
        assert_eq!(TimeUnit::Period.measure(Period::Month, 3, 5), 2.0);
    }
}
