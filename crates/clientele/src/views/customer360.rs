//! Customer 360: one row per customer joining what the store knows about them, optionally
//! left-joined with a caller's customer table, and a point lookup of one customer.
//!
//! With `as_of`, only events strictly before that date's midnight (UTC) count; without it,
//! every event. Every store customer has a row (also those with no event before `as_of`:
//! zeros and nulls), in the store's customer order (sorted by key).
//!
//! [`customer360`] columns:
//!
//! | column | type | definition |
//! |---|---|---|
//! | `customer_id` | Int64 or Utf8 | the customer key |
//! | `revenue` | Float64 | purchase amounts, rounded to cents once from the exact sum |
//! | `orders` | UInt64 | purchase events |
//! | `first_purchase`, `last_purchase` | Timestamp(µs, UTC) | times of the first and last purchase; null without one |
//! | `tenure_days` | Int64 | calendar days from the first purchase's day to the reference day (the `as_of` date, or without it the day of the store's last event); null without a purchase |
//! | `products` | Utf8 | the distinct products of the purchases, sorted, comma-separated (`""` when none) |
//! | `products_held` | UInt64 | how many distinct products |
//! | `complaints` | UInt64 | events of `complaint_type` (default `complaint`) |
//! | `last_complaint` | Timestamp(µs, UTC) | time of the last complaint; null without one |
//! | `service_calls` | UInt64 | events of `service_call_type` (default `service_call`) |
//! | `last_<channel>` | Timestamp(µs, UTC) | one column per store channel (name order): time of the customer's last event on it; null when none (`last_channel_<channel>` for a channel named `purchase` or `complaint`) |
//! | `avg_satisfaction` | Float64 | mean non-null `score` of events of `survey_type` (default `survey`); null without one |
//! | `campaign_responses` | UInt64 | events of `response_type` (default `campaign_response`) |
//!
//! followed, when a customer table is given, by every column of the table except
//! `customer_id` (left join on `customer_id`: null where the table has no row for the
//! customer; table rows of customers the store does not hold are ignored).
//!
//! [`customer_lookup`] finds one customer by original key (a binary search over the sorted
//! keys, no scan of the events) and returns the same row plus their most recent events.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{CHUNK, money, type_code};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::kernels::summary::to_units;
use crate::schema::output::common::{
    AVG_SATISFACTION, CAMPAIGN_RESPONSES, COMPLAINTS, FIRST_PURCHASE, LAST_PURCHASE, ORDERS, REVENUE, SERVICE_CALLS,
    TENURE_DAYS,
};
use crate::schema::output::customer360::{LAST_CHANNEL_PREFIX, LAST_COMPLAINT, LAST_PREFIX, PRODUCTS, PRODUCTS_HELD};
use crate::store::columns::dict_values;
use crate::store::{EventStore, KeyRef};
use crate::time::{date_to_micros, micros_to_day};

/// Unchecked parameters of [`customer360`] and [`customer_lookup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer360Params {
    /// Only events strictly before this date's midnight (UTC) count (default: every event).
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
    /// The complaint event type (default `complaint`).
    #[serde(default = "default_complaint")]
    pub complaint_type: String,
    /// The service-call event type (default `service_call`).
    #[serde(default = "default_service_call")]
    pub service_call_type: String,
    /// The survey event type whose `score` is averaged (default `survey`).
    #[serde(default = "default_survey")]
    pub survey_type: String,
    /// The campaign-response event type (default `campaign_response`).
    #[serde(default = "default_response")]
    pub response_type: String,
    /// Events returned by [`customer_lookup`], newest first (default 10).
    #[serde(default = "default_recent")]
    pub recent: usize,
}

fn default_complaint() -> String {
    "complaint".into()
}
fn default_service_call() -> String {
    "service_call".into()
}
fn default_survey() -> String {
    "survey".into()
}
fn default_response() -> String {
    "campaign_response".into()
}
fn default_recent() -> usize {
    10
}

impl Default for Customer360Params {
    fn default() -> Self {
        Customer360Params {
            as_of: None,
            complaint_type: default_complaint(),
            service_call_type: default_service_call(),
            survey_type: default_survey(),
            response_type: default_response(),
            recent: default_recent(),
        }
    }
}

