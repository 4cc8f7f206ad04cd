//! Names written by several table families, defined once here.

/// Customers in the row's group (cohort, acquisition channel, tier, segment or frequency bucket).
pub const CUSTOMERS: &str = "customers";
/// Purchase amounts of the row, in currency units rounded to cents.
pub const REVENUE: &str = "revenue";
/// The row's revenue as a share of the table's total revenue (0 when that is 0).
pub const REVENUE_SHARE: &str = "revenue_share";
/// The row's count as a share of its whole (a segment's customers of all customers; a score
/// bucket's answers of its group's answers).
pub const SHARE: &str = "share";
/// The segment label (RFM segment, or the segment of a caller's customer table).
pub const SEGMENT: &str = "segment";
/// Purchase events.
pub const ORDERS: &str = "orders";
/// Mean non-null survey `score`; null when there is none.
pub const AVG_SATISFACTION: &str = "avg_satisfaction";
/// Time of the customer's first purchase in the table's window; null without one.
pub const FIRST_PURCHASE: &str = "first_purchase";
/// Time of the customer's last purchase in the table's window; null without one.
pub const LAST_PURCHASE: &str = "last_purchase";
/// Days from the customer's first purchase (customer 360: whole calendar days) or first event
/// of any type (churn features: fractional days) to the reference date.
pub const TENURE_DAYS: &str = "tenure_days";
/// Complaint events (of the configured complaint type).
pub const COMPLAINTS: &str = "complaints";
/// Service-call events (of the configured service-call type).
pub const SERVICE_CALLS: &str = "service_calls";
/// Campaign-response events (of the configured response type).
pub const CAMPAIGN_RESPONSES: &str = "campaign_responses";
