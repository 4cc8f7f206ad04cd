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
    campaign_view, channel_view, check_model, churn_dataset, churn_evaluate, churn_train, clv, cohort_view,
    customer_summary, report_segments, satisfaction_view, value_segments,
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
    }
}

fn section(key: &'static str, title: &'static str, reading: String, figures: Vec<Figure>) -> Section {
    Section {
        key,
        title,
        reading: Some(reading),
        absent: None,
        figures,
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
        let segment_of = by_customer("rfm", &run.table, "segment")?;
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
    Ok(vec![
        segments(ctx)?,
        rfm(ctx)?,
        value(ctx)?,
        lifetime_value(ctx)?,
        model(ctx)?,
        tracking(ctx)?,
        cohorts(ctx)?,
        channels(ctx)?,
        attribution(ctx)?,
        campaigns(ctx)?,
        satisfaction(ctx)?,
        churn(ctx)?,
    ])
}

fn segments(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("segments", "Segments");
    let t = &ctx.segments;
    if t.num_rows() == 0 {
        return Ok(absent(key, title, "No customer bought before the report date."));
    }
    let names: Vec<String> = texts("segments", t, "segment")?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let (share, revenue, revenue_share) = (
        floats("segments", t, "share")?,
        floats("segments", t, "revenue")?,
        floats("segments", t, "revenue_share")?,
    );
    let customers = floats("segments", t, "customers")?;
    let top = (0..names.len()).max_by(|&a, &b| revenue_share[a].total_cmp(&revenue_share[b]).then(b.cmp(&a)));
    let reading = top.map_or_else(String::new, |i| {
        format!(
            "{} are {} of customers and {} of revenue.",
            names[i],
            pct(share[i]),
            pct(revenue_share[i])
        )
    });
    let data = table(vec![
        ("segment", Col::Text(names.clone())),
        ("customers", Col::Num(customers.clone())),
        ("share", Col::Num(share.clone())),
        ("revenue", Col::Num(revenue.clone())),
        ("revenue_share", Col::Num(revenue_share.clone())),
    ])?;
    let shares = Figure {
        key: "segment-shares",
        title: "Share of customers and of revenue by RFM segment".into(),
        caption: reading.clone(),
        chart: bars(
            names.clone(),
            vec![("customers", share), ("revenue", revenue_share)],
            true,
            ("RFM segment", "share of all customers / all revenue (%)"),
            ValueFormat::Percent,
        ),
        table: data.clone(),
    };
    let big = (0..names.len()).max_by(|&a, &b| customers[a].total_cmp(&customers[b]).then(b.cmp(&a)));
    let sizes = Figure {
        key: "segment-sizes",
        title: "Revenue by RFM segment".into(),
        caption: match (top, big) {
            (Some(t), Some(b)) => format!(
                "{} bring {} in revenue; the largest segment is {} with {} customers.",
                names[t],
                money(revenue[t]),
                names[b],
                count(customers[b])
            ),
            _ => String::new(),
        },
        chart: bars(
            names,
            vec![("revenue", revenue)],
            true,
            ("RFM segment", "revenue before the report date (currency units)"),
            ValueFormat::Money,
        ),
        table: data,
    };
    Ok(section(key, title, reading, vec![shares, sizes]))
}

fn rfm(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("rfm", "RFM grid");
    let t = &ctx.rfm;
    if t.num_rows() == 0 {
        return Ok(absent(key, title, "No customer bought before the report date."));
    }
    let (r, f, m) = (
        floats("rfm", t, "r_score")?,
        floats("rfm", t, "f_score")?,
        floats("rfm", t, "monetary")?,
    );
    let bins = r
        .iter()
        .chain(&f)
        .copied()
        .filter(|v| v.is_finite())
        .fold(1.0_f64, f64::max) as usize;
    // cells[(r, f)] = (customers, monetary sum)
    let mut cells: BTreeMap<(usize, usize), (f64, f64)> = BTreeMap::new();
    for i in 0..r.len() {
        if !(r[i].is_finite() && f[i].is_finite()) || r[i] < 1.0 || f[i] < 1.0 {
            continue;
        }
        let c = cells.entry((r[i] as usize, f[i] as usize)).or_insert((0.0, 0.0));
        c.0 += 1.0;
        c.1 += if m[i].is_finite() { m[i] } else { 0.0 };
    }
    let columns: Vec<String> = (1..=bins).map(|s| format!("F{s}")).collect();
    let rows: Vec<String> = (1..=bins).rev().map(|s| format!("R{s}")).collect();
    let row_of = |rs: usize| bins - rs; // R = bins on the top row
    let total = r.len() as f64;
    let (mut rr, mut ff, mut nn, mut mm) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (&(rs, fs), &(n, sum)) in &cells {
        rr.push(rs as f64);
        ff.push(fs as f64);
        nn.push(n);
        mm.push(sum / n);
    }
    let data = table(vec![
        ("r_score", Col::Num(rr.clone())),
        ("f_score", Col::Num(ff.clone())),
        ("customers", Col::Num(nn.clone())),
        ("mean_monetary", Col::Num(mm.clone())),
    ])?;
    let grid = |values: &[f64]| -> Vec<(usize, usize, f64)> {
        (0..rr.len())
            .map(|i| (ff[i] as usize - 1, row_of(rr[i] as usize), values[i]))
            .collect()
    };
    let best = cells.get(&(bins, bins)).copied().unwrap_or((0.0, 0.0));
    let reading = format!(
        "The top cell (R{bins} F{bins}: recent and frequent) holds {} customers ({}) spending {} on average.",
        count(best.0),
        pct(best.0 / total),
        money(if best.0 > 0.0 { best.1 / best.0 } else { 0.0 })
    );
    let top_m = (0..mm.len()).max_by(|&a, &b| mm[a].total_cmp(&mm[b]));
    let heat = |values: &[f64], label: &str, format| {
        Chart::Heatmap(Heatmap {
            columns: columns.clone(),
            rows: rows.clone(),
            cells: grid(values),
            column_axis: "frequency score (F1 = fewest orders)".into(),
            row_axis: "recency score (R5 = most recent)".into(),
            value_label: label.into(),
            format,
        })
    };
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![
            Figure {
                key: "rfm-customers",
                title: "Customers per recency x frequency cell".into(),
                caption: reading,
                chart: heat(&nn, "customers", ValueFormat::Count),
                table: data.clone(),
            },
            Figure {
                key: "rfm-monetary",
                title: "Mean spend per recency x frequency cell".into(),
                caption: top_m.map_or_else(String::new, |i| {
                    format!(
                        "Spend is highest in R{} F{}: {} per customer.",
                        rr[i] as usize,
                        ff[i] as usize,
                        money(mm[i])
                    )
                }),
                chart: heat(&mm, "mean spend", ValueFormat::Money),
                table: data,
            },
        ],
    ))
}

