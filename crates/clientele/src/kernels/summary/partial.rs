//! The summary's partial state as an Arrow table: how partitions summarized on different
//! machines meet.
//!
//! [`SummaryAccumulator::merge`] joins two accumulators in one process. Across processes (Spark
//! executors, DataFusion partitions, a queue), [`SummaryAccumulator::state`] writes the partial
//! state as a record batch, one row per customer, and [`SummaryAccumulator::merge_state`] reads
//! such batches back, so the classic two-phase aggregation works with any engine that moves
//! Arrow data: summarize each partition, shuffle the state rows by `customer_id`, merge and
//! [`finish`](SummaryAccumulator::finish). The result is the same table, bit for bit, as one
//! pass over all the events.
//!
//! # The state schema ([`state_schema`])
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `customer_id` | int64 or utf8 | the key |
//! | `first_event`, `last_event` | int64, null when none | calibration events, µs since the epoch (UTC) |
//! | `first_purchase`, `last_purchase` | int64, null when none | calibration purchases |
//! | `purchase_count` | int64 | calibration purchase events |
//! | `spend` | decimal(38, 9) | calibration spend, exact |
//! | `calibration` | list<struct<period: int64, spend: decimal(38, 9)>> | purchase periods, ascending |
//! | `holdout` | the same | holdout purchase periods, ascending |
//! | `event_type_counts` | list<struct<event_type: utf8, count: int64>> | calibration events by type |
//!
//! Every event type the accumulator has seen appears in some row's `event_type_counts`: types
//! seen only outside the windows are listed with count 0 on the first row, so that a merged
//! summary has the same `count_<type>` columns as a one-pass summary.
//!
//! Only signed integers and decimals appear, so the state survives engines without unsigned
//! types (Spark). Spend is the accumulator's exact integer nano-units read as a decimal with 9
//! places, so merging states is as exact as merging accumulators.
//!
//! The batch's schema metadata ([`STATE_METADATA_KEY`]) records the summary parameters, the
//! purchase type and the key typing; `merge_state` refuses a batch whose metadata names other
//! settings. Engines that drop schema metadata (Spark does) skip that check: the caller then
//! answers for merging states of one configuration.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int64Type};
use arrow_array::{Array, ArrayRef, Decimal128Array, Int64Array, ListArray, RecordBatch, StringArray, StructArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::accumulator::SummaryAccumulator;
use super::params::SummaryParams;
use super::state::CustomerState;
use crate::error::{Error, Result};
use crate::ingest::KeyType;
use crate::schema::EVENT_TYPE;
use crate::schema::output::common::{FIRST_PURCHASE, LAST_PURCHASE};
use crate::schema::output::summary::{FIRST_EVENT, LAST_EVENT, PURCHASE_COUNT};
use crate::schema::output::summary_state::{CALIBRATION, COUNT, EVENT_TYPE_COUNTS, HOLDOUT, ITEM, PERIOD, SPEND};
use crate::store::OwnedKey;

/// The schema metadata key holding the configuration a state was computed with (JSON).
pub const STATE_METADATA_KEY: &str = "clientele.summary_state";

const STATE_FORMAT: &str = "clientele-summary-state";
const STATE_VERSION: u32 = 1;
const SOURCE: &str = "summary state";

/// The settings that decide what a partial state means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StateMeta {
    format: String,
    version: u32,
    summary: SummaryParams,
    purchase_type: String,
    key_type: KeyType,
}

fn money() -> DataType {
    DataType::Decimal128(38, 9)
}

fn period_fields() -> Fields {
    Fields::from(vec![
        Field::new(PERIOD, DataType::Int64, false),
        Field::new(SPEND, money(), false),
    ])
}

fn type_fields() -> Fields {
    Fields::from(vec![
        Field::new(EVENT_TYPE, DataType::Utf8, false),
        Field::new(COUNT, DataType::Int64, false),
    ])
}

fn list_of(fields: Fields) -> DataType {
    DataType::List(Arc::new(Field::new(ITEM, DataType::Struct(fields), false)))
}

