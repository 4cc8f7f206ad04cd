//! Value tiers: customers ranked by revenue, cut into a Pareto top group or deciles.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use super::ntile::ntile;
use crate::error::{Error, Result};
use crate::schema::output::common::{CUSTOMERS, REVENUE, REVENUE_SHARE};
use crate::schema::output::rfm::MONETARY;
use crate::schema::output::tiers::{CUMULATIVE_REVENUE_SHARE, REVENUE_RANK, TIER};

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
    let Ranked {
        keys,
        cents,
        order,
        cumulative,
        labels,
    } = rank(table, tiers)?;
    let n = order.len();
    let take = UInt32Array::from(order.clone());
    let schema = Arc::new(Schema::new(vec![
        Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false),
        Field::new(REVENUE, DataType::Float64, false),
        Field::new(REVENUE_RANK, DataType::UInt64, false),
        Field::new(CUMULATIVE_REVENUE_SHARE, DataType::Float64, false),
        Field::new(TIER, DataType::Utf8, false),
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

impl Tiers {
    /// The tier labels in reading order: `top`, `rest` for Pareto; `decile_1` (highest
    /// revenue) to `decile_10` for deciles.
    pub fn labels(&self) -> Vec<String> {
        match self {
            Tiers::Pareto { .. } => vec!["top".into(), "rest".into()],
            Tiers::Deciles => (1..=10).map(|d| format!("decile_{d}")).collect(),
        }
    }
}

/// `table` with a `tier` column appended (Utf8, one label per row in the table's own order):
/// the tier [`value_tiers`] gives each customer.
///
/// # Errors
/// As [`value_tiers`].
pub fn with_tier(table: &RecordBatch, tiers: Tiers) -> Result<RecordBatch> {
    let ranked = rank(table, tiers)?;
    let mut per_row = vec![String::new(); table.num_rows()];
    for (&row, label) in ranked.order.iter().zip(ranked.labels) {
        if let Some(slot) = per_row.get_mut(row as usize) {
            *slot = label;
        }
    }
    let mut fields: Vec<Field> = table.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(TIER, DataType::Utf8, false));
    let mut columns = table.columns().to_vec();
    columns.push(Arc::new(StringArray::from(per_row)));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// Customers and revenue per tier of a [`value_tiers`] table, in [`Tiers::labels`] order
/// (tiers without customers are left out). Columns: `tier`, `customers` (UInt64), `revenue`,
/// `revenue_share` (of all revenue; 0 when there is none).
///
/// # Errors
/// [`Error::InvalidParameter`] when `tiered` lacks a Utf8 `tier` or a Float64 `revenue` column.
pub fn tier_summary(tiered: &RecordBatch, tiers: Tiers) -> Result<RecordBatch> {
    let labels = tiered
        .column_by_name(TIER)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| Error::param("table", "no Utf8 `tier` column"))?;
    let revenue = tiered
        .column_by_name(REVENUE)
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .ok_or_else(|| Error::param("table", "no Float64 `revenue` column"))?;
    let order = tiers.labels();
    let mut customers = vec![0u64; order.len()];
    let mut sums = vec![0.0f64; order.len()];
    for (label, r) in labels.iter().zip(revenue.iter()) {
        if let Some(at) = label.and_then(|l| order.iter().position(|o| o == l))
            && let (Some(c), Some(s)) = (customers.get_mut(at), sums.get_mut(at))
        {
            *c += 1;
            *s += r.unwrap_or(0.0);
        }
    }
    let total: f64 = sums.iter().sum();
    let keep: Vec<usize> = (0..order.len())
        .filter(|&i| customers.get(i).is_some_and(|&c| c > 0))
        .collect();
    let pick = |v: &[f64]| keep.iter().filter_map(|&i| v.get(i).copied()).collect::<Vec<f64>>();
    let schema = Arc::new(Schema::new(vec![
        Field::new(TIER, DataType::Utf8, false),
        Field::new(CUSTOMERS, DataType::UInt64, false),
        Field::new(REVENUE, DataType::Float64, false),
        Field::new(REVENUE_SHARE, DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(
            keep.iter().filter_map(|&i| order.get(i).cloned()).collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(
            keep.iter()
                .filter_map(|&i| customers.get(i).copied())
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(pick(&sums))),
        Arc::new(Float64Array::from(
            pick(&sums)
                .iter()
                .map(|s| if total > 0.0 { s / total } else { 0.0 })
                .collect::<Vec<_>>(),
        )),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// The customers of `table` ranked by revenue: what [`value_tiers`] and [`with_tier`] share.
struct Ranked<'a> {
    keys: &'a ArrayRef,
    /// Revenue per row of `table`, in cents.
    cents: Vec<i64>,
    /// Row indices of `table` in rank order.
    order: Vec<u32>,
    /// Cumulative revenue share per rank.
    cumulative: Vec<f64>,
    /// Tier label per rank.
    labels: Vec<String>,
}

fn rank(table: &RecordBatch, tiers: Tiers) -> Result<Ranked<'_>> {
    if let Tiers::Pareto { top_share } = tiers
        && !(top_share > 0.0 && top_share <= 1.0)
    {
        return Err(Error::param("top_share", format!("must be in (0, 1], got {top_share}")));
    }
    let keys = table
        .column_by_name(crate::schema::CUSTOMER_ID)
        .ok_or_else(|| Error::param("table", "no `customer_id` column"))?;
    let money = table
        .column_by_name(MONETARY)
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
    Ok(Ranked {
        keys,
        cents,
        order,
        cumulative,
        labels,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;
    use arrow_array::Int64Array;

    fn table() -> RecordBatch {
        RecordBatch::try_from_iter([
            (
                "customer_id",
                Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])) as ArrayRef,
            ),
            (
                "monetary",
                Arc::new(Float64Array::from(vec![10.0, 50.0, 0.0, 30.0, 10.0])) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    #[test]
    fn with_tier_labels_each_row_as_value_tiers_ranks_it() {
        let t = table();
        let tiered = with_tier(&t, Tiers::Pareto { top_share: 0.4 }).unwrap();
        let labels: Vec<&str> = tiered
            .column_by_name("tier")
            .unwrap()
            .as_string::<i32>()
            .iter()
            .flatten()
            .collect();
        // customers 2 (50) and 4 (30) are the top 40%
        assert_eq!(labels, vec!["rest", "top", "rest", "top", "rest"]);
        let ranked = value_tiers(&t, Tiers::Pareto { top_share: 0.4 }).unwrap();
        let summary = tier_summary(&ranked, Tiers::Pareto { top_share: 0.4 }).unwrap();
        let customers = summary
            .column_by_name("customers")
            .unwrap()
            .as_primitive::<arrow_array::types::UInt64Type>();
        assert_eq!(customers.values().to_vec(), vec![2, 3]);
        let share = summary
            .column_by_name("revenue_share")
            .unwrap()
            .as_primitive::<Float64Type>();
        assert!((share.value(0) - 0.8).abs() < 1e-12 && (share.value(1) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn tier_summary_leaves_out_empty_tiers_and_keeps_decile_order() {
        let ranked = value_tiers(&table(), Tiers::Deciles).unwrap();
        let summary = tier_summary(&ranked, Tiers::Deciles).unwrap();
        let names: Vec<&str> = summary
            .column_by_name("tier")
            .unwrap()
            .as_string::<i32>()
            .iter()
            .flatten()
            .collect();
        assert_eq!(names.len(), 5, "five customers fill five deciles: {names:?}");
        assert_eq!(names.first(), Some(&"decile_1"));
        let mut sorted = names.clone();
        sorted.sort_by_key(|n| n.trim_start_matches("decile_").parse::<u32>().unwrap());
        assert_eq!(names, sorted);
    }
}
