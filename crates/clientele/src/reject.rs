//! Why an input row was rejected: a ground type, used by ingest, its report and the errors.

use serde::{Deserialize, Serialize};

/// Why a row was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectReason {
    /// The customer id is null, or a null marker such as `NULL` or `NA` where keys are not
    /// declared strings ([`KeyType`](crate::store::KeyType)).
    NullCustomerId,
    /// The customer id is an empty or blank string.
    EmptyCustomerId,
    /// The customer id cannot be used as a key (not an integer where integers are required, or
    /// an unsigned value above `i64::MAX`).
    InvalidCustomerId,
    /// The event time is null.
    NullEventTime,
    /// The event time does not parse with the configured format.
    UnparseableEventTime,
    /// The event time is outside the years 0001 to 9999 (or overflows microseconds).
    EventTimeOutOfRange,
    /// The event type is null or blank (only when the input has an event-type column).
    NullEventType,
    /// The amount is not a number.
    UnparseableAmount,
    /// The amount is NaN or infinite.
    NonFiniteAmount,
    /// The amount's magnitude exceeds 10¹⁵ currency units (sums stay exact up to there).
    AmountOutOfRange,
    /// A purchase has a negative amount and refunds are not enabled.
    NegativePurchaseAmount,
    /// The score is not a number.
    UnparseableScore,
    /// The score is NaN or infinite.
    NonFiniteScore,
    /// The score's magnitude exceeds 10¹⁵ ([`MAX_SCORE`](crate::ingest::MAX_SCORE)).
    ScoreOutOfRange,
    /// The cost is not a number.
    UnparseableCost,
    /// The cost is NaN or infinite.
    NonFiniteCost,
    /// The cost's magnitude exceeds 10¹⁵ currency units ([`MAX_COST`](crate::ingest::MAX_COST)).
    CostOutOfRange,
    /// A delimited-text row has a different number of fields than the header.
    FieldCount,
    /// A delimited-text row is not valid UTF-8.
    InvalidUtf8,
    /// A quoted field of a delimited-text row is not closed within the record limits
    /// ([`MAX_RECORD_LINES`](crate::ingest::MAX_RECORD_LINES) lines,
    /// [`MAX_RECORD_BYTES`](crate::ingest::MAX_RECORD_BYTES) bytes) or before a line break that
    /// leaves the record with the wrong number of fields: the line is rejected and reading
    /// resumes at the next line.
    UnterminatedQuote,
}

impl RejectReason {
    /// The reason's stable snake_case name, as used in JSON reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NullCustomerId => "null_customer_id",
            RejectReason::EmptyCustomerId => "empty_customer_id",
            RejectReason::InvalidCustomerId => "invalid_customer_id",
            RejectReason::NullEventTime => "null_event_time",
            RejectReason::UnparseableEventTime => "unparseable_event_time",
            RejectReason::EventTimeOutOfRange => "event_time_out_of_range",
            RejectReason::NullEventType => "null_event_type",
            RejectReason::UnparseableAmount => "unparseable_amount",
            RejectReason::NonFiniteAmount => "non_finite_amount",
            RejectReason::AmountOutOfRange => "amount_out_of_range",
            RejectReason::NegativePurchaseAmount => "negative_purchase_amount",
            RejectReason::UnparseableScore => "unparseable_score",
            RejectReason::NonFiniteScore => "non_finite_score",
            RejectReason::ScoreOutOfRange => "score_out_of_range",
            RejectReason::UnparseableCost => "unparseable_cost",
            RejectReason::NonFiniteCost => "non_finite_cost",
            RejectReason::CostOutOfRange => "cost_out_of_range",
            RejectReason::FieldCount => "field_count",
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::UnterminatedQuote => "unterminated_quote",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RejectReason::NullCustomerId => "customer id is null",
            RejectReason::EmptyCustomerId => "customer id is empty",
            RejectReason::InvalidCustomerId => "customer id is not a valid key",
            RejectReason::NullEventTime => "event time is null",
            RejectReason::UnparseableEventTime => "event time does not parse",
            RejectReason::EventTimeOutOfRange => "event time is outside the years 0001-9999",
            RejectReason::NullEventType => "event type is null or empty",
            RejectReason::UnparseableAmount => "amount is not a number",
            RejectReason::NonFiniteAmount => "amount is not finite",
            RejectReason::AmountOutOfRange => "amount exceeds 1e15 in magnitude",
            RejectReason::NegativePurchaseAmount => "purchase amount is negative (refunds are not enabled)",
            RejectReason::UnparseableScore => "score is not a number",
            RejectReason::NonFiniteScore => "score is not finite",
            RejectReason::ScoreOutOfRange => "score exceeds 1e15 in magnitude",
            RejectReason::UnparseableCost => "cost is not a number",
            RejectReason::NonFiniteCost => "cost is not finite",
            RejectReason::CostOutOfRange => "cost exceeds 1e15 in magnitude",
            RejectReason::FieldCount => "wrong number of fields",
            RejectReason::InvalidUtf8 => "row is not valid UTF-8",
            RejectReason::UnterminatedQuote => "quoted field is not closed (the line is skipped)",
        })
    }
}
