//! Multi-touch attribution ([`attribution`](crate::views::attribution())): per
//! [`CHANNEL`](crate::schema::CHANNEL) and [`CAMPAIGN_ID`](crate::schema::CAMPAIGN_ID), with
//! [`REVENUE_SHARE`](super::common::REVENUE_SHARE) of all purchase revenue.

/// Revenue attributed to the row (exact sum, not rounded to cents).
pub const ATTRIBUTED_REVENUE: &str = "attributed_revenue";
/// Purchases attributed to the row (sum of touch weights; fractional).
pub const ATTRIBUTED_PURCHASES: &str = "attributed_purchases";
