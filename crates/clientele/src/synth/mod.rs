//! Deterministic synthetic customer events: a realistic, reproducible test bed for the engine.
//!
//! [`generate`] simulates a population of customers over a date window and returns their
//! events as Arrow [`RecordBatch`]es in the canonical schema ([`event_schema`]), sorted by time.
//! The same [`GenerateParams`] always produce the same batches, bit for bit, whatever the number
//! of threads: every customer draws from its own random stream, derived from `(seed, customer)`
//! with SplitMix64 and run with xoshiro256++, and the final order is a total order.
//!
//! ```
//! use clientele::synth::{GenerateParams, event_schema, generate};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = GenerateParams::default().customers(200).seed(7).validate()?;
//! let batches = generate(&config)?;
//! assert!(batches.iter().all(|batch| batch.schema() == event_schema()));
//! let events: usize = batches.iter().map(|batch| batch.num_rows()).sum();
//! assert!(events > 200); // about 19 per customer
//! # Ok(())
//! # }
//! ```
//!
//! # Why this model
//!
//! The data is meant to exercise customer analytics the way real CRM data does, so the core of
//! it follows the models those analytics assume: purchases follow the BG/NBD
//! ("buy till you die") model of Fader, Hardie & Lee (2005) and spend follows the Gamma-Gamma
//! model of Fader, Hardie & Lee (2005b). Fitting those models to the output should recover
//! parameters close to the ones below (measured over the window, for repeat purchases). Around
//! the purchases, marketing, browsing and service events give RFM, churn, campaign and
//! cost-to-serve analyses something to chew on: heterogeneous customers, heavy tails, many
//! one-time buyers, lapsed customers who still receive (and sometimes read) e-mail.
//!
//! # The window
//!
//! `start` and `end` are dates; the window runs from `start` 00:00:00 UTC to `end` 23:59:59 UTC
//! inclusive. No event outside it is emitted (a purchase process that would continue past `end`
//! is simply cut off, which is the censoring the BG/NBD model expects). Times have second
//! resolution and are stored as microseconds.
//!
//! # One customer's life
//!
//! Customer `i` (0-based) has `customer_id = 1_000_001 + i`.
//!
//! * **Acquisition.** Uniform over the first 60% of the window. The first event of every
//!   customer is a purchase at the acquisition time; nothing of the customer happens before it
//!   (browsing before sign-up is anonymous).
//! * **Purchases (BG/NBD).** While alive, a customer buys as a Poisson process of rate
//!   `lambda ~ Gamma(shape r = 0.9, rate alpha = 66 days)` (mean 0.0136 purchases/day, about
//!   5 a year, heavily skewed). After each *repeat* purchase the customer drops out for good
//!   with probability `p ~ Beta(a = 0.8, b = 2.4)` (mean 0.25); as in the BG/NBD model, the
//!   initial purchase cannot be the last. The gaps between purchases are exponential(`lambda`).
//! * **Spend (Gamma-Gamma).** Each customer has `nu ~ Gamma(shape q = 3.7, rate gamma = 15)`;
//!   each purchase amount is `1.5 * Gamma(shape p = 6, rate nu)`, rounded to cents (at least
//!   0.01). The mean order is `1.5 * p * gamma / (q - 1)`, about 50, with a long right tail;
//!   amounts are independent of the purchase timing, as Gamma-Gamma assumes.
//! * **Channel and product.** Purchases happen in `store`, `web`, `app` or `phone`: each
//!   customer's preference weights are the population weights (0.40, 0.32, 0.20, 0.08) times
//!   independent Exp(1) draws. Products `P01`..`P20` have Zipf popularity (weight 1/rank, so
//!   `P01` takes about 28%); 35% of a customer's purchases are of a personal favourite.
//! * **Cost to serve.** `cost = amount * (channel share + U(0, 0.03))`, with shares store 0.10,
//!   web 0.07, app 0.05, phone 0.12: 5% to 15% of the amount, rounded to cents.
//! * **Time of day.** Store purchases fall between 09:00 and 21:00, phone events between 08:00
//!   and 20:00, digital ones (web, app, e-mail) 80% between 07:00 and 23:00 and 20% at any hour.
//!
//! After each purchase:
//!
//! * `web_visit` (browsing before buying): repeat purchases made on the web or the app are
//!   preceded by Poisson(1.2) visits in the 3 days before, in the same channel.
//! * `refund` with probability 0.02, 1 to 30 days later, of the full amount (positive), with the
//!   purchase's channel and product.
//! * `service_call` (channel `phone`, cost 4.0) with a customer-specific probability
//!   `~ Beta(1, 14)` (mean 0.067), 0 to 14 days later.
//! * `complaint` after 25% of service calls (within 2 days) and 30% of refunds (within 3 days),
//!   through phone 45%, email 30%, web 15% or store 10%.
//! * `survey` (channel `email`) with probability 0.10, 1 to 7 days later: `score` is an integer
//!   1..=10 drawn around the customer's latent satisfaction `~ Normal(7.4, 1.2)` with noise
//!   `Normal(0, 1.5)`, lowered by 2.5 when that purchase led to a complaint.
//!
//! Engagement, between acquisition and dropout plus an exponential lingering time (mean 45
//! days), or the end of the window for customers who never drop out:
//!
//! * `web_visit` (channel `web` or `app`, in the ratio of the customer's web and app purchase
//!   preferences): a Poisson process of rate `e * (0.007 + 0.3 * lambda)` per day, where the
//!   engagement `e ~ Gamma(2, scale 0.5)` (mean 1).
//! * `campaign_send` (channel `email`, cost 0.05): one campaign per month, sent on the 5th
//!   between 08:00 and 12:00, with `campaign_id` `"C2024-01"` style (year and month of the send);
//!   each goes to a random 40% of the customers acquired before it, alive or not.
//! * `email_open` (channel `email`, same `campaign_id`): the customer opens a send with an open
//!   probability `~ Beta(2, 5)` (mean 0.29), times 0.35 once no longer engaged, after an
//!   exponential delay (mean 18 hours).
//! * `campaign_response` (channel `web` or `app`, same `campaign_id`): an opened send gets a
//!   response with probability `0.12 * min(e, 3)` while engaged and 0.03 after, 1 to 10 whole
//!   days after the send.
//!
//! Only `purchase` and `refund` carry an `amount`; only `purchase`, `service_call` and
//! `campaign_send` carry a `cost`; only `purchase` and `refund` carry a `product`; only
//! campaign events carry a `campaign_id`; only `survey` carries a `score`. Every event has a
//! channel.
//!
//! # Volumes
//!
//! With the default window (2024-01-01 to 2025-12-31, 731 days) the expected numbers per
//! customer are, from the model (the purchase figure by integrating the BG/NBD expectation
//! `E[X(t)] = (1/p)(1 - (alpha / (alpha + p t))^r)` over `p` and the observation time `t`, the
//! rest by simulation):
//!
//! | event type          | per customer |
//! |---------------------|-------------:|
//! | `campaign_send`     | 6.57 |
//! | `web_visit`         | 5.65 |
//! | `purchase`          | 4.25 |
//! | `email_open`        | 1.51 |
//! | `survey`            | 0.42 |
//! | `service_call`      | 0.28 |
//! | `campaign_response` | 0.16 |
//! | `complaint`         | 0.10 |
//! | `refund`            | 0.08 |
//! | **all**             | **19.0** |
//!
//! About 15% of customers buy only once and 7% buy more than ten times; the mean purchase amount
//! is about 50. A sample of 20,000 customers stays within 17 to 21 events and 3.9 to 4.6
//! purchases per customer. Other windows scale these: a longer window means more campaigns and
//! a longer observation of each customer.
//!
//! # The knobs
//!
//! [`GenerateParams`] sets the number of customers, the seed, the window and the batch size.
//! The behavioural parameters above are fixed, so that a data set is described by its
//! parameters alone.
//!
//! # Output order and performance
//!
//! Customers are simulated in parallel chunks of 2,048 (with rayon), each into a compact
//! buffer; the events are then sorted globally by `(event_time, customer_id, generation order
//! within the customer)`, a total order, so the result does not depend on scheduling. The
//! batches are built in parallel from the sorted order. A million customers (about 19 million
//! events) take a few seconds on two cores; memory peaks at roughly 60 bytes per event for the
//! intermediate buffers plus the Arrow output.

