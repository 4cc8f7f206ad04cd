//! The CLV job, as a Rust user writes it against the library.
//!
//! ```text
//! clv-job [EVENTS.parquet|csv] [--customers N]
//! ```
//!
//! Reads an event file (without one: generates `N` customers, default 1,000,000, to a Parquet
//! file first), summarizes purchases per customer in weeks up to 2025-12-31, fits BG/NBD and
//! Gamma-Gamma (and MBG/NBD for churn risk), values every customer over 12 months at 1 % a
//! month, and writes the table and the models next to the input.
//!
//! The job itself is the ten lines of [`clv_job`]; `main` only finds or makes the input.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clientele::chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::kernels::summary::{SummaryParams, TimeUnit};
use clientele::pipeline::{Clv, ClvParams, Discount, FileSource, clv, customer_summary};

/// Events in, CLV table and models out.
fn clv_job(events: &Path, out: &Path, models: &Path) -> Result<Clv, clientele::Error> {
    let par = Parallelism::threads(2)?;
    let end = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default();
    let prep = SummaryParams::new(end).time_unit(TimeUnit::Week).validate()?;
    let summary = customer_summary(&FileSource::new([events]).into(), &prep, &par)?.summary;
    let valued = clv(
        &summary,
        &ClvParams::new(Discount::Monthly { rate: 0.01 }).validate()?,
        &par,
    )?;
    clientele::io::write_batch(&valued.table, out)?;
    std::fs::write(models, valued.models.to_json()?).map_err(|e| clientele::Error::io(models, e))?;
    Ok(valued)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut events: Option<PathBuf> = None;
    let mut customers: u64 = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--customers" => customers = args.next().ok_or("--customers needs a number")?.parse()?,
            _ => events = Some(a.into()),
        }
    }
    let events = match events {
        Some(p) => p,
        None => {
            let path = std::env::temp_dir().join(format!("clientele-clv-job-{customers}.parquet"));
            if !path.exists() {
                let started = Instant::now();
                let cfg = clientele::synth::GenerateParams::default()
                    .customers(customers)
                    .seed(42)
                    .validate()?;
                let batches = Parallelism::threads(2)?.install(|| clientele::synth::generate(&cfg))?;
                clientele::io::write_batches(&clientele::synth::event_schema(), &batches, &path)?;
                eprintln!(
                    "generated {customers} customers in {:.1} s -> {}",
                    started.elapsed().as_secs_f64(),
                    path.display()
                );
            }
            path
        }
    };
    let (out, models) = (
        events.with_extension("clv.parquet"),
        events.with_extension("models.json"),
    );
    let started = Instant::now();
    let valued = clv_job(&events, &out, &models)?;
    let r = &valued.report;
    println!(
        "{} customers valued in {:.2} s -> {} (models: {}, churn risk from {})",
        r.customers,
        started.elapsed().as_secs_f64(),
        out.display(),
        valued.models.kinds(),
        r.risk_model
    );
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}
