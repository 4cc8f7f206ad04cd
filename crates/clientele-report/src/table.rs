//! The small tables behind the charts (written with `--data-dir`).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

use crate::error::Result;

/// A column of a chart's table.
pub(crate) enum Col {
    /// Text.
    Text(Vec<String>),
    /// Numbers (NaN written as null).
    Num(Vec<f64>),
}

/// A table from named columns of equal length.
pub(crate) fn table(cols: Vec<(&str, Col)>) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(cols.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(cols.len());
    for (name, col) in cols {
        match col {
            Col::Text(v) => {
                fields.push(Field::new(name, DataType::Utf8, false));
                arrays.push(Arc::new(StringArray::from(v)));
            }
            Col::Num(v) => {
                fields.push(Field::new(name, DataType::Float64, true));
                arrays.push(Arc::new(Float64Array::from(
                    v.into_iter().map(|x| x.is_finite().then_some(x)).collect::<Vec<_>>(),
                )));
            }
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(clientele::Error::from)?)
}
