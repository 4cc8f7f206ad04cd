//! Contractual retention from a table of churn periods.

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use crate::error::{Error, Result};
use crate::models::SbgData;

/// The column [`retention_data`] reads.
pub const CHURN_PERIOD: &str = "churn_period";

/// The shifted-beta-geometric model's data from a customer table with a `churn_period`
/// column: the period (a whole number ≥ 1) in which each customer cancelled, null for a
/// customer still active after `periods` periods. Any numeric column type is accepted.
///
/// # Errors
/// [`Error::InvalidParameter`] when the column is missing or not numeric;
/// [`Error::InvalidModelData`] (column `churn_period`, with the 0-based row) for a value that is
/// not a whole period in `1..=periods`; the errors of [`SbgData::from_churn_periods`].
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use std::sync::Arc;
/// use clientele::arrow_array::{Int32Array, RecordBatch};
/// use clientele::pipeline::retention_data;
/// let t = RecordBatch::try_from_iter([("churn_period", Arc::new(Int32Array::from(vec![Some(1), None, Some(2)])) as _)])?;
/// let data = retention_data(&t, 3)?;
/// assert_eq!(data.customers(), 3.0);
/// # Ok(()) }
/// ```
pub fn retention_data(table: &RecordBatch, periods: u32) -> Result<SbgData> {
    let c = table
        .column_by_name(CHURN_PERIOD)
        .ok_or_else(|| Error::param("table", format!("no `{CHURN_PERIOD}` column")))?;
    let c = arrow_cast::cast(c, &DataType::Float64)
        .map_err(|_| Error::param("table", format!("`{CHURN_PERIOD}` is not numeric")))?;
    let c = c
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| Error::param("table", format!("`{CHURN_PERIOD}` is not numeric")))?;
    let churned = (0..c.len())
        .map(|row| {
            if c.is_null(row) {
                return Ok(None);
            }
            let v = c.value(row);
            if v.fract() != 0.0 || !(1.0..=f64::from(periods)).contains(&v) {
                return Err(Error::InvalidModelData {
                    column: CHURN_PERIOD,
                    row,
                    value: v,
                    reason: "must be a whole period in 1..=periods",
                });
            }
            Ok(Some(v as u32))
        })
        .collect::<Result<Vec<_>>>()?;
    SbgData::from_churn_periods(&churned, periods)
}
