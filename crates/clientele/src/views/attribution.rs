//! Multi-touch attribution of purchase revenue to the touches before each purchase.
//!
//! A **touch** is a non-purchase event with a channel. The touches of a purchase are the same
//! customer's touches at times `t` with `purchase − lookback ≤ t ≤ purchase` (touches at the
//! purchase's own instant count). Each purchase's revenue (its amount; null counts as 0) is
//! split over its touches by the [`AttributionModel`]'s weights:
//!
//! | model | weight of a touch |
//! |---|---|
//! | `first` | 1 for the earliest touch (ties: the first in store order), 0 for the others |
//! | `last` | 1 for the latest touch (ties: the last in store order) |
//! | `linear` | 1 / number of touches |
//! | `decay` | `2^(−age / half_life)`, `age` = days from the touch to the purchase, normalised to sum to 1 |
//!
//! A purchase without touches goes to the `(unattributed)` row. Revenue is split in exact
//! integer nano-units: each touch gets its share truncated, and the remainder of the split goes
//! to the touch with the largest weight (ties: the latest), so every purchase's revenue is
//! attributed exactly once and **attributed + unattributed revenue = total purchase revenue**
//! exactly in nano-units (and up to float rounding in the Float64 output). With `as_of`, only
//! purchases and touches strictly before that date's midnight (UTC) count.
//!
//! Output, one row per (channel, campaign) with attributed revenue, in channel then campaign
//! name order (null campaign first), then the `(unattributed)` row when some purchase had no
//! touch:
//!
//! | column | type | definition |
//! |---|---|---|
//! | `channel` | Utf8 | the touch channel, or `(unattributed)` |
//! | `campaign_id` | Utf8 | the touch's campaign; null when the touch has none, `by_campaign` is off or the row is `(unattributed)` |
//! | `attributed_revenue` | Float64 | revenue attributed (exact nano-unit sum, not rounded to cents, so that rows add up to the total) |
//! | `attributed_purchases` | Float64 | purchases attributed (sum of weights; fractional) |
//! | `revenue_share` | Float64 | `attributed_revenue` / total purchase revenue; 0 when that is 0 |

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::CHUNK;
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::kernels::summary::to_units;
use crate::schema::output::attribution::{ATTRIBUTED_PURCHASES, ATTRIBUTED_REVENUE};
use crate::schema::output::common::REVENUE_SHARE;
use crate::schema::{CAMPAIGN_ID, CHANNEL};
use crate::store::EventStore;
use crate::store::columns::dict_values;
use crate::time::{MICROS_PER_DAY, date_to_micros};

/// The channel label of revenue that no touch explains.
pub const UNATTRIBUTED: &str = "(unattributed)";

/// How a purchase's revenue is split over its touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributionModel {
    /// All to the earliest touch in the window.
    First,
    /// All to the latest touch.
    Last,
    /// Equal shares.
    #[default]
    Linear,
    /// Time decay: weight `2^(−age / half_life)`.
    Decay,
}

impl AttributionModel {
    /// Parses `first`, `last`, `linear` or `decay`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`model`).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "first" => Ok(AttributionModel::First),
            "last" => Ok(AttributionModel::Last),
            "linear" => Ok(AttributionModel::Linear),
            "decay" | "time_decay" => Ok(AttributionModel::Decay),
            _ => Err(Error::param(
                "model",
                format!("expected first, last, linear or decay, got {s:?}"),
            )),
        }
    }
}

/// Unchecked parameters of [`attribution`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionParams {
    /// The model (default linear).
    #[serde(default)]
    pub model: AttributionModel,
    /// Days before a purchase in which touches count (default 30).
    #[serde(default = "default_lookback")]
    pub lookback_days: u32,
    /// Half-life of the `decay` model in days, > 0 (default 7).
    #[serde(default = "default_half_life")]
    pub half_life_days: f64,
    /// Split per campaign within a channel (default true; no effect without a campaign column).
    #[serde(default = "default_true")]
    pub by_campaign: bool,
    /// Only events strictly before this date's midnight (UTC) count (default: every event).
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
}

fn default_lookback() -> u32 {
    30
}
fn default_half_life() -> f64 {
    7.0
}
fn default_true() -> bool {
    true
}

impl Default for AttributionParams {
    fn default() -> Self {
        AttributionParams {
            model: AttributionModel::Linear,
            lookback_days: default_lookback(),
            half_life_days: default_half_life(),
            by_campaign: true,
            as_of: None,
        }
    }
}

