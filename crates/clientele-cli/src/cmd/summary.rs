//! `clientele summary`: per-customer summary to a file or a table.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;
use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit};
use clientele::pipeline::customer_summary_all;

use crate::input::{SourceArgs, warn_rejections, with_source};

/// Arguments of `clientele summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Last day of the calibration window, inclusive (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    calibration_end: NaiveDate,
    /// Last day of the holdout window, inclusive (adds frequency_holdout, monetary_value_holdout, duration_holdout).
    #[arg(long, value_name = "DATE")]
    observation_end: Option<NaiveDate>,
    /// Purchase period: day, week (Monday-Sunday), month, or Nd.
    #[arg(long, value_name = "PERIOD", default_value = "day")]
    period: String,
    /// Unit of recency and T: period (whole periods), day, or week (days / 7).
    #[arg(long, value_name = "UNIT", default_value = "period")]
    time_unit: String,
    /// Also list customers with events but no calibration purchase.
    #[arg(long)]
    include_non_buyers: bool,
    /// Output file: .parquet, .csv, .json or .arrow (default: a table on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Rows shown in the table on stdout.
    #[arg(long, value_name = "N", default_value_t = 20)]
    rows: usize,
}

pub fn run(a: &SummaryArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    let mut params = SummaryParams::new(a.calibration_end)
        .period(Period::parse(&a.period)?)
        .time_unit(TimeUnit::parse(&a.time_unit)?)
        .include_non_buyers(a.include_non_buyers);
    if let Some(o) = a.observation_end {
        params = params.observation_end(o);
    }
    let cfg = params.validate()?;
    let started = std::time::Instant::now();
    // Every column, activity counts included: streamed from one Parquet file, from a saved
    // store's rollups when they answer, or through a store (loading only the key, time, type
    // and amount).
    let run = with_source(&a.source, |s| customer_summary_all(s, &cfg, par))?;
    warn_rejections(run.ingest.as_ref());
    let took = started.elapsed();
    let summary = run.summary.into_table();
    match &a.out {
        Some(path) => {
            clientele::io::write_batch(&summary, path)?;
            eprintln!(
                "{} customers summarized in {:.3} s{} -> {}",
                summary.num_rows(),
                took.as_secs_f64(),
                if run.streamed {
                    " (streamed from Parquet)"
                } else if run.from_rollup {
                    " (from the store's rollups)"
                } else {
                    ""
                },
                path.display()
            );
        }
        None => print!("{}", clientele::io::format_table(&summary, a.rows)),
    }
    Ok(())
}