fn value(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("value", "Value tiers");
    let p = ctx.cfg.params();
    let rfm_cfg = RfmParams::new(p.as_of).validate()?;
    let run = value_segments(&ctx.source(), &rfm_cfg, Tiers::Deciles, ctx.par)?;
    let t = &run.summary;
    if t.num_rows() == 0 {
        return Ok(absent(key, title, "No customer bought before the report date."));
    }
    let tiers: Vec<String> = texts("value_tiers", t, "tier")?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let (customers, share) = (
        floats("value_tiers", t, "customers")?,
        floats("value_tiers", t, "revenue_share")?,
    );
    let total: f64 = customers.iter().sum();
    let mut curve = vec![(0.0, 0.0)];
    let (mut c, mut r) = (0.0, 0.0);
    for i in 0..tiers.len() {
        c += customers[i] / total;
        r += share[i];
        curve.push((c, r));
    }
    let top = |q: f64| curve.iter().find(|p| p.0 >= q - 1e-9).map_or(1.0, |p| p.1);
    let reading = format!(
        "The top 10% of customers bring {} of revenue, the top 20% {}.",
        pct(top(0.1)),
        pct(top(0.2))
    );
    let data = table(vec![
        ("tier", Col::Text(tiers.clone())),
        ("customers", Col::Num(customers)),
        ("revenue", Col::Num(floats("value_tiers", t, "revenue")?)),
        ("revenue_share", Col::Num(share.clone())),
        (
            "cumulative_customer_share",
            Col::Num(curve[1..].iter().map(|p| p.0).collect()),
        ),
        (
            "cumulative_revenue_share",
            Col::Num(curve[1..].iter().map(|p| p.1).collect()),
        ),
    ])?;
    let labels: Vec<String> = tiers.iter().map(|t| t.replace("decile_", "D")).collect();
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![
            Figure {
                key: "value-deciles",
                title: "Share of revenue by revenue decile (D1 = top 10% of customers)".into(),
                caption: format!(
                    "Decile D1 alone brings {} of revenue.",
                    pct(share.first().copied().unwrap_or(0.0))
                ),
                chart: bars(
                    labels,
                    vec![("revenue", share)],
                    false,
                    ("revenue decile", "share of revenue (%)"),
                    ValueFormat::Percent,
                ),
                table: data.clone(),
            },
            Figure {
                key: "value-pareto",
                title: "Pareto curve: cumulative revenue by share of customers".into(),
                caption: reading,
                chart: Chart::Line(LineChart {
                    series: vec![("customers by revenue".into(), curve)],
                    x_axis: "share of customers, highest revenue first (%)".into(),
                    y_axis: "share of revenue (%)".into(),
                    x_format: ValueFormat::Percent,
                    y_format: ValueFormat::Percent,
                    marker: None,
                    diagonal: true,
                }),
                table: data,
            },
        ],
    ))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn lifetime_value(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("clv", "Customer lifetime value");
    let run = match &ctx.clv {
        Ok(r) => r,
        Err(e) => {
            return Ok(absent(
                key,
                title,
                format!("The lifetime-value models could not be fitted: {e}"),
            ));
        }
    };
    let p = ctx.cfg.params();
    let values = floats("clv", &run.table, "clv")?;
    let ids = texts("clv", &run.table, "customer_id")?;
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return Ok(absent(key, title, "No customer could be valued."));
    }
    sorted.sort_by(f64::total_cmp);
    let p99 = sorted[((sorted.len() - 1) as f64 * 0.99) as usize].max(1e-9);
    const BINS: usize = 20;
    let width = p99 / BINS as f64;
    let mut hist = vec![0.0; BINS + 1];
    for &v in &sorted {
        let b = if v >= p99 {
            BINS
        } else {
            ((v.max(0.0) / width) as usize).min(BINS - 1)
        };
        hist[b] += 1.0;
    }
    let labels: Vec<String> = (0..=BINS)
        .map(|b| {
            if b == BINS {
                format!("≥{}", money(p99))
            } else {
                format!("{}–{}", money(b as f64 * width), money((b + 1) as f64 * width))
            }
        })
        .collect();
    let total: f64 = sorted.iter().sum();
    let top1: f64 = sorted.iter().rev().take(sorted.len().div_ceil(100)).sum();
    let reading = format!(
        "Median {}-month CLV is {} (mean {}); the top 1% of customers hold {} of the total.",
        p.clv_months,
        money(median(sorted.clone())),
        money(total / sorted.len() as f64),
        pct(if total > 0.0 { top1 / total } else { 0.0 })
    );
    let hist_table = table(vec![
        ("clv_bin", Col::Text(labels.clone())),
        ("customers", Col::Num(hist.clone())),
    ])?;
    // mean CLV per RFM segment (customers valued and segmented)
    let mut by: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (id, v) in ids.iter().zip(&values) {
        if let (Some(id), true) = (id, v.is_finite())
            && let Some(Some(seg)) = ctx.segment_of.get(id)
        {
            let e = by.entry(seg.clone()).or_insert((0.0, 0.0));
            e.0 += 1.0;
            e.1 += v;
        }
    }
    let mut figures = vec![Figure {
        key: "clv-distribution",
        title: format!("Distribution of {}-month CLV", p.clv_months),
        caption: reading.clone(),
        chart: bars(
            labels,
            vec![("customers", hist)],
            false,
            ("CLV (currency units; last bar: top 1%)", "customers"),
            ValueFormat::Count,
        ),
        table: hist_table,
    }];
    if !by.is_empty() {
        let mut rows: Vec<(String, f64, f64)> = by.into_iter().map(|(s, (n, sum))| (s, n, sum / n)).collect();
        rows.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        let caption = format!("{} have the highest mean CLV: {}.", rows[0].0, money(rows[0].2));
        let data = table(vec![
            ("segment", Col::Text(rows.iter().map(|r| r.0.clone()).collect())),
            ("customers", Col::Num(rows.iter().map(|r| r.1).collect())),
            ("mean_clv", Col::Num(rows.iter().map(|r| r.2).collect())),
        ])?;
        figures.push(Figure {
            key: "clv-by-segment",
            title: "Mean CLV by RFM segment".into(),
            caption,
            chart: bars(
                rows.iter().map(|r| r.0.clone()).collect(),
                vec![("mean CLV", rows.iter().map(|r| r.2).collect())],
                true,
                ("RFM segment", "mean CLV (currency units)"),
                ValueFormat::Money,
            ),
            table: data,
        });
    }
    Ok(section(key, title, reading, figures))
}

