//! A nightly batch job that links `clientele` as a user would.
//!
//! ```text
//! batch-job --events events.parquet --calibration-end 2025-06-30 --out summaries.parquet [--store DIR]
//! ```
//!
//! It reads customer events from Parquet, writes the rejected rows (if any) to
//! `<out>.rejections.json`, builds the per-customer summary with weekly periods, and writes it
//! to Parquet. With `--store`, it also keeps the validated store so that later jobs skip
//! ingestion. Without arguments it runs on a small generated data set (as CI does).

use std::path::PathBuf;

use clientele::chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::kernels::summary::{Period, SummaryParams, summarize};
use clientele::store::StoreFormat;

struct Args {
    events: Option<PathBuf>,
    calibration_end: NaiveDate,
    out: PathBuf,
    store: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        events: None,
        calibration_end: NaiveDate::from_ymd_opt(2025, 6, 30).ok_or("bad default date")?,
        out: std::env::temp_dir().join("clientele-batch-job-summaries.parquet"),
        store: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--events" => args.events = Some(value.into()),
            "--calibration-end" => {
                args.calibration_end = value.parse().map_err(|e| format!("--calibration-end: {e}"))?
            }
            "--out" => args.out = value.into(),
            "--store" => args.store = Some(value.into()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    // Our own pool: the job decides how many threads the engine may use.
    let par = Parallelism::threads(2)?;

    let events = match &args.events {
        Some(p) => p.clone(),
        None => {
            // No input given: generate a small, deterministic event log to work on.
            let path = std::env::temp_dir().join("clientele-batch-job-events.parquet");
            let cfg = clientele::synth::GenerateParams::default()
                .customers(2_000)
                .seed(1)
                .validate()?;
            let batches = par.install(|| clientele::synth::generate(&cfg))?;
            clientele::io::write_batches(&clientele::synth::event_schema(), &batches, &path)?;
            path
        }
    };

    let mut ingestor = Ingestor::new(&IngestOptions::default())?.with_parallelism(par.clone());
    ingestor.read_path(&events, &CsvOptions::default())?;
    let (store, report) = ingestor.finish()?;
    assert!(report.reconciles(), "every row is accepted or rejected");
    if report.rows_rejected > 0 {
        let path = args.out.with_extension("rejections.json");
        std::fs::write(&path, serde_json::to_string_pretty(&report.rejections)?)?;
        eprintln!("{} rows rejected, listed in {}", report.rows_rejected, path.display());
    }
    if let Some(dir) = &args.store {
        store.save(dir, StoreFormat::Ipc)?;
    }

    let params = SummaryParams::new(args.calibration_end)
        .period(Period::Week)
        .validate()?;
    let summary = summarize(&store, &params, &par)?;
    clientele::io::write_batch(&summary, &args.out)?;
    println!(
        "{} events from {} -> {} customer summaries in {}",
        report.rows_accepted,
        events.display(),
        summary.num_rows(),
        args.out.display()
    );
    Ok(())
}
