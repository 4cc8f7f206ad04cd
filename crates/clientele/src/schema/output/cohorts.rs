//! Acquisition cohorts ([`cohorts`](crate::views::cohorts())) and the retention matrix
//! ([`retention_matrix`](crate::views::retention_matrix)), whose per-period columns are named
//! by the period number (`"0"`, `"1"`, …).

/// First day of the acquisition month or (Monday) week (Date32).
pub const COHORT: &str = "cohort";
/// Months or weeks since the acquisition period (0 = the acquisition period).
pub const PERIOD: &str = "period";
/// Cohort customers with at least one purchase in the period.
pub const ACTIVE_CUSTOMERS: &str = "active_customers";
/// `active_customers / customers`.
pub const RETENTION: &str = "retention";
/// The period's revenue / the cohort's period-0 revenue; null when that is 0.
pub const REVENUE_RETENTION: &str = "revenue_retention";
/// Cohort revenue in periods `0..=period` / `customers`.
pub const CUMULATIVE_REVENUE_PER_CUSTOMER: &str = "cumulative_revenue_per_customer";
/// Share of the cohort with at least 2 purchases in periods `0..=period`.
pub const REPEAT_PURCHASE_RATE: &str = "repeat_purchase_rate";
