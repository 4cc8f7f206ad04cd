//! The segment report: what each segment of customers is worth and how it behaves.
//!
//! Input: the event store and any per-customer table with a `customer_id` column and a segment
//! column (the RFM table's `segment`, value tiers' `tier`, k-means' `cluster`, or a column of
//! your own). Every customer of the table must be in the store. Only events strictly before
//! `as_of` count, as in RFM.
//!
//! Output, one row per segment:
//!
//! | column | type | definition |
//! |---|---|---|
//! | `segment` | Utf8 | the label (integers are written as text) |
//! | `customers` | UInt64 | customers of the table in the segment |
//! | `share` | Float64 | `customers` / all customers of the table |
//! | `revenue` | Float64 | sum of purchase amounts, rounded to cents (exact: summed as integers) |
//! | `revenue_share` | Float64 | `revenue` / revenue of all segments (0 when that is 0) |
//! | `orders` | UInt64 | purchase events |
//! | `mean_recency_days`, `mean_frequency`, `mean_monetary` | Float64 | means of the table's `recency_days`, `frequency`, `monetary` columns over their non-null values; null when the table has none |
//! | `avg_satisfaction` | Float64 | mean of the non-null `score` values of survey events (`survey_type`; every scored event when it is unset); null when there are none |
//! | `complaint_rate` | Float64 | share of the segment's customers with at least one complaint event |
//! | `campaign_response_rate` | Float64 | campaign-response events / campaign-send events; null when nothing was sent |
//! | `dominant_channel` | Utf8 | the channel with the most events of the segment's customers (ties: the first in name order); null without a channel column or channel values |
//!
//! Segments come in `segment_order` first (labels without customers are left out), then the
//! others in name order. Sums are exact or taken in a fixed chunk order, so the report does not
//! depend on the thread count.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::kernels::summary::to_units;
use crate::kernels::summary::units_to_cents as round_cents;
use crate::schema::output::common::{AVG_SATISFACTION, CUSTOMERS, ORDERS, REVENUE, REVENUE_SHARE, SEGMENT, SHARE};
use crate::schema::output::rfm::{FREQUENCY, MONETARY, RECENCY_DAYS};
use crate::schema::output::segments::{
    CAMPAIGN_RESPONSE_RATE, COMPLAINT_RATE, DOMINANT_CHANNEL, MEAN_FREQUENCY, MEAN_MONETARY, MEAN_RECENCY_DAYS,
};
use crate::store::EventStore;
use crate::time::{MICROS_PER_DAY, date_to_days};

/// Customers per parallel task (boundaries independent of the thread count).
const CHUNK: usize = 8192;

/// Unchecked parameters of [`segment_report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentReportParams {
    /// Events strictly before this date's midnight (UTC) count. No default.
    pub as_of: NaiveDate,
    /// The table's segment column (default `segment`).
    #[serde(default = "default_segment_column")]
    pub segment_column: String,
    /// Labels listed first, in this order (default: none; all segments in name order).
    #[serde(default)]
    pub segment_order: Vec<String>,
    /// The event type of complaints (default `complaint`).
    #[serde(default = "default_complaint")]
    pub complaint_type: String,
    /// The event type whose `score` is a satisfaction answer (default `survey`); `None`
    /// averages every non-null score.
    #[serde(default = "default_survey")]
    pub survey_type: Option<String>,
    /// The event type of a campaign contact (default `campaign_send`).
    #[serde(default = "default_send")]
    pub campaign_send_type: String,
    /// The event type of a campaign response (default `campaign_response`).
    #[serde(default = "default_response")]
    pub campaign_response_type: String,
}

fn default_segment_column() -> String {
    SEGMENT.into()
}
fn default_complaint() -> String {
    "complaint".into()
}
fn default_survey() -> Option<String> {
    Some("survey".into())
}
fn default_send() -> String {
    "campaign_send".into()
}
fn default_response() -> String {
    "campaign_response".into()
}

impl SegmentReportParams {
    /// Defaults for `as_of`.
    pub fn new(as_of: NaiveDate) -> Self {
        SegmentReportParams {
            as_of,
            segment_column: default_segment_column(),
            segment_order: Vec::new(),
            complaint_type: default_complaint(),
            survey_type: default_survey(),
            campaign_send_type: default_send(),
            campaign_response_type: default_response(),
        }
    }

    /// Sets the segment column.
    pub fn segment_column(mut self, name: impl Into<String>) -> Self {
        self.segment_column = name.into();
        self
    }

    /// Sets the labels listed first.
    pub fn segment_order(mut self, order: Vec<String>) -> Self {
        self.segment_order = order;
        self
    }