/// The summary's largest T (time units from the first customer's first purchase to the
/// calibration end).
fn max_t(summary: &CustomerSummary) -> Result<f64> {
    Ok(summary.column("T")?.into_iter().fold(0.0_f64, f64::max))
}

fn model(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("model", "Purchase model check");
    let (run, (summary, _)) = match (&ctx.clv, &ctx.summary) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(e), _) | (_, Err(e)) => return Ok(absent(key, title, format!("No purchase model: {e}"))),
    };
    let x = summary.column("frequency")?;
    let max_x = x.iter().copied().fold(0.0_f64, f64::max);
    let check = check_model(
        summary,
        &run.models,
        &CheckParams {
            matrix_max_frequency: Some((max_x as u32).min(20)),
            ..CheckParams::default()
        },
        ctx.par,
    )?;
    let unit = ctx.cfg.params().time_unit.to_string();
    let mut figures = Vec::new();
    // P(alive) and expected purchases over frequency x recency, recency thinned to ≤ 26 columns
    let m = &check.frequency_recency;
    let (fx, rx, ep, pa) = (
        floats("frequency_recency", m, "frequency")?,
        floats("frequency_recency", m, "recency")?,
        floats("frequency_recency", m, "expected_purchases")?,
        floats("frequency_recency", m, "p_alive")?,
    );
    let max_f = fx.iter().copied().fold(0.0_f64, f64::max) as usize;
    let max_r = rx.iter().copied().fold(0.0_f64, f64::max) as usize;
    let step = (max_r + 1).div_ceil(26).max(1);
    let keep: Vec<usize> = (0..fx.len())
        .filter(|&i| (rx[i] as usize).is_multiple_of(step))
        .collect();
    let columns: Vec<String> = (0..=max_r).step_by(step).map(|r| r.to_string()).collect();
    let rows: Vec<String> = (0..=max_f).rev().map(|f| f.to_string()).collect();
    let cells = |v: &[f64]| -> Vec<(usize, usize, f64)> {
        keep.iter()
            .map(|&i| ((rx[i] as usize) / step, max_f - fx[i] as usize, v[i]))
            .collect()
    };
    let matrix = table(vec![
        ("frequency", Col::Num(keep.iter().map(|&i| fx[i]).collect())),
        ("recency", Col::Num(keep.iter().map(|&i| rx[i]).collect())),
        ("expected_purchases", Col::Num(keep.iter().map(|&i| ep[i]).collect())),
        ("p_alive", Col::Num(keep.iter().map(|&i| pa[i]).collect())),
    ])?;
    let purchase = run.models.purchase_model()?.kind();
    let heat = |v: &[f64], label: &str, format| {
        Chart::Heatmap(Heatmap {
            columns: columns.clone(),
            rows: rows.clone(),
            cells: cells(v),
            column_axis: format!("recency: time of the last repeat purchase ({unit}s since the first)"),
            row_axis: "frequency (repeat purchases)".into(),
            value_label: label.into(),
            format,
        })
    };
    figures.push(Figure {
        key: "model-p-alive",
        title: format!("P(alive) by frequency and recency ({purchase})"),
        caption: "Customers who bought often but not lately (top left) are the likeliest to have left.".into(),
        chart: heat(&pa, "P(alive)", ValueFormat::Percent),
        table: matrix.clone(),
    });
    figures.push(Figure {
        key: "model-expected-purchases",
        title: format!("Expected purchases in the next {unit} by frequency and recency"),
        caption: "Frequent, recent buyers (top right) are expected to buy the most.".into(),
        chart: heat(&ep, "purchases", ValueFormat::Number),
        table: matrix,
    });
    let pt = &check.period_transactions;
    let (k, actual, expected) = (
        floats("period_transactions", pt, "repeat_purchases")?,
        floats("period_transactions", pt, "actual_customers")?,
        floats("period_transactions", pt, "expected_customers")?,
    );
    let last = k.len().saturating_sub(1);
    let labels: Vec<String> = k
        .iter()
        .enumerate()
        .map(|(i, v)| if i == last { format!("{v}+") } else { v.to_string() })
        .collect();
    let zero_gap = actual.first().zip(expected.first()).map_or(0.0, |(a, e)| e - a);
    figures.push(Figure {
        key: "model-period-transactions",
        title: "Customers by repeat purchases in the calibration window: actual vs model".into(),
        caption: format!(
            "The model puts {} {} customers at zero repeat purchases than observed.",
            count(zero_gap.abs()),
            if zero_gap >= 0.0 { "more" } else { "fewer" }
        ),
        chart: bars(
            labels.clone(),
            vec![("actual", actual.clone()), ("model", expected.clone())],
            false,
            ("repeat purchases in the calibration window", "customers"),
            ValueFormat::Count,
        ),
        table: table(vec![
            ("repeat_purchases", Col::Text(labels)),
            ("actual_customers", Col::Num(actual)),
            ("expected_customers", Col::Num(expected)),
        ])?,
    });
    let mut reading = format!("{purchase} fitted on {} customers.", count(x.len() as f64));
    if let Some(h) = &check.calibration_vs_holdout {
        let (f, n, a, e) = (
            floats("calibration_vs_holdout", h, "frequency")?,
            floats("calibration_vs_holdout", h, "customers")?,
            floats("calibration_vs_holdout", h, "actual_holdout")?,
            floats("calibration_vs_holdout", h, "expected_holdout")?,
        );
        let (ta, te): (f64, f64) = (0..n.len()).fold((0.0, 0.0), |(sa, se), i| (sa + n[i] * a[i], se + n[i] * e[i]));
        reading = format!(
            "In the holdout, customers made {} repeat purchases; {purchase} expected {} ({}{}).",
            count(ta),
            count(te),
            if te >= ta { "+" } else { "" },
            pct(if ta > 0.0 { (te - ta) / ta } else { 0.0 })
        );
        let last = f.len().saturating_sub(1);
        let labels: Vec<String> = f
            .iter()
            .enumerate()
            .map(|(i, v)| if i == last { format!("{v}+") } else { v.to_string() })
            .collect();
        figures.push(Figure {
            key: "model-calibration-holdout",
            title: "Mean holdout purchases by calibration frequency: actual vs model".into(),
            caption: reading.clone(),
            chart: bars(
                labels.clone(),
                vec![("actual", a.clone()), ("model", e.clone())],
                false,
                (
                    "repeat purchases in the calibration window",
                    "mean purchases per customer in the holdout",
                ),
                ValueFormat::Number,
            ),
            table: table(vec![
                ("frequency", Col::Text(labels)),
                ("customers", Col::Num(n)),
                ("actual_holdout", Col::Num(a)),
                ("expected_holdout", Col::Num(e)),
            ])?,
        });
    }
    let _ = max_t(summary)?;
    Ok(section(key, title, reading, figures))
}

