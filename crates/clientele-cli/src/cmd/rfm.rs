//! `clientele rfm`: recency, frequency, monetary and scores per customer.

use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::UInt8Type;
use chrono::NaiveDate;
use clap::Args;
use clientele::exec::Parallelism;
use clientele::kernels::rfm::{RfmConfig, RfmMode, RfmParams, Scoring, SegmentMap};
use clientele::kernels::summary::Period;
use clientele::pipeline::{SegmentBy, customer_rfm, report_segments};
use clientele::report::SegmentReportParams;
use clientele::schema::output::rfm::{F_SCORE, M_SCORE, R_SCORE};

use crate::input::{SourceArgs, warn_rejections, with_source};

/// The flags that define an RFM table (shared by `rfm` and `report segments`).
#[derive(Debug, Args)]
pub struct RfmOptions {
    /// Analysis date: purchases strictly before its midnight (UTC) count.
    #[arg(long, value_name = "DATE")]
    pub as_of: NaiveDate,
    /// RFM convention: orders (count of purchase events, cents-rounded total, whole days) or
    /// btyd (lifetimes style: purchases merged per --period, frequency = repeat periods,
    /// monetary = mean spend per repeat period, calibration ending the day before --as-of).
    #[arg(long, value_name = "MODE", default_value = "orders", value_parser = ["orders", "btyd"])]
    pub mode: String,
    /// Purchase period of --mode btyd: day, week, month or Nd.
    #[arg(long, value_name = "PERIOD", default_value = "day")]
    pub period: String,
    /// Scoring: ntile (SQL NTILE, ties broken by customer id), quantile (R rfm thresholds:
    /// type-7 quantiles + 1, bins [lo, hi)), or breaks (the --*-breaks cut points).
    #[arg(long, value_name = "METHOD", default_value = "ntile", value_parser = ["ntile", "quantile", "breaks"])]
    pub scoring: String,
    /// Recency cut points in days for --scoring breaks, comma separated.
    #[arg(
        long,
        value_name = "DAYS",
        value_delimiter = ',',
        required_if_eq("scoring", "breaks")
    )]
    pub recency_breaks: Vec<f64>,
    /// Frequency cut points for --scoring breaks, comma separated.
    #[arg(long, value_name = "N", value_delimiter = ',', required_if_eq("scoring", "breaks"))]
    pub frequency_breaks: Vec<f64>,
    /// Monetary cut points for --scoring breaks, comma separated.
    #[arg(
        long,
        value_name = "AMOUNT",
        value_delimiter = ',',
        required_if_eq("scoring", "breaks")
    )]
    pub monetary_breaks: Vec<f64>,
    /// Number of score bins (1-9).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub bins: u32,
    /// Segment map: a preset (rfm, rf-regex, pymc-quartiles) or a rule file (.toml, else JSON).
    #[arg(long, value_name = "PRESET|FILE", default_value = "rfm")]
    pub segments: String,
}

impl RfmOptions {
    /// The validated RFM configuration these flags describe.
    pub fn config(&self) -> clientele::Result<RfmConfig> {
        let scoring = match self.scoring.as_str() {
            "quantile" => Scoring::Quantile,
            "breaks" => Scoring::Breaks {
                recency: self.recency_breaks.clone(),
                frequency: self.frequency_breaks.clone(),
                monetary: self.monetary_breaks.clone(),
            },
            _ => Scoring::Ntile,
        };
        let mode = match self.mode.as_str() {
            "btyd" => RfmMode::Btyd {
                period: Period::parse(&self.period)?,
            },
            _ => RfmMode::Orders,
        };
        RfmParams::new(self.as_of)
            .mode(mode)
            .bins(self.bins)
            .scoring(scoring)
            .segments(SegmentMap::preset_or_file(&self.segments)?)
            .validate()
    }
}

/// Arguments of `clientele rfm`.
#[derive(Debug, Args)]
pub struct RfmArgs {
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    rfm: RfmOptions,
    /// Output file: .parquet, .csv, .json or .arrow (default: score distribution and the
    /// segment report on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Customers per score of one axis, as text.
fn distribution(t: &RecordBatch, name: &str, bins: u32) -> String {
    let mut counts = vec![0u64; bins as usize + 1];
    if let Some(c) = t.column_by_name(name).and_then(|c| c.as_primitive_opt::<UInt8Type>()) {
        for v in c.values() {
            if let Some(n) = counts.get_mut(usize::from(*v)) {
                *n += 1;
            }
        }
    }
    counts
        .iter()
        .skip(1)
        .map(|n| format!("{n:>9}"))
        .collect::<Vec<_>>()
        .join("")
}

pub fn run(args: &RfmArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    let a = &args.rfm;
    let cfg = a.config()?;
    let segments = &cfg.params().segments;
    // To an output file: the RFM table alone, from the library's job (one Parquet file is
    // scored straight from its columns when it is in the streaming path's scope).
    if let Some(path) = &args.out {
        let started = std::time::Instant::now();
        let run = with_source(&args.source, |s| customer_rfm(s, &cfg, par))?;
        warn_rejections(run.ingest.as_ref());
        let table = run.table;
        clientele::io::write_batches_in(&table.schema(), std::slice::from_ref(&table), path, par)?;
        eprintln!(
            "{} customers scored in {:.3} s{} -> {}",
            table.num_rows(),
            started.elapsed().as_secs_f64(),
            if run.streamed {
                " (streamed from Parquet)"
            } else if run.from_rollup {
                " (from the store's purchase rollup)"
            } else {
                ""
            },
            path.display()
        );
        return Ok(());
    }
    // On the terminal: the score distributions and the segment report, which also reads
    // channels and scores.
    let run = with_source(&args.source, |s| {
        report_segments(s, &cfg, SegmentBy::Rfm, SegmentReportParams::new(a.as_of), par)
    })?;
    warn_rejections(run.ingest.as_ref());
    let table = run.table;
    // Breaks can give up to 9 scores per axis; the other methods give `bins`.
    let shown = if a.scoring == "breaks" { 9 } else { a.bins };
    println!(
        "{} customers with purchases before {} ({} mode, {} scoring)",
        table.num_rows(),
        a.as_of,
        a.mode,
        a.scoring
    );
    println!(
        "customers per score:{}",
        (1..=shown).map(|s| format!("{s:>9}")).collect::<String>()
    );
    for (label, col) in [("recency", R_SCORE), ("frequency", F_SCORE), ("monetary", M_SCORE)] {
        println!("  {label:<18}{}", distribution(&table, col, shown));
    }
    let report = run.report;
    println!(
        "\nsegments ({}):\n{}",
        segments.name,
        clientele::io::format_table(&report, 50)
    );
    Ok(())
}