impl Customer360Params {
    /// Defaults: every event, the default event type names, 10 recent events.
    pub fn new() -> Self {
        Customer360Params::default()
    }

    /// Sets the as-of date.
    pub fn as_of(mut self, d: NaiveDate) -> Self {
        self.as_of = Some(d);
        self
    }

    /// Sets the complaint event type.
    pub fn complaint_type(mut self, t: impl Into<String>) -> Self {
        self.complaint_type = t.into();
        self
    }

    /// Sets the service-call event type.
    pub fn service_call_type(mut self, t: impl Into<String>) -> Self {
        self.service_call_type = t.into();
        self
    }

    /// Sets the survey event type.
    pub fn survey_type(mut self, t: impl Into<String>) -> Self {
        self.survey_type = t.into();
        self
    }

    /// Sets the campaign-response event type.
    pub fn response_type(mut self, t: impl Into<String>) -> Self {
        self.response_type = t.into();
        self
    }

    /// Sets how many recent events [`customer_lookup`] returns.
    pub fn recent(mut self, n: usize) -> Self {
        self.recent = n;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`complaint_type`, `service_call_type`, `survey_type`,
    /// `response_type`) when empty.
    pub fn validate(&self) -> Result<Customer360Config> {
        for (field, v) in [
            ("complaint_type", &self.complaint_type),
            ("service_call_type", &self.service_call_type),
            ("survey_type", &self.survey_type),
            ("response_type", &self.response_type),
        ] {
            if v.trim().is_empty() {
                return Err(Error::param(field, "must not be empty"));
            }
        }
        Ok(Customer360Config {
            params: self.clone(),
            as_of_micros: self.as_of.map_or(i64::MAX, date_to_micros),
        })
    }
}

/// Validated [`Customer360Params`].
#[derive(Debug, Clone, PartialEq)]
pub struct Customer360Config {
    params: Customer360Params,
    as_of_micros: i64,
}

impl Customer360Config {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &Customer360Params {
        &self.params
    }
}

/// One customer's facts.
#[derive(Debug, Clone, Default)]
struct Row {
    units: i128,
    orders: u64,
    first: Option<i64>,
    last: Option<i64>,
    products: Vec<i32>,
    complaints: u64,
    last_complaint: Option<i64>,
    calls: u64,
    last_channel: Vec<Option<i64>>,
    score_units: i128,
    scores: u64,
    responses: u64,
}

/// Event-type codes (−1: no event has the type).
struct Codes {
    purchase: i32,
    complaint: i32,
    call: i32,
    survey: i32,
    response: i32,
}

impl Codes {
    fn new(store: &EventStore, p: &Customer360Params) -> Self {
        let code = |t: &str| type_code(store, t).unwrap_or(-1);
        Codes {
            purchase: store.purchase_code().unwrap_or(-1),
            complaint: code(&p.complaint_type),
            call: code(&p.service_call_type),
            survey: code(&p.survey_type),
            response: code(&p.response_type),
        }
    }
}

/// The events of customer `c` strictly before `as_of`.
fn range(store: &EventStore, c: usize, as_of: i64) -> std::ops::Range<usize> {
    let r = store.customer_range(c);
    let times = store.columns().time.values();
    let end = r.start + times[r.clone()].partition_point(|&t| t < as_of);
    r.start..end
}

fn row_of(store: &EventStore, c: usize, as_of: i64, codes: &Codes, nch: usize) -> Row {
    let cols = store.columns();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    let mut r = Row {
        last_channel: vec![None; nch],
        ..Row::default()
    };
    for i in range(store, c, as_of) {
        let (t, ty) = (times[i], types[i]);
        if ty == codes.purchase {
            r.units += to_units(cols.amount.as_ref().map_or(0.0, |a| a.value(i)));
            r.orders += 1;
            r.first.get_or_insert(t);
            r.last = Some(t);
            if let Some(p) = cols.product.as_ref().map(|p| p.keys())
                && p.is_valid(i)
            {
                r.products.push(p.value(i));
            }
        }
        if ty == codes.complaint {
            r.complaints += 1;
            r.last_complaint = Some(t);
        }
        if ty == codes.call {
            r.calls += 1;
        }
        if ty == codes.response {
            r.responses += 1;
        }
        if ty == codes.survey
            && let Some(s) = cols.score.as_ref()
            && s.is_valid(i)
        {
            r.score_units += to_units(s.value(i));
            r.scores += 1;
        }
        if let Some(ch) = cols.channel.as_ref().map(|c| c.keys())
            && ch.is_valid(i)
            && let Some(slot) = usize::try_from(ch.value(i))
                .ok()
                .and_then(|k| r.last_channel.get_mut(k))
        {
            *slot = Some(t);
        }
    }
    r.products.sort_unstable();
    r.products.dedup();
    r
}

fn timestamps(v: Vec<Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(v).with_timezone(crate::time::UTC))
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(crate::time::UTC.into()))
}

