//! Reports: business views that join a per-customer table with the event store and group it.
//!
//! | report | what |
//! |---|---|
//! | [`segments`] | per segment: size, revenue, orders, mean R/F/M, satisfaction, complaints, campaign response, dominant channel |

pub mod segments;

pub use segments::{SegmentReportConfig, SegmentReportParams, segment_report};