impl AttributionParams {
    /// Defaults with `model`.
    pub fn new(model: AttributionModel) -> Self {
        AttributionParams {
            model,
            ..AttributionParams::default()
        }
    }

    /// Sets the lookback window in days.
    pub fn lookback_days(mut self, days: u32) -> Self {
        self.lookback_days = days;
        self
    }

    /// Sets the decay half-life in days.
    pub fn half_life_days(mut self, days: f64) -> Self {
        self.half_life_days = days;
        self
    }

    /// Splits per campaign or not.
    pub fn by_campaign(mut self, yes: bool) -> Self {
        self.by_campaign = yes;
        self
    }

    /// Sets the as-of date.
    pub fn as_of(mut self, d: NaiveDate) -> Self {
        self.as_of = Some(d);
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`half_life_days`) when the half-life is not a finite
    /// number > 0.
    pub fn validate(&self) -> Result<AttributionConfig> {
        if !(self.half_life_days.is_finite() && self.half_life_days > 0.0) {
            return Err(Error::param(
                "half_life_days",
                format!("must be a finite number > 0, got {}", self.half_life_days),
            ));
        }
        Ok(AttributionConfig {
            params: self.clone(),
            lookback_micros: i64::from(self.lookback_days) * MICROS_PER_DAY,
            as_of_micros: self.as_of.map_or(i64::MAX, date_to_micros),
        })
    }
}

/// Validated [`AttributionParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionConfig {
    params: AttributionParams,
    lookback_micros: i64,
    as_of_micros: i64,
}

impl AttributionConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &AttributionParams {
        &self.params
    }
}

/// (channel code, campaign code or -1); (-1, -1) is unattributed.
type Key = (i32, i32);
/// Per key: nano-units and fractional purchases.
type Sums = BTreeMap<Key, (i128, f64)>;

/// The weights of touches at `times` for a purchase at `at` (sum 1; empty input: empty).
fn weights(model: AttributionModel, half_life_days: f64, times: &[i64], at: i64, out: &mut Vec<f64>) {
    out.clear();
    let n = times.len();
    match model {
        AttributionModel::First => out.extend((0..n).map(|i| f64::from(u8::from(i == 0)))),
        AttributionModel::Last => out.extend((0..n).map(|i| f64::from(u8::from(i + 1 == n)))),
        AttributionModel::Linear => out.extend(std::iter::repeat_n(1.0 / n.max(1) as f64, n)),
        AttributionModel::Decay => {
            out.extend(times.iter().map(|&t| {
                let age = (at - t) as f64 / MICROS_PER_DAY as f64;
                (-age / half_life_days).exp2()
            }));
            let sum: f64 = out.iter().sum();
            if sum > 0.0 && sum.is_finite() {
                out.iter_mut().for_each(|w| *w /= sum);
            } else {
                // Every weight underflowed: fall back to equal shares.
                out.iter_mut().for_each(|w| *w = 1.0 / n.max(1) as f64);
            }
        }
    }
}