mod behaviour;
pub(crate) mod rng;

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{Datelike, NaiveDate, NaiveTime};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::{AMOUNT, CAMPAIGN_ID, CHANNEL, COST, CUSTOMER_ID, EVENT_TIME, EVENT_TYPE, PRODUCT, SCORE};

use behaviour::{DAY, Event, Window};

/// The largest number of customers [`GenerateParams::validate`] accepts.
pub const MAX_CUSTOMERS: u64 = 100_000_000;

/// The `customer_id` of the first customer; customer `i` (0-based) is `FIRST_CUSTOMER_ID + i`.
pub const FIRST_CUSTOMER_ID: i64 = 1_000_001;

/// Batches never hold more rows than this, whatever `batch_rows` says: it keeps every string
/// column's 32-bit offsets far from overflow.
pub const MAX_BATCH_ROWS: usize = 100_000_000;

/// Customers simulated per parallel task. Fixed, so that chunking never affects the output.
const CHUNK_CUSTOMERS: u32 = 2_048;

/// Expected events per customer, used to size buffers.
const EVENTS_PER_CUSTOMER_HINT: usize = 24;

/// Day of the month on which campaigns are sent.
const CAMPAIGN_DAY: u32 = 5;

/// The time zone of `event_time`.
const UTC: &str = crate::time::UTC;