    /// Sets the satisfaction survey event type (`None`: every scored event).
    pub fn survey_type(mut self, t: Option<String>) -> Self {
        self.survey_type = t;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the field: an empty segment column or event type.
    pub fn validate(&self) -> Result<SegmentReportConfig> {
        let nonempty = |field: &'static str, v: &str| {
            if v.trim().is_empty() {
                Err(Error::param(field, "must not be empty"))
            } else {
                Ok(())
            }
        };
        nonempty("segment_column", &self.segment_column)?;
        nonempty("complaint_type", &self.complaint_type)?;
        nonempty("campaign_send_type", &self.campaign_send_type)?;
        nonempty("campaign_response_type", &self.campaign_response_type)?;
        if let Some(s) = &self.survey_type {
            nonempty("survey_type", s)?;
        }
        Ok(SegmentReportConfig {
            params: self.clone(),
            as_of_micros: date_to_days(self.as_of) * MICROS_PER_DAY,
        })
    }
}

/// Validated [`SegmentReportParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentReportConfig {
    params: SegmentReportParams,
    as_of_micros: i64,
}

impl SegmentReportConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &SegmentReportParams {
        &self.params
    }
}

/// Per-segment partial sums (integers exact; the score sum in fixed chunk order).
#[derive(Debug, Clone, Default)]
struct Acc {
    customers: u64,
    units: i128,
    orders: u64,
    complainers: u64,
    score_sum: f64,
    scores: u64,
    sends: u64,
    responses: u64,
    channels: Vec<u64>,
}

impl Acc {
    fn merge(&mut self, o: &Acc) {
        self.customers += o.customers;
        self.units += o.units;
        self.orders += o.orders;
        self.complainers += o.complainers;
        self.score_sum += o.score_sum;
        self.scores += o.scores;
        self.sends += o.sends;
        self.responses += o.responses;
        if self.channels.len() < o.channels.len() {
            self.channels.resize(o.channels.len(), 0);
        }
        for (a, b) in self.channels.iter_mut().zip(&o.channels) {
            *a += b;
        }
    }
}

/// The mean of a numeric column over each segment, if the table has it.
fn means(table: &RecordBatch, column: &str, seg_of_row: &[u32], counts: &[u64]) -> Option<Vec<f64>> {
    let col = arrow_cast::cast(table.column_by_name(column)?, &DataType::Float64).ok()?;
    let v = col.as_primitive_opt::<Float64Type>()?;
    // Nulls are left out of both the sum and the count.
    let mut sums = vec![0.0; counts.len()];
    let mut valid = vec![0u64; counts.len()];
    for (i, &s) in seg_of_row.iter().enumerate() {
        if v.is_valid(i)
            && let (Some(x), Some(n)) = (sums.get_mut(s as usize), valid.get_mut(s as usize))
        {
            *x += v.value(i);
            *n += 1;
        }
    }
    Some(sums.iter().zip(&valid).map(|(s, &n)| s / n.max(1) as f64).collect())
}