/// The state schema with customer keys of type `key` (`Int64` or `Utf8`), without metadata.
pub fn state_schema(key: &DataType) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(crate::schema::CUSTOMER_ID, key.clone(), false),
        Field::new(FIRST_EVENT, DataType::Int64, true),
        Field::new(LAST_EVENT, DataType::Int64, true),
        Field::new(FIRST_PURCHASE, DataType::Int64, true),
        Field::new(LAST_PURCHASE, DataType::Int64, true),
        Field::new(PURCHASE_COUNT, DataType::Int64, false),
        Field::new(SPEND, money(), false),
        Field::new(CALIBRATION, list_of(period_fields()), false),
        Field::new(HOLDOUT, list_of(period_fields()), false),
        Field::new(EVENT_TYPE_COUNTS, list_of(type_fields()), false),
    ]))
}

fn bad(message: impl Into<String>) -> Error {
    Error::Format {
        source_name: SOURCE.into(),
        format: STATE_FORMAT,
        message: message.into(),
    }
}

fn some_if(v: i64, none: i64) -> Option<i64> {
    (v != none).then_some(v)
}

fn offsets(lengths: &[usize]) -> Result<OffsetBuffer<i32>> {
    let too_many = || Error::Capacity {
        message: "a summary state holds more than 2^31 - 1 list entries: split it into smaller batches".into(),
    };
    let mut out = Vec::with_capacity(lengths.len() + 1);
    let mut at: i32 = 0;
    out.push(at);
    for &n in lengths {
        let n = i32::try_from(n).map_err(|_| too_many())?;
        at = at.checked_add(n).ok_or_else(too_many)?;
        out.push(at);
    }
    Ok(OffsetBuffer::new(out.into()))
}

fn period_list(rows: &[&[(i64, i128)]]) -> Result<ArrayRef> {
    let lengths: Vec<usize> = rows.iter().map(|r| r.len()).collect();
    let periods: Int64Array = rows.iter().flat_map(|r| r.iter().map(|p| p.0)).collect();
    let spend = Decimal128Array::from_iter_values(rows.iter().flat_map(|r| r.iter().map(|p| p.1)))
        .with_precision_and_scale(38, 9)?;
    let items = StructArray::try_new(
        period_fields(),
        vec![Arc::new(periods) as ArrayRef, Arc::new(spend)],
        None,
    )?;
    Ok(Arc::new(ListArray::try_new(
        Arc::new(Field::new(ITEM, DataType::Struct(period_fields()), false)),
        offsets(&lengths)?,
        Arc::new(items),
        None,
    )?))
}

impl SummaryAccumulator {
    fn meta(&self) -> StateMeta {
        let o = self.ingest.options();
        StateMeta {
            format: STATE_FORMAT.into(),
            version: STATE_VERSION,
            summary: self.config.params().clone(),
            purchase_type: o.purchase_type.clone(),
            key_type: o.key_type,
        }
    }

