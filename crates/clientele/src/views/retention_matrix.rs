//! The retention matrix: the long cohort table pivoted to one row per cohort.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, UInt32Type, UInt64Type};
use arrow_array::{ArrayRef, Date32Array, Float64Array, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema};

use crate::error::{Error, Result};
use crate::schema::output::cohorts::{COHORT, PERIOD, RETENTION};
use crate::schema::output::common::CUSTOMERS;

/// The long table of [`cohorts`](super::cohorts) pivoted for reading: one row per cohort, in
/// cohort order, with `cohort` (Date32), `customers` (UInt64) and one Float64 column per
/// period `"0"`, `"1"`, ... holding the retention share (null where the cohort has no such
/// period yet). Only the first `max_periods` periods are kept.
///
/// # Errors
/// [`Error::InvalidParameter`] when `long` lacks the `cohort`, `period`, `customers` or
/// `retention` column with the types [`cohorts`](super::cohorts) writes.
pub fn retention_matrix(long: &RecordBatch, max_periods: usize) -> Result<RecordBatch> {
    let missing = |n: &str| Error::param("table", format!("no `{n}` column of the cohort table's type"));
    let cohort = long
        .column_by_name(COHORT)
        .and_then(|c| c.as_primitive_opt::<Date32Type>())
        .ok_or_else(|| missing(COHORT))?;
    let period = long
        .column_by_name(PERIOD)
        .and_then(|c| c.as_primitive_opt::<UInt32Type>())
        .ok_or_else(|| missing(PERIOD))?;
    let size = long
        .column_by_name(CUSTOMERS)
        .and_then(|c| c.as_primitive_opt::<UInt64Type>())
        .ok_or_else(|| missing(CUSTOMERS))?;
    let retention = long
        .column_by_name(RETENTION)
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .ok_or_else(|| missing(RETENTION))?;
    let mut rows: BTreeMap<i32, (u64, Vec<Option<f64>>)> = BTreeMap::new();
    let mut width = 0;
    for i in 0..long.num_rows() {
        let p = period.value(i) as usize;
        if p >= max_periods {
            continue;
        }
        width = width.max(p + 1);
        let row = rows.entry(cohort.value(i)).or_insert((size.value(i), Vec::new()));
        if row.1.len() <= p {
            row.1.resize(p + 1, None);
        }
        if let Some(slot) = row.1.get_mut(p) {
            *slot = Some(retention.value(i));
        }
    }
    let mut fields = vec![
        Field::new(COHORT, DataType::Date32, false),
        Field::new(CUSTOMERS, DataType::UInt64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from(rows.keys().copied().collect::<Vec<_>>())),
        Arc::new(UInt64Array::from(rows.values().map(|r| r.0).collect::<Vec<_>>())),
    ];
    for p in 0..width {
        fields.push(Field::new(p.to_string(), DataType::Float64, true));
        columns.push(Arc::new(
            rows.values()
                .map(|r| r.1.get(p).copied().flatten())
                .collect::<Float64Array>(),
        ));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;
    use arrow_array::{Array, UInt32Array};

    #[test]
    fn pivots_cohorts_into_rows_and_cuts_periods() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("cohort", DataType::Date32, false),
            Field::new("period", DataType::UInt32, false),
            Field::new("customers", DataType::UInt64, false),
            Field::new("retention", DataType::Float64, false),
        ]));
        let long = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Date32Array::from(vec![10, 10, 10, 40])),
                Arc::new(UInt32Array::from(vec![0, 1, 2, 0])),
                Arc::new(UInt64Array::from(vec![4, 4, 4, 2])),
                Arc::new(Float64Array::from(vec![1.0, 0.5, 0.25, 1.0])),
            ],
        )
        .unwrap();
        let m = retention_matrix(&long, 2).unwrap();
        assert_eq!(m.num_rows(), 2);
        assert_eq!(m.num_columns(), 4, "cohort, customers, periods 0 and 1");
        let p1 = m.column_by_name("1").unwrap().as_primitive::<Float64Type>();
        assert_eq!(p1.value(0), 0.5);
        assert!(p1.is_null(1), "the later cohort has no period 1");
        let sizes = m.column_by_name("customers").unwrap().as_primitive::<UInt64Type>();
        assert_eq!(sizes.values().to_vec(), vec![4, 2]);
    }
}
