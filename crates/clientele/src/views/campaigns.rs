//! Campaigns: sends, responders, response rate, responder revenue and uplift against a
//! control group, per campaign and segment.
//!
//! Events of `send_type` (default `campaign_send`) and `response_type` (default
//! `campaign_response`) with a non-null `campaign_id` count; with `as_of`, only events strictly
//! before that date's midnight (UTC).
//!
//! **Control convention**: a send whose campaign id ends with `control_suffix` (default
//! `:control`, e.g. `C2024-01:control`) marks a held-out **control** customer of campaign
//! `C2024-01` (no message was actually sent); every other send of `C2024-01` is a
//! **treatment** send. A customer with both a treatment and a control send of one campaign
//! counts as treated. A response to `C2024-01:control` counts as a response to `C2024-01`.
//!
//! One row per campaign (name order of the id without the suffix) and segment: first the row
//! of all customers (`segment` null), then, with a customer table, one row per segment (name
//! order) that has customers in the campaign; customers not in the table count only in the
//! all-customers row.
//!
//! | column | type | definition |
//! |---|---|---|
//! | `campaign_id` | Utf8 | the campaign (without the control suffix) |
//! | `segment` | Utf8 | the segment; null: all customers |
//! | `sent` | UInt64 | distinct treated customers (a treatment send) |
//! | `responders` | UInt64 | treated customers with a response to the campaign |
//! | `response_rate` | Float64 | `responders / sent`; null when `sent` is 0 |
//! | `responder_revenue` | Float64 | purchase amounts of the responders in `[first response, first response + window_days)`, rounded to cents once from the exact sum |
//! | `revenue_per_responder` | Float64 | `responder_revenue / responders`; null without responders |
//! | `other_responders` | UInt64 | customers with a response but neither a treatment nor a control send (in no rate) |
//! | `control` | UInt64 | distinct control customers (only a control send) |
//! | `control_responders` | UInt64 | control customers with a response |
//! | `control_response_rate` | Float64 | `control_responders / control`; null when `control` is 0 |
//! | `uplift` | Float64 | `response_rate − control_response_rate`; null when either is null |
//! | `uplift_ci_low`, `uplift_ci_high` | Float64 | 95% Wald interval of the difference of two proportions: `uplift ∓ 1.959964 · √(p₁(1−p₁)/n₁ + p₀(1−p₀)/n₀)` with `p₁ = response_rate`, `n₁ = sent`, `p₀ = control_response_rate`, `n₀ = control`; null with `uplift` |
//!
//! The Wald interval is the normal approximation: it is poor for small groups or rates near
//! 0 or 1 (it collapses to a point when both rates are 0 or 1).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{CHUNK, money, segments_of, type_code};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::kernels::summary::to_units;
use crate::schema::CAMPAIGN_ID;
use crate::schema::output::campaigns::{
    CONTROL, CONTROL_RESPONDERS, CONTROL_RESPONSE_RATE, OTHER_RESPONDERS, RESPONDER_REVENUE, RESPONDERS, RESPONSE_RATE,
    REVENUE_PER_RESPONDER, SENT, UPLIFT, UPLIFT_CI_HIGH, UPLIFT_CI_LOW,
};
use crate::schema::output::common::SEGMENT;
use crate::store::EventStore;
use crate::store::columns::dict_values;
use crate::time::{MICROS_PER_DAY, date_to_micros};

/// The 97.5% quantile of the standard normal distribution (two-sided 95% interval).
const Z95: f64 = 1.959_963_984_540_054;

/// Unchecked parameters of [`campaigns`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignParams {
    /// The send event type (default `campaign_send`).
    #[serde(default = "default_send")]
    pub send_type: String,
    /// The response event type (default `campaign_response`).
    #[serde(default = "default_response")]
    pub response_type: String,
    /// The campaign-id suffix that marks a control send (default `:control`).
    #[serde(default = "default_suffix")]
    pub control_suffix: String,
    /// Days after a responder's first response in which their purchases count (default 30).
    #[serde(default = "default_window")]
    pub window_days: u32,
    /// Only events strictly before this date's midnight (UTC) count (default: every event).
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
    /// The segment column of the customer table, when one is given (default `segment`).
    #[serde(default = "default_segment_column")]
    pub segment_column: String,
}

