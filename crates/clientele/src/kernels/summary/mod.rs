//! The customer summary: per-customer purchase statistics, `lifetimes`-compatible.
//!
//! For an explicit calibration end (inclusive), an optional observation end (holdout), a
//! purchase [`Period`] and a [`TimeUnit`], each customer with a calibration purchase gets one
//! row (the columns are listed in [`output`]). The semantics follow `lifetimes`'
//! `summary_data_from_transaction_data` and `calibration_and_holdout_data`:
//!
//! - purchases in the same period are one occasion, their amounts summed;
//! - `frequency` = distinct purchase periods − 1; `recency` = last − first purchase period;
//!   `T` = calibration-end period − first purchase period (both in the time unit);
//! - `monetary_value` = mean spend over the repeat periods (the first is excluded), 0 when
//!   `frequency` is 0;
//! - the holdout counts distinct purchase periods in (calibration end, observation end] of
//!   customers present in the calibration window; customers first seen in the holdout are not
//!   listed.
//!
//! A purchase with a null amount counts as an occasion with zero spend. With refunds enabled
//! at ingest, negative purchase amounts are netted into their period's spend.
//!
//! Three ways to compute it, with identical output:
//!
//! - [`summarize`]: one parallel pass over an [`EventStore`](crate::store::EventStore);
//! - [`SummaryAccumulator`]: `update` / `merge` / `finish` partial state, for partitioned data;
//! - [`summarize_parquet`]: the purchase columns only, straight from a Parquet file (no store);
//!   [`summarize_batches`] the same from record batches in memory;
//! - [`summarize_parquet_all`] / [`summarize_batches_all`]: every column straight from a
//!   Parquet file or from record batches (every event is read, not only the purchases);
//! - [`summarize_rollup`]: every column of a whole saved store from the per-customer totals
//!   saved with it (no events read).

mod accumulator;
mod activity;
mod kernel;
pub mod output;
mod params;
mod partial;
mod period;
mod rollup;
mod state;
mod stream;
mod tracking;

pub use accumulator::SummaryAccumulator;
pub use kernel::summarize;
pub use params::{SummaryConfig, SummaryParams};
pub use partial::{STATE_METADATA_KEY, state_schema};
pub use period::{Period, TimeUnit};
pub use rollup::summarize_rollup;
pub use state::CustomerState;
pub(crate) use state::{to_units, units_to_cents};
pub use stream::{
    PURCHASE_COLUMNS, summarize_batches, summarize_batches_all, summarize_parquet, summarize_parquet_all,
};
pub use tracking::{MAX_TRACKING_POINTS, repeat_tracking};
