//! `clientele ingest`: files into a saved store, with a JSON report.

use std::path::PathBuf;

use clap::Args;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestReport, KeyType};
use clientele::store::{EventStore, SavedStore, SourceFile, StoreFormat};

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
    /// Add the input to the existing store in --store instead of replacing it. The store
    /// (IPC or Parquet format) gets a segment holding only the new events (the saved files
    /// are not rewritten; opening merges it in; `clientele compact` folds segments into the
    /// base); an older store (the version 1 IPC layout, or one saved before manifests carried
    /// checksums), or one given another --store-format, is rebuilt. An input file whose bytes the store already holds is
    /// refused (exit non-zero, nothing appended).
    #[arg(long)]
    append: bool,
    /// Fail (exit non-zero, store not saved) when more than this share of the rows is
    /// rejected, in [0, 1]. Whatever the value, an input whose every row is rejected fails.
    #[arg(long, value_name = "SHARE", default_value_t = 1.0)]
    max_reject_share: f64,
    /// Storage format of the store: ipc (compressed column files; jobs read only their
    /// columns, a lookup one customer's blocks; the default for a new store) or parquet (one
    /// events file any Parquet tool reads). With --append: left out, the store keeps its own
    /// format; given and different from it, the store is rebuilt in this format.
    #[arg(long, value_name = "FORMAT", value_parser = ["ipc", "parquet"])]
    store_format: Option<String>,
    #[command(flatten)]
    mapping: MappingArgs,
}

pub fn run(a: &IngestArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    // the limit is checked before any work
    clientele::ingest::IngestReport::default().check_reject_share(a.max_reject_share)?;
    let asked = a.store_format.as_deref().map(|f| {
        if f == "parquet" {
            StoreFormat::Parquet
        } else {
            StoreFormat::Ipc
        }
    });
    let saved = if a.append {
        Some(EventStore::inspect_saved(&a.store)?)
    } else {
        None
    };
    // A segment, unless the store cannot take one or another format is asked for.
    if let Some(info) = saved
        .as_ref()
        .filter(|i| i.appendable && asked.is_none_or(|f| f == i.storage))
    {
        return append(a, par, info, started);
    }
    let format = asked.unwrap_or(StoreFormat::Ipc);
    // Input files are recognised by their bytes: an append refuses a file the store holds.
    let mut sources = fingerprints(&a.input)?;
    if let Some(info) = &saved {
        info.check_new(&a.store, &sources)?;
    }
    let base = if a.append {
        Some(EventStore::open(&a.store, par)?)
    } else {
        None
    };
    let (store, report, mut phases) = ingest_files(&a.input, &a.mapping, a.strict, par, base.as_ref(), None)?;
    print_report(a, &report, None)?;
    print_counts(&report, &store, started);
    // Nothing is saved from an input that is mostly (or wholly) rejected.
    report.check_reject_share(a.max_reject_share)?;
    count_rows(&mut sources, &report);
    if let Some(info) = &saved {
        // a rebuilt store keeps the input files it was made from
        let mut all: Vec<SourceFile> = info.all_sources().into_iter().map(|(_, s)| s.clone()).collect();
        all.append(&mut sources);
        sources = all;
    }
    let saving = std::time::Instant::now();
    par.install(|| store.save_sourced(&a.store, format, &sources))?;
    phases.push(("save", saving.elapsed()));
    println!(
        "store {} saved ({:.2} s in all)",
        a.store.display(),
        started.elapsed().as_secs_f64()
    );
    println!("  phases: {}", crate::input::format_phases(&phases));
    Ok(())
}

