//! Campaign results ([`campaigns`](crate::views::campaigns())): per
//! [`CAMPAIGN_ID`](crate::schema::CAMPAIGN_ID) and [`SEGMENT`](super::common::SEGMENT).

/// Distinct treated customers (a treatment send).
pub const SENT: &str = "sent";
/// Treated customers with a response to the campaign.
pub const RESPONDERS: &str = "responders";
/// `responders / sent`; null when `sent` is 0.
pub const RESPONSE_RATE: &str = "response_rate";
/// Responders' purchase amounts in the response window, rounded to cents.
pub const RESPONDER_REVENUE: &str = "responder_revenue";
/// `responder_revenue / responders`; null without responders.
pub const REVENUE_PER_RESPONDER: &str = "revenue_per_responder";
/// Customers with a response but neither a treatment nor a control send.
pub const OTHER_RESPONDERS: &str = "other_responders";
/// Distinct control customers (only a control send).
pub const CONTROL: &str = "control";
/// Control customers with a response.
pub const CONTROL_RESPONDERS: &str = "control_responders";
/// `control_responders / control`; null when `control` is 0.
pub const CONTROL_RESPONSE_RATE: &str = "control_response_rate";
/// `response_rate − control_response_rate`; null when either is null.
pub const UPLIFT: &str = "uplift";
/// Lower end of the 95% Wald interval of `uplift`.
pub const UPLIFT_CI_LOW: &str = "uplift_ci_low";
/// Upper end of the 95% Wald interval of `uplift`.
pub const UPLIFT_CI_HIGH: &str = "uplift_ci_high";
