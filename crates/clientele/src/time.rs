//! Time values: how event times are parsed and represented, and calendar arithmetic.
//!
//! The store keeps every event time as an `i64` count of **microseconds since
//! 1970-01-01T00:00:00 UTC** (Arrow `Timestamp(Microsecond, "+00:00")`). Inputs are converted on
//! ingest:
//!
//! | input type | conversion |
//! |---|---|
//! | `Timestamp(unit, tz)` | the instant, rescaled to microseconds (the time zone only labels the instant) |
//! | `Date32` / `Date64` | midnight UTC of that date |
//! | strings | parsed with a [`TimeFormat`] (a chrono format, or automatic ISO-8601 detection) |
//!
//! Calendar periods (days, Monday–Sunday weeks, months) are computed on the UTC calendar. Dates
//! given as parameters (calibration end, as-of) are whole UTC days.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// The time-zone label of every timestamp Clientele writes: UTC as a fixed offset, which
/// Arrow interprets without a time-zone database.
pub const UTC: &str = "+00:00";

/// The first instant an event may have: 0001-01-01T00:00:00 UTC, in µs since the epoch.
pub const MIN_EVENT_MICROS: i64 = -719_162 * MICROS_PER_DAY;
/// The first instant after the last an event may have: 10000-01-01T00:00:00 UTC.
pub const END_EVENT_MICROS: i64 = 2_932_897 * MICROS_PER_DAY;

/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// How string event times are parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// ISO-8601 / RFC 3339: `2024-03-01`, `2024-03-01 12:00:00`, `2024-03-01T12:00:00.5`,
    /// `2024-03-01T12:00:00+02:00`, `2024-03-01T12:00:00Z`. Times without an offset are UTC.
    #[default]
    Auto,
    /// A chrono `strftime` format such as `%Y%m%d` or `%d/%m/%Y %H:%M`. A format without time
    /// fields parses dates (midnight UTC); one with `%z`/`%:z` parses an offset.
    Format(String),
}

/// What a chrono format string describes, decided once per column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormatKind {
    Date,
    DateTime,
    Zoned,
}

/// A compiled [`TimeFormat`]: parses strings to microseconds since the epoch.
#[derive(Debug, Clone)]
pub struct TimeParser {
    format: Option<(String, FormatKind)>,
}

impl TimeParser {
    /// Compiles `format`.
    pub fn new(format: &TimeFormat) -> Self {
        match format {
            TimeFormat::Auto => TimeParser { format: None },
            TimeFormat::Format(f) => {
                let kind = if f.contains("%z") || f.contains("%:z") || f.contains("%#z") || f.contains("%+") {
                    FormatKind::Zoned
                } else if [
                    "%H", "%M", "%S", "%T", "%R", "%I", "%p", "%s", "%f", "%k", "%l", "%r", "%X", "%c",
                ]
                .iter()
                .any(|t| f.contains(t))
                {
                    FormatKind::DateTime
                } else {
                    FormatKind::Date
                };
                TimeParser {
                    format: Some((f.clone(), kind)),
                }
            }
        }
    }

    /// Parses one value; `None` when it does not match.
    pub fn parse(&self, s: &str) -> Option<i64> {
        let s = s.trim();
        match &self.format {
            None => parse_auto(s),
            Some((f, kind)) => {
                if f == "%Y%m%d" {
                    return parse_compact_date(s).map(|d| d * MICROS_PER_DAY);
                }
                if f == "%Y-%m-%d" {
                    return parse_iso_date(s).map(|d| d * MICROS_PER_DAY);
                }
                match kind {
                    FormatKind::Date => NaiveDate::parse_from_str(s, f).ok().map(date_to_micros),
                    FormatKind::DateTime => NaiveDateTime::parse_from_str(s, f)
                        .ok()
                        .map(|dt| dt.and_utc().timestamp_micros()),
                    FormatKind::Zoned => DateTime::parse_from_str(s, f).ok().map(|dt| dt.timestamp_micros()),
                }
            }
        }
    }
}