/// Microseconds per second.
const MICROS: i64 = 1_000_000;

/// The default start date, 2024-01-01.
const DEFAULT_START: NaiveDate = match NaiveDate::from_ymd_opt(2024, 1, 1) {
    Some(date) => date,
    None => NaiveDate::MIN,
};

/// The default end date, 2025-12-31.
const DEFAULT_END: NaiveDate = match NaiveDate::from_ymd_opt(2025, 12, 31) {
    Some(date) => date,
    None => NaiveDate::MAX,
};

/// Parameters of [`generate`], unchecked: build them (struct literal, builder methods or serde)
/// and call [`validate`](GenerateParams::validate) to get a [`GenerateConfig`].
///
/// Dates serialize as `"YYYY-MM-DD"` strings; missing fields take their default.
///
/// ```
/// use clientele::synth::GenerateParams;
///
/// let params = GenerateParams::default().customers(10_000).seed(1).batch_rows(65_536);
/// assert_eq!(params.customers, 10_000);
/// assert!(params.validate().is_ok());
/// assert!(params.customers(0).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateParams {
    /// Number of customers to simulate, 1 to [`MAX_CUSTOMERS`]. Default 1,000.
    pub customers: u64,
    /// Master seed: the same seed gives the same data. Default 42.
    pub seed: u64,
    /// First day of the window (from 00:00:00 UTC). Default 2024-01-01.
    #[serde(with = "iso_date")]
    pub start: NaiveDate,
    /// Last day of the window, inclusive (until 23:59:59 UTC); must be after `start`.
    /// Default 2025-12-31.
    #[serde(with = "iso_date")]
    pub end: NaiveDate,
    /// Maximum rows per output batch, at least 1 (values above [`MAX_BATCH_ROWS`] act as
    /// [`MAX_BATCH_ROWS`]). Default 1,000,000.
    pub batch_rows: usize,
}

impl Default for GenerateParams {
    fn default() -> Self {
        GenerateParams {
            customers: 1_000,
            seed: 42,
            start: DEFAULT_START,
            end: DEFAULT_END,
            batch_rows: 1_000_000,
        }
    }
}

impl GenerateParams {
    /// Sets the number of customers.
    pub fn customers(mut self, customers: u64) -> Self {
        self.customers = customers;
        self
    }

    /// Sets the master seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the first day of the window.
    pub fn start(mut self, start: NaiveDate) -> Self {
        self.start = start;
        self
    }

    /// Sets the last day of the window (inclusive).
    pub fn end(mut self, end: NaiveDate) -> Self {
        self.end = end;
        self
    }

    /// Sets the maximum number of rows per output batch.
    pub fn batch_rows(mut self, batch_rows: usize) -> Self {
        self.batch_rows = batch_rows;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the first invalid field: `customers` (0 or above
    /// [`MAX_CUSTOMERS`]), `end` (not after `start`) or `batch_rows` (0).
    pub fn validate(&self) -> Result<GenerateConfig> {
        if self.customers == 0 || self.customers > MAX_CUSTOMERS {
            return Err(Error::param(
                "customers",
                format!("must be between 1 and {MAX_CUSTOMERS}, got {}", self.customers),
            ));
        }
        if self.end <= self.start {
            return Err(Error::param(
                "end",
                format!("must be after start ({}), got {}", self.start, self.end),
            ));
        }
        if self.batch_rows == 0 {
            return Err(Error::param("batch_rows", "must be at least 1, got 0"));
        }
        Ok(GenerateConfig {
            customers: self.customers,
            seed: self.seed,
            start: self.start,
            end: self.end,
            batch_rows: self.batch_rows,
        })
    }
}

/// Validated parameters of [`generate`]; obtained from [`GenerateParams::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateConfig {
    customers: u64,
    seed: u64,
    start: NaiveDate,
    end: NaiveDate,
    batch_rows: usize,
}

impl GenerateConfig {
    /// Number of customers (1 to [`MAX_CUSTOMERS`]).
    pub fn customers(&self) -> u64 {
        self.customers
    }

