//! Plain-text tables for terminals.

use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;

/// Formats up to `max_rows` rows of `batch` as an aligned text table (numbers right-aligned,
/// floats rounded to 4 decimals with trailing zeros dropped, nulls blank), with a footer when
/// rows are left out.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// let batch = RecordBatch::try_from_iter([
///     ("segment", Arc::new(StringArray::from(vec!["a", "bb"])) as _),
///     ("share", Arc::new(Float64Array::from(vec![0.25, 0.75])) as _),
/// ])?;
/// let text = clientele::io::format_table(&batch, 10);
/// assert_eq!(text, "segment  share\n-------  -----\na         0.25\nbb        0.75\n");
/// # Ok(()) }
/// ```
pub fn format_table(batch: &RecordBatch, max_rows: usize) -> String {
    let opts = FormatOptions::default();
    let schema = batch.schema();
    let n = batch.num_rows().min(max_rows);
    let mut cells: Vec<Vec<String>> = Vec::new();
    let mut right: Vec<bool> = Vec::new();
    for (field, col) in schema.fields().iter().zip(batch.columns()) {
        let numeric = field.data_type().is_numeric();
        right.push(numeric);
        let mut c = vec![field.name().clone()];
        let f = ArrayFormatter::try_new(col.as_ref(), &opts).ok();
        for i in 0..n {
            let text = if col.is_null(i) {
                String::new()
            } else if matches!(col.data_type(), DataType::Float64 | DataType::Float32) {
                let v = arrow_cast::cast(&col.slice(i, 1), &DataType::Float64)
                    .ok()
                    .and_then(|a| {
                        a.as_any()
                            .downcast_ref::<arrow_array::Float64Array>()
                            .map(|a| a.value(0))
                    });
                v.map_or_else(String::new, format_float)
            } else {
                f.as_ref().map_or_else(String::new, |f| f.value(i).to_string())
            };
            c.push(text);
        }
        cells.push(c);
    }
    let widths: Vec<usize> = cells
        .iter()
        .map(|c| c.iter().map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, row: usize, sep: bool| {
        let mut parts = Vec::new();
        for (ci, c) in cells.iter().enumerate() {
            let w = widths.get(ci).copied().unwrap_or(0);
            let text = if sep {
                "-".repeat(w)
            } else {
                c.get(row).cloned().unwrap_or_default()
            };
            let pad = w.saturating_sub(text.chars().count());
            let is_right = right.get(ci).copied().unwrap_or(false) && row > 0;
            parts.push(if is_right || sep {
                format!("{}{text}", " ".repeat(pad))
            } else {
                format!("{text}{}", " ".repeat(pad))
            });
        }
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut out, 0, false);
    line(&mut out, 0, true);
    for r in 1..=n {
        line(&mut out, r, false);
    }
    if batch.num_rows() > n {
        out.push_str(&format!("... {} more rows\n", batch.num_rows() - n));
    }
    out
}

/// A float rounded to 4 decimals, without trailing zeros (`29`, `37.7143`, `0.25`).
fn format_float(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}
