//! The ingest report: where every input row went.
//!
//! Every row read ends in exactly one place: accepted into the store, or rejected with its
//! source, row number, column and [`RejectReason`]. [`IngestReport::reconciles`] checks
//! `rows_read == rows_accepted + rows_rejected` and that the per-reason counts add up. A row
//! with several problems is rejected once: first for problems of the text line itself (wrong
//! field count, a loaded field that is not UTF-8), then for the first failing column in
//! canonical role order (`customer_id`, `event_time`, `event_type`, `amount`, `score`, `cost`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::reject::RejectReason;

/// A point to roll an [`IngestReport`] back to.
#[derive(Debug, Clone)]
pub(crate) struct ReportMark {
    rows: (u64, u64, u64),
    rejected_by_reason: BTreeMap<RejectReason, u64>,
    accepted_by_event_type: BTreeMap<String, u64>,
    sources: usize,
    rejections: usize,
}

/// One rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The file or stream the row came from.
    pub source: String,
    /// 1-based data row number within that source (a header line is not counted).
    pub row: u64,
    /// The input column at fault (its name in the input, after mapping).
    pub column: String,
    /// Why it was rejected.
    pub reason: RejectReason,
    /// The offending value as text, when there is one.
    pub value: Option<String>,
}

/// Counts for one input source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCounts {
    /// The file or stream name.
    pub source: String,
    /// Data rows read from it.
    pub rows_read: u64,
    /// Rows accepted.
    pub rows_accepted: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
}

/// Where every input row went. Serialises to the JSON report of `clientele ingest --report`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Data rows read from every source.
    pub rows_read: u64,
    /// Rows accepted into the store.
    pub rows_accepted: u64,
    /// Rows rejected (each listed in `rejections`).
    pub rows_rejected: u64,
    /// Rejected rows per reason (snake_case reason names).
    pub rejected_by_reason: BTreeMap<RejectReason, u64>,
    /// Accepted rows per event type, unknown types included.
    pub accepted_by_event_type: BTreeMap<String, u64>,
    /// Counts per source, in the order read.
    pub sources: Vec<SourceCounts>,
    /// Every rejected row, in input order.
    pub rejections: Vec<Rejection>,
    /// How the customer keys were typed (set when the store is built; absent in reports of
    /// single batches and in reports written before this field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_typing: Option<crate::store::KeyTyping>,
}

impl IngestReport {
    /// Whether the counts add up: read = accepted + rejected, per reason and per source.
    pub fn reconciles(&self) -> bool {
        let by_reason: u64 = self.rejected_by_reason.values().sum();
        let by_type: u64 = self.accepted_by_event_type.values().sum();
        let src_read: u64 = self.sources.iter().map(|s| s.rows_read).sum();
        let src_ok = self
            .sources
            .iter()
            .all(|s| s.rows_read == s.rows_accepted + s.rows_rejected);
        self.rows_read == self.rows_accepted + self.rows_rejected
            && by_reason == self.rows_rejected
            && self.rejections.len() as u64 == self.rows_rejected
            && by_type == self.rows_accepted
            && src_read == self.rows_read
            && src_ok
    }

    /// Checks the share of rejected rows against `max_share` (in [0, 1]): an error when more
    /// than that share was rejected, or when rows were read and every one was rejected
    /// (whatever `max_share`). An input without rows passes.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `max_share` outside [0, 1];
    /// [`Error::TooManyRejections`] as above.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::ingest::{IngestOptions, Ingestor};
    /// let mut ing = Ingestor::new(&IngestOptions::default())?;
    /// ing.read_csv_reader("customer_id,event_time\n1,2024-01-01\n2,not a time\n".as_bytes(), "e.csv", &Default::default())?;
    /// let (_, report) = ing.finish()?;
    /// assert!(report.check_reject_share(0.5).is_ok()); // 1 of 2
    /// assert!(report.check_reject_share(0.1).is_err());
    /// # Ok(()) }
    /// ```
    pub fn check_reject_share(&self, max_share: f64) -> crate::error::Result<()> {
        if !(0.0..=1.0).contains(&max_share) {
            return Err(crate::error::Error::param(
                "max_reject_share",
                format!("must be in [0, 1], got {max_share}"),
            ));
        }
        if self.rows_read == 0 {
            return Ok(());
        }
        let share = self.rows_rejected as f64 / self.rows_read as f64;
        if share > max_share || self.rows_accepted == 0 {
            return Err(crate::error::Error::TooManyRejections {
                rejected: self.rows_rejected,
                read: self.rows_read,
                share,
                max_share,
            });
        }
        Ok(())
    }

    /// A mark to [`rollback`](Self::rollback) to (cheap: the lists are truncated, not copied).
    pub(crate) fn mark(&self) -> ReportMark {
        ReportMark {
            rows: (self.rows_read, self.rows_accepted, self.rows_rejected),
            rejected_by_reason: self.rejected_by_reason.clone(),
            accepted_by_event_type: self.accepted_by_event_type.clone(),
            sources: self.sources.len(),
            rejections: self.rejections.len(),
        }
    }

    /// Forgets everything recorded since `mark`.
    pub(crate) fn rollback(&mut self, mark: ReportMark) {
        (self.rows_read, self.rows_accepted, self.rows_rejected) = mark.rows;
        self.rejected_by_reason = mark.rejected_by_reason;
        self.accepted_by_event_type = mark.accepted_by_event_type;
        self.sources.truncate(mark.sources);
        self.rejections.truncate(mark.rejections);
    }

    pub(crate) fn record_rejection(&mut self, r: Rejection) {
        *self.rejected_by_reason.entry(r.reason).or_insert(0) += 1;
        self.rows_rejected += 1;
        self.rejections.push(r);
    }

    /// Merges the counts of `other` into `self` (rejections are appended in order).
    pub fn merge(&mut self, other: IngestReport) {
        self.rows_read += other.rows_read;
        self.rows_accepted += other.rows_accepted;
        self.rows_rejected += other.rows_rejected;
        for (k, v) in other.rejected_by_reason {
            *self.rejected_by_reason.entry(k).or_insert(0) += v;
        }
        for (k, v) in other.accepted_by_event_type {
            *self.accepted_by_event_type.entry(k).or_insert(0) += v;
        }
        self.sources.extend(other.sources);
        self.rejections.extend(other.rejections);
    }
}