fn tracking(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("tracking", "Repeat purchases over time");
    let (run, (summary, scfg)) = match (&ctx.clv, &ctx.summary) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(e), _) | (_, Err(e)) => return Ok(absent(key, title, format!("No purchase model: {e}"))),
    };
    let check = check_model(summary, &run.models, &CheckParams::default(), ctx.par)?;
    let actual = actual_tracking(&ctx.source(), scfg, ctx.par)?;
    let (te, ce, ie) = (
        floats("tracking", &check.tracking, "time")?,
        floats("tracking", &check.tracking, "expected_cumulative")?,
        floats("tracking", &check.tracking, "expected_incremental")?,
    );
    let (ca, ia) = (
        floats("tracking", &actual, "actual_cumulative")?,
        floats("tracking", &actual, "actual_incremental")?,
    );
    let n = te.len().min(ca.len());
    if n == 0 {
        return Ok(absent(key, title, "No repeat purchase window to track."));
    }
    let unit = ctx.cfg.params().time_unit.to_string();
    let cal = max_t(summary)?;
    let pts = |v: &[f64]| -> Vec<(f64, f64)> { (0..n).map(|i| (te[i], v[i])).collect() };
    let data = table(vec![
        ("time", Col::Num(te[..n].to_vec())),
        ("actual_cumulative", Col::Num(ca[..n].to_vec())),
        ("expected_cumulative", Col::Num(ce[..n].to_vec())),
        ("actual_incremental", Col::Num(ia[..n].to_vec())),
        ("expected_incremental", Col::Num(ie[..n].to_vec())),
    ])?;
    let (a_end, e_end) = (ca[n - 1], ce[n - 1]);
    let reading = format!(
        "After {} {unit}s the cohort made {} repeat purchases; the model expected {} ({}{}).",
        te[n - 1],
        count(a_end),
        count(e_end),
        if e_end >= a_end { "+" } else { "" },
        pct(if a_end > 0.0 { (e_end - a_end) / a_end } else { 0.0 })
    );
    let line = |a: &[f64], e: &[f64], y: &str| {
        Chart::Line(LineChart {
            series: vec![("actual".into(), pts(a)), ("model".into(), pts(e))],
            x_axis: format!("{unit}s since the cohort's first purchase"),
            y_axis: y.into(),
            x_format: ValueFormat::Number,
            y_format: ValueFormat::Count,
            marker: Some((cal, "calibration end".into())),
            diagonal: false,
        })
    };
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![
            Figure {
                key: "tracking-cumulative",
                title: format!("Cumulative repeat purchases per {unit}: actual vs model"),
                caption: reading,
                chart: line(&ca, &ce, "cumulative repeat purchases"),
                table: data.clone(),
            },
            Figure {
                key: "tracking-incremental",
                title: format!("Repeat purchases per {unit}: actual vs model"),
                caption: format!("Right of the line is the holdout: {unit}s the model did not see."),
                chart: line(&ia, &ie, &format!("repeat purchases per {unit}")),
                table: data,
            },
        ],
    ))
}