    /// The partial state, one row per customer seen, in the [state schema](self) with the
    /// configuration in its metadata. Rows come in key order; keys are `Int64` unless a string
    /// key was seen, then `Utf8` for all (integers written as decimal text).
    ///
    /// # Errors
    /// [`Error::Capacity`] past 2³¹ list entries; an internal Arrow error.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::chrono::NaiveDate;
    /// use clientele::ingest::IngestOptions;
    /// use clientele::kernels::summary::{SummaryAccumulator, SummaryParams};
    /// use clientele::synth::{GenerateParams, generate};
    ///
    /// let events = generate(&GenerateParams::default().customers(300).seed(5).validate()?)?;
    /// let cfg = SummaryParams::new(NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default()).validate()?;
    /// let (first, second) = events.split_at(events.len() / 2);
    /// // two "machines", each with part of the events
    /// let mut a = SummaryAccumulator::new(&cfg, &IngestOptions::default())?;
    /// first.iter().try_for_each(|b| a.update(b))?;
    /// let mut b = SummaryAccumulator::new(&cfg, &IngestOptions::default())?;
    /// second.iter().try_for_each(|batch| b.update(batch))?;
    /// // b's state travels as Arrow and is merged into a
    /// a.merge_state(&b.state()?)?;
    /// let mut whole = SummaryAccumulator::new(&cfg, &IngestOptions::default())?;
    /// events.iter().try_for_each(|b| whole.update(b))?;
    /// assert_eq!(a.finish()?, whole.finish()?);
    /// # Ok(()) }
    /// ```
    pub fn state(&self) -> Result<RecordBatch> {
        let mut rows: Vec<(&OwnedKey, &CustomerState)> = self.customers.iter().collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        let strings = rows.iter().any(|(k, _)| matches!(k, OwnedKey::Str(_)));
        let key: ArrayRef = if strings {
            Arc::new(StringArray::from_iter_values(rows.iter().map(|(k, _)| match k {
                OwnedKey::Int(i) => i.to_string(),
                OwnedKey::Str(s) => s.clone(),
            })))
        } else {
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|(k, _)| match k {
                OwnedKey::Int(i) => *i,
                OwnedKey::Str(_) => 0,
            })))
        };
        let col = |f: &dyn Fn(&CustomerState) -> Option<i64>| -> ArrayRef {
            Arc::new(rows.iter().map(|(_, s)| f(s)).collect::<Int64Array>())
        };
        let spend =
            Decimal128Array::from_iter_values(rows.iter().map(|(_, s)| s.spend)).with_precision_and_scale(38, 9)?;
        let cal: Vec<&[(i64, i128)]> = rows.iter().map(|(_, s)| s.calibration.as_slice()).collect();
        let hold: Vec<&[(i64, i128)]> = rows.iter().map(|(_, s)| s.holdout.as_slice()).collect();
        // event-type counts by name (each accumulator's type codes are its own)
        let mut lengths = Vec::with_capacity(rows.len());
        let mut names = Vec::new();
        let mut counts = Vec::new();
        let mut mentioned = vec![false; self.types.len()];
        for (_, s) in &rows {
            for (code, &c) in s.type_counts.iter().enumerate() {
                if c > 0
                    && let Some(m) = mentioned.get_mut(code)
                {
                    *m = true;
                }
            }
        }
        for (row, (_, s)) in rows.iter().enumerate() {
            let before = names.len();
            for (code, &c) in s.type_counts.iter().enumerate() {
                if c > 0 {
                    names.push(self.types.get(code).map_or("", String::as_str));
                    counts.push(i64::try_from(c).unwrap_or(i64::MAX));
                }
            }
            if row == 0 {
                // types seen only outside the windows: carried with count 0, so that the
                // finished summary has the same count columns as a one-pass summary
                for (code, name) in self.types.iter().enumerate() {
                    if !mentioned.get(code).copied().unwrap_or(true) {
                        names.push(name.as_str());
                        counts.push(0);
                    }
                }
            }
            lengths.push(names.len() - before);
        }
        let types = StructArray::try_new(
            type_fields(),
            vec![
                Arc::new(StringArray::from_iter_values(names)) as ArrayRef,
                Arc::new(Int64Array::from(counts)),
            ],
            None,
        )?;
        let types: ArrayRef = Arc::new(ListArray::try_new(
            Arc::new(Field::new(ITEM, DataType::Struct(type_fields()), false)),
            offsets(&lengths)?,
            Arc::new(types),
            None,
        )?);
        let schema = state_schema(key.data_type());
        let meta = serde_json::to_string(&self.meta())?;
        let schema = Arc::new(
            schema
                .as_ref()
                .clone()
                .with_metadata([(STATE_METADATA_KEY.to_string(), meta)].into()),
        );
        Ok(RecordBatch::try_new(
            schema,
            vec![
                key,
                col(&|s| some_if(s.first_event, i64::MAX)),
                col(&|s| some_if(s.last_event, i64::MIN)),
                col(&|s| some_if(s.first_purchase, i64::MAX)),
                col(&|s| some_if(s.last_purchase, i64::MIN)),
                col(&|s| Some(i64::try_from(s.purchase_count).unwrap_or(i64::MAX))),
                Arc::new(spend),
                period_list(&cal)?,
                period_list(&hold)?,
                types,
            ],
        )?)
    }

    /// Merges a partial state written by [`state`](Self::state) (here or by another process,
    /// possibly through an engine that rewrote the batch with the same columns).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`config`) when the batch's metadata names other settings;
    /// [`Error::MissingColumn`] / [`Error::ColumnType`] for a batch without the state columns;
    /// [`Error::Format`] for a null key or count, a negative count, or periods out of order.
    pub fn merge_state(&mut self, batch: &RecordBatch) -> Result<()> {
        if let Some(json) = batch.schema().metadata().get(STATE_METADATA_KEY) {
            let theirs: StateMeta =
                serde_json::from_str(json).map_err(|e| bad(format!("{STATE_METADATA_KEY}: {e}")))?;
            if theirs != self.meta() {
                return Err(Error::param(
                    "config",
                    "cannot merge a summary state computed with different summary parameters, purchase type or key typing",
                ));
            }
        }
        let keys = StateKeys::new(batch)?;
        let ints = |name: &str| -> Result<&Int64Array> { typed::<Int64Type>(batch, name) };
        let (fe, le, fp, lp, pc) = (
            ints(FIRST_EVENT)?,
            ints(LAST_EVENT)?,
            ints(FIRST_PURCHASE)?,
            ints(LAST_PURCHASE)?,
            ints(PURCHASE_COUNT)?,
        );
        let spend = decimals(column(batch, SPEND)?, SPEND)?;
        let cal = Periods::new(batch, CALIBRATION)?;
        let hold = Periods::new(batch, HOLDOUT)?;
        let types = column(batch, EVENT_TYPE_COUNTS)?;
        let types = types
            .as_list_opt::<i32>()
            .ok_or_else(|| wrong(types, EVENT_TYPE_COUNTS, "a list"))?;
        let type_items = types
            .values()
            .as_struct_opt()
            .ok_or_else(|| bad("event_type_counts: the items are not structs"))?;
        let type_names = type_items
            .column_by_name(EVENT_TYPE)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| bad("event_type_counts: no utf8 `event_type` field"))?;
        let type_counts = type_items
            .column_by_name(COUNT)
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| bad("event_type_counts: no int64 `count` field"))?;
        for row in 0..batch.num_rows() {
            let key = keys.get(row)?;
            let count = pc.is_valid(row).then(|| pc.value(row)).filter(|c| *c >= 0);
            let count = count.ok_or_else(|| bad(format!("row {row}: purchase_count is null or negative")))?;
            if spend.is_null(row) {
                return Err(bad(format!("row {row}: spend is null")));
            }
            let opt = |a: &Int64Array, none: i64| if a.is_valid(row) { a.value(row) } else { none };
            let mut state = CustomerState {
                first_event: opt(fe, i64::MAX),
                last_event: opt(le, i64::MIN),
                first_purchase: opt(fp, i64::MAX),
                last_purchase: opt(lp, i64::MIN),
                purchase_count: u64::try_from(count).unwrap_or(0),
                spend: spend.value(row),
                calibration: cal.row(row)?,
                holdout: hold.row(row)?,
                type_counts: vec![0; self.types.len()],
            };
            if types.is_valid(row) {
                let range = types.value_offsets();
                let (start, end) = (
                    range.get(row).copied().unwrap_or(0) as usize,
                    range.get(row + 1).copied().unwrap_or(0) as usize,
                );
                for i in start..end.min(type_names.len()) {
                    if type_names.is_null(i) || type_counts.is_null(i) || type_counts.value(i) < 0 {
                        return Err(bad(format!("row {row}: a null event type or a null or negative count")));
                    }
                    let code = self.type_code(type_names.value(i));
                    if state.type_counts.len() <= code {
                        state.type_counts.resize(code + 1, 0);
                    }
                    if let Some(c) = state.type_counts.get_mut(code) {
                        *c += u64::try_from(type_counts.value(i)).unwrap_or(0);
                    }
                }
            }
            match self.customers.get_mut(&key) {
                Some(mine) => mine.merge(&state),
                None => {
                    self.customers.insert(key, state);
                }
            }
        }
        Ok(())
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        crate::ingest::missing_column(
            SOURCE,
            name,
            batch.schema_ref().fields().iter().map(|f| f.name().as_str()),
        )
    })
}

