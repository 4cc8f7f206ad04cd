//! Satisfaction: survey scores overall, per channel, per period and per segment.
//!
//! The scores are the non-null `score` values of events of `survey_type` (default `survey`;
//! `None`: every scored event), strictly before `as_of` when it is set. Each score is summed
//! exactly (nano-units), so means do not depend on the thread count.
//!
//! [`SatisfactionViews::summary`], one row per group, in the order `overall`, then `channel`
//! (name order), `period` (time order) and `segment` (name order, only with a segment table):
//!
//! | column | type | definition |
//! |---|---|---|
//! | `dimension` | Utf8 | `overall`, `channel`, `period` or `segment` |
//! | `group` | Utf8 | the channel, the first day of the period (`YYYY-MM-DD`), the segment; `all` for `overall` |
//! | `responses` | UInt64 | scores in the group |
//! | `mean_score` | Float64 | mean score; null when `responses` is 0 (only the `overall` row can be empty) |
//!
//! Scores on events without a channel count in `overall`, `period` and `segment` but in no
//! `channel` row; scores of customers not in the segment table count in no `segment` row. The
//! `period` rows are the **trend**: the mean per calendar month or week.
//!
//! [`SatisfactionViews::distribution`]: for every group of the summary with responses, one row
//! per **integer score bucket** (the score rounded to the nearest integer, halves away from zero)
//! that occurs, in bucket order: `dimension`, `group`, `score` (Int64, the bucket), `count`
//! (UInt64), `share` (Float64, `count / responses` of the group). Integer buckets fit the usual
//! 1–5 or 0–10 survey scales exactly; quantiles are left out.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{CHUNK, Grain, segments_of, type_code};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::kernels::summary::to_units;
use crate::schema::SCORE;
use crate::schema::output::common::{SEGMENT, SHARE};
use crate::schema::output::satisfaction::{COUNT, DIMENSION, GROUP, MEAN_SCORE, RESPONSES};
use crate::store::EventStore;
use crate::store::columns::dict_values;
use crate::time::{date_to_micros, days_to_date, micros_to_day};

/// Unchecked parameters of [`satisfaction`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SatisfactionParams {
    /// The event type whose `score` is a survey answer (default `survey`); `None`: every
    /// scored event.
    #[serde(default = "default_survey")]
    pub survey_type: Option<String>,
    /// The trend's grain (default month).
    #[serde(default)]
    pub by: Grain,
    /// Only events strictly before this date's midnight (UTC) count (default: every event).
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
    /// The segment column of the customer table, when one is given (default `segment`).
    #[serde(default = "default_segment_column")]
    pub segment_column: String,
}

fn default_survey() -> Option<String> {
    Some("survey".into())
}
fn default_segment_column() -> String {
    SEGMENT.into()
}

impl Default for SatisfactionParams {
    fn default() -> Self {
        SatisfactionParams {
            survey_type: default_survey(),
            by: Grain::Month,
            as_of: None,
            segment_column: default_segment_column(),
        }
    }
}

impl SatisfactionParams {
    /// Defaults: `survey` events, monthly trend, every event.
    pub fn new() -> Self {
        SatisfactionParams::default()
    }

    /// Sets the survey event type (`None`: every scored event).
    pub fn survey_type(mut self, t: Option<String>) -> Self {
        self.survey_type = t;
        self
    }

    /// Sets the trend grain.
    pub fn by(mut self, by: Grain) -> Self {
        self.by = by;
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
    /// [`Error::InvalidParameter`] (`survey_type`, `segment_column`) when empty.
    pub fn validate(&self) -> Result<SatisfactionConfig> {
        if self.survey_type.as_ref().is_some_and(|s| s.trim().is_empty()) {
            return Err(Error::param("survey_type", "must not be empty"));
        }
        if self.segment_column.trim().is_empty() {
            return Err(Error::param("segment_column", "must not be empty"));
        }
        Ok(SatisfactionConfig {
            params: self.clone(),
            as_of_micros: self.as_of.map_or(i64::MAX, date_to_micros),
        })
    }
}

/// Validated [`SatisfactionParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct SatisfactionConfig {
    params: SatisfactionParams,
    as_of_micros: i64,
}

impl SatisfactionConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &SatisfactionParams {
        &self.params
    }
}

/// The two tables of [`satisfaction`].
#[derive(Debug, Clone, PartialEq)]
pub struct SatisfactionViews {
    /// Responses and mean score per group.
    pub summary: RecordBatch,
    /// Counts per integer score bucket per group.
    pub distribution: RecordBatch,
}

/// One group's sums: responses, exact score sum, counts per bucket.
#[derive(Debug, Clone, Default)]
struct Cell {
    n: u64,
    units: i128,
    buckets: BTreeMap<i64, u64>,
}

impl Cell {
    fn add(&mut self, score: f64) {
        self.n += 1;
        self.units += to_units(score);
        *self.buckets.entry(score.round() as i64).or_insert(0) += 1;
    }

    fn merge(&mut self, o: Cell) {
        self.n += o.n;
        self.units += o.units;
        for (k, v) in o.buckets {
            *self.buckets.entry(k).or_insert(0) += v;
        }
    }
}