    /// Master seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// First day of the window.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// Last day of the window (inclusive, after [`start`](Self::start)).
    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// Maximum rows per output batch as given (at least 1; batches are also capped at
    /// [`MAX_BATCH_ROWS`]).
    pub fn batch_rows(&self) -> usize {
        self.batch_rows
    }

    /// The parameters this configuration was validated from.
    pub fn params(&self) -> GenerateParams {
        GenerateParams {
            customers: self.customers,
            seed: self.seed,
            start: self.start,
            end: self.end,
            batch_rows: self.batch_rows,
        }
    }
}

/// The schema of the generated events: the canonical columns, in canonical order.
///
/// | column        | type                         | nullable |
/// |---------------|------------------------------|----------|
/// | `customer_id` | Int64                        | no       |
/// | `event_time`  | Timestamp(Microsecond, UTC)  | no       |
/// | `event_type`  | Utf8                         | no       |
/// | `amount`      | Float64                      | yes      |
/// | `channel`     | Utf8                         | yes      |
/// | `product`     | Utf8                         | yes      |
/// | `campaign_id` | Utf8                         | yes      |
/// | `score`       | Float64                      | yes      |
/// | `cost`        | Float64                      | yes      |
pub fn event_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(CUSTOMER_ID, DataType::Int64, false),
        Field::new(
            EVENT_TIME,
            DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            false,
        ),
        Field::new(EVENT_TYPE, DataType::Utf8, false),
        Field::new(AMOUNT, DataType::Float64, true),
        Field::new(CHANNEL, DataType::Utf8, true),
        Field::new(PRODUCT, DataType::Utf8, true),
        Field::new(CAMPAIGN_ID, DataType::Utf8, true),
        Field::new(SCORE, DataType::Float64, true),
        Field::new(COST, DataType::Float64, true),
    ]))
}

/// Generates the events of `config`'s customers, sorted by `event_time`, then `customer_id`,
/// then the order in which the customer's events were generated (a deterministic tiebreak),
/// in [`event_schema`] batches of at most `batch_rows` rows (all full but the last).
///
/// The behaviour is described in the module documentation. The result depends only on
/// `config`, never on the number of rayon threads.
///
/// # Errors
///
/// [`Error::InvalidParameter`] if the window is so long that one chunk of customers produces
/// more than `u32::MAX` events, and [`Error::Arrow`] if a batch cannot be assembled (neither
/// happens for sensible parameters).
pub fn generate(config: &GenerateConfig) -> Result<Vec<RecordBatch>> {
    let customers = u32::try_from(config.customers).map_err(|_| {
        Error::param(
            "customers",
            format!("must be at most {MAX_CUSTOMERS}, got {}", config.customers),
        )
    })?;
    let window = Window {
        start: midnight(config.start),
        end: midnight(config.end).saturating_add(DAY - 1),
    };
    let (campaign_days, campaign_ids) = campaign_schedule(config.start, config.end);

    // Simulate, in fixed chunks of customers, in customer order.
    let chunk_count = customers.div_ceil(CHUNK_CUSTOMERS);
    let chunks: Vec<Vec<Event>> = (0..chunk_count)
        .into_par_iter()
        .map(|chunk| {
            let first = chunk.saturating_mul(CHUNK_CUSTOMERS);
            let last = first.saturating_add(CHUNK_CUSTOMERS).min(customers);
            let size = usize::try_from(last - first).unwrap_or(0);
            let mut events = Vec::with_capacity(size.saturating_mul(EVENTS_PER_CUSTOMER_HINT));
            for customer in first..last {
                behaviour::simulate_customer(config.seed, customer, window, &campaign_days, &mut events);
            }
            events
        })
        .collect();

    // Sort keys: (time, chunk, position in chunk). Chunks are in customer order and each chunk
    // holds its customers' events in (customer, generation) order, so this orders by
    // (time, customer, generation order), and every key is distinct.
    let total: usize = chunks.iter().map(Vec::len).sum();
    let mut keys: Vec<(i64, u32, u32)> = Vec::with_capacity(total);
    for (chunk, events) in (0_u32..).zip(&chunks) {
        let len = u32::try_from(events.len()).map_err(|_| {
            Error::param(
                "end",
                "the window is too long: a chunk of customers produced more than 2^32 events",
            )
        })?;
        keys.extend((0..len).zip(events).map(|(pos, event)| (event.time, chunk, pos)));
    }
    keys.par_sort_unstable();

    let schema = event_schema();
    let rows = config.batch_rows.clamp(1, MAX_BATCH_ROWS);
    let batches: Vec<Result<RecordBatch, ArrowError>> = keys
        .par_chunks(rows)
        .map(|part| build_batch(&schema, part, &chunks, &campaign_ids))
        .collect();
    batches.into_iter().map(|batch| batch.map_err(Error::from)).collect()
}

