//! Reading the engine's output tables: typed columns by name, and key-based lookups.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use clientele::schema::CUSTOMER_ID;

use crate::error::{Error, Result};

fn column<'a>(table: &str, batch: &'a RecordBatch, name: &str) -> Result<&'a dyn Array> {
    batch
        .column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| Error::MissingColumn {
            table: table.into(),
            column: name.into(),
        })
}

/// A numeric column as `f64` (nulls as NaN).
pub(crate) fn floats(table: &str, batch: &RecordBatch, name: &str) -> Result<Vec<f64>> {
    let c = column(table, batch, name)?;
    let f = arrow_cast::cast(c, &DataType::Float64).map_err(|_| Error::MissingColumn {
        table: table.into(),
        column: name.into(),
    })?;
    let f = f.as_primitive::<arrow_array::types::Float64Type>();
    Ok((0..f.len())
        .map(|i| if f.is_null(i) { f64::NAN } else { f.value(i) })
        .collect())
}

/// Any column as text (nulls as `None`).
pub(crate) fn texts(table: &str, batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    let c = column(table, batch, name)?;
    let s = arrow_cast::cast(c, &DataType::Utf8).map_err(|_| Error::MissingColumn {
        table: table.into(),
        column: name.into(),
    })?;
    let s = s.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| (!s.is_null(i)).then(|| s.value(i).to_string()))
        .collect())
}

/// A map from each row's customer key (as text) to the row's `value` column.
pub(crate) fn by_customer(table: &str, batch: &RecordBatch, value: &str) -> Result<HashMap<String, Option<String>>> {
    let keys = texts(table, batch, CUSTOMER_ID)?;
    let values = texts(table, batch, value)?;
    Ok(keys
        .into_iter()
        .zip(values)
        .filter_map(|(k, v)| k.map(|k| (k, v)))
        .collect())
}
