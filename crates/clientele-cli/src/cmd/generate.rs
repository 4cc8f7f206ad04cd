//! `clientele generate`: deterministic synthetic events.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;
use clientele::exec::Parallelism;
use clientele::synth::{GenerateParams, event_schema, generate};

/// Arguments of `clientele generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of customers.
    #[arg(long, value_name = "N")]
    customers: u64,
    /// Random seed: the same seed gives the same bytes.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// First day of the event window.
    #[arg(long, value_name = "DATE", default_value = "2024-01-01")]
    start: NaiveDate,
    /// Last day of the event window (inclusive).
    #[arg(long, value_name = "DATE", default_value = "2025-12-31")]
    end: NaiveDate,
    /// Output file: .parquet (zstd, 1M-row groups), .csv, .json or .arrow.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(a: &GenerateArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let cfg = GenerateParams::default()
        .customers(a.customers)
        .seed(a.seed)
        .start(a.start)
        .end(a.end)
        .validate()?;
    let batches = par.install(|| generate(&cfg))?;
    let events: usize = batches.iter().map(|b| b.num_rows()).sum();
    clientele::io::write_batches(&event_schema(), &batches, &a.out)?;
    eprintln!(
        "{} customers, {} events -> {} ({:.2} s)",
        a.customers,
        events,
        a.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
