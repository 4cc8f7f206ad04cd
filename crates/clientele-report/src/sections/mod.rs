//! The report's sections: each computes its numbers with the engine's jobs, draws its charts
//! and writes its one-line reading. A section whose data is absent says so instead.

use std::collections::{BTreeMap, HashMap};

use arrow_array::RecordBatch;
use chrono::Days;
use clientele::exec::Parallelism;
use clientele::kernels::rfm::{RfmParams, Tiers};
use clientele::kernels::summary::{Period, SummaryConfig, SummaryParams};
use clientele::models::HorizonUnit;
use clientele::pipeline::{
    CheckParams, Clv, ClvParams, CustomerSummary, Discount, EventSource, SegmentBy, actual_tracking, attribution_view,
    campaign_view, channel_view, check_model, churn_dataset, churn_train, clv, cohort_view, customer_summary,
    report_segments, satisfaction_view, value_segments,
};
use clientele::report::SegmentReportParams;
use clientele::store::EventStore;
use clientele::views::{
    AttributionModel, AttributionParams, CampaignParams, ChannelParams, CohortParams, SatisfactionParams,
};

use crate::chart::{BarChart, Chart, Heatmap, LineChart, ScatterChart, ValueFormat};
use crate::columns::{by_customer, floats, texts};
use crate::error::Result;
use crate::params::ReportConfig;
use crate::table::{Col, table};
use clientele::schema::output::common::SEGMENT;

mod campaigns;
mod channels;
mod churn;
mod cohorts;
mod customers;
mod lifetime;
mod model;
mod satisfaction;

/// One chart of a section, with the table of numbers it draws.
#[derive(Debug, Clone)]
pub struct Figure {
    /// A key unique in the report (`segment-shares`, `rfm-customers`, ...): the chart's id and
    /// its data file's name.
    pub key: &'static str,
    /// The chart's title.
    pub title: String,
    /// The chart's one-line reading.
    pub caption: String,
    /// The chart.
    pub chart: Chart,
    /// The numbers drawn.
    pub table: RecordBatch,
}

/// A section of the report.
#[derive(Debug, Clone)]
pub struct Section {
    /// A stable key (`segments`, `rfm`, `value`, ...).
    pub key: &'static str,
    /// The heading.
    pub title: &'static str,
    /// The one-line reading of the section (`None` when the data is absent).
    pub reading: Option<String>,
    /// Why the section has no charts (absent data, or a model that could not be fitted).
    pub absent: Option<String>,
    /// The charts.
    pub figures: Vec<Figure>,
    /// Time spent on the section's own jobs (the shared RFM segmentation, summary and CLV
    /// fits are in [`Report::shared_seconds`](crate::html::Report::shared_seconds)).
    pub seconds: f64,
}

/// The keys of every section, in page order.
pub const SECTION_KEYS: [&str; 12] = [
    "segments",
    "rfm",
    "value",
    "clv",
    "model",
    "tracking",
    "cohorts",
    "channels",
    "attribution",
    "campaigns",
    "satisfaction",
    "churn",
];

fn pct(v: f64) -> String {
    ValueFormat::Percent.format(v)
}

fn money(v: f64) -> String {
    ValueFormat::Money.format(v)
}

fn count(v: f64) -> String {
    ValueFormat::Count.format(v)
}

fn absent(key: &'static str, title: &'static str, why: impl Into<String>) -> Section {
    Section {
        key,
        title,
        reading: None,
        absent: Some(why.into()),
        figures: Vec::new(),
        seconds: 0.0,
    }
}

fn section(key: &'static str, title: &'static str, reading: String, figures: Vec<Figure>) -> Section {
    Section {
        key,
        title,
        reading: Some(reading),
        absent: None,
        figures,
        seconds: 0.0,
    }
}

fn bars(
    categories: Vec<String>,
    series: Vec<(&str, Vec<f64>)>,
    horizontal: bool,
    axes: (&str, &str),
    format: ValueFormat,
) -> Chart {
    Chart::Bar(BarChart {
        categories,
        series: series.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
        horizontal,
        category_axis: axes.0.into(),
        value_axis: axes.1.into(),
        format,
        intervals: None,
    })
}

/// Everything the sections share: the store, the RFM segmentation and the models.
pub(crate) struct Ctx<'a> {
    pub cfg: &'a ReportConfig,
    pub par: &'a Parallelism,
    pub store: &'a EventStore,
    /// Per segment (the segment report) and per customer (the RFM table with `segment`).
    pub segments: RecordBatch,
    pub rfm: RecordBatch,
    pub segment_of: HashMap<String, Option<String>>,
    /// The calibration summary and its configuration.
    pub summary: std::result::Result<(CustomerSummary, SummaryConfig), String>,
    /// Lifetime values and the fitted models.
    pub clv: std::result::Result<Clv, String>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(store: &'a EventStore, cfg: &'a ReportConfig, par: &'a Parallelism) -> Result<Self> {
        let p = cfg.params();
        let source = EventSource::Store(store);
        let rfm_cfg = RfmParams::new(p.as_of).validate()?;
        let run = report_segments(
            &source,
            &rfm_cfg,
            SegmentBy::Rfm,
            SegmentReportParams::new(p.as_of),
            par,
        )?;
        let segment_of = by_customer("rfm", &run.table, SEGMENT)?;
        let observation_end = p.as_of.checked_sub_days(Days::new(1)).unwrap_or(p.as_of);
        let summary = SummaryParams::new(p.calibration_end)
            .observation_end(observation_end)
            .period(Period::Day)
            .time_unit(p.time_unit)
            .validate()
            .and_then(|scfg| Ok((customer_summary(&source, &scfg, par)?.summary, scfg)))
            .map_err(|e| e.to_string());
        let clv = match &summary {
            Ok((s, _)) => ClvParams::new(Discount::Monthly {
                rate: p.monthly_discount,
            })
            .horizon(clientele::models::Horizon {
                value: f64::from(p.clv_months),
                unit: HorizonUnit::Months,
            })
            .validate()
            .and_then(|c| clv(s, &c, par))
            .map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        Ok(Ctx {
            cfg,
            par,
            store,
            segments: run.report,
            rfm: run.table,
            segment_of,
            summary,
            clv,
        })
    }

    fn source(&self) -> EventSource<'a> {
        EventSource::Store(self.store)
    }
}

/// Every section, in page order.
pub(crate) fn all(ctx: &Ctx<'_>) -> Result<Vec<Section>> {
    let steps: [fn(&Ctx<'_>) -> Result<Section>; 12] = [
        customers::segments,
        customers::rfm,
        customers::value,
        lifetime::lifetime_value,
        model::model,
        model::tracking,
        cohorts::cohorts,
        channels::channels,
        channels::attribution,
        campaigns::campaigns,
        satisfaction::satisfaction,
        churn::churn,
    ];
    steps
        .iter()
        .map(|step| {
            let started = std::time::Instant::now();
            let mut s = step(ctx)?;
            s.seconds = started.elapsed().as_secs_f64();
            Ok(s)
        })
        .collect()
}