/// Group keys: 0 = overall, 1 = channel code, 2 = period index, 3 = segment id.
type Groups = BTreeMap<(u8, i64), Cell>;

/// Satisfaction scores of `store`, with segments from `table` when given (see the
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
/// use clientele::views::{SatisfactionParams, satisfaction};
/// let csv = "customer_id,event_time,event_type,channel,score\n\
///            1,2024-01-05,survey,web,4\n\
///            2,2024-01-07,survey,phone,2\n\
///            2,2024-02-07,survey,phone,5\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let cfg = SatisfactionParams::new().validate()?;
/// let views = satisfaction(&store, None, &cfg, &Parallelism::current())?;
/// // overall, 2 channels, 2 months
/// assert_eq!(views.summary.num_rows(), 5);
/// println!("{}", clientele::io::format_table(&views.summary, 10));
/// # Ok(()) }
/// ```
pub fn satisfaction(
    store: &EventStore,
    table: Option<&RecordBatch>,
    cfg: &SatisfactionConfig,
    par: &Parallelism,
) -> Result<SatisfactionViews> {
    let p = &cfg.params;
    let (seg_names, seg_of) = match table {
        Some(t) => segments_of(store, t, &p.segment_column)?,
        None => (Vec::new(), Vec::new()),
    };
    // A survey type no event has: no scores at all.
    let survey = p.survey_type.as_ref().map(|t| type_code(store, t).unwrap_or(-1));
    let cols = store.columns();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    let channel = cols.channel.as_ref().map(|c| c.keys());
    let offsets = store.offsets();
    let as_of = cfg.as_of_micros;
    let grain = p.by;
    let parts: Vec<Groups> = par.map_chunks(store.num_customers(), CHUNK, |r| {
        let (lo, hi) = (r.start, r.end);
        let mut g = Groups::new();
        let Some(score) = cols.score.as_ref() else {
            return g;
        };
        for c in lo..hi {
            let (start, end) = (offsets[c], offsets[c + 1]);
            let end = start + times[start..end].partition_point(|&t| t < as_of);
            let seg = seg_of.get(c).copied().filter(|&s| s != u32::MAX);
            for i in start..end {
                if !score.is_valid(i) || survey.is_some_and(|code| types[i] != code) {
                    continue;
                }
                let s = score.value(i);
                g.entry((0, 0)).or_default().add(s);
                if let Some(ch) = channel
                    && ch.is_valid(i)
                {
                    g.entry((1, i64::from(ch.value(i)))).or_default().add(s);
                }
                g.entry((2, grain.index(micros_to_day(times[i])))).or_default().add(s);
                if let Some(seg) = seg {
                    g.entry((3, i64::from(seg))).or_default().add(s);
                }
            }
        }
        g
    });
    let mut total = Groups::new();
    total.insert((0, 0), Cell::default());
    for part in parts {
        for (k, cell) in part {
            total.entry(k).or_default().merge(cell);
        }
    }
    let ch_names = cols.channel.as_ref().map(dict_values).unwrap_or_default();
    let label = |&(dim, k): &(u8, i64)| -> (&'static str, String) {
        let at = |v: &Vec<String>| {
            usize::try_from(k)
                .ok()
                .and_then(|i| v.get(i).cloned())
                .unwrap_or_default()
        };
        match dim {
            0 => ("overall", "all".to_string()),
            1 => ("channel", at(&ch_names)),
            2 => (
                "period",
                days_to_date(grain.start_day(k)).map_or_else(|| k.to_string(), |d| d.to_string()),
            ),
            _ => ("segment", at(&seg_names)),
        }
    };
    let (mut dim, mut group, mut n, mut mean) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut ddim, mut dgroup, mut bucket, mut count, mut share) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, cell) in &total {
        let (d, g) = label(k);
        dim.push(d);
        group.push(g.clone());
        n.push(cell.n);
        mean.push((cell.n > 0).then(|| cell.units as f64 / 1e9 / cell.n as f64));
        for (&b, &m) in &cell.buckets {
            ddim.push(d);
            dgroup.push(g.clone());
            bucket.push(b);
            count.push(m);
            share.push(m as f64 / cell.n.max(1) as f64);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new(DIMENSION, DataType::Utf8, false),
        Field::new(GROUP, DataType::Utf8, false),
        Field::new(RESPONSES, DataType::UInt64, false),
        Field::new(MEAN_SCORE, DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(dim)),
        Arc::new(StringArray::from(group)),
        Arc::new(UInt64Array::from(n)),
        Arc::new(Float64Array::from(mean)),
    ];
    let summary = RecordBatch::try_new(schema, columns)?;
    let schema = Arc::new(Schema::new(vec![
        Field::new(DIMENSION, DataType::Utf8, false),
        Field::new(GROUP, DataType::Utf8, false),
        Field::new(SCORE, DataType::Int64, false),
        Field::new(COUNT, DataType::UInt64, false),
        Field::new(SHARE, DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ddim)),
        Arc::new(StringArray::from(dgroup)),
        Arc::new(Int64Array::from(bucket)),
        Arc::new(UInt64Array::from(count)),
        Arc::new(Float64Array::from(share)),
    ];
    let distribution = RecordBatch::try_new(schema, columns)?;
    Ok(SatisfactionViews { summary, distribution })
}
