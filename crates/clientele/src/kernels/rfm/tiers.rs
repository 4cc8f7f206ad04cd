//! Value tiers: customers ranked by revenue, cut into a Pareto top group or deciles.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use super::ntile::ntile;
use crate::error::{Error, Result};

/// How customers are tiered by revenue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tiers {
    /// The top `top_share` of customers by revenue (rounded up to whole customers) are tier
    /// `top`, the others `rest` (the "80/20" view with `top_share` 0.2).
    Pareto {
        /// The share of customers in the top tier, in (0, 1].
        top_share: f64,
    },
    /// Ten groups by revenue, `decile_1` the highest (SQL `NTILE(10)` over revenue
    /// descending).
    Deciles,
}

/// Tiers of the customers of an RFM table (from [`rfm`](super::rfm)) by `monetary`.
///
/// Customers are ranked by revenue descending, ties by customer key ascending (the table's
/// order). Columns: `customer_id`, `revenue`, `revenue_rank` (1 = highest),
/// `cumulative_revenue_share` (share of all revenue from this customer and those ranked
/// above), `tier`. Rows are in rank order.
///
/// # Errors
/// [`Error::InvalidParameter`]: `top_share` outside (0, 1]; `table` without `customer_id` and
/// a Float64 `monetary` column.
pub fn value_tiers(table: &RecordBatch, tiers: Tiers) -> Result<RecordBatch> {
    if let Tiers::Pareto { top_share } = tiers
        && !(top_share > 0.0 && top_share <= 1.0)
    {
        return Err(Error::param("top_share", format!("must be in (0, 1], got {top_share}")));
    }
    let keys = table
        .column_by_name(crate::schema::CUSTOMER_ID)
        .ok_or_else(|| Error::param("table", "no `customer_id` column"))?;
    let money = table
        .column_by_name("monetary")
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .ok_or_else(|| Error::param("table", "no Float64 `monetary` column"))?;
    let n = table.num_rows();
    let cents: Vec<i64> = money.values().iter().map(|m| (m * 100.0).round() as i64).collect();
    // Stable sort by revenue descending keeps key order among ties.
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(cents[i as usize]));
    let total: i64 = cents.iter().sum();
    let top = match tiers {
        Tiers::Pareto { top_share } => ((n as f64 * top_share).ceil() as usize).min(n),
        Tiers::Deciles => 0,
    };
    let mut running = 0i64;
    let mut cumulative = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for (rank, &i) in order.iter().enumerate() {
        running += cents[i as usize];
        cumulative.push(if total == 0 { 0.0 } else { running as f64 / total as f64 });
        labels.push(match tiers {
            Tiers::Pareto { .. } => {
                if rank < top {
                    "top".to_string()
                } else {
                    "rest".to_string()
                }
            }
            Tiers::Deciles => format!("decile_{}", ntile(rank, n, 10)),
        });
    }
    let take = UInt32Array::from(order.clone());
    let schema = Arc::new(Schema::new(vec![
        Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false),
        Field::new("revenue", DataType::Float64, false),
        Field::new("revenue_rank", DataType::UInt64, false),
        Field::new("cumulative_revenue_share", DataType::Float64, false),
        Field::new("tier", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        arrow_select::take::take(keys.as_ref(), &take, None)?,
        Arc::new(Float64Array::from(
            order
                .iter()
                .map(|&i| cents[i as usize] as f64 / 100.0)
                .collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from((1..=n as u64).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(cumulative)),
        Arc::new(StringArray::from(labels)),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}