/// Seconds since the Unix epoch of `date` at 00:00:00 UTC.
fn midnight(date: NaiveDate) -> i64 {
    date.and_time(NaiveTime::MIN).and_utc().timestamp()
}

/// The monthly campaigns sent within `[start, end]`: the midnight (seconds) of each send day,
/// and each campaign's id (`C<year>-<month>`).
fn campaign_schedule(start: NaiveDate, end: NaiveDate) -> (Vec<i64>, Vec<String>) {
    let mut days = Vec::new();
    let mut ids = Vec::new();
    let (mut year, mut month) = (start.year(), start.month());
    while let Some(date) = NaiveDate::from_ymd_opt(year, month, CAMPAIGN_DAY) {
        if date > end {
            break;
        }
        if date >= start {
            days.push(midnight(date));
            ids.push(format!("C{year:04}-{month:02}"));
        }
        if month == 12 {
            month = 1;
            year = year.saturating_add(1);
        } else {
            month += 1;
        }
    }
    (days, ids)
}

/// One output batch: the events at the sorted `keys`.
fn build_batch(
    schema: &SchemaRef,
    keys: &[(i64, u32, u32)],
    chunks: &[Vec<Event>],
    campaign_ids: &[String],
) -> Result<RecordBatch, ArrowError> {
    // One random-access gather, then sequential passes per column.
    let rows: Vec<Event> = keys
        .iter()
        .filter_map(|&(_, chunk, pos)| {
            let events = chunks.get(usize::try_from(chunk).ok()?)?;
            events.get(usize::try_from(pos).ok()?).copied()
        })
        .collect();

    let customer_id =
        Int64Array::from_iter_values(rows.iter().map(|event| FIRST_CUSTOMER_ID + i64::from(event.customer)));
    let event_time =
        TimestampMicrosecondArray::from_iter_values(rows.iter().map(|event| event.time.saturating_mul(MICROS)))
            .with_timezone(UTC);
    let event_type = StringArray::from_iter_values(rows.iter().map(|event| event.kind.as_str()));
    let amount: Float64Array = rows.iter().map(Event::amount).collect();
    let channel: StringArray = rows
        .iter()
        .map(|event| event.channel.map(|channel| channel.as_str()))
        .collect();
    let product: StringArray = rows.iter().map(Event::product).collect();
    let campaign_id: StringArray = rows
        .iter()
        .map(|event| {
            event
                .campaign()
                .and_then(|index| campaign_ids.get(index))
                .map(String::as_str)
        })
        .collect();
    let score: Float64Array = rows.iter().map(Event::score).collect();
    let cost: Float64Array = rows.iter().map(Event::cost).collect();

    let columns: Vec<ArrayRef> = vec![
        Arc::new(customer_id),
        Arc::new(event_time),
        Arc::new(event_type),
        Arc::new(amount),
        Arc::new(channel),
        Arc::new(product),
        Arc::new(campaign_id),
        Arc::new(score),
        Arc::new(cost),
    ];
    RecordBatch::try_new(Arc::clone(schema), columns)
}

