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

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{chunks, money, round_cents};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::kernels::summary::to_units;
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
    let parts: Vec<Part> = par.install(|| {
        chunks(store.num_customers())
            .par_iter()
            .map(|&(lo, hi)| {
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
            })
            .collect()
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
        Field::new("channel", DataType::Utf8, false),
        Field::new("customers_reached", DataType::UInt64, false),
        Field::new("events", DataType::UInt64, false),
        Field::new("purchases", DataType::UInt64, false),
        Field::new("revenue", DataType::Float64, false),
        Field::new("engagement_share", DataType::Float64, false),
        Field::new("cost", DataType::Float64, false),
        Field::new("cost_share", DataType::Float64, true),
        Field::new("mismatch", DataType::Float64, true),
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
        Field::new("preferred_by_engagement", DataType::Utf8, false),
        Field::new("engagement_events", DataType::UInt64, false),
        Field::new("preferred_by_purchases", DataType::Utf8, true),
        Field::new("purchase_events", DataType::UInt64, false),
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