fn wrong(col: &ArrayRef, name: &str, expected: &'static str) -> Error {
    Error::ColumnType {
        source_name: SOURCE.into(),
        column: name.into(),
        found: col.data_type().to_string(),
        expected,
    }
}

fn typed<'a, T: arrow_array::types::ArrowPrimitiveType>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a arrow_array::PrimitiveArray<T>> {
    let col = column(batch, name)?;
    col.as_primitive_opt::<T>().ok_or_else(|| wrong(col, name, "int64"))
}

/// Spend in nano-units: a decimal with 9 places (any precision).
fn decimals<'a>(col: &'a ArrayRef, name: &str) -> Result<&'a Decimal128Array> {
    match col.data_type() {
        DataType::Decimal128(_, 9) => col
            .as_primitive_opt::<Decimal128Type>()
            .ok_or_else(|| wrong(col, name, "decimal(38, 9)")),
        _ => Err(wrong(col, name, "decimal(38, 9)")),
    }
}

/// The key column, integer or text.
enum StateKeys<'a> {
    Int(&'a Int64Array),
    Str(ArrayRef),
}

impl<'a> StateKeys<'a> {
    fn new(batch: &'a RecordBatch) -> Result<Self> {
        let col = column(batch, crate::schema::CUSTOMER_ID)?;
        match col.data_type() {
            DataType::Int64 => Ok(StateKeys::Int(col.as_primitive::<Int64Type>())),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                Ok(StateKeys::Str(arrow_cast::cast(col, &DataType::Utf8)?))
            }
            _ => Err(wrong(col, crate::schema::CUSTOMER_ID, "int64 or utf8")),
        }
    }

    fn get(&self, row: usize) -> Result<OwnedKey> {
        let null = || bad(format!("row {row}: customer_id is null"));
        match self {
            StateKeys::Int(a) => a.is_valid(row).then(|| OwnedKey::Int(a.value(row))).ok_or_else(null),
            StateKeys::Str(a) => {
                let s = a.as_string::<i32>();
                s.is_valid(row)
                    .then(|| OwnedKey::Str(s.value(row).to_string()))
                    .ok_or_else(null)
            }
        }
    }
}