fn cohorts(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("cohorts", "Acquisition cohorts");
    let p = ctx.cfg.params();
    let long = cohort_view(&ctx.source(), &CohortParams::new(p.as_of).validate()?, ctx.par)?.output;
    if long.num_rows() == 0 {
        return Ok(absent(key, title, "No customer bought before the report date."));
    }
    let cohort = texts("cohorts", &long, "cohort")?;
    let (period, retention, revenue, customers) = (
        floats("cohorts", &long, "period")?,
        floats("cohorts", &long, "retention")?,
        floats("cohorts", &long, "revenue")?,
        floats("cohorts", &long, "customers")?,
    );
    let mut names: Vec<String> = cohort.iter().flatten().cloned().collect();
    names.dedup();
    let first = names.len().saturating_sub(p.max_cohorts);
    let names: Vec<String> = names[first..].to_vec();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let max_period = p.max_cohorts;
    let (mut cells_r, mut cells_v) = (Vec::new(), Vec::new());
    let (mut tc, mut tp, mut tr, mut tv) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..long.num_rows() {
        let (Some(c), pe) = (&cohort[i], period[i] as usize) else {
            continue;
        };
        let Some(&row) = index.get(c.as_str()) else {
            continue;
        };
        if pe >= max_period {
            continue;
        }
        let per_customer = if customers[i] > 0.0 {
            revenue[i] / customers[i]
        } else {
            0.0
        };
        if pe >= 1 {
            cells_r.push((pe - 1, row, retention[i]));
        }
        cells_v.push((pe, row, per_customer));
        tc.push(c.clone());
        tp.push(pe as f64);
        tr.push(retention[i]);
        tv.push(per_customer);
    }
    let data = table(vec![
        ("cohort", Col::Text(tc)),
        ("period", Col::Num(tp.clone())),
        ("retention", Col::Num(tr.clone())),
        ("revenue_per_customer", Col::Num(tv)),
    ])?;
    let month1: Vec<f64> = (0..tp.len()).filter(|&i| tp[i] == 1.0).map(|i| tr[i]).collect();
    let reading = if month1.is_empty() {
        "Every cohort is in its first month.".to_string()
    } else {
        format!(
            "Month-1 retention averages {} over the last {} cohorts (latest: {}).",
            pct(month1.iter().sum::<f64>() / month1.len() as f64),
            month1.len(),
            pct(month1.last().copied().unwrap_or(0.0))
        )
    };
    let mut figures = Vec::new();
    if !cells_r.is_empty() {
        figures.push(Figure {
            key: "cohort-retention",
            title: "Retention by acquisition month and months since acquisition".into(),
            caption: reading.clone(),
            chart: Chart::Heatmap(Heatmap {
                columns: (1..max_period).map(|m| m.to_string()).collect(),
                rows: names.clone(),
                cells: cells_r,
                column_axis: "months since acquisition".into(),
                row_axis: "acquisition month".into(),
                value_label: "active share".into(),
                format: ValueFormat::Percent,
            }),
            table: data.clone(),
        });
    }
    figures.push(Figure {
        key: "cohort-revenue",
        title: "Revenue per acquired customer by acquisition month and months since acquisition".into(),
        caption: "Month 0 is the acquisition month; later columns show what each cohort keeps spending.".into(),
        chart: Chart::Heatmap(Heatmap {
            columns: (0..max_period).map(|m| m.to_string()).collect(),
            rows: names,
            cells: cells_v,
            column_axis: "months since acquisition".into(),
            row_axis: "acquisition month".into(),
            value_label: "revenue per customer".into(),
            format: ValueFormat::Money,
        }),
        table: data,
    });
    Ok(section(key, title, reading, figures))
}

