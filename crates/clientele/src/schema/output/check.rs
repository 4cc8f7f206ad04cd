//! The model-check tables of [`check_model`](crate::pipeline::check_model) besides tracking.
//!
//! `calibration_vs_holdout` is [`FREQUENCY`](super::FREQUENCY) (the bucket),
//! [`CUSTOMERS`](super::common::CUSTOMERS), [`ACTUAL_HOLDOUT`], [`EXPECTED_HOLDOUT`];
//! `period_transactions` is [`REPEAT_PURCHASES`], [`ACTUAL_CUSTOMERS`], [`EXPECTED_CUSTOMERS`];
//! `frequency_recency` is [`FREQUENCY`](super::FREQUENCY), [`RECENCY`](super::RECENCY),
//! [`EXPECTED_PURCHASES`](super::EXPECTED_PURCHASES), [`P_ALIVE`](super::P_ALIVE).

/// Mean observed holdout purchase periods of the bucket's customers.
pub const ACTUAL_HOLDOUT: &str = "actual_holdout";
/// Mean expected holdout purchases of the bucket's customers under the model.
pub const EXPECTED_HOLDOUT: &str = "expected_holdout";
/// Repeat purchases in the calibration time (the last row holds every count at or above it).
pub const REPEAT_PURCHASES: &str = "repeat_purchases";
/// Customers who made that many repeat purchases.
pub const ACTUAL_CUSTOMERS: &str = "actual_customers";
/// Customers the model expects to make that many repeat purchases.
pub const EXPECTED_CUSTOMERS: &str = "expected_customers";
