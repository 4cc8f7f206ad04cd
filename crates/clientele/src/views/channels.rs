//! The channel mix: reach, engagement, purchases, revenue and cost per channel, and each
//! customer's preferred channel.
//!
//! Only events with a channel count (events whose channel is null are left out of every
//! figure and share). With `as_of`, only events strictly before that date's midnight (UTC)
//! count; without it, every event.
//!
//! [`ChannelViews::channels`], one row per channel in name order (the channels of the store,
//! plus those of the cost table):
//!
//! | column | type | definition |
//! |---|---|---|
//! | `channel` | Utf8 | the channel |
//! | `customers_reached` | UInt64 | distinct customers with any event on the channel |
//! | `events` | UInt64 | events on the channel |
//! | `purchases` | UInt64 | purchase events on the channel |
//! | `revenue` | Float64 | purchase amounts on the channel, rounded to cents once from the exact sum |
//! | `engagement_share` | Float64 | `events` / events on all channels (0 when there are none) |
//! | `cost` | Float64 | the cost table's value for the channel (0 when it is not listed) when a table is given; otherwise the sum of the non-null `cost` values of the channel's events, rounded to cents (0 without a cost column) |
//! | `cost_share` | Float64 | `cost` / cost of all channels; null when that total is 0 |
//! | `mismatch` | Float64 | `engagement_share − cost_share`; null with `cost_share` |
//!
//! [`ChannelViews::preferred`], one row per customer with at least one event on a channel, in
//! the store's customer order:
//!
//! | column | type | definition |
//! |---|---|---|
//! | `customer_id` | Int64 or Utf8 | the customer key |
//! | `preferred_by_engagement` | Utf8 | the channel with the most events of the customer |
//! | `engagement_events` | UInt64 | the customer's events on that channel |
//! | `preferred_by_purchases` | Utf8 | the channel with the most purchase events; null without a purchase on a channel |
//! | `purchase_events` | UInt64 | the customer's purchase events on that channel (0 when null) |
//!
//! Ties go to the first channel in name order.
//!
//! [`acquisition_channels`]: customers, revenue and CLV per channel of the first purchase
//! (partner / acquisition-channel value).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{CHUNK, money, round_cents};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::kernels::summary::to_units;
use crate::schema::output::CLV;
use crate::schema::output::channels::{
    ACQUISITION_CHANNEL, CLV_CUSTOMERS, COST_SHARE, CUSTOMERS_REACHED, ENGAGEMENT_EVENTS, ENGAGEMENT_SHARE, EVENTS,
    MEAN_CLV, MISMATCH, PREFERRED_BY_ENGAGEMENT, PREFERRED_BY_PURCHASES, PURCHASE_EVENTS, PURCHASES,
    REVENUE_PER_CUSTOMER, TOTAL_CLV,
};
use crate::schema::output::common::{CUSTOMERS, REVENUE};
use crate::schema::{CHANNEL, COST};
use crate::store::EventStore;
use crate::store::columns::dict_values;
use crate::time::date_to_micros;

/// Unchecked parameters of [`channels`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChannelParams {
    /// Only events strictly before this date's midnight (UTC) count (default: none, every event).
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
    /// Cost per channel; when given it replaces the `cost` column (default: none).
    #[serde(default)]
    pub channel_costs: Option<BTreeMap<String, f64>>,
}

impl ChannelParams {
    /// Defaults: every event, costs from the `cost` column.
    pub fn new() -> Self {
        ChannelParams::default()
    }

    /// Sets the as-of date.
    pub fn as_of(mut self, d: NaiveDate) -> Self {
        self.as_of = Some(d);
        self
    }

    /// Sets the cost table.
    pub fn channel_costs(mut self, costs: BTreeMap<String, f64>) -> Self {
        self.channel_costs = Some(costs);
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`channel_costs`): an empty channel name, or a cost that is
    /// not finite or is negative.
    pub fn validate(&self) -> Result<ChannelConfig> {
        if let Some(costs) = &self.channel_costs {
            for (k, v) in costs {
                if k.trim().is_empty() {
                    return Err(Error::param("channel_costs", "a channel name is empty"));
                }
                if !v.is_finite() || *v < 0.0 {
                    return Err(Error::param(
                        "channel_costs",
                        format!("channel {k:?}: cost {v} is not a finite number ≥ 0"),
                    ));
                }
            }
        }
        Ok(ChannelConfig {
            params: self.clone(),
            as_of_micros: self.as_of.map_or(i64::MAX, date_to_micros),
        })
    }
}

