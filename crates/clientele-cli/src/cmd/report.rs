//! `clientele report`: business reports over the store.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use clientele::exec::Parallelism;
use clientele::kernels::rfm::Tiers;
use clientele::pipeline::{SegmentBy, report_segments};
use clientele::report::SegmentReportParams;

use super::rfm::RfmOptions;
use crate::input::{SourceArgs, warn_rejections, with_source};

/// Arguments of `clientele report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    report: Report,
}

#[derive(Debug, Subcommand)]
enum Report {
    /// Per segment: customers, share, revenue, share of revenue, orders, mean R/F/M, average
    /// satisfaction, complaint rate, campaign response rate, dominant channel.
    Segments(SegmentsArgs),
    /// One self-contained HTML file with charts (inline SVG, no network at view time):
    /// segments, RFM grid, value tiers, CLV, model checks, tracking, cohorts, channels,
    /// attribution, campaigns, satisfaction and churn, each with a one-line reading.
    Html(HtmlArgs),
}

/// Arguments of `clientele report html`.
#[derive(Debug, Args)]
struct HtmlArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The report date: events strictly before it count.
    #[arg(long, value_name = "YYYY-MM-DD")]
    as_of: NaiveDate,
    /// The last day of the models' calibration window (before --as-of); the days after it
    /// are the holdout the models are checked on.
    #[arg(long, value_name = "YYYY-MM-DD")]
    calibration_end: NaiveDate,
    /// The HTML file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Also write the numbers behind every chart to this folder, one file per chart.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The format of the --data-dir files.
    #[arg(long, value_name = "FORMAT", default_value = "csv", value_parser = ["csv", "parquet"])]
    data_format: String,
    /// The models' time unit.
    #[arg(long, value_name = "UNIT", default_value = "week", value_parser = ["week", "day"])]
    time_unit: String,
    /// Monthly discount rate of the lifetime value.
    #[arg(long, value_name = "RATE", default_value_t = 0.01)]
    discount_monthly: f64,
    /// Days without a purchase after a cutoff that count as churn (capped by the holdout).
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    churn_horizon_days: u32,
    /// The page title.
    #[arg(long, value_name = "TEXT", default_value = "Customer report")]
    title: String,
}

/// Arguments of `clientele report segments`.
#[derive(Debug, Args)]
struct SegmentsArgs {
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    rfm: RfmOptions,
    /// What the segments are: rfm (the --segments map over RFM scores), pareto (top
    /// --top-share of customers by revenue vs the rest) or deciles (revenue deciles).
    #[arg(long, value_name = "BY", default_value = "rfm", value_parser = ["rfm", "pareto", "deciles"])]
    by: String,
    /// Share of customers in the Pareto top tier, in (0, 1] (--by pareto).
    #[arg(long, value_name = "SHARE", default_value_t = 0.2)]
    top_share: f64,
    /// The event type whose score is a satisfaction answer; `any` averages every scored event.
    #[arg(long, value_name = "TYPE", default_value = "survey")]
    survey_type: String,
    /// The event type of complaints.
    #[arg(long, value_name = "TYPE", default_value = "complaint")]
    complaint_type: String,
    /// Output file: .parquet, .csv, .json or .arrow (default: a table on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// The RFM table with a `tier` column appended (tiers come in rank order; put them back in
/// the table's row order through the customer key), so the report keeps the mean R/F/M.
pub fn run(a: &ReportArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    match &a.report {
        Report::Segments(s) => segments(s, par),
        Report::Html(h) => html(h, par),
    }
}

fn segments(a: &SegmentsArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    let cfg = a.rfm.config()?;
    let started = std::time::Instant::now();
    let mut params = SegmentReportParams::new(a.rfm.as_of);
    params.complaint_type = a.complaint_type.clone();
    let params = params.survey_type((a.survey_type != "any").then(|| a.survey_type.clone()));
    let by = match a.by.as_str() {
        "pareto" => SegmentBy::Tiers(Tiers::Pareto { top_share: a.top_share }),
        "deciles" => SegmentBy::Tiers(Tiers::Deciles),
        _ => SegmentBy::Rfm,
    };
    let run = with_source(&a.source, |s| report_segments(s, &cfg, by, params, par))?;
    warn_rejections(run.ingest.as_ref());
    let (report, table) = (run.report, run.table);
    let took = started.elapsed();
    match &a.out {
        Some(path) => {
            clientele::io::write_batch(&report, path)?;
            eprintln!(
                "{} segments of {} customers in {:.3} s -> {}",
                report.num_rows(),
                table.num_rows(),
                took.as_secs_f64(),
                path.display()
            );
        }
        None => {
            println!(
                "{} customers with purchases before {}, segments by {}{}",
                table.num_rows(),
                a.rfm.as_of,
                a.by,
                if a.by == "rfm" {
                    format!(" ({} map)", cfg.params().segments.name)
                } else {
                    String::new()
                }
            );
            println!("{}", clientele::io::format_table(&report, 50));
        }
    }
    Ok(())
}

fn html(a: &HtmlArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    use clientele_report::html::{DataFormat, ReportParams, build};
    let mut inputs = a.source.input.clone();
    inputs.extend(a.source.store.iter().cloned());
    let mut outputs = vec![a.out.clone()];
    outputs.extend(a.data_dir.iter().cloned());
    clientele::io::check_outputs(&inputs, &outputs)?;
    let unit = clientele::kernels::summary::TimeUnit::parse(&a.time_unit)?;
    let cfg = ReportParams::new(a.as_of, a.calibration_end)
        .title(a.title.clone())
        .time_unit(unit)
        .monthly_discount(a.discount_monthly)
        .churn_horizon_days(a.churn_horizon_days)
        .validate()?;
    let started = std::time::Instant::now();
    let report = with_source(&a.source, |s| Ok(build(s, &cfg, par)))??;
    let built = started.elapsed();
    let bytes = report.write_html(&a.out)?;
    let charts = report.figures().count();
    eprintln!(
        "report: {} sections, {charts} charts, {:.0} KB -> {} (jobs {:.2} s, total {:.2} s)",
        report.sections.len(),
        bytes as f64 / 1024.0,
        a.out.display(),
        built.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    if report.rows_rejected > 0 {
        eprintln!(
            "warning: {} input rows rejected; run `clientele ingest --report FILE.json` for the list",
            report.rows_rejected
        );
    }
    eprintln!(
        "  time: load {:.2} s, shared jobs (RFM, summary, CLV fits) {:.2} s, {}",
        report.load_seconds,
        report.shared_seconds,
        report
            .sections
            .iter()
            .map(|s| format!("{} {:.2} s", s.key, s.seconds))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for s in &report.sections {
        if let Some(why) = &s.absent {
            eprintln!("  {}: {why}", s.key);
        }
    }
    if let Some(dir) = &a.data_dir {
        let format = if a.data_format == "parquet" {
            DataFormat::Parquet
        } else {
            DataFormat::Csv
        };
        let written = report.write_data(dir, format)?;
        eprintln!("  {} data files -> {}", written.len(), dir.display());
    }
    Ok(())
}
