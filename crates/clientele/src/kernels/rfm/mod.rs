//! RFM: recency, frequency and monetary value per customer, graded into scores.
//!
//! Two conventions ([`RfmMode`], defined in [`RfmParams`]): `orders` (SQL / R `rfm` style)
//! and `btyd` (`lifetimes` style, from the customer summary), each with three scorings ([`Scoring`]): `ntile`, equal row for row to DuckDB's
//! `NTILE(n) OVER (ORDER BY ...)` (checked against a golden file DuckDB produced, in
//! `tests/rfm.rs`); `quantile`, R `rfm`'s thresholds ([`thresholds`]); and `breaks`, custom
//! cut points. [`value_tiers`] ranks customers by revenue into a Pareto top group or deciles.
//!
//! Output columns: `customer_id`, `recency_days`, `frequency`, `monetary`, `t_days`,
//! `r_score`, `f_score`, `m_score`, `rfm_code` (`100 r + 10 f + m`), `segment` (from a
//! [`SegmentMap`]: a preset or custom rules, first match wins). [`segment_summary`] groups the
//! table by segment.

mod kernel;
mod ntile;
mod params;
mod rollup;
mod segment_summary;
mod segments;
mod stream;
pub mod thresholds;
mod tiers;

pub use kernel::rfm;
pub use ntile::{ntile, ntile_scores};
pub use params::{RfmConfig, RfmMode, RfmParams, Scoring};
pub use rollup::rfm_rollup;
pub use segment_summary::segment_summary;
pub use segments::{SegmentMap, SegmentRule};
pub use stream::{rfm_batches, rfm_parquet};
pub use tiers::{Tiers, tier_summary, value_tiers, with_tier};
