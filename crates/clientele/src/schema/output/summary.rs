//! The customer summary ([`summarize`](crate::kernels::summary::summarize)).
//!
//! Its model columns are [`FREQUENCY`](super::FREQUENCY), [`RECENCY`](super::RECENCY),
//! [`T`](super::T) and [`MONETARY_VALUE`](super::MONETARY_VALUE); the purchase times are
//! [`FIRST_PURCHASE`](super::common::FIRST_PURCHASE) and
//! [`LAST_PURCHASE`](super::common::LAST_PURCHASE).

/// Time of the first calibration event of any type (Timestamp, µs, UTC).
pub const FIRST_EVENT: &str = "first_event";
/// Time of the last calibration event of any type (Timestamp, µs, UTC).
pub const LAST_EVENT: &str = "last_event";
/// Calibration purchase events, before merging into periods.
pub const PURCHASE_COUNT: &str = "purchase_count";
/// Sum of the calibration purchase amounts.
pub const TOTAL_SPEND: &str = "total_spend";
/// Distinct holdout purchase periods (only with an observation end).
pub const FREQUENCY_HOLDOUT: &str = "frequency_holdout";
/// Mean spend per holdout purchase period, 0 when there is none (only with an observation end).
pub const MONETARY_VALUE_HOLDOUT: &str = "monetary_value_holdout";
/// Observation-end period − calibration-end period, in the summary's time unit (only with an
/// observation end).
pub const DURATION_HOLDOUT: &str = "duration_holdout";
/// Prefix of the per-type count columns: `count_<type>` holds the calibration events of that
/// event type.
pub const COUNT_PREFIX: &str = "count_";
