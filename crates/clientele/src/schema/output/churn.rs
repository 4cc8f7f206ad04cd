//! Churn tables: features ([`churn_features`](crate::churn::churn_features)), labels
//! ([`churn_labels`](crate::churn::churn_labels)) and scores
//! ([`ChurnModel::score`](crate::churn::ChurnModel::score)). The features start with the
//! [`rfm`](super::rfm) names and use the [`common`](super::common) counts; all are in days
//! where the name says so.

/// Mean gap between consecutive purchases, in days (0 without a gap).
pub const INTERPURCHASE_MEAN_DAYS: &str = "interpurchase_mean_days";
/// Population standard deviation of the gaps between purchases, in days (0 without a gap).
pub const INTERPURCHASE_SD_DAYS: &str = "interpurchase_sd_days";
/// Days from the last complaint to the cutoff (`no_complaint_days` when there is none).
pub const DAYS_SINCE_COMPLAINT: &str = "days_since_complaint";
/// Survey answers with a score.
pub const SURVEYS: &str = "surveys";
/// Mean survey score (0 when there is none).
pub const SATISFACTION_MEAN: &str = "satisfaction_mean";
/// Least-squares slope of the survey score against time, per day.
pub const SATISFACTION_TREND: &str = "satisfaction_trend";
/// Prefix of the channel-share features: `channel_share_<name>` is the share of the customer's
/// events on that channel.
pub const CHANNEL_SHARE: &str = "channel_share_";
/// The label: 1 when the customer made no purchase in the horizon after the cutoff, else 0.
pub const CHURNED: &str = "churned";
/// The model's probability that the customer churns.
pub const CHURN_PROBABILITY: &str = "churn_probability";