fn channels(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("channels", "Channels");
    if ctx.store.columns().channel.is_none() {
        return Ok(absent(key, title, "The events have no channel column."));
    }
    let p = ctx.cfg.params();
    let views = channel_view(&ctx.source(), &ChannelParams::new().as_of(p.as_of).validate()?, ctx.par)?.output;
    let t = &views.channels;
    if t.num_rows() == 0 {
        return Ok(absent(key, title, "No event has a channel."));
    }
    let names: Vec<String> = texts("channels", t, "channel")?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let (engagement, revenue) = (
        floats("channels", t, "engagement_share")?,
        floats("channels", t, "revenue")?,
    );
    let total: f64 = revenue.iter().sum();
    let revenue_share: Vec<f64> = revenue
        .iter()
        .map(|r| if total > 0.0 { r / total } else { 0.0 })
        .collect();
    let top = (0..names.len()).max_by(|&a, &b| revenue_share[a].total_cmp(&revenue_share[b]).then(b.cmp(&a)));
    let reading = top.map_or_else(String::new, |i| {
        format!(
            "{} carries {} of engagement and {} of revenue.",
            names[i],
            pct(engagement[i]),
            pct(revenue_share[i])
        )
    });
    let mix = table(vec![
        ("channel", Col::Text(names.clone())),
        ("engagement_share", Col::Num(engagement.clone())),
        ("revenue", Col::Num(revenue)),
        ("revenue_share", Col::Num(revenue_share.clone())),
    ])?;
    let mut figures = vec![Figure {
        key: "channel-mix",
        title: "Channel mix: share of engagement and of revenue".into(),
        caption: reading.clone(),
        chart: bars(
            names,
            vec![("engagement", engagement), ("revenue", revenue_share)],
            true,
            ("channel", "share of all events / all revenue (%)"),
            ValueFormat::Percent,
        ),
        table: mix,
    }];
    // preference vs spend: mean RFM monetary of customers by their most-used channel
    let monetary = by_customer("rfm", &ctx.rfm, "monetary")?;
    let pref = &views.preferred;
    let (ids, chosen) = (
        texts("preferred", pref, "customer_id")?,
        texts("preferred", pref, "preferred_by_engagement")?,
    );
    let mut by: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (id, ch) in ids.iter().zip(&chosen) {
        if let (Some(id), Some(ch)) = (id, ch)
            && let Some(Some(m)) = monetary.get(id)
            && let Ok(m) = m.parse::<f64>()
        {
            let e = by.entry(ch.clone()).or_insert((0.0, 0.0));
            e.0 += 1.0;
            e.1 += m;
        }
    }
    if !by.is_empty() {
        let rows: Vec<(String, f64, f64)> = by.into_iter().map(|(c, (n, s))| (c, n, s / n)).collect();
        let best = rows
            .iter()
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map(|r| (r.0.clone(), r.2));
        figures.push(Figure {
            key: "channel-preference-spend",
            title: "Mean spend by preferred channel".into(),
            caption: best.map_or_else(String::new, |(c, m)| {
                format!("Customers who mostly use {c} spend the most: {} on average.", money(m))
            }),
            chart: bars(
                rows.iter().map(|r| r.0.clone()).collect(),
                vec![("mean spend", rows.iter().map(|r| r.2).collect())],
                true,
                (
                    "preferred channel (most events)",
                    "mean spend before the report date (currency units)",
                ),
                ValueFormat::Money,
            ),
            table: table(vec![
                (
                    "preferred_channel",
                    Col::Text(rows.iter().map(|r| r.0.clone()).collect()),
                ),
                ("customers", Col::Num(rows.iter().map(|r| r.1).collect())),
                ("mean_monetary", Col::Num(rows.iter().map(|r| r.2).collect())),
            ])?,
        });
    }
    Ok(section(key, title, reading, figures))
}

fn attribution(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("attribution", "Attribution");
    if ctx.store.columns().channel.is_none() {
        return Ok(absent(
            key,
            title,
            "The events have no channel column: no touches to attribute.",
        ));
    }
    let p = ctx.cfg.params();
    let params = AttributionParams::new(AttributionModel::Linear)
        .by_campaign(false)
        .as_of(p.as_of);
    let lookback = params.lookback_days;
    let t = attribution_view(&ctx.source(), &params.validate()?, ctx.par)?.output;
    let names: Vec<String> = texts("attribution", &t, "channel")?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let share = floats("attribution", &t, "revenue_share")?;
    if names.iter().all(|n| n == clientele::views::attribution::UNATTRIBUTED) {
        return Ok(absent(key, title, "No purchase had a touch on a channel before it."));
    }
    let top = (0..names.len())
        .filter(|&i| names[i] != clientele::views::attribution::UNATTRIBUTED)
        .max_by(|&a, &b| share[a].total_cmp(&share[b]).then(b.cmp(&a)));
    let unattributed: f64 = (0..names.len())
        .filter(|&i| names[i] == clientele::views::attribution::UNATTRIBUTED)
        .map(|i| share[i])
        .sum();
    let reading = top.map_or_else(String::new, |i| {
        format!(
            "{} gets {} of revenue (linear multi-touch, {lookback}-day lookback); {} had no touch.",
            names[i],
            pct(share[i]),
            pct(unattributed)
        )
    });
    let data = table(vec![
        ("channel", Col::Text(names.clone())),
        (
            "attributed_revenue",
            Col::Num(floats("attribution", &t, "attributed_revenue")?),
        ),
        ("revenue_share", Col::Num(share.clone())),
    ])?;
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![Figure {
            key: "attribution-channels",
            title: "Share of revenue attributed to each channel".into(),
            caption: reading,
            chart: bars(
                names,
                vec![("attributed revenue", share)],
                true,
                ("channel", "share of purchase revenue (%)"),
                ValueFormat::Percent,
            ),
            table: data,
        }],
    ))
}

