//! Acquisition cohorts: retention and revenue by period since each customer's first purchase.
//!
//! A customer's cohort is the calendar month or week ([`Grain`]) of their first purchase; a
//! purchase's period is the number of calendar months or weeks between its period and the
//! cohort's (0 = the acquisition period). Only events strictly before `as_of` (midnight UTC)
//! count; customers without a purchase before `as_of` are in no cohort.
//!
//! Output, long format, one row per cohort and period `0..=` the last period that starts
//! before `as_of` (every cell, including empty ones), ordered by cohort then period:
//!
//! | column | type | definition |
//! |---|---|---|
//! | `cohort` | Date32 | first day of the acquisition month or (Monday) week |
//! | `period` | UInt32 | months or weeks since acquisition |
//! | `customers` | UInt64 | customers in the cohort |
//! | `active_customers` | UInt64 | cohort customers with at least one purchase in the period |
//! | `retention` | Float64 | `active_customers / customers` (≤ 1) |
//! | `revenue` | Float64 | purchase amounts of the cohort in the period, rounded to cents once from the exact sum |
//! | `revenue_retention` | Float64 | `revenue` / the cohort's period-0 revenue; null when that is 0 |
//! | `cumulative_revenue_per_customer` | Float64 | cohort revenue in periods `0..=period` / `customers` |
//! | `repeat_purchase_rate` | Float64 | share of the cohort with ≥ 2 purchases in periods `0..=period` |
//!
//! No column is null except `revenue_retention`. Null purchase amounts count as 0. Counts and
//! money are exact integers, so the result does not depend on the thread count.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Date32Array, Float64Array, RecordBatch, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{CHUNK, Grain, date32, money, round_cents};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::kernels::summary::to_units;
use crate::schema::output::cohorts::{
    ACTIVE_CUSTOMERS, COHORT, CUMULATIVE_REVENUE_PER_CUSTOMER, PERIOD, REPEAT_PURCHASE_RATE, RETENTION,
    REVENUE_RETENTION,
};
use crate::schema::output::common::{CUSTOMERS, REVENUE};
use crate::store::EventStore;
use crate::time::{MICROS_PER_DAY, date_to_days, micros_to_day};

/// The most periods a cohort matrix may have per cohort (guards against a stray event far in
/// the past making the matrix huge).
pub const MAX_PERIODS: i64 = 100_000;

/// Unchecked parameters of [`cohorts`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortParams {
    /// Events strictly before this date's midnight (UTC) count. No default.
    pub as_of: NaiveDate,
    /// Cohort and period grain (default month).
    #[serde(default)]
    pub by: Grain,
}

impl CohortParams {
    /// Defaults for `as_of`: monthly cohorts.
    pub fn new(as_of: NaiveDate) -> Self {
        CohortParams {
            as_of,
            by: Grain::Month,
        }
    }

    /// Sets the grain.
    pub fn by(mut self, by: Grain) -> Self {
        self.by = by;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// None today (every date and grain is valid); kept for symmetry with the other views.
    pub fn validate(&self) -> Result<CohortConfig> {
        Ok(CohortConfig {
            params: self.clone(),
            as_of_day: date_to_days(self.as_of),
        })
    }
}

/// Validated [`CohortParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct CohortConfig {
    params: CohortParams,
    as_of_day: i64,
}

impl CohortConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &CohortParams {
        &self.params
    }
}

/// One cohort's partial sums; vectors indexed by period.
#[derive(Debug, Clone, Default)]
struct Acc {
    customers: u64,
    active: Vec<u64>,
    units: Vec<i128>,
    /// Customers whose second purchase falls in the period.
    second: Vec<u64>,
}

impl Acc {
    fn with_len(n: usize) -> Self {
        Acc {
            customers: 0,
            active: vec![0; n],
            units: vec![0; n],
            second: vec![0; n],
        }
    }

    fn merge(&mut self, o: &Acc) {
        self.customers += o.customers;
        for (a, b) in self.active.iter_mut().zip(&o.active) {
            *a += b;
        }
        for (a, b) in self.units.iter_mut().zip(&o.units) {
            *a += b;
        }
        for (a, b) in self.second.iter_mut().zip(&o.second) {
            *a += b;
        }
    }
}