/// Builds the 360 table of customers `ids` (dense indices) from their rows, joined with
/// `table` rows `joined` (one per customer; null: no table row).
fn build(
    store: &EventStore,
    ids: &[u32],
    rows: &[Row],
    as_of: i64,
    table: Option<(&RecordBatch, &UInt32Array)>,
) -> Result<RecordBatch> {
    let cols = store.columns();
    let ch_names = cols.channel.as_ref().map(dict_values).unwrap_or_default();
    let products = cols.product.as_ref().map(dict_values).unwrap_or_default();
    let ref_day = if as_of == i64::MAX {
        store.last_event_micros().map(micros_to_day)
    } else {
        Some(micros_to_day(as_of))
    };
    let index = UInt32Array::from(ids.to_vec());
    let keys = arrow_select::take::take(store.customer_keys().array().as_ref(), &index, None)?;
    let mut fields = vec![
        Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false),
        Field::new(REVENUE, DataType::Float64, false),
        Field::new(ORDERS, DataType::UInt64, false),
        Field::new(FIRST_PURCHASE, ts_type(), true),
        Field::new(LAST_PURCHASE, ts_type(), true),
        Field::new(TENURE_DAYS, DataType::Int64, true),
        Field::new(PRODUCTS, DataType::Utf8, false),
        Field::new(PRODUCTS_HELD, DataType::UInt64, false),
        Field::new(COMPLAINTS, DataType::UInt64, false),
        Field::new(LAST_COMPLAINT, ts_type(), true),
        Field::new(SERVICE_CALLS, DataType::UInt64, false),
    ];
    let u64s = |f: fn(&Row) -> u64| -> ArrayRef { Arc::new(UInt64Array::from(rows.iter().map(f).collect::<Vec<_>>())) };
    let mut columns: Vec<ArrayRef> = vec![
        keys,
        Arc::new(Float64Array::from(
            rows.iter().map(|r| money(r.units)).collect::<Vec<_>>(),
        )),
        u64s(|r| r.orders),
        timestamps(rows.iter().map(|r| r.first).collect()),
        timestamps(rows.iter().map(|r| r.last).collect()),
        Arc::new(Int64Array::from(
            rows.iter()
                .map(|r| Some(ref_day? - micros_to_day(r.first?)))
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows.iter()
                .map(|r| {
                    r.products
                        .iter()
                        .filter_map(|&p| usize::try_from(p).ok().and_then(|p| products.get(p)))
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect::<Vec<_>>(),
        )),
        u64s(|r| r.products.len() as u64),
        u64s(|r| r.complaints),
        timestamps(rows.iter().map(|r| r.last_complaint).collect()),
        u64s(|r| r.calls),
    ];
    for (k, name) in ch_names.iter().enumerate() {
        // A channel named like a 360 column (`purchase`, `complaint`) gets `last_channel_<name>`.
        let mut col = format!("{LAST_PREFIX}{name}");
        if fields.iter().any(|f| f.name() == &col) {
            col = format!("{LAST_CHANNEL_PREFIX}{name}");
        }
        fields.push(Field::new(col, ts_type(), true));
        columns.push(timestamps(
            rows.iter().map(|r| r.last_channel.get(k).copied().flatten()).collect(),
        ));
    }
    fields.push(Field::new(AVG_SATISFACTION, DataType::Float64, true));
    columns.push(Arc::new(Float64Array::from(
        rows.iter()
            .map(|r| (r.scores > 0).then(|| r.score_units as f64 / 1e9 / r.scores as f64))
            .collect::<Vec<_>>(),
    )));
    fields.push(Field::new(CAMPAIGN_RESPONSES, DataType::UInt64, false));
    columns.push(u64s(|r| r.responses));
    if let Some((t, joined)) = table {
        for (f, col) in t.schema().fields().iter().zip(t.columns()) {
            if f.name() == crate::schema::CUSTOMER_ID {
                continue;
            }
            if fields.iter().any(|g| g.name() == f.name()) {
                return Err(Error::param(
                    "table",
                    format!("column `{}` is also a customer 360 column", f.name()),
                ));
            }
            fields.push(Field::new(f.name(), f.data_type().clone(), true));
            columns.push(arrow_select::take::take(col.as_ref(), joined, None)?);
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// The key of row `i` of a table's `customer_id` column.
fn table_key(ids: &dyn Array, i: usize) -> Result<Option<KeyRef<'_>>> {
    if ids.is_null(i) {
        return Ok(None);
    }
    if let Some(a) = ids.as_primitive_opt::<Int64Type>() {
        Ok(Some(KeyRef::Int(a.value(i))))
    } else if let Some(a) = ids.as_string_opt::<i32>() {
        Ok(Some(KeyRef::Str(a.value(i))))
    } else {
        Err(Error::param("table", "`customer_id` must be Int64 or Utf8"))
    }
}

fn table_ids(table: &RecordBatch) -> Result<&ArrayRef> {
    table
        .column_by_name(crate::schema::CUSTOMER_ID)
        .ok_or_else(|| Error::param("table", "no `customer_id` column"))
}

/// The table row of every store customer (null: none).
fn join_rows(store: &EventStore, table: &RecordBatch) -> Result<UInt32Array> {
    let ids = table_ids(table)?;
    let mut of = vec![None; store.num_customers()];
    for i in 0..table.num_rows() {
        let Some(key) = table_key(ids.as_ref(), i)? else {
            continue;
        };
        if let Some(c) = store.customer_index(key)
            && let Some(slot) = of.get_mut(c as usize)
        {
            if slot.is_some() {
                return Err(Error::param("table", format!("customer {key} has more than one row")));
            }
            *slot = u32::try_from(i).ok();
        }
    }
    Ok(UInt32Array::from(of))
}

/// The customer 360 table of `store`, left-joined with `table` when given (see the
/// [module docs](self)).
///
/// # Errors
/// [`Error::InvalidParameter`] (`table`) when the table has no `customer_id` column (Int64 or
/// Utf8), two rows for one customer, or a column named like a 360 column.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::views::{Customer360Params, customer360};
/// let csv = "customer_id,event_time,event_type,amount,channel,product\n\
///            1,2024-01-05,purchase,20,web,shoes\n\
///            1,2024-01-09,complaint,,phone,\n\
///            2,2024-01-07,purchase,35.5,store,hat\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let cfg = Customer360Params::new().validate()?;
/// let t = customer360(&store, None, &cfg, &Parallelism::current())?;
/// assert_eq!(t.num_rows(), 2);
/// assert!(t.column_by_name("last_phone").is_some());
/// println!("{}", clientele::io::format_table(&t, 10));
/// # Ok(()) }
/// ```
pub fn customer360(
    store: &EventStore,
    table: Option<&RecordBatch>,
    cfg: &Customer360Config,
    par: &Parallelism,
) -> Result<RecordBatch> {
    let joined = table.map(|t| join_rows(store, t)).transpose()?;
    let codes = Codes::new(store, &cfg.params);
    let nch = store.columns().channel.as_ref().map_or(0, |c| c.values().len());
    let as_of = cfg.as_of_micros;
    let parts: Vec<Vec<Row>> = par.map_chunks(store.num_customers(), CHUNK, |r| {
        let (lo, hi) = (r.start, r.end);
        (lo..hi).map(|c| row_of(store, c, as_of, &codes, nch)).collect()
    });
    let rows: Vec<Row> = parts.into_iter().flatten().collect();
    let ids: Vec<u32> = (0..store.num_customers()).map(|c| c as u32).collect();
    build(store, &ids, &rows, as_of, table.zip(joined.as_ref()))
}

/// One customer's [`customer_lookup`] result.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerCard {
    /// The customer's [`customer360`] row (one row, same columns).
    pub row: RecordBatch,
    /// The customer's most recent events before `as_of`, newest first (at most `recent`):
    /// `customer_id` followed by the store's event columns (as in
    /// [`EventStore::events`], without `customer_index`).
    pub recent: RecordBatch,
}

/// Looks up one customer by original key: their 360 row (joined with `table` when given) and
/// their `recent` most recent events. `None` when the store does not hold the key.
///
/// # Errors
/// As [`customer360`] for the table.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::store::KeyRef;
/// use clientele::views::{Customer360Params, customer_lookup};
/// let csv = "customer_id,event_time,event_type,amount\n\
///            7,2024-01-05,purchase,20\n\
///            7,2024-02-05,web_visit,\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let cfg = Customer360Params::new().recent(1).validate()?;
/// let card = customer_lookup(&store, KeyRef::Int(7), None, &cfg)?;
/// assert_eq!(card.map(|c| c.recent.num_rows()), Some(1));
/// # Ok(()) }
/// ```
pub fn customer_lookup(
    store: &EventStore,
    key: KeyRef<'_>,
    table: Option<&RecordBatch>,
    cfg: &Customer360Config,
) -> Result<Option<CustomerCard>> {
    match store.customer_index(key) {
        Some(c) => card_of(store, c, key, table, cfg).map(Some),
        None => Ok(None),
    }
}

/// [`customer_lookup`] through a prebuilt [`KeyIndex`](crate::store::KeyIndex)
/// (`store.customer_keys().hash_index()`): the key is found in O(1) whatever the keys, and the
/// card reads only that customer's events (plus one pass over `table` when given).
///
/// # Errors
/// As [`customer_lookup`].
pub fn customer_lookup_indexed(
    store: &EventStore,
    index: &crate::store::KeyIndex,
    key: KeyRef<'_>,
    table: Option<&RecordBatch>,
    cfg: &Customer360Config,
) -> Result<Option<CustomerCard>> {
    match index.position(key) {
        Some(c) if (c as usize) < store.num_customers() => card_of(store, c, key, table, cfg).map(Some),
        _ => Ok(None),
    }
}

/// The card of dense customer `c` (whose key is `key`).
fn card_of(
    store: &EventStore,
    c: u32,
    key: KeyRef<'_>,
    table: Option<&RecordBatch>,
    cfg: &Customer360Config,
) -> Result<CustomerCard> {
    let joined = match table {
        Some(t) => {
            let ids = table_ids(t)?;
            let mut found = None;
            for i in 0..t.num_rows() {
                if let Some(k) = table_key(ids.as_ref(), i)?
                    && store.customer_index(k) == Some(c)
                {
                    if found.is_some() {
                        return Err(Error::param("table", format!("customer {key} has more than one row")));
                    }
                    found = u32::try_from(i).ok();
                }
            }
            Some(UInt32Array::from(vec![found]))
        }
        None => None,
    };
    let codes = Codes::new(store, &cfg.params);
    let nch = store.columns().channel.as_ref().map_or(0, |ch| ch.values().len());
    let as_of = cfg.as_of_micros;
    let row = row_of(store, c as usize, as_of, &codes, nch);
    let row = build(store, &[c], &[row], as_of, table.zip(joined.as_ref()))?;
    // Recent events, newest first (the range starts where the customer's events start).
    let r = range(store, c as usize, as_of);
    let n = cfg.params.recent.min(r.len());
    let idx: Vec<u64> = (r.end - n..r.end).rev().map(|i| (i - r.start) as u64).collect();
    let events = store.customer_events(c as usize)?;
    let recent = arrow_select::take::take_record_batch(&events, &UInt64Array::from(idx))?;
    Ok(CustomerCard { row, recent })
}
