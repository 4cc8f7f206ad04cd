//! Value tiers ([`value_tiers`](crate::kernels::rfm::value_tiers),
//! [`tier_summary`](crate::kernels::rfm::tier_summary)); revenue and counts are the
//! [`common`](super::common) names.

/// Rank by revenue, 1 for the highest.
pub const REVENUE_RANK: &str = "revenue_rank";
/// Share of all revenue from this customer and those ranked above.
pub const CUMULATIVE_REVENUE_SHARE: &str = "cumulative_revenue_share";
/// The tier label (`top` / `rest`, or `decile_1` to `decile_10`).
pub const TIER: &str = "tier";
