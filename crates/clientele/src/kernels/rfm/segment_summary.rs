//! A table of segments: size, revenue and mean R/F/M per segment of an RFM table.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};

use super::segments::SegmentMap;
use crate::error::{Error, Result};
use crate::schema::output::common::{CUSTOMERS, REVENUE, REVENUE_SHARE, SEGMENT, SHARE};
use crate::schema::output::rfm::{FREQUENCY, MONETARY, RECENCY_DAYS};
use crate::schema::output::segments::{MEAN_FREQUENCY, MEAN_MONETARY, MEAN_RECENCY_DAYS};

/// Customers, revenue in cents, recency sum and frequency sum of one segment.
type Totals = (u64, i64, i64, i64);

/// Per segment of an RFM table (from [`rfm`](super::rfm)): `segment`, `customers`,
/// `share` (of customers), `revenue` (sum of `monetary`), `revenue_share`, and the means
/// `mean_recency_days`, `mean_frequency`, `mean_monetary`. Segments come in the map's rule
/// order, then the default; segments without customers are left out.
///
/// # Errors
/// [`Error::InvalidParameter`] (`table`) when the table lacks an RFM column.
pub fn segment_summary(table: &RecordBatch, map: &SegmentMap) -> Result<RecordBatch> {
    let missing = |c: &str| Error::param("table", format!("no `{c}` column of the expected type"));
    let seg = table
        .column_by_name(SEGMENT)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| missing(SEGMENT))?;
    let int = |c: &'static str| {
        table
            .column_by_name(c)
            .and_then(|a| a.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| missing(c))
    };
    let (rec, freq) = (int(RECENCY_DAYS)?, int(FREQUENCY)?);
    let money = table
        .column_by_name(MONETARY)
        .and_then(|a| a.as_primitive_opt::<Float64Type>())
        .ok_or_else(|| missing(MONETARY))?;
    let mut acc: HashMap<&str, Totals> = HashMap::new();
    for i in 0..table.num_rows() {
        let e = acc.entry(seg.value(i)).or_default();
        e.0 += 1;
        e.1 += (money.value(i) * 100.0).round() as i64;
        e.2 += rec.value(i);
        e.3 += freq.value(i);
    }
    let mut names: Vec<&str> = Vec::new();
    for n in map
        .rules
        .iter()
        .map(|r| r.segment.as_str())
        .chain(std::iter::once(map.default.as_str()))
    {
        if acc.contains_key(n) && !names.contains(&n) {
            names.push(n);
        }
    }
    let total_customers = table.num_rows().max(1) as f64;
    let total_cents: i64 = acc.values().map(|v| v.1).sum();
    let rows: Vec<Totals> = names.iter().map(|n| acc.get(n).copied().unwrap_or_default()).collect();
    let f = |g: &dyn Fn(&Totals) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(rows.iter().map(g).collect::<Vec<_>>()))
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new(SEGMENT, DataType::Utf8, false),
        Field::new(CUSTOMERS, DataType::UInt64, false),
        Field::new(SHARE, DataType::Float64, false),
        Field::new(REVENUE, DataType::Float64, false),
        Field::new(REVENUE_SHARE, DataType::Float64, false),
        Field::new(MEAN_RECENCY_DAYS, DataType::Float64, false),
        Field::new(MEAN_FREQUENCY, DataType::Float64, false),
        Field::new(MEAN_MONETARY, DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(names.clone())),
        Arc::new(UInt64Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
        f(&|r| r.0 as f64 / total_customers),
        f(&|r| r.1 as f64 / 100.0),
        f(&|r| {
            if total_cents == 0 {
                0.0
            } else {
                r.1 as f64 / total_cents as f64
            }
        }),
        f(&|r| r.2 as f64 / r.0.max(1) as f64),
        f(&|r| r.3 as f64 / r.0.max(1) as f64),
        f(&|r| r.1 as f64 / 100.0 / r.0.max(1) as f64),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}
