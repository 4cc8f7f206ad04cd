//! The customer 360 table ([`customer360`](crate::views::customer360())); its purchase,
//! complaint, service and satisfaction counts are the [`common`](super::common) names.

/// The distinct products of the customer's purchases, sorted, comma-separated.
pub const PRODUCTS: &str = "products";
/// How many distinct products the customer bought.
pub const PRODUCTS_HELD: &str = "products_held";
/// Time of the last complaint; null without one.
pub const LAST_COMPLAINT: &str = "last_complaint";
/// Prefix of the per-channel columns: `last_<channel>` is the time of the last event on it.
pub const LAST_PREFIX: &str = "last_";
/// Prefix used instead of [`LAST_PREFIX`] for a channel whose column would clash with another.
pub const LAST_CHANNEL_PREFIX: &str = "last_channel_";
