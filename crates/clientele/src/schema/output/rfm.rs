//! The RFM table ([`rfm`](crate::kernels::rfm::rfm)), whose R, F and M columns the churn
//! features, k-means clusters and segment report also use. The label column is
//! [`SEGMENT`](super::common::SEGMENT).
//!
//! [`FREQUENCY`] is the same string as the summary's [`super::FREQUENCY`] but, in the `orders`
//! convention, counts purchase events rather than repeat periods.

/// Days from the last purchase to the reference date (RFM `as_of`: whole days; churn cutoff:
/// fractional days).
pub const RECENCY_DAYS: &str = "recency_days";
/// Purchase events before the reference date (RFM `btyd` convention: repeat purchase periods).
pub const FREQUENCY: &str = "frequency";
/// Sum of the purchase amounts before the reference date, in currency units rounded to cents
/// (RFM `btyd` convention: mean spend per repeat period).
pub const MONETARY: &str = "monetary";
/// Whole days from the first purchase to `as_of`.
pub const T_DAYS: &str = "t_days";
/// Recency score, 1 to the number of bins (the most recent customers score highest).
pub const R_SCORE: &str = "r_score";
/// Frequency score, 1 to the number of bins.
pub const F_SCORE: &str = "f_score";
/// Monetary score, 1 to the number of bins.
pub const M_SCORE: &str = "m_score";
/// The three scores as one number, `100 r + 10 f + m`.
pub const RFM_CODE: &str = "rfm_code";