/// `ingest --append` to a store that takes segments: the new events alone become one.
fn append(
    a: &IngestArgs,
    par: &Parallelism,
    info: &SavedStore,
    started: std::time::Instant,
) -> Result<(), Box<dyn std::error::Error>> {
    let hashing = std::time::Instant::now();
    let mut sources = fingerprints(&a.input)?;
    info.check_new(&a.store, &sources)?;
    let hashed = hashing.elapsed();
    // The new events are keyed as the store is (unless the flags say otherwise).
    let mut mapping = a.mapping.clone();
    if mapping.key_type == "auto" {
        match info.key_type {
            KeyType::Int => mapping.key_type = "int".into(),
            KeyType::String => mapping.key_type = "string".into(),
            KeyType::Auto => {}
        }
    }
    let (store, report, mut phases) = ingest_files(&a.input, &mapping, a.strict, par, None, None)?;
    phases.insert(0, ("fingerprint inputs", hashed));
    print_counts(&report, &store, started);
    // The report is written whatever happens next (with the append's outcome once done).
    print_report(a, &report, None)?;
    report.check_reject_share(a.max_reject_share)?;
    count_rows(&mut sources, &report);
    let appending = std::time::Instant::now();
    let out = store.append_saved(&a.store, &sources, par)?;
    phases.push(("save segment", appending.elapsed()));
    print_report(a, &report, Some(&out))?;
    match &out.segment {
        Some(name) => println!(
            "appended {} events of {} customers ({} new) as segment {name} of {}; the store holds {} customers, {} events, {} segment(s) ({:.2} s in all)",
            out.events,
            out.customers,
            out.new_customers,
            a.store.display(),
            out.store_customers,
            out.store_events,
            out.store_segments,
            started.elapsed().as_secs_f64()
        ),
        None => println!("nothing to append; {} unchanged", a.store.display()),
    }
    println!("  phases: {}", crate::input::format_phases(&phases));
    Ok(())
}

/// The inputs' fingerprints (rows filled in after the ingest).
fn fingerprints(inputs: &[std::path::PathBuf]) -> clientele::Result<Vec<SourceFile>> {
    inputs.iter().map(|p| SourceFile::of(p, 0)).collect()
}

/// Fills each source's accepted rows from the ingest report.
fn count_rows(sources: &mut [SourceFile], report: &IngestReport) {
    for s in sources {
        s.rows_accepted = report
            .sources
            .iter()
            .filter(|c| c.source == s.name)
            .map(|c| c.rows_accepted)
            .sum();
    }
}

/// Writes `--report` (the ingest report; after an append, with an `append` object).
fn print_report(
    a: &IngestArgs,
    report: &IngestReport,
    append: Option<&clientele::store::AppendOutcome>,
) -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = &a.report else {
        return Ok(());
    };
    let mut value = serde_json::to_value(report)?;
    if let (Some(out), Some(obj)) = (append, value.as_object_mut()) {
        obj.insert("append".into(), serde_json::to_value(out)?);
    }
    let text = serde_json::to_string_pretty(&value)?;
    clientele::io::write_bytes_atomically(path, (text + "\n").as_bytes())?;
    Ok(())
}

/// Where the rows went, and the rejections (a few examples).
fn print_counts(report: &IngestReport, store: &EventStore, started: std::time::Instant) {
    println!(
        "rows read {}, accepted {}, rejected {}; {} customers, {} events ({:.2} s)",
        report.rows_read,
        report.rows_accepted,
        report.rows_rejected,
        store.num_customers(),
        store.num_events(),
        started.elapsed().as_secs_f64()
    );
    print_rejections(report);
}

fn print_rejections(report: &IngestReport) {
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
}

/// Arguments of `clientele compact`.
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// The store directory whose appended segments are folded into a new base.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
}

pub fn compact(a: &CompactArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let folded = EventStore::compact_saved(&a.store, par)?;
    if folded == 0 {
        println!("{} has no appended segments; nothing to do", a.store.display());
    } else {
        let info = EventStore::inspect_saved(&a.store)?;
        println!(
            "folded {folded} segment(s) into {}: {} customers, {} events ({:.2} s)",
            a.store.display(),
            info.num_customers,
            info.num_events,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
