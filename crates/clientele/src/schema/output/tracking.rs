//! Tracking curves of repeat purchases over time: the expected curve
//! ([`CheckTables::tracking`](crate::pipeline::CheckTables)) and the observed one
//! ([`repeat_tracking`](crate::kernels::summary::repeat_tracking)), on one grid.

/// Point `k` of the grid (1, 2, …), in the summary's time units since the cohort's start.
pub const TIME: &str = "time";
/// Observed repeat purchases at times in `(k − 1, k]`.
pub const ACTUAL_INCREMENTAL: &str = "actual_incremental";
/// Observed repeat purchases at times in `(0, k]`.
pub const ACTUAL_CUMULATIVE: &str = "actual_cumulative";
/// Expected repeat purchases at times in `(k − 1, k]` under the purchase model.
pub const EXPECTED_INCREMENTAL: &str = "expected_incremental";
/// Expected repeat purchases at times in `(0, k]` under the purchase model.
pub const EXPECTED_CUMULATIVE: &str = "expected_cumulative";
