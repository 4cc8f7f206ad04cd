//! RFM: recency, frequency and monetary value per customer, graded into scores.
//!
//! Today this module implements the `orders` convention (SQL / R `rfm` style, see
//! [`RfmParams`]) with `ntile` scoring, equal row for row to DuckDB's
//! `NTILE(n) OVER (ORDER BY ...)` (checked against a golden file DuckDB produced, in
//! `tests/rfm.rs`). Segment presets, the `btyd` convention and the other scoring methods are
//! later work.
//!
//! Output columns: `customer_id`, `recency_days`, `frequency`, `monetary`, `t_days`,
//! `r_score`, `f_score`, `m_score`, `rfm_code` (`100 r + 10 f + m`).

mod kernel;
mod ntile;
mod params;

pub use kernel::rfm;
pub use ntile::{ntile, ntile_scores};
pub use params::{RfmConfig, RfmParams, Scoring};
