//! The summary's partial state ([`state_schema`](crate::kernels::summary::state_schema)).
//!
//! Its other columns are [`CUSTOMER_ID`](crate::schema::CUSTOMER_ID),
//! [`FIRST_EVENT`](super::summary::FIRST_EVENT), [`LAST_EVENT`](super::summary::LAST_EVENT),
//! [`FIRST_PURCHASE`](super::common::FIRST_PURCHASE),
//! [`LAST_PURCHASE`](super::common::LAST_PURCHASE) (all Int64, µs since the epoch) and
//! [`PURCHASE_COUNT`](super::summary::PURCHASE_COUNT); the items of [`EVENT_TYPE_COUNTS`]
//! name their type [`EVENT_TYPE`](crate::schema::EVENT_TYPE).

/// Spend, exact in nano-units (decimal(38, 9)): the customer's calibration spend, or the spend
/// of one purchase period in a period list.
pub const SPEND: &str = "spend";
/// The calibration purchase periods, ascending (a list of [`PERIOD`], [`SPEND`] items).
pub const CALIBRATION: &str = "calibration";
/// The holdout purchase periods, ascending (a list of [`PERIOD`], [`SPEND`] items).
pub const HOLDOUT: &str = "holdout";
/// Calibration events by type (a list of `event_type`, [`COUNT`] items).
pub const EVENT_TYPE_COUNTS: &str = "event_type_counts";
/// Field of a period item: the purchase period (Int64 index in the summary's period grid).
pub const PERIOD: &str = "period";
/// Field of an event-type item: the calibration events of that type (Int64).
pub const COUNT: &str = "count";
/// The element field of the list columns.
pub const ITEM: &str = "item";