fn campaigns(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("campaigns", "Campaigns");
    if ctx.store.columns().campaign_id.is_none() {
        return Ok(absent(
            key,
            title,
            "The events have no campaign_id column: no campaigns to show.",
        ));
    }
    let p = ctx.cfg.params();
    let t = campaign_view(
        &ctx.source(),
        None,
        &CampaignParams::new().as_of(p.as_of).validate()?,
        ctx.par,
    )?
    .output;
    let ids = texts("campaigns", &t, "campaign_id")?;
    let (rate, control, uplift, lo, hi) = (
        floats("campaigns", &t, "response_rate")?,
        floats("campaigns", &t, "control_response_rate")?,
        floats("campaigns", &t, "uplift")?,
        floats("campaigns", &t, "uplift_ci_low")?,
        floats("campaigns", &t, "uplift_ci_high")?,
    );
    // the last 20 campaigns (name order) that were sent
    let mut rows: Vec<usize> = (0..t.num_rows())
        .filter(|&i| ids[i].is_some() && rate[i].is_finite())
        .collect();
    if rows.is_empty() {
        return Ok(absent(key, title, "No campaign sends before the report date."));
    }
    let skip = rows.len().saturating_sub(20);
    rows.drain(..skip);
    let names: Vec<String> = rows.iter().map(|&i| ids[i].clone().unwrap_or_default()).collect();
    let zero = |v: f64| if v.is_finite() { v } else { 0.0 };
    let data = table(vec![
        ("campaign_id", Col::Text(names.clone())),
        ("response_rate", Col::Num(rows.iter().map(|&i| rate[i]).collect())),
        (
            "control_response_rate",
            Col::Num(rows.iter().map(|&i| control[i]).collect()),
        ),
        ("uplift", Col::Num(rows.iter().map(|&i| uplift[i]).collect())),
        ("uplift_ci_low", Col::Num(rows.iter().map(|&i| lo[i]).collect())),
        ("uplift_ci_high", Col::Num(rows.iter().map(|&i| hi[i]).collect())),
    ])?;
    let mean_rate = rows.iter().map(|&i| rate[i]).sum::<f64>() / rows.len() as f64;
    let has_control = rows.iter().any(|&i| control[i].is_finite());
    let mut series = vec![("treated", rows.iter().map(|&i| rate[i]).collect::<Vec<_>>())];
    if has_control {
        series.push(("control", rows.iter().map(|&i| zero(control[i])).collect()));
    }
    let mut figures = vec![Figure {
        key: "campaign-response",
        title: if has_control {
            "Response rate by campaign: treated vs control".into()
        } else {
            "Response rate by campaign".into()
        },
        caption: format!("Treated customers responded at {} on average.", pct(mean_rate)),
        chart: bars(
            names.clone(),
            series,
            false,
            ("campaign", "response rate (%)"),
            ValueFormat::Percent,
        ),
        table: data.clone(),
    }];
    let with: Vec<usize> = rows.iter().copied().filter(|&i| uplift[i].is_finite()).collect();
    let mut reading = format!(
        "{} campaigns; treated customers responded at {} on average{}.",
        rows.len(),
        pct(mean_rate),
        if with.is_empty() {
            " (no held-out control group, so no uplift can be measured)"
        } else {
            ""
        }
    );
    if let Some(&best) = with.iter().max_by(|&&a, &&b| uplift[a].total_cmp(&uplift[b])) {
        reading = format!(
            "{} has the highest uplift: {}{:.1} points (95% CI {:.1} to {:.1}).",
            ids[best].clone().unwrap_or_default(),
            if uplift[best] >= 0.0 { "+" } else { "" },
            uplift[best] * 100.0,
            lo[best] * 100.0,
            hi[best] * 100.0
        );
        figures.push(Figure {
            key: "campaign-uplift",
            title: "Uplift over the control group, with 95% intervals".into(),
            caption: reading.clone(),
            chart: Chart::Bar(BarChart {
                categories: with.iter().map(|&i| ids[i].clone().unwrap_or_default()).collect(),
                series: vec![("uplift".into(), with.iter().map(|&i| uplift[i]).collect())],
                horizontal: false,
                category_axis: "campaign".into(),
                value_axis: "response rate minus control rate (percentage points)".into(),
                format: ValueFormat::Percent,
                intervals: Some(with.iter().map(|&i| (zero(lo[i]), zero(hi[i]))).collect()),
            }),
            table: data,
        });
    }
    Ok(section(key, title, reading, figures))
}