/// Validated [`ChannelParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    params: ChannelParams,
    as_of_micros: i64,
}

impl ChannelConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &ChannelParams {
        &self.params
    }
}

/// The two tables of [`channels`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelViews {
    /// One row per channel.
    pub channels: RecordBatch,
    /// One row per customer with an event on a channel: preferred channels.
    pub preferred: RecordBatch,
}

/// Per-channel partial sums.
#[derive(Debug, Clone, Default)]
struct Acc {
    reached: Vec<u64>,
    events: Vec<u64>,
    purchases: Vec<u64>,
    units: Vec<i128>,
    cost_units: Vec<i128>,
}

impl Acc {
    fn new(n: usize) -> Self {
        Acc {
            reached: vec![0; n],
            events: vec![0; n],
            purchases: vec![0; n],
            units: vec![0; n],
            cost_units: vec![0; n],
        }
    }

    fn merge(&mut self, o: &Acc) {
        let add = |a: &mut Vec<u64>, b: &Vec<u64>| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.reached, &o.reached);
        add(&mut self.events, &o.events);
        add(&mut self.purchases, &o.purchases);
        self.units.iter_mut().zip(&o.units).for_each(|(x, y)| *x += y);
        self.cost_units.iter_mut().zip(&o.cost_units).for_each(|(x, y)| *x += y);
    }
}

/// Among the `touched` channels, the one with the largest positive count (ties: the lowest
/// code, which is the first in name order).
fn argmax(counts: &[u64], touched: &[usize]) -> Option<(usize, u64)> {
    touched
        .iter()
        .filter_map(|&k| counts.get(k).map(|&n| (k, n)))
        .filter(|(_, n)| *n > 0)
        .fold(None, |b, (k, n)| match b {
            Some((bk, bn)) if bn > n || (bn == n && bk < k) => b,
            _ => Some((k, n)),
        })
}

/// Chunk output: sums, and (customer, engagement pick, purchase pick) rows.
type Part = (Acc, Vec<(u32, u32, u64, Option<u32>, u64)>);