fn default_send() -> String {
    "campaign_send".into()
}
fn default_response() -> String {
    "campaign_response".into()
}
fn default_suffix() -> String {
    ":control".into()
}
fn default_window() -> u32 {
    30
}
fn default_segment_column() -> String {
    SEGMENT.into()
}

impl Default for CampaignParams {
    fn default() -> Self {
        CampaignParams {
            send_type: default_send(),
            response_type: default_response(),
            control_suffix: default_suffix(),
            window_days: default_window(),
            as_of: None,
            segment_column: default_segment_column(),
        }
    }
}

impl CampaignParams {
    /// Defaults: `campaign_send` / `campaign_response`, `:control`, a 30-day window, every event.
    pub fn new() -> Self {
        CampaignParams::default()
    }

    /// Sets the send event type.
    pub fn send_type(mut self, t: impl Into<String>) -> Self {
        self.send_type = t.into();
        self
    }

    /// Sets the response event type.
    pub fn response_type(mut self, t: impl Into<String>) -> Self {
        self.response_type = t.into();
        self
    }

    /// Sets the control suffix.
    pub fn control_suffix(mut self, s: impl Into<String>) -> Self {
        self.control_suffix = s.into();
        self
    }

    /// Sets the revenue window in days.
    pub fn window_days(mut self, n: u32) -> Self {
        self.window_days = n;
        self
    }

    /// Sets the as-of date.
    pub fn as_of(mut self, d: NaiveDate) -> Self {
        self.as_of = Some(d);
        self
    }

    /// Sets the segment column of the customer table.
    pub fn segment_column(mut self, name: impl Into<String>) -> Self {
        self.segment_column = name.into();
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`]: `send_type`, `response_type`, `control_suffix` or
    /// `segment_column` empty; `response_type` equal to `send_type`; `window_days` 0.
    pub fn validate(&self) -> Result<CampaignConfig> {
        for (field, v) in [
            ("send_type", &self.send_type),
            ("response_type", &self.response_type),
            ("control_suffix", &self.control_suffix),
            ("segment_column", &self.segment_column),
        ] {
            if v.trim().is_empty() {
                return Err(Error::param(field, "must not be empty"));
            }
        }
        if self.send_type == self.response_type {
            return Err(Error::param("response_type", "must differ from send_type"));
        }
        if self.window_days == 0 {
            return Err(Error::param("window_days", "must be at least 1"));
        }
        Ok(CampaignConfig {
            params: self.clone(),
            as_of_micros: self.as_of.map_or(i64::MAX, date_to_micros),
        })
    }
}

/// Validated [`CampaignParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignConfig {
    params: CampaignParams,
    as_of_micros: i64,
}

impl CampaignConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &CampaignParams {
        &self.params
    }
}

/// One (campaign, segment) group's counts.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    sent: u64,
    responders: u64,
    units: i128,
    other: u64,
    control: u64,
    control_responders: u64,
}

impl Cell {
    fn merge(&mut self, o: &Cell) {
        self.sent += o.sent;
        self.responders += o.responders;
        self.units += o.units;
        self.other += o.other;
        self.control += o.control;
        self.control_responders += o.control_responders;
    }
}

/// One customer's state in one campaign.
#[derive(Debug, Clone, Copy, Default)]
struct State {
    treated: bool,
    control: bool,
    first_response: Option<i64>,
}

/// (campaign index, segment id; `u32::MAX`: all customers).
type Groups = BTreeMap<(u32, u32), Cell>;