/// A list<struct<period, spend>> column.
struct Periods<'a> {
    name: &'static str,
    list: &'a ListArray,
    period: &'a Int64Array,
    spend: &'a Decimal128Array,
}

impl<'a> Periods<'a> {
    fn new(batch: &'a RecordBatch, name: &'static str) -> Result<Self> {
        let col = column(batch, name)?;
        let list = col.as_list_opt::<i32>().ok_or_else(|| wrong(col, name, "a list"))?;
        let items = list
            .values()
            .as_struct_opt()
            .ok_or_else(|| bad(format!("{name}: the items are not structs")))?;
        let period = items
            .column_by_name(PERIOD)
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or_else(|| bad(format!("{name}: no int64 `period` field")))?;
        let spend = items
            .column_by_name(SPEND)
            .ok_or_else(|| bad(format!("{name}: no `spend` field")))
            .and_then(|c| decimals(c, name))?;
        Ok(Periods {
            name,
            list,
            period,
            spend,
        })
    }

    fn row(&self, row: usize) -> Result<Vec<(i64, i128)>> {
        if self.list.is_null(row) {
            return Ok(Vec::new());
        }
        let offsets = self.list.value_offsets();
        let (start, end) = (
            offsets.get(row).copied().unwrap_or(0) as usize,
            offsets.get(row + 1).copied().unwrap_or(0) as usize,
        );
        let mut out: Vec<(i64, i128)> = Vec::with_capacity(end.saturating_sub(start));
        for i in start..end.min(self.period.len()) {
            if self.period.is_null(i) || self.spend.is_null(i) {
                return Err(bad(format!("row {row}: a null entry in {}", self.name)));
            }
            let p = self.period.value(i);
            if out.last().is_some_and(|l| l.0 >= p) {
                return Err(bad(format!(
                    "row {row}: {} periods are not strictly ascending",
                    self.name
                )));
            }
            out.push((p, self.spend.value(i)));
        }
        Ok(out)
    }
}
