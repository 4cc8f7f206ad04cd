//! `clientele ingest`: files into a saved store, with a JSON report.

use std::path::PathBuf;

use clap::Args;
use clientele::exec::Parallelism;
use clientele::store::{EventStore, StoreFormat};

use crate::input::{MappingArgs, ingest_files};

/// Arguments of `clientele ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Event file(s): .csv/.tsv/.txt, .parquet, .arrow (IPC file) or .arrows (IPC stream).
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    input: Vec<PathBuf>,
    /// Directory to save the store in.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Write the ingest report (rows_read, rows_accepted, rows_rejected, rejected_by_reason, rejections) here.
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,
    /// Stop at the first bad row instead of rejecting it.
    #[arg(long)]
    strict: bool,
    /// Add the input to the existing store in --store instead of replacing it.
    #[arg(long)]
    append: bool,
    /// Fail (exit non-zero, store not saved) when more than this share of the rows is
    /// rejected, in [0, 1]. Whatever the value, an input whose every row is rejected fails.
    #[arg(long, value_name = "SHARE", default_value_t = 1.0)]
    max_reject_share: f64,
    /// Storage format of the store: ipc (compressed column files; jobs read only their
    /// columns, a lookup one customer's blocks) or parquet (one events file any Parquet tool
    /// reads).
    #[arg(long, value_name = "FORMAT", default_value = "ipc", value_parser = ["ipc", "parquet"])]
    store_format: String,
    #[command(flatten)]
    mapping: MappingArgs,
}

pub fn run(a: &IngestArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    // the limit is checked before any work
    clientele::ingest::IngestReport::default().check_reject_share(a.max_reject_share)?;
    let base = if a.append {
        Some(EventStore::open(&a.store, par)?)
    } else {
        None
    };
    let (store, report, mut phases) = ingest_files(&a.input, &a.mapping, a.strict, par, base.as_ref(), None)?;
    let format = if a.store_format == "parquet" {
        StoreFormat::Parquet
    } else {
        StoreFormat::Ipc
    };
    if let Some(path) = &a.report {
        let text = serde_json::to_string_pretty(&report)?;
        clientele::io::write_bytes_atomically(path, (text + "\n").as_bytes())?;
    }
    println!(
        "rows read {}, accepted {}, rejected {}; {} customers, {} events ({:.2} s)",
        report.rows_read,
        report.rows_accepted,
        report.rows_rejected,
        store.num_customers(),
        store.num_events(),
        started.elapsed().as_secs_f64()
    );
    if let Some(w) = report.key_typing.as_ref().and_then(|t| t.warning()) {
        eprintln!("warning: {w}");
    }
    for (reason, n) in &report.rejected_by_reason {
        println!("  rejected {n:>10}  {}  ({reason})", reason.as_str());
    }
    for r in report.rejections.iter().take(5) {
        println!(
            "  e.g. {} row {} column `{}`: {}{}",
            r.source,
            r.row,
            r.column,
            r.reason,
            r.value.as_ref().map(|v| format!(" ({v:?})")).unwrap_or_default()
        );
    }
    // Nothing is saved from an input that is mostly (or wholly) rejected.
    report.check_reject_share(a.max_reject_share)?;
    let saving = std::time::Instant::now();
    store.save_in(&a.store, format, par)?;
    phases.push(("save", saving.elapsed()));
    println!(
        "store {} saved ({:.2} s in all)",
        a.store.display(),
        started.elapsed().as_secs_f64()
    );
    println!("  phases: {}", crate::input::format_phases(&phases));
    Ok(())
}
