//! The channel views ([`channels`](crate::views::channels()),
//! [`acquisition_channels`](crate::views::acquisition_channels)). The channel itself is
//! [`CHANNEL`](crate::schema::CHANNEL) and its cost [`COST`](crate::schema::COST).

/// Distinct customers with any event on the channel.
pub const CUSTOMERS_REACHED: &str = "customers_reached";
/// Events on the channel.
pub const EVENTS: &str = "events";
/// Purchase events on the channel.
pub const PURCHASES: &str = "purchases";
/// The channel's events / events on all channels (0 when there are none).
pub const ENGAGEMENT_SHARE: &str = "engagement_share";
/// The channel's cost / cost of all channels; null when that total is 0.
pub const COST_SHARE: &str = "cost_share";
/// `engagement_share − cost_share`; null with `cost_share`.
pub const MISMATCH: &str = "mismatch";
/// The channel with the most events of the customer.
pub const PREFERRED_BY_ENGAGEMENT: &str = "preferred_by_engagement";
/// The customer's events on the preferred-by-engagement channel.
pub const ENGAGEMENT_EVENTS: &str = "engagement_events";
/// The channel with the most purchase events of the customer; null without one.
pub const PREFERRED_BY_PURCHASES: &str = "preferred_by_purchases";
/// The customer's purchase events on the preferred-by-purchases channel.
pub const PURCHASE_EVENTS: &str = "purchase_events";
/// The channel of the customer's first purchase (null: none).
pub const ACQUISITION_CHANNEL: &str = "acquisition_channel";
/// Revenue / customers of the acquisition channel.
pub const REVENUE_PER_CUSTOMER: &str = "revenue_per_customer";
/// Acquired customers with a non-null `clv` in the CLV table.
pub const CLV_CUSTOMERS: &str = "clv_customers";
/// Sum of those customers' `clv`, rounded to cents; null without a CLV table.
pub const TOTAL_CLV: &str = "total_clv";
/// `total_clv / clv_customers`; null without a CLV table or such customers.
pub const MEAN_CLV: &str = "mean_clv";