/// Serde support for dates as `"YYYY-MM-DD"` strings (chrono's own serde support is not
/// enabled in this crate).
mod iso_date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(date: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(date)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse::<NaiveDate>().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};

    use super::*;

    fn config(customers: u64) -> GenerateConfig {
        GenerateParams::default()
            .customers(customers)
            .seed(20_240_101)
            .batch_rows(7_000)
            .validate()
            .unwrap()
    }

    /// The value at `i`, or `None` when null.
    fn value_at(array: &Float64Array, i: usize) -> Option<f64> {
        array.is_valid(i).then(|| array.value(i))
    }

    fn field_of(result: Result<GenerateConfig>) -> &'static str {
        match result {
            Err(Error::InvalidParameter { field, .. }) => field,
            other => panic!("expected an invalid-parameter error, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let params = GenerateParams::default();
        assert_eq!(params.customers, 1_000);
        assert_eq!(params.seed, 42);
        assert_eq!(params.start, NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        assert_eq!(params.end, NaiveDate::from_ymd_opt(2025, 12, 31).unwrap());
        assert_eq!(params.batch_rows, 1_000_000);
        let config = params.validate().unwrap();
        assert_eq!(config.params(), params);
        assert_eq!(config.customers(), 1_000);
        assert_eq!(config.seed(), 42);
        assert_eq!(config.start(), params.start);
        assert_eq!(config.end(), params.end);
        assert_eq!(config.batch_rows(), 1_000_000);
    }

    #[test]
    fn validate_names_the_field() {
        let ok = GenerateParams::default();
        assert_eq!(field_of(ok.clone().customers(0).validate()), "customers");
        assert_eq!(
            field_of(ok.clone().customers(MAX_CUSTOMERS + 1).validate()),
            "customers"
        );
        assert!(ok.clone().customers(MAX_CUSTOMERS).validate().is_ok());
        assert_eq!(field_of(ok.clone().end(ok.start).validate()), "end");
        let before = NaiveDate::from_ymd_opt(2023, 6, 1).unwrap();
        assert_eq!(field_of(ok.clone().end(before).validate()), "end");
        assert_eq!(field_of(ok.clone().batch_rows(0).validate()), "batch_rows");
        assert!(ok.batch_rows(1).validate().is_ok());
    }

    #[test]
    fn campaign_schedule_is_monthly_within_the_window() {
        let start = NaiveDate::from_ymd_opt(2024, 1, 10).unwrap();
        let end = NaiveDate::from_ymd_opt(2024, 4, 5).unwrap();
        let (days, ids) = campaign_schedule(start, end);
        assert_eq!(ids, ["C2024-02", "C2024-03", "C2024-04"]);
        let feb5 = NaiveDate::from_ymd_opt(2024, 2, 5).unwrap();
        assert_eq!(days.first().copied(), Some(midnight(feb5)));
        assert_eq!(days.len(), 3);
        let (_, ids) = campaign_schedule(DEFAULT_START, DEFAULT_END);
        assert_eq!(ids.len(), 24);
        assert_eq!(ids.last().map(String::as_str), Some("C2025-12"));
    }

    #[test]
    fn deterministic_whatever_the_thread_count() {
        let config = config(2_000);
        let first = generate(&config).unwrap();
        let second = generate(&config).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let single = pool.install(|| generate(&config)).unwrap();
        assert!(first.len() > 1, "expected several batches");
        assert_eq!(first, second);
        assert_eq!(first, single);

        let other = generate(
            &GenerateParams {
                seed: 1,
                ..config.params()
            }
            .validate()
            .unwrap(),
        )
        .unwrap();
        assert_ne!(first, other);
    }

    #[test]
    fn small_batches_hold_the_same_rows() {
        let config = config(300);
        let big = generate(&config).unwrap();
        let small = generate(&config.params().batch_rows(1_000).validate().unwrap()).unwrap();
        let rows = |batches: &[RecordBatch]| batches.iter().map(|b| b.num_rows()).sum::<usize>();
        assert_eq!(rows(&big), rows(&small));
        assert!(small.iter().all(|b| b.num_rows() <= 1_000));
        let (last, full) = small.split_last().unwrap();
        assert!(full.iter().all(|b| b.num_rows() == 1_000));
        assert!(last.num_rows() >= 1);
        let concat = rows_of(&small);
        assert_eq!(concat, rows_of(&big));
    }

    /// The rows of `batches` as comparable tuples (times and customers only).
    fn rows_of(batches: &[RecordBatch]) -> Vec<(i64, i64, String)> {
        let mut out = Vec::new();
        for batch in batches {
            let ids = batch.column(0).as_primitive::<Int64Type>();
            let times = batch.column(1).as_primitive::<TimestampMicrosecondType>();
            let types = batch.column(2).as_string::<i32>();
            for i in 0..batch.num_rows() {
                out.push((times.value(i), ids.value(i), types.value(i).to_owned()));
            }
        }
        out
    }

    #[test]
    fn realistic_and_well_formed() {
        let customers = 20_000_u64;
        let config = config(customers);
        let batches = generate(&config).unwrap();
        let schema = event_schema();

        let start = midnight(config.start()) * MICROS;
        let end = (midnight(config.end()) + DAY) * MICROS - 1;

        let mut seen: HashSet<i64> = HashSet::new();
        let mut previous: Option<(i64, i64)> = None;
        let mut events = 0_u64;
        let mut purchases = 0_u64;
        let mut kinds: HashSet<String> = HashSet::new();
        for batch in &batches {
            assert_eq!(batch.schema(), schema);
            assert!(batch.num_rows() <= config.batch_rows());
            let ids = batch.column(0).as_primitive::<Int64Type>();
            let times = batch.column(1).as_primitive::<TimestampMicrosecondType>();
            let types = batch.column(2).as_string::<i32>();
            let amounts = batch.column(3).as_primitive::<Float64Type>();
            let channels = batch.column(4).as_string::<i32>();
            let products = batch.column(5).as_string::<i32>();
            let campaigns = batch.column(6).as_string::<i32>();
            let scores = batch.column(7).as_primitive::<Float64Type>();
            let costs = batch.column(8).as_primitive::<Float64Type>();
            for i in 0..batch.num_rows() {
                let id = ids.value(i);
                let time = times.value(i);
                let kind = types.value(i);
                let amount = value_at(amounts, i);
                assert!((start..=end).contains(&time), "time {time} outside the window");
                assert_eq!(time % MICROS, 0, "times have second resolution");
                assert!(
                    (FIRST_CUSTOMER_ID..FIRST_CUSTOMER_ID + customers as i64).contains(&id),
                    "customer id {id}"
                );
                if let Some(prev) = previous {
                    assert!(prev <= (time, id), "not sorted: {prev:?} then {:?}", (time, id));
                }
                previous = Some((time, id));
                if seen.insert(id) {
                    assert_eq!(kind, "purchase", "first event of customer {id}");
                }
                assert!(!channels.is_null(i), "every event has a channel");
                events += 1;
                kinds.insert(kind.to_owned());
                match kind {
                    "purchase" => {
                        purchases += 1;
                        let amount = amount.expect("purchase amount");
                        assert!(amount > 0.0);
                        assert_eq!((amount * 100.0).round() / 100.0, amount);
                        let cost = value_at(costs, i).expect("purchase cost");
                        assert!((0.0..=0.16 * amount + 0.01).contains(&cost), "cost {cost}");
                        assert!(products.value(i).starts_with('P'));
                    }
                    "refund" => assert!(amount.is_some_and(|a| a > 0.0)),
                    "web_visit" => {
                        assert!(amount.is_none());
                        assert!(matches!(channels.value(i), "web" | "app"));
                    }
                    "campaign_send" => {
                        let id = campaigns.value(i);
                        assert!(id.len() == 8 && id.starts_with("C20"), "campaign id {id}");
                        assert_eq!(value_at(costs, i), Some(0.05));
                    }
                    "survey" => {
                        let score = value_at(scores, i).expect("survey score");
                        assert!((1.0..=10.0).contains(&score) && score.fract() == 0.0);
                    }
                    _ => assert!(amount.is_none()),
                }
                if kind != "survey" {
                    assert!(scores.is_null(i));
                }
            }
        }
        assert_eq!(seen.len() as u64, customers, "every customer has events");
        for kind in [
            "purchase",
            "refund",
            "web_visit",
            "email_open",
            "campaign_send",
            "campaign_response",
            "service_call",
            "complaint",
            "survey",
        ] {
            assert!(kinds.contains(kind), "no {kind} events");
        }
        let per_customer = events as f64 / customers as f64;
        let purchases_per_customer = purchases as f64 / customers as f64;
        assert!(
            (17.0..=21.0).contains(&per_customer),
            "{per_customer} events per customer"
        );
        assert!(
            (3.9..=4.6).contains(&purchases_per_customer),
            "{purchases_per_customer} purchases per customer"
        );
    }
}