/// Campaign performance of `store`, per segment of `table` when given (see the
/// [module docs](self)).
///
/// # Errors
/// [`Error::InvalidParameter`] when the table has no `customer_id` or segment column, a null
/// segment, or a customer the store does not hold.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::views::{CampaignParams, campaigns};
/// let csv = "customer_id,event_time,event_type,amount,campaign_id\n\
///            1,2024-01-01,campaign_send,,C1\n\
///            1,2024-01-03,campaign_response,,C1\n\
///            1,2024-01-04,purchase,25,\n\
///            2,2024-01-01,campaign_send,,C1\n\
///            3,2024-01-01,campaign_send,,C1:control\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let t = campaigns(&store, None, &CampaignParams::new().validate()?, &Parallelism::current())?;
/// assert_eq!(t.num_rows(), 1); // C1, all customers: 1 of 2 treated responded, 0 of 1 control
/// println!("{}", clientele::io::format_table(&t, 10));
/// # Ok(()) }
/// ```
pub fn campaigns(
    store: &EventStore,
    table: Option<&RecordBatch>,
    cfg: &CampaignConfig,
    par: &Parallelism,
) -> Result<RecordBatch> {
    let p = &cfg.params;
    let (seg_names, seg_of) = match table {
        Some(t) => segments_of(store, t, &p.segment_column)?,
        None => (Vec::new(), Vec::new()),
    };
    let cols = store.columns();
    // Campaign codes -> (campaign index, control send).
    let ids = cols.campaign_id.as_ref().map(dict_values).unwrap_or_default();
    let split: Vec<(&str, bool)> = ids
        .iter()
        .map(|id| match id.strip_suffix(p.control_suffix.as_str()) {
            Some(base) => (base, true),
            None => (id.as_str(), false),
        })
        .collect();
    let mut names: Vec<String> = split.iter().map(|(b, _)| b.to_string()).collect();
    names.sort_unstable();
    names.dedup();
    let code_of: Vec<(u32, bool)> = split
        .iter()
        .map(|(b, ctl)| {
            let i = names.binary_search_by(|n| n.as_str().cmp(b)).unwrap_or(0);
            (i as u32, *ctl)
        })
        .collect();
    let send = type_code(store, &p.send_type).unwrap_or(-1);
    let response = type_code(store, &p.response_type).unwrap_or(-1);
    let purchase = store.purchase_code().unwrap_or(-1);
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    let amounts = cols.amount.as_ref().map(|a| &a.values()[..]);
    let offsets = store.offsets();
    let as_of = cfg.as_of_micros;
    let window = i64::from(p.window_days) * MICROS_PER_DAY;
    let parts: Vec<Groups> = par.map_chunks(store.num_customers(), CHUNK, |r| {
        let (lo, hi) = (r.start, r.end);
        let mut g = Groups::new();
        let Some(camp) = cols.campaign_id.as_ref().map(|c| c.keys()) else {
            return g;
        };
        let mut state: BTreeMap<u32, State> = BTreeMap::new();
        for c in lo..hi {
            let (start, end) = (offsets[c], offsets[c + 1]);
            let end = start + times[start..end].partition_point(|&t| t < as_of);
            state.clear();
            for i in start..end {
                let ty = types[i];
                if (ty != send && ty != response) || !camp.is_valid(i) {
                    continue;
                }
                let Some(&(k, ctl)) = usize::try_from(camp.value(i)).ok().and_then(|x| code_of.get(x)) else {
                    continue;
                };
                let s = state.entry(k).or_default();
                if ty == send {
                    if ctl {
                        s.control = true;
                    } else {
                        s.treated = true;
                    }
                } else {
                    s.first_response.get_or_insert(times[i]);
                }
            }
            let seg = seg_of.get(c).copied().filter(|&s| s != u32::MAX);
            for (&k, s) in &state {
                let mut cell = Cell::default();
                let responded = s.first_response.is_some();
                if s.treated {
                    cell.sent = 1;
                    if let Some(t0) = s.first_response {
                        cell.responders = 1;
                        let from = start + times[start..end].partition_point(|&t| t < t0);
                        for i in from..end {
                            if times[i].saturating_sub(t0) >= window {
                                break;
                            }
                            if types[i] == purchase {
                                cell.units += to_units(amounts.map_or(0.0, |v| v[i]));
                            }
                        }
                    }
                } else if s.control {
                    cell.control = 1;
                    cell.control_responders = u64::from(responded);
                } else {
                    cell.other = u64::from(responded);
                }
                g.entry((k, u32::MAX)).or_default().merge(&cell);
                if let Some(seg) = seg {
                    g.entry((k, seg)).or_default().merge(&cell);
                }
            }
        }
        g
    });
    let mut total = Groups::new();
    for part in parts {
        for (k, cell) in part {
            total.entry(k).or_default().merge(&cell);
        }
    }
    // The all-customers row first (u32::MAX sorts last within a campaign: reorder).
    let mut keys: Vec<(u32, u32)> = total.keys().copied().collect();
    keys.sort_by_key(|&(k, s)| (k, s.wrapping_add(1)));
    let rate = |a: u64, n: u64| (n > 0).then(|| a as f64 / n as f64);
    let (mut camp, mut seg) = (Vec::new(), Vec::new());
    let (mut sent, mut resp, mut rr, mut rev, mut rpr, mut other) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut ctl, mut ctl_resp, mut crr, mut up, mut lo, mut hi) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for key in &keys {
        let Some(cell) = total.get(key) else {
            continue;
        };
        camp.push(names.get(key.0 as usize).cloned().unwrap_or_default());
        seg.push(seg_names.get(key.1 as usize).cloned());
        let p1 = rate(cell.responders, cell.sent);
        let p0 = rate(cell.control_responders, cell.control);
        sent.push(cell.sent);
        resp.push(cell.responders);
        rr.push(p1);
        rev.push(money(cell.units));
        rpr.push((cell.responders > 0).then(|| money(cell.units) / cell.responders as f64));
        other.push(cell.other);
        ctl.push(cell.control);
        ctl_resp.push(cell.control_responders);
        crr.push(p0);
        let diff = p1.zip(p0).map(|(a, b)| {
            let se = (a * (1.0 - a) / cell.sent as f64 + b * (1.0 - b) / cell.control as f64).sqrt();
            (a - b, a - b - Z95 * se, a - b + Z95 * se)
        });
        up.push(diff.map(|d| d.0));
        lo.push(diff.map(|d| d.1));
        hi.push(diff.map(|d| d.2));
    }
    let f = |n: &str, t: DataType, null: bool| Field::new(n, t, null);
    let schema = Arc::new(Schema::new(vec![
        f(CAMPAIGN_ID, DataType::Utf8, false),
        f(SEGMENT, DataType::Utf8, true),
        f(SENT, DataType::UInt64, false),
        f(RESPONDERS, DataType::UInt64, false),
        f(RESPONSE_RATE, DataType::Float64, true),
        f(RESPONDER_REVENUE, DataType::Float64, false),
        f(REVENUE_PER_RESPONDER, DataType::Float64, true),
        f(OTHER_RESPONDERS, DataType::UInt64, false),
        f(CONTROL, DataType::UInt64, false),
        f(CONTROL_RESPONDERS, DataType::UInt64, false),
        f(CONTROL_RESPONSE_RATE, DataType::Float64, true),
        f(UPLIFT, DataType::Float64, true),
        f(UPLIFT_CI_LOW, DataType::Float64, true),
        f(UPLIFT_CI_HIGH, DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(camp)),
        Arc::new(StringArray::from(seg)),
        Arc::new(UInt64Array::from(sent)),
        Arc::new(UInt64Array::from(resp)),
        Arc::new(Float64Array::from(rr)),
        Arc::new(Float64Array::from(rev)),
        Arc::new(Float64Array::from(rpr)),
        Arc::new(UInt64Array::from(other)),
        Arc::new(UInt64Array::from(ctl)),
        Arc::new(UInt64Array::from(ctl_resp)),
        Arc::new(Float64Array::from(crr)),
        Arc::new(Float64Array::from(up)),
        Arc::new(Float64Array::from(lo)),
        Arc::new(Float64Array::from(hi)),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}
