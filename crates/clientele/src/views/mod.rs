//! CRM views: cohort retention, channel mix, multi-touch attribution, satisfaction, the
//! customer 360, campaign performance and cross-sell.
//!
//! Each view is a free function over an [`EventStore`] with unchecked
//! `*Params` (serde, builder methods) validated into a `*Config`. Views run in parallel over
//! customers in fixed chunks of customers, and combine the chunk results in chunk order, so
//! their output does not depend on the thread count. Money is summed as exact integers
//! (nano-units, as in [`summarize`](crate::kernels::summary::summarize)).
//!
//! | view | function | output |
//! |---|---|---|
//! | [`cohorts`](mod@cohorts) | [`cohorts()`](fn@cohorts::cohorts) | acquisition cohort × period since acquisition: customers, active customers, retention, revenue, revenue retention, cumulative revenue per customer, repeat-purchase rate |
//! | [`channels`](mod@channels) | [`channels()`](fn@channels::channels) | per channel: reach, events, purchases, revenue, engagement share, cost, cost share, mismatch; per customer: preferred channel by engagement and by purchases; [`acquisition_channels()`]: per channel of the first purchase, customers acquired, revenue and CLV |
//! | [`attribution`](mod@attribution) | [`attribution()`](fn@attribution::attribution) | purchase revenue attributed to the touches before it (first, last, linear, time-decay), per channel and campaign, plus `(unattributed)` |
//! | [`satisfaction`](mod@satisfaction) | [`satisfaction()`](fn@satisfaction::satisfaction) | survey scores: mean and count overall, per channel, per period and per segment; distribution per integer score |
//! | [`customer360`](mod@customer360) | [`customer360()`](fn@customer360::customer360), [`customer_lookup()`] | one row per customer: revenue, orders, purchases, tenure, products, complaints, service calls, last contact per channel, satisfaction, campaign responses, joined with a customer table; one customer's row and recent events by key |
//! | [`campaigns`](mod@campaigns) | [`campaigns()`](fn@campaigns::campaigns) | per campaign and segment: sent, responders, response rate, responder revenue in a window, uplift against a `:control` group with a 95% interval |
//! | [`cross_sell`](mod@cross_sell) | [`cross_sell()`](fn@cross_sell::cross_sell) | product pairs from baskets: support, confidence, lift (min-support pruning); per customer: the next-best products by lift |

pub mod attribution;
pub mod campaigns;
pub mod channels;
pub mod cohorts;
pub mod cross_sell;
pub mod customer360;
mod retention_matrix;
pub mod satisfaction;

pub use attribution::{AttributionConfig, AttributionModel, AttributionParams, attribution};
pub use campaigns::{CampaignConfig, CampaignParams, campaigns};
pub use channels::{ChannelConfig, ChannelParams, ChannelViews, acquisition_channels, channels};
pub use cohorts::{CohortConfig, CohortParams, cohorts};
pub use cross_sell::{Basket, CrossSellConfig, CrossSellParams, CrossSellViews, cross_sell};
pub use customer360::{
    Customer360Config, Customer360Params, CustomerCard, customer_lookup, customer_lookup_indexed, customer360,
};
pub use retention_matrix::retention_matrix;
pub use satisfaction::{SatisfactionConfig, SatisfactionParams, SatisfactionViews, satisfaction};

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kernels::summary::Period;
pub(crate) use crate::kernels::summary::units_to_cents as round_cents;
use crate::store::{EventStore, KeyRef};

/// Customers per parallel task (boundaries independent of the thread count).
pub(crate) const CHUNK: usize = 8192;

/// The calendar grain of cohorts and trends (UTC calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    /// Calendar months.
    #[default]
    Month,
    /// Calendar weeks, Monday to Sunday.
    Week,
}

impl Grain {
    /// Parses `month` or `week`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`by`).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "month" | "m" => Ok(Grain::Month),
            "week" | "w" => Ok(Grain::Week),
            _ => Err(Error::param("by", format!("expected month or week, got {s:?}"))),
        }
    }

    fn period(self) -> Period {
        match self {
            Grain::Month => Period::Month,
            Grain::Week => Period::Week,
        }
    }

    /// The index of the period containing `day` (days since 1970-01-01).
    pub(crate) fn index(self, day: i64) -> i64 {
        self.period().index(day)
    }

    /// The first day of period `index`.
    pub(crate) fn start_day(self, index: i64) -> i64 {
        self.period().start_day(index)
    }
}

