//! Rows of a record batch written straight to JSON text, without building `serde_json::Value`
//! trees: what a service needs on its hot path.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;

use crate::error::{Error, Result};

/// Writes rows of one batch as JSON objects, byte for byte as the values of
/// [`json_rows`](super::json_rows) serialize: keys in sorted order (as `serde_json` maps keep
/// them), integers, floats and booleans as JSON numbers and booleans, nulls and non-finite
/// floats as `null`, every other type as its Arrow display text.
///
/// The formatters and the key order are prepared once in [`JsonRowWriter::try_new`]; each
/// [`write_row`](JsonRowWriter::write_row) then only appends text.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, Int64Array, RecordBatch};
/// use clientele::io::JsonRowWriter;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let batch = RecordBatch::try_from_iter([
///     ("customer_id", Arc::new(Int64Array::from(vec![7, 8])) as _),
///     ("clv", Arc::new(Float64Array::from(vec![12.5, f64::NAN])) as _),
/// ])?;
/// let rows = JsonRowWriter::try_new(&batch)?;
/// let mut out = Vec::new();
/// rows.write_array(&mut out);
/// assert_eq!(String::from_utf8(out)?, r#"[{"clv":12.5,"customer_id":7},{"clv":null,"customer_id":8}]"#);
/// # Ok(()) }
/// ```
pub struct JsonRowWriter<'a> {
    batch: &'a RecordBatch,
    formatters: Vec<ArrayFormatter<'a>>,
    /// `(column, its name as a JSON string followed by ':')`, in key order.
    keys: Vec<(usize, Vec<u8>)>,
}

impl std::fmt::Debug for JsonRowWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonRowWriter")
            .field("rows", &self.batch.num_rows())
            .field("columns", &self.keys.len())
            .finish()
    }
}

impl<'a> JsonRowWriter<'a> {
    /// Prepares the writer for `batch`.
    ///
    /// # Errors
    /// [`Error::Arrow`] for a column type Arrow cannot display.
    pub fn try_new(batch: &'a RecordBatch) -> Result<Self> {
        let opts = FormatOptions::default();
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(Error::Arrow)?;
        let schema = batch.schema();
        let mut order: Vec<(usize, &str)> = schema.fields().iter().map(|f| f.name().as_str()).enumerate().collect();
        // a map keeps the last of equal keys, sorted by bytes
        order.sort_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)));
        order.dedup_by(|later, earlier| later.1 == earlier.1);
        let keys = order
            .into_iter()
            .map(|(i, name)| {
                let mut key = Vec::with_capacity(name.len() + 3);
                write_str(&mut key, name);
                key.push(b':');
                (i, key)
            })
            .collect();
        Ok(JsonRowWriter {
            batch,
            formatters,
            keys,
        })
    }

    /// Rows in the batch.
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// Appends row `i` as one JSON object (`null` for a row past the end).
    pub fn write_row(&self, i: usize, out: &mut Vec<u8>) {
        if i >= self.batch.num_rows() {
            out.extend_from_slice(b"null");
            return;
        }
        out.push(b'{');
        for (n, (c, key)) in self.keys.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            match (self.batch.columns().get(*c), self.formatters.get(*c)) {
                (Some(col), Some(f)) => write_value(col.as_ref(), f, i, out),
                _ => out.extend_from_slice(b"null"),
            }
        }
        out.push(b'}');
    }

    /// Appends every row as a JSON array of objects.
    pub fn write_array(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for i in 0..self.batch.num_rows() {
            if i > 0 {
                out.push(b',');
            }
            self.write_row(i, out);
        }
        out.push(b']');
    }
}

/// Appends `s` as a JSON string (escaped as `serde_json` escapes it).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    // writing to a Vec cannot fail
    let _ = serde_json::to_writer(&mut *out, s);
}

/// A cell as JSON sees it: the one classification both JSON writers use, so that
/// [`JsonRowWriter`] and [`json_rows`](super::json_rows) agree on every type.
pub(crate) enum Scalar {
    /// A null cell.
    Null,
    /// A signed integer of any width.
    Int(i64),
    /// An unsigned integer of any width.
    UInt(u64),
    /// A float (Float32 as the shortest decimal that reads back as the same f32, so that
    /// 0.1f32 is written `0.1`); non-finite values are written `null`.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Any other type: its Arrow display text, as a JSON string.
    Text,
}

