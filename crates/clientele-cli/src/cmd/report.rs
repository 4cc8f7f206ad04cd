//! `clientele report`: business reports over the store.

use std::path::PathBuf;

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
    let run = with_source(&a.source, par, |s| report_segments(s, &cfg, by, params, par))?;
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