/// Revenue attributed to channels and campaigns (see the [module docs](self)).
///
/// # Errors
/// Only on an internal inconsistency (building the record batch).
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::views::{AttributionModel, AttributionParams, attribution};
/// let csv = "customer_id,event_time,event_type,amount,channel\n\
///            1,2024-01-01,email_open,,email\n\
///            1,2024-01-03,web_visit,,web\n\
///            1,2024-01-04,purchase,30,web\n\
///            2,2024-01-04,purchase,10,store\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let cfg = AttributionParams::new(AttributionModel::Linear).lookback_days(7).validate()?;
/// let table = attribution(&store, &cfg, &Parallelism::current())?;
/// // email 15, web 15, (unattributed) 10: 40 in all.
/// assert_eq!(table.num_rows(), 3);
/// println!("{}", clientele::io::format_table(&table, 10));
/// # Ok(()) }
/// ```
pub fn attribution(store: &EventStore, cfg: &AttributionConfig, par: &Parallelism) -> Result<RecordBatch> {
    let p = &cfg.params;
    let cols = store.columns();
    let purchase = store.purchase_code();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    let amounts = cols.amount.as_ref().map(|a| &a.values()[..]);
    let channel = cols.channel.as_ref().map(|c| c.keys());
    let campaign = cols.campaign_id.as_ref().filter(|_| p.by_campaign).map(|c| c.keys());
    let offsets = store.offsets();
    let as_of = cfg.as_of_micros;
    let parts: Vec<Sums> = par.map_chunks(store.num_customers(), CHUNK, |r| {
        let (lo, hi) = (r.start, r.end);
        let mut sums = Sums::new();
        let mut touch_t: Vec<i64> = Vec::new();
        let mut touch_k: Vec<Key> = Vec::new();
        let mut w: Vec<f64> = Vec::new();
        for c in lo..hi {
            let (start, end) = (offsets[c], offsets[c + 1]);
            let end = start + times[start..end].partition_point(|&t| t < as_of);
            touch_t.clear();
            touch_k.clear();
            for i in start..end {
                if Some(types[i]) == purchase {
                    continue;
                }
                if let Some(ch) = channel
                    && ch.is_valid(i)
                {
                    let camp = campaign.filter(|k| k.is_valid(i)).map_or(-1, |k| k.value(i));
                    touch_t.push(times[i]);
                    touch_k.push((ch.value(i), camp));
                }
            }
            for i in start..end {
                if Some(types[i]) != purchase {
                    continue;
                }
                let at = times[i];
                let units = to_units(amounts.map_or(0.0, |v| v[i]));
                let lo_t = at.saturating_sub(cfg.lookback_micros);
                let a = touch_t.partition_point(|&t| t < lo_t);
                let b = touch_t.partition_point(|&t| t <= at);
                let (Some(ts), Some(ks)) = (touch_t.get(a..b), touch_k.get(a..b)) else {
                    continue;
                };
                if ts.is_empty() {
                    let e = sums.entry((-1, -1)).or_insert((0, 0.0));
                    e.0 += units;
                    e.1 += 1.0;
                    continue;
                }
                weights(p.model, p.half_life_days, ts, at, &mut w);
                // Truncated shares, the remainder to the largest weight (ties: latest).
                let mut given = 0i128;
                let mut top = 0;
                for (j, &wj) in w.iter().enumerate() {
                    if wj >= w.get(top).copied().unwrap_or(0.0) {
                        top = j;
                    }
                }
                for (&wj, &k) in w.iter().zip(ks) {
                    if wj <= 0.0 {
                        continue; // first/last: the other touches get no row
                    }
                    let share = (units as f64 * wj) as i128;
                    given += share;
                    let e = sums.entry(k).or_insert((0, 0.0));
                    e.0 += share;
                    e.1 += wj;
                }
                if let Some(k) = ks.get(top) {
                    sums.entry(*k).or_insert((0, 0.0)).0 += units - given;
                }
            }
        }
        sums
    });
    let mut total = Sums::new();
    for part in parts {
        for (k, (u, n)) in part {
            let e = total.entry(k).or_insert((0, 0.0));
            e.0 += u;
            e.1 += n;
        }
    }
    let ch_names = cols.channel.as_ref().map(dict_values).unwrap_or_default();
    let camp_names = cols.campaign_id.as_ref().map(dict_values).unwrap_or_default();
    let all_units: i128 = total.values().map(|v| v.0).sum();
    // Attributed rows first (BTreeMap order = channel then campaign name order, -1 first),
    // then the unattributed row.
    let unattributed = total.remove(&(-1, -1));
    let mut rows: Vec<(String, Option<String>, i128, f64)> = total
        .into_iter()
        .map(|((ch, camp), (u, n))| {
            let name = usize::try_from(ch)
                .ok()
                .and_then(|i| ch_names.get(i).cloned())
                .unwrap_or_default();
            let camp = usize::try_from(camp).ok().and_then(|i| camp_names.get(i).cloned());
            (name, camp, u, n)
        })
        .collect();
    if let Some((u, n)) = unattributed {
        rows.push((UNATTRIBUTED.to_string(), None, u, n));
    }
    let unit = |u: i128| u as f64 / 1e9;
    let schema = Arc::new(Schema::new(vec![
        Field::new(CHANNEL, DataType::Utf8, false),
        Field::new(CAMPAIGN_ID, DataType::Utf8, true),
        Field::new(ATTRIBUTED_REVENUE, DataType::Float64, false),
        Field::new(ATTRIBUTED_PURCHASES, DataType::Float64, false),
        Field::new(REVENUE_SHARE, DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())),
        Arc::new(rows.iter().map(|r| r.1.clone()).collect::<StringArray>()),
        Arc::new(Float64Array::from(rows.iter().map(|r| unit(r.2)).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(rows.iter().map(|r| r.3).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(
            rows.iter()
                .map(|r| {
                    if all_units == 0 {
                        0.0
                    } else {
                        r.2 as f64 / all_units as f64
                    }
                })
                .collect::<Vec<_>>(),
        )),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}