/// The JSON reading of `col[i]`.
pub(crate) fn scalar(col: &dyn Array, i: usize) -> Scalar {
    use arrow_array::types::{Float32Type, Int8Type, Int16Type, Int32Type, UInt8Type, UInt16Type};
    if col.is_null(i) {
        return Scalar::Null;
    }
    match col.data_type() {
        DataType::Int8 => Scalar::Int(i64::from(col.as_primitive::<Int8Type>().value(i))),
        DataType::Int16 => Scalar::Int(i64::from(col.as_primitive::<Int16Type>().value(i))),
        DataType::Int32 => Scalar::Int(i64::from(col.as_primitive::<Int32Type>().value(i))),
        DataType::Int64 => Scalar::Int(col.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Scalar::UInt(u64::from(col.as_primitive::<UInt8Type>().value(i))),
        DataType::UInt16 => Scalar::UInt(u64::from(col.as_primitive::<UInt16Type>().value(i))),
        DataType::UInt32 => Scalar::UInt(u64::from(col.as_primitive::<UInt32Type>().value(i))),
        DataType::UInt64 => Scalar::UInt(col.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => {
            let v = col.as_primitive::<Float32Type>().value(i);
            Scalar::Float(v.to_string().parse::<f64>().unwrap_or(f64::NAN))
        }
        DataType::Float64 => Scalar::Float(col.as_primitive::<Float64Type>().value(i)),
        DataType::Boolean => Scalar::Bool(col.as_boolean().value(i)),
        _ => Scalar::Text,
    }
}

fn write_value(col: &dyn Array, f: &ArrayFormatter<'_>, i: usize, out: &mut Vec<u8>) {
    use std::io::Write;
    // writing to a Vec cannot fail
    let _ = match scalar(col, i) {
        Scalar::Null => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        Scalar::Int(v) => write!(out, "{v}"),
        Scalar::UInt(v) => write!(out, "{v}"),
        // serde_json writes non-finite floats as null
        Scalar::Float(v) => serde_json::to_writer(&mut *out, &v).map_err(std::io::Error::other),
        Scalar::Bool(b) => {
            out.extend_from_slice(if b { b"true" } else { b"false" });
            Ok(())
        }
        Scalar::Text => {
            let text = f.value(i).to_string();
            write_str(out, &text);
            Ok(())
        }
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use std::sync::Arc;

    use arrow_array::{
        BooleanArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, StringArray,
        TimestampMicrosecondArray, UInt8Array, UInt16Array, UInt32Array,
    };

    use super::*;

    /// Every row written directly equals the serialized `json_rows` value, for every type the
    /// writer special-cases, nulls, non-finite floats, escapes and a duplicated name.
    #[test]
    fn equals_serialized_values() {
        let batch = RecordBatch::try_from_iter([
            (
                "z",
                Arc::new(Int64Array::from(vec![Some(-3), None, Some(i64::MAX)])) as _,
            ),
            (
                "clv",
                Arc::new(Float64Array::from(vec![Some(1.0 / 3.0), Some(f64::INFINITY), None])) as _,
            ),
            ("n", Arc::new(UInt32Array::from(vec![1, 2, 3])) as _),
            (
                "ok",
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])) as _,
            ),
            (
                "name \"q\"",
                Arc::new(StringArray::from(vec![Some("a\"b\\c\n"), Some("é"), None])) as _,
            ),
            (
                "t",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(0), Some(1_700_000_000_000_000), None])
                        .with_timezone(crate::time::UTC),
                ) as _,
            ),
            ("n", Arc::new(Int64Array::from(vec![9, 9, 9])) as _),
            ("r_score", Arc::new(UInt8Array::from(vec![Some(5), None, Some(1)])) as _),
            ("i8", Arc::new(Int8Array::from(vec![-128, 0, 127])) as _),
            ("i16", Arc::new(Int16Array::from(vec![-1, 0, 300])) as _),
            (
                "i32",
                Arc::new(Int32Array::from(vec![Some(-7), Some(i32::MAX), None])) as _,
            ),
            ("u16", Arc::new(UInt16Array::from(vec![0, 1, 65535])) as _),
            (
                "f32",
                Arc::new(Float32Array::from(vec![Some(0.1), Some(f32::NAN), Some(-2.5)])) as _,
            ),
        ])
        .unwrap();
        let values = super::super::json_rows(&batch).unwrap();
        let w = JsonRowWriter::try_new(&batch).unwrap();
        for (i, v) in values.iter().enumerate() {
            let mut out = Vec::new();
            w.write_row(i, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(v).unwrap(),
                "row {i}"
            );
        }
        let mut all = Vec::new();
        w.write_array(&mut all);
        assert_eq!(String::from_utf8(all).unwrap(), serde_json::to_string(&values).unwrap());
        // integers of every width and Float32 are JSON numbers, not strings
        let first = serde_json::to_string(&values[0]).unwrap();
        for part in [
            r#""r_score":5"#,
            r#""i8":-128"#,
            r#""i16":-1"#,
            r#""i32":-7"#,
            r#""u16":0"#,
            r#""f32":0.1"#,
        ] {
            assert!(first.contains(part), "{part} in {first}");
        }
        assert!(serde_json::to_string(&values[1]).unwrap().contains(r#""f32":null"#));
        let mut past = Vec::new();
        w.write_row(3, &mut past);
        assert_eq!(past, b"null");
    }
}