/// The channel mix and preferred channels of `store` (see the [module docs](self)).
///
/// # Errors
/// Only on an internal inconsistency (building the record batches).
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::views::{ChannelParams, channels};
/// let csv = "customer_id,event_time,event_type,amount,channel,cost\n\
///            1,2024-01-05,email_open,,email,0.10\n\
///            1,2024-01-06,purchase,20,web,\n\
///            2,2024-01-07,web_visit,,web,0.30\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let views = channels(&store, &ChannelParams::new().validate()?, &Parallelism::current())?;
/// assert_eq!(views.channels.num_rows(), 2); // email, web
/// assert_eq!(views.preferred.num_rows(), 2);
/// println!("{}", clientele::io::format_table(&views.channels, 10));
/// # Ok(()) }
/// ```
pub fn channels(store: &EventStore, cfg: &ChannelConfig, par: &Parallelism) -> Result<ChannelViews> {
    let cols = store.columns();
    let store_names = cols.channel.as_ref().map(dict_values).unwrap_or_default();
    let nch = store_names.len();
    let purchase = store.purchase_code();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    let amounts = cols.amount.as_ref().map(|a| &a.values()[..]);
    let cost = cols.cost.as_ref();
    let channel = cols.channel.as_ref();
    let offsets = store.offsets();
    let as_of = cfg.as_of_micros;
    let parts: Vec<Part> = par.map_chunks(store.num_customers(), CHUNK, |r| {
        let (lo, hi) = (r.start, r.end);
        let mut acc = Acc::new(nch);
        let mut rows = Vec::new();
        let mut ev = vec![0u64; nch];
        let mut pu = vec![0u64; nch];
        let Some(ch) = channel else {
            return (acc, rows);
        };
        let keys = ch.keys();
        // The channels the current customer touched (so the per-customer work does not
        // grow with the number of channels).
        let mut touched: Vec<usize> = Vec::new();
        for c in lo..hi {
            let (start, end) = (offsets[c], offsets[c + 1]);
            let end = start + times[start..end].partition_point(|&t| t < as_of);
            for &k in &touched {
                ev[k] = 0;
                pu[k] = 0;
            }
            touched.clear();
            for i in start..end {
                if !keys.is_valid(i) {
                    continue;
                }
                let k = keys.value(i) as usize;
                let (Some(e), Some(p)) = (ev.get_mut(k), pu.get_mut(k)) else {
                    continue;
                };
                if *e == 0 {
                    touched.push(k);
                }
                *e += 1;
                if Some(types[i]) == purchase {
                    *p += 1;
                    if let Some(u) = acc.units.get_mut(k) {
                        *u += to_units(amounts.map_or(0.0, |v| v[i]));
                    }
                }
                if let Some(cst) = cost
                    && cst.is_valid(i)
                    && let Some(u) = acc.cost_units.get_mut(k)
                {
                    *u += to_units(cst.value(i));
                }
            }
            for &k in &touched {
                acc.reached[k] += 1;
                acc.events[k] += ev[k];
                acc.purchases[k] += pu[k];
            }
            if let Some((e, ne)) = argmax(&ev, &touched) {
                let (p, np) = argmax(&pu, &touched).map_or((None, 0), |(p, n)| (Some(p as u32), n));
                rows.push((c as u32, e as u32, ne, p, np));
            }
        }
        (acc, rows)
    });
    let mut total = Acc::new(nch);
    let mut rows = Vec::new();
    for (a, r) in parts {
        total.merge(&a);
        rows.extend(r);
    }
    // Channel rows: the store's channels and the cost table's, in name order.
    let mut names: Vec<String> = store_names.clone();
    if let Some(costs) = &cfg.params.channel_costs {
        names.extend(costs.keys().cloned());
    }
    names.sort_unstable();
    names.dedup();
    let of = |name: &str| store_names.binary_search_by(|n| n.as_str().cmp(name)).ok();
    let all_events: u64 = total.events.iter().sum();
    let costs_cents: Vec<i128> = names
        .iter()
        .map(|n| match &cfg.params.channel_costs {
            Some(table) => round_cents(to_units(table.get(n).copied().unwrap_or(0.0))),
            None => of(n).map_or(0, |k| round_cents(total.cost_units[k])),
        })
        .collect();
    let all_cost: i128 = costs_cents.iter().sum();
    let get = |v: &Vec<u64>, n: &str| of(n).map_or(0, |k| v[k]);
    let events: Vec<u64> = names.iter().map(|n| get(&total.events, n)).collect();
    let engagement: Vec<f64> = events
        .iter()
        .map(|&e| {
            if all_events == 0 {
                0.0
            } else {
                e as f64 / all_events as f64
            }
        })
        .collect();
    let cost_share: Vec<Option<f64>> = costs_cents
        .iter()
        .map(|&c| (all_cost != 0).then(|| c as f64 / all_cost as f64))
        .collect();
    let mismatch: Vec<Option<f64>> = engagement
        .iter()
        .zip(&cost_share)
        .map(|(e, c)| c.map(|c| e - c))
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new(CHANNEL, DataType::Utf8, false),
        Field::new(CUSTOMERS_REACHED, DataType::UInt64, false),
        Field::new(EVENTS, DataType::UInt64, false),
        Field::new(PURCHASES, DataType::UInt64, false),
        Field::new(REVENUE, DataType::Float64, false),
        Field::new(ENGAGEMENT_SHARE, DataType::Float64, false),
        Field::new(COST, DataType::Float64, false),
        Field::new(COST_SHARE, DataType::Float64, true),
        Field::new(MISMATCH, DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(names.clone())),
        Arc::new(UInt64Array::from(
            names.iter().map(|n| get(&total.reached, n)).collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(events)),
        Arc::new(UInt64Array::from(
            names.iter().map(|n| get(&total.purchases, n)).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            names
                .iter()
                .map(|n| of(n).map_or(0.0, |k| money(total.units[k])))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(engagement)),
        Arc::new(Float64Array::from(
            costs_cents.iter().map(|&c| c as f64 / 100.0).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(cost_share)),
        Arc::new(Float64Array::from(mismatch)),
    ];
    let channels = RecordBatch::try_new(schema, columns)?;
    // Preferred channels.
    let index = UInt32Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>());
    let keys = arrow_select::take::take(store.customer_keys().array().as_ref(), &index, None)?;
    let name = |k: u32| store_names.get(k as usize).cloned();
    let schema = Arc::new(Schema::new(vec![
        Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false),
        Field::new(PREFERRED_BY_ENGAGEMENT, DataType::Utf8, false),
        Field::new(ENGAGEMENT_EVENTS, DataType::UInt64, false),
        Field::new(PREFERRED_BY_PURCHASES, DataType::Utf8, true),
        Field::new(PURCHASE_EVENTS, DataType::UInt64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        keys,
        Arc::new(rows.iter().map(|r| name(r.1)).collect::<StringArray>()),
        Arc::new(UInt64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
        Arc::new(rows.iter().map(|r| r.3.and_then(name)).collect::<StringArray>()),
        Arc::new(UInt64Array::from(rows.iter().map(|r| r.4).collect::<Vec<_>>())),
    ];
    let preferred = RecordBatch::try_new(schema, columns)?;
    Ok(ChannelViews { channels, preferred })
}

/// Value by acquisition channel: per channel of each customer's **first purchase** (before
/// `as_of` when set; `channel_costs` is not used), with the customer's lifetime value from
/// `clv` when given.
///
/// One row per channel with acquired customers, in name order, then a row with a null
/// `acquisition_channel` for customers whose first purchase has no channel:
///
/// | column | type | definition |
/// |---|---|---|
/// | `acquisition_channel` | Utf8 | the channel of the first purchase (null: none) |
/// | `customers` | UInt64 | customers acquired (customers without a purchase are in no row) |
/// | `revenue` | Float64 | all purchase amounts of those customers, rounded to cents once from the exact sum |
/// | `revenue_per_customer` | Float64 | `revenue / customers` |
/// | `clv_customers` | UInt64 | of those, customers with a non-null `clv` in the table (0 without a table) |
/// | `total_clv` | Float64 | sum of their `clv`, rounded to cents; null without a table |
/// | `mean_clv` | Float64 | `total_clv / clv_customers`; null without a table or when `clv_customers` is 0 |
///
/// The `clv` table has `customer_id` (Int64 or Utf8) and a numeric `clv` column; rows of
/// customers the store does not hold are ignored.
///
/// # Errors
/// [`Error::InvalidParameter`] (`clv`): no `customer_id` or `clv` column, a `clv` that is not
/// numeric or not finite, or two rows for one customer.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::views::{ChannelParams, acquisition_channels};
/// let csv = "customer_id,event_time,event_type,amount,channel\n\
///            1,2024-01-05,purchase,20,web\n\
///            1,2024-02-05,purchase,10,store\n\
///            2,2024-01-07,purchase,35,store\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let t = acquisition_channels(&store, None, &ChannelParams::new().validate()?, &Parallelism::current())?;
/// assert_eq!(t.num_rows(), 2); // store (customer 2), web (customer 1, revenue 30)
/// # Ok(()) }
/// ```
pub fn acquisition_channels(
    store: &EventStore,
    clv: Option<&RecordBatch>,
    cfg: &ChannelConfig,
    par: &Parallelism,
) -> Result<RecordBatch> {
    let clv_of = clv.map(|t| clv_per_customer(store, t)).transpose()?;
    let cols = store.columns();
    let names = cols.channel.as_ref().map(dict_values).unwrap_or_default();
    let nch = names.len();
    let purchase = store.purchase_code();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    let amounts = cols.amount.as_ref().map(|a| &a.values()[..]);
    let channel = cols.channel.as_ref().map(|c| c.keys());
    let offsets = store.offsets();
    let as_of = cfg.as_of_micros;
    // Per slot (channel code; `nch`: no channel): customers, revenue units, CLV count, CLV units.
    type Sums = Vec<(u64, i128, u64, i128)>;
    let parts: Vec<Sums> = par.map_chunks(store.num_customers(), CHUNK, |r| {
        let (lo, hi) = (r.start, r.end);
        let mut s: Sums = vec![(0, 0, 0, 0); nch + 1];
        for c in lo..hi {
            let (start, end) = (offsets[c], offsets[c + 1]);
            let end = start + times[start..end].partition_point(|&t| t < as_of);
            let mut first = None;
            let mut units = 0i128;
            for i in start..end {
                if Some(types[i]) != purchase {
                    continue;
                }
                if first.is_none() {
                    first = Some(match channel {
                        Some(ch) if ch.is_valid(i) => usize::try_from(ch.value(i)).unwrap_or(nch).min(nch),
                        _ => nch,
                    });
                }
                units += to_units(amounts.map_or(0.0, |v| v[i]));
            }
            let Some(slot) = first.and_then(|k| s.get_mut(k)) else {
                continue;
            };
            slot.0 += 1;
            slot.1 += units;
            if let Some(v) = clv_of.as_ref().and_then(|v| v.get(c).copied().flatten()) {
                slot.2 += 1;
                slot.3 += to_units(v);
            }
        }
        s
    });
    let mut total: Sums = vec![(0, 0, 0, 0); nch + 1];
    for part in parts {
        for (t, p) in total.iter_mut().zip(part) {
            t.0 += p.0;
            t.1 += p.1;
            t.2 += p.2;
            t.3 += p.3;
        }
    }
    let slots: Vec<usize> = (0..=nch).filter(|&k| total[k].0 > 0).collect();
    let with_clv = clv_of.is_some();
    let schema = Arc::new(Schema::new(vec![
        Field::new(ACQUISITION_CHANNEL, DataType::Utf8, true),
        Field::new(CUSTOMERS, DataType::UInt64, false),
        Field::new(REVENUE, DataType::Float64, false),
        Field::new(REVENUE_PER_CUSTOMER, DataType::Float64, false),
        Field::new(CLV_CUSTOMERS, DataType::UInt64, false),
        Field::new(TOTAL_CLV, DataType::Float64, true),
        Field::new(MEAN_CLV, DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(slots.iter().map(|&k| names.get(k).cloned()).collect::<StringArray>()),
        Arc::new(UInt64Array::from(slots.iter().map(|&k| total[k].0).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(
            slots.iter().map(|&k| money(total[k].1)).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            slots
                .iter()
                .map(|&k| total[k].1 as f64 / 1e9 / total[k].0 as f64)
                .collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(slots.iter().map(|&k| total[k].2).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(
            slots
                .iter()
                .map(|&k| with_clv.then(|| money(total[k].3)))
                .collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(
            slots
                .iter()
                .map(|&k| (with_clv && total[k].2 > 0).then(|| total[k].3 as f64 / 1e9 / total[k].2 as f64))
                .collect::<Vec<_>>(),
        )),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// The `clv` of every store customer from a table with `customer_id` and `clv`.
fn clv_per_customer(store: &EventStore, table: &RecordBatch) -> Result<Vec<Option<f64>>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    let col = table
        .column_by_name(CLV)
        .ok_or_else(|| Error::param("clv", "the table has no `clv` column"))?;
    let values = arrow_cast::cast(col, &DataType::Float64)
        .map_err(|e| Error::param("clv", format!("`clv` is not numeric: {e}")))?;
    let values = values
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| Error::param("clv", "`clv` is not numeric"))?;
    let ids = table
        .column_by_name(crate::schema::CUSTOMER_ID)
        .ok_or_else(|| Error::param("clv", "no `customer_id` column"))?;
    let mut out = vec![None; store.num_customers()];
    let mut seen = vec![false; store.num_customers()];
    for i in 0..table.num_rows() {
        if ids.is_null(i) {
            continue;
        }
        let key = if let Some(a) = ids.as_primitive_opt::<Int64Type>() {
            crate::store::KeyRef::Int(a.value(i))
        } else if let Some(a) = ids.as_string_opt::<i32>() {
            crate::store::KeyRef::Str(a.value(i))
        } else {
            return Err(Error::param("clv", "`customer_id` must be Int64 or Utf8"));
        };
        let Some(c) = store.customer_index(key).map(|c| c as usize) else {
            continue;
        };
        if seen.get(c).copied().unwrap_or(false) {
            return Err(Error::param("clv", format!("customer {key} has more than one row")));
        }
        if let Some(s) = seen.get_mut(c) {
            *s = true;
        }
        if values.is_valid(i) {
            let v = values.value(i);
            if !v.is_finite() {
                return Err(Error::param("clv", format!("customer {key}: clv {v} is not finite")));
            }
            if let Some(slot) = out.get_mut(c) {
                *slot = Some(v);
            }
        }
    }
    Ok(out)
}