/// The cohort matrix of `store` in long format (see the [module docs](self)).
///
/// # Errors
/// [`Error::InvalidParameter`] (`as_of`) when a cohort would have more than [`MAX_PERIODS`]
/// periods.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::views::{CohortParams, cohorts};
/// let csv = "customer_id,event_time,event_type,amount\n\
///            1,2024-01-05,purchase,10\n\
///            1,2024-02-07,purchase,20\n\
///            2,2024-01-20,purchase,30\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let as_of = NaiveDate::from_ymd_opt(2024, 3, 1).ok_or(clientele::Error::param("as_of", "bad date"))?;
/// let matrix = cohorts(&store, &CohortParams::new(as_of).validate()?, &Parallelism::current())?;
/// // One January cohort of 2 customers, periods 0 (January) and 1 (February): retention 1, 0.5.
/// assert_eq!(matrix.num_rows(), 2);
/// println!("{}", clientele::io::format_table(&matrix, 10));
/// # Ok(()) }
/// ```
pub fn cohorts(store: &EventStore, cfg: &CohortConfig, par: &Parallelism) -> Result<RecordBatch> {
    let grain = cfg.params.by;
    let last = grain.index(cfg.as_of_day - 1);
    let as_of = cfg.as_of_day.saturating_mul(MICROS_PER_DAY);
    let purchase = store.purchase_code();
    let cols = store.columns();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    let amounts = cols.amount.as_ref().map(|a| &a.values()[..]);
    let offsets = store.offsets();
    // Chunks are aggregated in waves of two per thread and merged in chunk order after
    // each wave, so that at most one wave of partial matrices is held at a time (a partial
    // can hold every cohort × period of a long history); the sums are exact integers, so
    // the result does not depend on the waves.
    let all = crate::exec::chunk_ranges(store.num_customers(), CHUNK);
    let wave = par.num_threads().max(1) * 2;
    let mut total: BTreeMap<i64, Acc> = BTreeMap::new();
    for group in all.chunks(wave) {
        let parts: Vec<Result<BTreeMap<i64, Acc>>> = par.map_ranges(group, |r| {
            let (lo, hi) = (r.start, r.end);
            let mut acc: BTreeMap<i64, Acc> = BTreeMap::new();
            let mut seen: Vec<i64> = Vec::new();
            for c in lo..hi {
                let (start, end) = (offsets[c], offsets[c + 1]);
                let end = start + times[start..end].partition_point(|&t| t < as_of);
                let mut cohort = None;
                let mut count = 0u64;
                seen.clear();
                for i in start..end {
                    if Some(types[i]) != purchase {
                        continue;
                    }
                    let idx = grain.index(micros_to_day(times[i]));
                    let first = *cohort.get_or_insert(idx);
                    let len = last - first + 1;
                    if len > MAX_PERIODS {
                        return Err(Error::param(
                            "as_of",
                            format!("a cohort would have {len} periods (more than {MAX_PERIODS})"),
                        ));
                    }
                    let a = acc.entry(first).or_insert_with(|| Acc::with_len(len as usize));
                    let p = (idx - first) as usize;
                    if count == 0 {
                        a.customers += 1;
                    }
                    count += 1;
                    if count == 2
                        && let Some(s) = a.second.get_mut(p)
                    {
                        *s += 1;
                    }
                    if seen.last() != Some(&idx) {
                        seen.push(idx);
                        if let Some(x) = a.active.get_mut(p) {
                            *x += 1;
                        }
                    }
                    if let Some(u) = a.units.get_mut(p) {
                        *u += to_units(amounts.map_or(0.0, |v| v[i]));
                    }
                }
            }
            Ok(acc)
        });
        for part in parts {
            for (k, a) in part? {
                total
                    .entry(k)
                    .or_insert_with(|| Acc::with_len(a.active.len()))
                    .merge(&a);
            }
        }
    }
    let mut cohort_col = Vec::new();
    let mut period = Vec::new();
    let mut customers = Vec::new();
    let mut active = Vec::new();
    let mut retention = Vec::new();
    let mut revenue = Vec::new();
    let mut revenue_retention = Vec::new();
    let mut cumulative = Vec::new();
    let mut repeat = Vec::new();
    for (&k, a) in &total {
        let n = a.customers.max(1) as f64;
        let base = round_cents(a.units.first().copied().unwrap_or(0));
        let (mut cum_units, mut repeaters) = (0i128, 0u64);
        for (p, ((&act, &units), &sec)) in a.active.iter().zip(&a.units).zip(&a.second).enumerate() {
            cum_units += units;
            repeaters += sec;
            cohort_col.push(date32(grain.start_day(k)));
            period.push(p as u32);
            customers.push(a.customers);
            active.push(act);
            retention.push(act as f64 / n);
            revenue.push(money(units));
            revenue_retention.push((base != 0).then(|| round_cents(units) as f64 / base as f64));
            cumulative.push(money(cum_units) / n);
            repeat.push(repeaters as f64 / n);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new(COHORT, DataType::Date32, false),
        Field::new(PERIOD, DataType::UInt32, false),
        Field::new(CUSTOMERS, DataType::UInt64, false),
        Field::new(ACTIVE_CUSTOMERS, DataType::UInt64, false),
        Field::new(RETENTION, DataType::Float64, false),
        Field::new(REVENUE, DataType::Float64, false),
        Field::new(REVENUE_RETENTION, DataType::Float64, true),
        Field::new(CUMULATIVE_REVENUE_PER_CUSTOMER, DataType::Float64, false),
        Field::new(REPEAT_PURCHASE_RATE, DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from(cohort_col)),
        Arc::new(UInt32Array::from(period)),
        Arc::new(UInt64Array::from(customers)),
        Arc::new(UInt64Array::from(active)),
        Arc::new(Float64Array::from(retention)),
        Arc::new(Float64Array::from(revenue)),
        Arc::new(Float64Array::from(revenue_retention)),
        Arc::new(Float64Array::from(cumulative)),
        Arc::new(Float64Array::from(repeat)),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}