/// The segment report of `table` over `store` (see the [module docs](self)).
///
/// # Errors
/// [`Error::InvalidParameter`] when the table has no `customer_id` or segment column, a null
/// segment or customer id, a customer listed twice, or a customer the store does not hold
/// (named by key).
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::kernels::rfm::{RfmParams, rfm};
/// use clientele::report::{SegmentReportParams, segment_report};
/// let csv = "customer_id,event_time,event_type,amount,channel,score\n\
///            1,2024-01-01,purchase,10,web,\n\
///            1,2024-01-02,survey,,web,4\n\
///            2,2024-01-05,purchase,30,store,\n\
///            2,2024-01-06,complaint,,phone,\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let as_of = NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
/// let par = Parallelism::current();
/// let table = rfm(&store, &RfmParams::new(as_of).bins(2).validate()?, &par)?;
/// let report = segment_report(&store, &table, &SegmentReportParams::new(as_of).validate()?, &par)?;
/// println!("{}", clientele::io::format_table(&report, 10));
/// # Ok(()) }
/// ```
pub fn segment_report(
    store: &EventStore,
    table: &RecordBatch,
    cfg: &SegmentReportConfig,
    par: &Parallelism,
) -> Result<RecordBatch> {
    let p = &cfg.params;
    let join = crate::views::segment_join(store, table, &p.segment_column)?;
    // Segment order: the requested labels first, then the remaining ones in name order.
    let mut names: Vec<String> = Vec::new();
    for l in &p.segment_order {
        if join.names.binary_search(l).is_ok() && !names.contains(l) {
            names.push(l.clone());
        }
    }
    for l in &join.names {
        if !p.segment_order.contains(l) {
            names.push(l.clone());
        }
    }
    // The join's (sorted) indices to report order; u32::MAX (not in the table) stays.
    let remap: Vec<u32> = join
        .names
        .iter()
        .map(|n| names.iter().position(|m| m == n).map_or(u32::MAX, |i| i as u32))
        .collect();
    let to_report = |s: &u32| remap.get(*s as usize).copied().unwrap_or(u32::MAX);
    let seg_of_row: Vec<u32> = join.of_row.iter().map(to_report).collect();
    let seg_of_customer: Vec<u32> = join.of_customer.iter().map(to_report).collect();
    let code_of = |name: &str| -> Option<i32> {
        let types = store.event_types();
        types.iter().position(|t| t == name).map(|i| i as i32)
    };
    let (complaint, send, response) = (
        code_of(&p.complaint_type),
        code_of(&p.campaign_send_type),
        code_of(&p.campaign_response_type),
    );
    let survey = p.survey_type.as_deref().map(code_of);
    let purchase = store.purchase_code();
    let cols = store.columns();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    let amounts = cols.amount.as_ref().map(|a| &a.values()[..]);
    let score = cols.score.as_ref();
    let channel = cols.channel.as_ref();
    let num_channels = channel.map_or(0, |c| c.values().len());
    let offsets = store.offsets();
    let as_of = cfg.as_of_micros;
    let nseg = names.len();
    let n = store.num_customers();
    let partials: Vec<Vec<Acc>> = par.map_chunks(n, CHUNK, |range| {
        let (lo, hi) = (range.start, range.end);
        let mut acc = vec![
            Acc {
                channels: vec![0; num_channels],
                ..Acc::default()
            };
            nseg
        ];
        for c in lo..hi {
            let Some(a) = seg_of_customer.get(c).and_then(|&s| acc.get_mut(s as usize)) else {
                continue;
            };
            a.customers += 1;
            let (start, end) = (offsets[c], offsets[c + 1]);
            let end = start + times[start..end].partition_point(|&t| t < as_of);
            let mut complained = false;
            for i in start..end {
                let t = Some(types[i]);
                if t == purchase {
                    a.orders += 1;
                    a.units += to_units(amounts.map_or(0.0, |v| v[i]));
                }
                complained |= t == complaint;
                a.sends += u64::from(t == send);
                a.responses += u64::from(t == response);
                if let Some(s) = score
                    && s.is_valid(i)
                    && survey.is_none_or(|code| t == code)
                {
                    a.score_sum += s.value(i);
                    a.scores += 1;
                }
                if let Some(ch) = channel
                    && ch.is_valid(i)
                    && let Some(k) = a.channels.get_mut(ch.keys().value(i) as usize)
                {
                    *k += 1;
                }
            }
            a.complainers += u64::from(complained);
        }
        acc
    });
    let mut total = vec![Acc::default(); nseg];
    for part in &partials {
        for (t, a) in total.iter_mut().zip(part) {
            t.merge(a);
        }
    }
    let channel_names = channel.map(crate::store::columns::dict_values).unwrap_or_default();
    let counts: Vec<u64> = total.iter().map(|a| a.customers).collect();
    let all_customers = table.num_rows().max(1) as f64;
    // Cents per segment, rounded once from the exact sum.
    let cents: Vec<i128> = total.iter().map(|a| round_cents(a.units)).collect();
    let all_cents: i128 = cents.iter().sum();
    let f = |v: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
    let opt = |v: Vec<Option<f64>>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
    let mean_or_null = |c: &str| -> ArrayRef {
        match means(table, c, &seg_of_row, &counts) {
            Some(v) => f(v),
            None => opt(vec![None; nseg]),
        }
    };
    let dominant: StringArray = total
        .iter()
        .map(|a| {
            let best = a
                .channels
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .fold(None, |b, (i, &n)| match b {
                    Some((_, bn)) if bn >= n => b,
                    _ => Some((i, n)),
                });
            best.and_then(|(i, _)| channel_names.get(i).cloned())
        })
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new(SEGMENT, DataType::Utf8, false),
        Field::new(CUSTOMERS, DataType::UInt64, false),
        Field::new(SHARE, DataType::Float64, false),
        Field::new(REVENUE, DataType::Float64, false),
        Field::new(REVENUE_SHARE, DataType::Float64, false),
        Field::new(ORDERS, DataType::UInt64, false),
        Field::new(MEAN_RECENCY_DAYS, DataType::Float64, true),
        Field::new(MEAN_FREQUENCY, DataType::Float64, true),
        Field::new(MEAN_MONETARY, DataType::Float64, true),
        Field::new(AVG_SATISFACTION, DataType::Float64, true),
        Field::new(COMPLAINT_RATE, DataType::Float64, false),
        Field::new(CAMPAIGN_RESPONSE_RATE, DataType::Float64, true),
        Field::new(DOMINANT_CHANNEL, DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(names.clone())),
        Arc::new(UInt64Array::from(counts.clone())),
        f(counts.iter().map(|&c| c as f64 / all_customers).collect()),
        f(cents.iter().map(|&c| c as f64 / 100.0).collect()),
        f(cents
            .iter()
            .map(|&c| {
                if all_cents == 0 {
                    0.0
                } else {
                    c as f64 / all_cents as f64
                }
            })
            .collect()),
        Arc::new(UInt64Array::from(total.iter().map(|a| a.orders).collect::<Vec<_>>())),
        mean_or_null(RECENCY_DAYS),
        mean_or_null(FREQUENCY),
        mean_or_null(MONETARY),
        opt(total
            .iter()
            .map(|a| (a.scores > 0).then(|| a.score_sum / a.scores as f64))
            .collect()),
        f(total
            .iter()
            .map(|a| a.complainers as f64 / a.customers.max(1) as f64)
            .collect()),
        opt(total
            .iter()
            .map(|a| (a.sends > 0).then(|| a.responses as f64 / a.sends as f64))
            .collect()),
        Arc::new(dominant),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}