fn satisfaction(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("satisfaction", "Satisfaction");
    if ctx.store.columns().score.is_none() {
        return Ok(absent(
            key,
            title,
            "The events have no score column: no survey answers.",
        ));
    }
    let p = ctx.cfg.params();
    let views = satisfaction_view(
        &ctx.source(),
        Some(&ctx.rfm),
        &SatisfactionParams::new().as_of(p.as_of).validate()?,
        ctx.par,
    )?
    .output;
    let t = &views.summary;
    let dims = texts("satisfaction", t, "dimension")?;
    let groups = texts("satisfaction", t, "group")?;
    let (responses, mean) = (
        floats("satisfaction", t, "responses")?,
        floats("satisfaction", t, "mean_score")?,
    );
    let rows: Vec<usize> = (0..t.num_rows())
        .filter(|&i| dims[i].as_deref() == Some("segment") && responses[i] > 0.0 && mean[i].is_finite())
        .collect();
    if rows.is_empty() {
        return Ok(absent(key, title, "No survey answers before the report date."));
    }
    let names: Vec<String> = rows.iter().map(|&i| groups[i].clone().unwrap_or_default()).collect();
    let scores: Vec<f64> = rows.iter().map(|&i| mean[i]).collect();
    let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let worst = (0..scores.len()).min_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let reading = match (best, worst) {
        (Some(b), Some(w)) => format!(
            "{} are the most satisfied (mean {:.2}), {} the least ({:.2}).",
            names[b], scores[b], names[w], scores[w]
        ),
        _ => String::new(),
    };
    let data = table(vec![
        ("segment", Col::Text(names.clone())),
        ("responses", Col::Num(rows.iter().map(|&i| responses[i]).collect())),
        ("mean_score", Col::Num(scores.clone())),
    ])?;
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![Figure {
            key: "satisfaction-segments",
            title: "Mean survey score by RFM segment".into(),
            caption: reading,
            chart: bars(
                names,
                vec![("mean score", scores)],
                true,
                ("RFM segment", "mean survey score (points)"),
                ValueFormat::Number,
            ),
            table: data,
        }],
    ))
}

fn churn(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("churn", "Churn model");
    let p = ctx.cfg.params();
    // evaluated out of time: trained on the window that ends where the evaluation starts
    let horizon = i64::from(p.churn_horizon_days).min(ctx.cfg.holdout_days().max(1));
    let eval_cutoff = p.calibration_end + Days::new(1);
    let Some(train_cutoff) = eval_cutoff.checked_sub_days(Days::new(horizon as u64)) else {
        return Ok(absent(
            key,
            title,
            "The data window is too short to train a churn model.",
        ));
    };
    let horizon = horizon as u32;
    let c = clientele::churn::ChurnModelParams::new().c;
    let model = match churn_train(ctx.store, train_cutoff, horizon, None, c, false, ctx.par) {
        Ok(t) => t.model,
        Err(e) => return Ok(absent(key, title, format!("The churn model could not be trained: {e}"))),
    };
    let eval = match churn_evaluate(ctx.store, &model, eval_cutoff, horizon, None, ctx.par) {
        Ok(e) => e,
        Err(e) => {
            return Ok(absent(
                key,
                title,
                format!("The churn model could not be evaluated: {e}"),
            ));
        }
    };
    let fp = model.feature_config(eval_cutoff)?;
    let (features, labels) = churn_dataset(ctx.store, fp.params(), eval_cutoff, horizon, None, ctx.par)?;
    let (y, s) = (clientele::churn::label_values(&labels)?, model.predict(&features)?);
    let fractions: Vec<f64> = (1..=10).map(|d| f64::from(d) / 10.0).collect();
    let lifts = fractions
        .iter()
        .map(|&f| clientele::churn::evaluation::lift_at(&y, &s, f))
        .collect::<clientele::Result<Vec<_>>>()?;
    let labels: Vec<String> = fractions.iter().map(|f| format!("top {}", pct(*f))).collect();
    let reading = format!(
        "Trained to {train_cutoff}, scored at {eval_cutoff} on {} customers: the top 10% of scores hold {} of the {}-day churners (lift {:.2}); ROC AUC {:.3}.",
        count(eval.rows as f64),
        pct(eval.top_decile.capture_rate),
        horizon,
        eval.top_decile.lift,
        eval.roc_auc
    );
    let lift_table = table(vec![
        ("top_share", Col::Num(fractions.clone())),
        ("lift", Col::Num(lifts.iter().map(|l| l.lift).collect())),
        ("capture_rate", Col::Num(lifts.iter().map(|l| l.capture_rate).collect())),
    ])?;
    let cal = &eval.calibration;
    let cal_table = table(vec![
        ("bin", Col::Num((1..=cal.len()).map(|b| b as f64).collect())),
        ("rows", Col::Num(cal.iter().map(|b| b.rows as f64).collect())),
        (
            "mean_predicted",
            Col::Num(cal.iter().map(|b| b.mean_predicted).collect()),
        ),
        ("observed_rate", Col::Num(cal.iter().map(|b| b.observed_rate).collect())),
    ])?;
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![
            Figure {
                key: "churn-lift",
                title: "Lift: churn rate among the highest scores over the overall rate".into(),
                caption: reading,
                chart: bars(
                    labels,
                    vec![("lift", lifts.iter().map(|l| l.lift).collect())],
                    false,
                    (
                        "customers with the highest churn scores",
                        "lift (x the overall churn rate)",
                    ),
                    ValueFormat::Number,
                ),
                table: lift_table,
            },
            Figure {
                key: "churn-calibration",
                title: "Calibration: predicted vs observed churn rate by score decile".into(),
                caption: format!(
                    "Points on the diagonal are well calibrated; Brier score {:.3}.",
                    eval.brier_score
                ),
                chart: Chart::Scatter(ScatterChart {
                    points: cal.iter().map(|b| (b.mean_predicted, b.observed_rate)).collect(),
                    x_axis: "mean predicted churn probability (%)".into(),
                    y_axis: "observed churn rate (%)".into(),
                    x_format: ValueFormat::Percent,
                    y_format: ValueFormat::Percent,
                    diagonal: true,
                }),
                table: cal_table,
            },
        ],
    ))
}
