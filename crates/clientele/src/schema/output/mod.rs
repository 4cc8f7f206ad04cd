//! Output column names, one constant per name so that writers and readers cannot drift apart.
//!
//! The constants at this level name the per-customer columns of the summary, CLV and
//! prediction tables. Each submodule names the columns of one table family; a name written by
//! several families is defined once in [`common`], and a column that repeats an input role
//! uses the input constant ([`CUSTOMER_ID`](super::CUSTOMER_ID), [`CHANNEL`](super::CHANNEL),
//! [`CAMPAIGN_ID`](super::CAMPAIGN_ID), [`PRODUCT`](super::PRODUCT), [`SCORE`](super::SCORE),
//! [`COST`](super::COST), [`EVENT_TYPE`](super::EVENT_TYPE)). The strings are a user-facing
//! interface: they never change.

pub mod attribution;
pub mod campaigns;
pub mod channels;
pub mod check;
pub mod churn;
pub mod clusters;
pub mod cohorts;
pub mod common;
pub mod cross_sell;
pub mod customer360;
pub mod rfm;
pub mod satisfaction;
pub mod segments;
pub mod summary;
pub mod summary_state;
pub mod tiers;
pub mod tracking;
pub mod triggers;

/// Repeat purchase periods in the calibration window (`x`, lifetimes' `frequency`).
pub const FREQUENCY: &str = "frequency";
/// Time from the first to the last purchase period (`t_x`).
pub const RECENCY: &str = "recency";
/// Time from the first purchase period to the calibration end (`T`).
pub const T: &str = "T";
/// Mean value of the repeat purchase periods (`m̄`; 0 for one-time buyers).
pub const MONETARY_VALUE: &str = "monetary_value";
/// P(alive | history) under the purchase model.
pub const P_ALIVE: &str = "p_alive";
/// Expected purchases over the horizon.
pub const EXPECTED_PURCHASES: &str = "expected_purchases";
/// Expected mean spend per purchase (Gamma-Gamma).
pub const EXPECTED_SPEND: &str = "expected_spend";
/// Customer lifetime value (discounted, gross).
pub const CLV: &str = "clv";
/// Lower end of the delta-method interval of `expected_purchases` (with `--intervals`).
pub const EXPECTED_PURCHASES_LOWER: &str = "expected_purchases_lower";
/// Upper end of the delta-method interval of `expected_purchases`.
pub const EXPECTED_PURCHASES_UPPER: &str = "expected_purchases_upper";
/// Lower end of the delta-method interval of `clv`.
pub const CLV_LOWER: &str = "clv_lower";
/// Upper end of the delta-method interval of `clv`.
pub const CLV_UPPER: &str = "clv_upper";
/// `clv × (1 − cost rate)`.
pub const NET_CLV: &str = "net_clv";
/// 1 − P(alive) under the risk model.
pub const CHURN_RISK: &str = "churn_risk";
/// The risk tier label of `churn_risk`.
pub const RISK_TIER: &str = "risk_tier";