impl std::fmt::Display for Grain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Grain::Month => "month",
            Grain::Week => "week",
        })
    }
}

/// The dictionary code of event type `name`, if any event has it.
pub(crate) fn type_code(store: &EventStore, name: &str) -> Option<i32> {
    store
        .event_types()
        .iter()
        .position(|t| t == name)
        .and_then(|i| i32::try_from(i).ok())
}

/// Nano-units to a currency amount rounded to cents.
pub(crate) fn money(units: i128) -> f64 {
    round_cents(units) as f64 / 100.0
}

/// A day count as an Arrow `Date32` value (saturating; event days always fit).
pub(crate) fn date32(day: i64) -> i32 {
    i32::try_from(day).unwrap_or(if day < 0 { i32::MIN } else { i32::MAX })
}

/// A customer table joined to the store by `customer_id`: the distinct segment labels (sorted),
/// each store customer's segment index (`u32::MAX` when the table does not list them), and each
/// table row's segment index.
pub(crate) struct SegmentJoin {
    pub(crate) names: Vec<String>,
    pub(crate) of_customer: Vec<u32>,
    pub(crate) of_row: Vec<u32>,
}

/// Joins `table` (with `customer_id` and the segment `column`, read as text) to the store.
///
/// # Errors
/// [`Error::InvalidParameter`]: a missing column, a null segment or customer id, a customer
/// listed twice, or a customer the store does not hold (named by key).
pub(crate) fn segment_join(store: &EventStore, table: &RecordBatch, column: &str) -> Result<SegmentJoin> {
    let col = table
        .column_by_name(column)
        .ok_or_else(|| Error::param("segment_column", format!("the table has no `{column}` column")))?;
    let text = arrow_cast::cast(col, &DataType::Utf8)
        .map_err(|e| Error::param("segment_column", format!("`{column}` cannot be read as text: {e}")))?;
    let text = text
        .as_string_opt::<i32>()
        .ok_or_else(|| Error::param("segment_column", "not a text column"))?;
    let ids = table
        .column_by_name(crate::schema::CUSTOMER_ID)
        .ok_or_else(|| Error::param("table", "no `customer_id` column"))?;
    let mut names: Vec<String> = (0..text.len())
        .filter(|&i| text.is_valid(i))
        .map(|i| text.value(i).to_string())
        .collect();
    names.sort_unstable();
    names.dedup();
    let index: HashMap<&str, u32> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i as u32)).collect();
    let mut of_customer = vec![u32::MAX; store.num_customers()];
    let mut of_row = Vec::with_capacity(table.num_rows());
    for i in 0..table.num_rows() {
        if text.is_null(i) {
            return Err(Error::param("table", format!("row {}: the segment is null", i + 1)));
        }
        if ids.is_null(i) {
            return Err(Error::param("table", format!("row {}: the customer_id is null", i + 1)));
        }
        let s = index.get(text.value(i)).copied().unwrap_or(u32::MAX);
        let key = if let Some(a) = ids.as_primitive_opt::<Int64Type>() {
            KeyRef::Int(a.value(i))
        } else if let Some(a) = ids.as_string_opt::<i32>() {
            KeyRef::Str(a.value(i))
        } else {
            return Err(Error::param("table", "`customer_id` must be Int64 or Utf8"));
        };
        let c = store
            .customer_index(key)
            .ok_or_else(|| Error::param("table", format!("customer {key} is not in the store")))?;
        if let Some(slot) = of_customer.get_mut(c as usize) {
            if *slot != u32::MAX {
                return Err(Error::param("table", format!("customer {key} has more than one row")));
            }
            *slot = s;
        }
        of_row.push(s);
    }
    Ok(SegmentJoin {
        names,
        of_customer,
        of_row,
    })
}

/// [`segment_join`]'s sorted labels and per-customer segment indices.
///
/// # Errors
/// As [`segment_join`].
pub(crate) fn segments_of(store: &EventStore, table: &RecordBatch, column: &str) -> Result<(Vec<String>, Vec<u32>)> {
    let j = segment_join(store, table, column)?;
    Ok((j.names, j.of_customer))
}
