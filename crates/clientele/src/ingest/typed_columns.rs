//! Typed views of input columns, one per role, that yield a value or a reject reason per row.
//!
//! Each view is built once per batch from whatever Arrow type the input has (see the table in
//! [`crate::ingest`]); the row loop in [`super::normalize`] then asks each view for row `i`.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Int32Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, Float64Array, Int32Array, Int64Array, StringArray, UInt64Array};
use arrow_schema::{DataType, TimeUnit};

use crate::error::{Error, Result};
use crate::ingest::RejectReason;
use crate::store::batch::{DictCol, StrCodes};
use crate::time::{MICROS_PER_DAY, TimeParser};

/// Where a column's values come from.
pub(crate) struct ColumnCtx<'a> {
    pub source: &'a str,
    pub name: &'a str,
}

impl ColumnCtx<'_> {
    fn type_error(&self, found: &DataType, expected: &'static str) -> Error {
        Error::ColumnType {
            source_name: self.source.to_string(),
            column: self.name.to_string(),
            found: found.to_string(),
            expected,
        }
    }
}

fn is_string(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_string_dict(dt: &DataType) -> bool {
    matches!(dt, DataType::Dictionary(_, v) if is_string(v))
}

fn cast(array: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    Ok(arrow_cast::cast(array, to)?)
}

/// A string-valued view: plain strings, or a dictionary whose values are strings.
pub(crate) enum StrView {
    Plain(StringArray),
    Dict { keys: Int32Array, values: StringArray },
}

impl StrView {
    /// Builds a view of any string or string-dictionary array; `None` for other types.
    pub fn try_new(array: &ArrayRef) -> Result<Option<Self>> {
        let dt = array.data_type();
        if is_string_dict(dt) {
            let a = cast(
                array,
                &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            )?;
            // (checked, not asserted: a damaged file can decode to a dictionary of another type)
            let not_text = || {
                Error::Arrow(arrow_schema::ArrowError::CastError(format!(
                    "{dt} did not decode to strings"
                )))
            };
            let d = a.as_dictionary_opt::<Int32Type>().ok_or_else(not_text)?;
            let values = d.values().as_string_opt::<i32>().ok_or_else(not_text)?.clone();
            return Ok(Some(StrView::Dict {
                keys: d.keys().clone(),
                values,
            }));
        }
        if is_string(dt) {
            let a = cast(array, &DataType::Utf8)?;
            let a = a.as_string_opt::<i32>().ok_or_else(|| {
                Error::Arrow(arrow_schema::ArrowError::CastError(format!(
                    "{dt} did not decode to strings"
                )))
            })?;
            return Ok(Some(StrView::Plain(a.clone())));
        }
        Ok(None)
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&str> {
        match self {
            StrView::Plain(a) => a.is_valid(i).then(|| a.value(i)),
            StrView::Dict { keys, values } => {
                if keys.is_null(i) {
                    return None;
                }
                let k = usize::try_from(keys.value(i)).ok()?;
                (k < values.len() && values.is_valid(k)).then(|| values.value(k))
            }
        }
    }
}

/// Interns strings of one batch into a local [`DictCol`] (lookups by `&str` allocate nothing).
#[derive(Default)]
pub(crate) struct LocalInterner {
    strings: StrCodes,
    codes: Vec<u32>,
}

impl LocalInterner {
    /// The local code of `s`, interning it on first sight.
    #[inline]
    pub fn code(&mut self, s: &str) -> u32 {
        self.strings.code(s)
    }

    /// Appends a row's code.
    #[inline]
    pub fn push_code(&mut self, code: u32) {
        self.codes.push(code);
    }

    /// The finished local dictionary column.
    pub fn finish(self) -> DictCol {
        DictCol {
            values: self.strings.into_values(),
            codes: self.codes,
        }
    }
}

/// The customer-id view.
pub(crate) enum KeyView {
    Int(Int64Array),
    UInt(UInt64Array),
    Str(StrView),
}

impl KeyView {
    pub fn try_new(array: &ArrayRef, ctx: &ColumnCtx<'_>) -> Result<Self> {
        let dt = array.data_type();
        match dt {
            DataType::UInt64 => Ok(KeyView::UInt(array.as_primitive().clone())),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => Ok(KeyView::Int(cast(array, &DataType::Int64)?.as_primitive().clone())),
            _ => match StrView::try_new(array)? {
                Some(v) => Ok(KeyView::Str(v)),
                None => Err(ctx.type_error(dt, "an integer or string type")),
            },
        }
    }
}

/// The event-time view: a value in microseconds since the epoch, or a reason.
pub(crate) enum TimeView {
    /// Integer values times `mul`, divided (floor) by `div`.
    Scaled {
        values: Vec<i64>,
        valid: Option<arrow_buffer::NullBuffer>,
        mul: i64,
        div: i64,
    },
    /// Strings parsed per row.
    Plain(StringArray),
    /// A dictionary whose values were parsed once (a null or blank value is a null time).
    Dict {
        keys: Int32Array,
        parsed: Vec<Result<i64, RejectReason>>,
    },
}

impl TimeView {
    pub fn try_new(array: &ArrayRef, parser: &TimeParser, ctx: &ColumnCtx<'_>) -> Result<Self> {
        let dt = array.data_type();
        let scaled = |values: &[i64], mul: i64, div: i64| TimeView::Scaled {
            values: values.to_vec(),
            valid: array.nulls().cloned(),
            mul,
            div,
        };
        Ok(match dt {
            DataType::Timestamp(TimeUnit::Second, _) => {
                scaled(array.as_primitive::<TimestampSecondType>().values(), 1_000_000, 1)
            }
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                scaled(array.as_primitive::<TimestampMillisecondType>().values(), 1_000, 1)
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                scaled(array.as_primitive::<TimestampMicrosecondType>().values(), 1, 1)
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                scaled(array.as_primitive::<TimestampNanosecondType>().values(), 1, 1_000)
            }
            DataType::Date32 => {
                let v: Vec<i64> = array
                    .as_primitive::<Date32Type>()
                    .values()
                    .iter()
                    .map(|&d| i64::from(d))
                    .collect();
                scaled(&v, MICROS_PER_DAY, 1)
            }
            DataType::Date64 => scaled(array.as_primitive::<Date64Type>().values(), 1_000, 1),
            _ => match StrView::try_new(array)? {
                Some(StrView::Plain(a)) => TimeView::Plain(a),
                Some(StrView::Dict { keys, values }) => {
                    let parsed = (0..values.len())
                        .map(|k| match values.is_valid(k).then(|| values.value(k)) {
                            Some(v) if !v.trim().is_empty() => {
                                parser.parse(v).ok_or(RejectReason::UnparseableEventTime)
                            }
                            _ => Err(RejectReason::NullEventTime),
                        })
                        .collect();
                    TimeView::Dict { keys, parsed }
                }
                None => return Err(ctx.type_error(dt, "a timestamp, date or string type")),
            },
        })
    }

    #[inline]
    pub fn get(&self, i: usize, parser: &TimeParser) -> Result<i64, RejectReason> {
        match self {
            TimeView::Scaled {
                values,
                valid,
                mul,
                div,
            } => {
                if valid.as_ref().is_some_and(|n| n.is_null(i)) {
                    return Err(RejectReason::NullEventTime);
                }
                let v = values.get(i).copied().ok_or(RejectReason::NullEventTime)?;
                v.checked_mul(*mul)
                    .map(|x| x.div_euclid(*div))
                    .ok_or(RejectReason::UnparseableEventTime)
            }
            TimeView::Plain(a) => {
                if a.is_null(i) {
                    return Err(RejectReason::NullEventTime);
                }
                let s = a.value(i);
                if s.trim().is_empty() {
                    return Err(RejectReason::NullEventTime);
                }
                parser.parse(s).ok_or(RejectReason::UnparseableEventTime)
            }
            TimeView::Dict { keys, parsed } => {
                if keys.is_null(i) {
                    return Err(RejectReason::NullEventTime);
                }
                let k = usize::try_from(keys.value(i)).map_err(|_| RejectReason::NullEventTime)?;
                parsed.get(k).copied().unwrap_or(Err(RejectReason::NullEventTime))
            }
        }
    }
}

/// A numeric view (amount, score, cost): `Ok(None)` for null, a value, or a reason.
pub(crate) enum NumView {
    F64(Float64Array),
    Str(StrView),
}

impl NumView {
    pub fn try_new(array: &ArrayRef, ctx: &ColumnCtx<'_>) -> Result<Self> {
        let dt = array.data_type();
        if dt.is_numeric() {
            return Ok(NumView::F64(cast(array, &DataType::Float64)?.as_primitive().clone()));
        }
        if matches!(dt, DataType::Null) {
            return Ok(NumView::F64(Float64Array::new_null(array.len())));
        }
        match StrView::try_new(array)? {
            Some(v) => Ok(NumView::Str(v)),
            None => Err(ctx.type_error(dt, "a numeric, decimal or string type")),
        }
    }

    /// `unparseable` and `non_finite` are the reasons to report for this role.
    #[inline]
    pub fn get(
        &self,
        i: usize,
        unparseable: RejectReason,
        non_finite: RejectReason,
    ) -> Result<Option<f64>, RejectReason> {
        let v = match self {
            NumView::F64(a) => {
                if a.is_null(i) {
                    return Ok(None);
                }
                a.value(i)
            }
            NumView::Str(s) => match s.get(i) {
                None => return Ok(None),
                Some(t) => {
                    let t = t.trim();
                    if t.is_empty() {
                        return Ok(None);
                    }
                    t.parse::<f64>().map_err(|_| unparseable)?
                }
            },
        };
        if v.is_finite() { Ok(Some(v)) } else { Err(non_finite) }
    }
}

/// A view of an optional string role (event type, channel, product, campaign id): strings,
/// string dictionaries, or integers (formatted in decimal).
pub(crate) enum LabelView {
    Str(StrView),
    Int(Int64Array),
}

impl LabelView {
    pub fn try_new(array: &ArrayRef, ctx: &ColumnCtx<'_>) -> Result<Self> {
        let dt = array.data_type();
        if dt.is_integer() {
            return Ok(LabelView::Int(cast(array, &DataType::Int64)?.as_primitive().clone()));
        }
        match StrView::try_new(array)? {
            Some(v) => Ok(LabelView::Str(v)),
            None => Err(ctx.type_error(dt, "a string or integer type")),
        }
    }
}