/// Automatic ISO-8601 parsing: date, date-time (space or `T`, optional fraction), optional offset.
fn parse_auto(s: &str) -> Option<i64> {
    if s.len() == 10 {
        return parse_iso_date(s).map(|d| d * MICROS_PER_DAY);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_micros());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Some(dt.and_utc().timestamp_micros());
        }
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(s, f) {
            return Some(dt.timestamp_micros());
        }
    }
    None
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v: i64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// `YYYY-MM-DD` → days since the epoch (validated).
fn parse_iso_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    ymd_checked(digits(b.get(0..4)?)?, digits(b.get(5..7)?)?, digits(b.get(8..10)?)?)
}

/// `YYYYMMDD` → days since the epoch (validated).
fn parse_compact_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 8 {
        return None;
    }
    ymd_checked(digits(b.get(0..4)?)?, digits(b.get(4..6)?)?, digits(b.get(6..8)?)?)
}

fn ymd_checked(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d` (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `(year, month, day)` of a count of days since 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Microseconds since the epoch at midnight UTC of `date`.
pub fn date_to_micros(date: NaiveDate) -> i64 {
    date_to_days(date) * MICROS_PER_DAY
}

/// Days since the epoch of `date`.
pub fn date_to_days(date: NaiveDate) -> i64 {
    use chrono::Datelike;
    days_from_civil(i64::from(date.year()), i64::from(date.month()), i64::from(date.day()))
}

/// The UTC day (days since the epoch) that contains the instant `micros`.
#[inline]
pub fn micros_to_day(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_DAY)
}

/// The `NaiveDate` of a day count, if chrono can represent it.
pub fn days_to_date(days: i64) -> Option<NaiveDate> {
    if days.unsigned_abs() > 100_000_000 {
        return None;
    }
    let (y, m, d) = civil_from_days(days);
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in -800_000..800_000i64 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1997, 1, 1), 9862);
        assert_eq!(civil_from_days(10_956), (1999, 12, 31));
    }

    #[test]
    fn event_bounds_are_years_1_to_9999() {
        assert_eq!(days_from_civil(1, 1, 1) * MICROS_PER_DAY, MIN_EVENT_MICROS);
        assert_eq!(days_from_civil(10_000, 1, 1) * MICROS_PER_DAY, END_EVENT_MICROS);
        let plus = TimeParser::new(&TimeFormat::Format("%+".into()));
        assert_eq!(plus.parse("1970-01-01T02:00:00+02:00"), Some(0));
    }

    #[test]
    fn chrono_agrees() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(
            date_to_days(d),
            (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days()
        );
        assert_eq!(days_to_date(date_to_days(d)), Some(d));
    }

    #[test]
    fn parses_formats() {
        let auto = TimeParser::new(&TimeFormat::Auto);
        assert_eq!(auto.parse("1970-01-02"), Some(MICROS_PER_DAY));
        assert_eq!(auto.parse("1970-01-01 00:00:01"), Some(1_000_000));
        assert_eq!(auto.parse("1970-01-01T00:00:01.5"), Some(1_500_000));
        assert_eq!(auto.parse("1970-01-01T02:00:00+02:00"), Some(0));
        assert_eq!(auto.parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(auto.parse("1970-13-01"), None);
        assert_eq!(auto.parse("1970-02-30"), None);
        assert_eq!(auto.parse("yesterday"), None);
        let compact = TimeParser::new(&TimeFormat::Format("%Y%m%d".into()));
        assert_eq!(compact.parse("19970101"), Some(9862 * MICROS_PER_DAY));
        assert_eq!(compact.parse("19970231"), None);
        assert_eq!(compact.parse("1997011"), None);
        let dmy = TimeParser::new(&TimeFormat::Format("%d/%m/%Y".into()));
        assert_eq!(dmy.parse("02/01/1970"), Some(MICROS_PER_DAY));
        let dt = TimeParser::new(&TimeFormat::Format("%d/%m/%Y %H:%M".into()));
        assert_eq!(dt.parse("01/01/1970 00:01"), Some(60_000_000));
        let zoned = TimeParser::new(&TimeFormat::Format("%Y-%m-%d %H:%M %z".into()));
        assert_eq!(zoned.parse("1970-01-01 01:00 +0100"), Some(0));
    }
}
