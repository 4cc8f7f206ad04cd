//! Tables per segment: the RFM segment summary
//! ([`segment_summary`](crate::kernels::rfm::segment_summary)) and the segment report
//! ([`segment_report`](crate::report::segment_report)). Their counts, revenue and shares are
//! the [`common`](super::common) names.

/// Mean `recency_days` of the segment's customers.
pub const MEAN_RECENCY_DAYS: &str = "mean_recency_days";
/// Mean `frequency` of the segment's customers.
pub const MEAN_FREQUENCY: &str = "mean_frequency";
/// Mean `monetary` of the segment's customers.
pub const MEAN_MONETARY: &str = "mean_monetary";
/// Share of the segment's customers with at least one complaint event.
pub const COMPLAINT_RATE: &str = "complaint_rate";
/// Campaign-response events / campaign-send events; null when nothing was sent.
pub const CAMPAIGN_RESPONSE_RATE: &str = "campaign_response_rate";
/// The channel with the most events of the segment's customers; null without channels.
pub const DOMINANT_CHANNEL: &str = "dominant_channel";
