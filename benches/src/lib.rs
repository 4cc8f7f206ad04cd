//! Shared set-up for the benchmarks: deterministic data sets generated once per machine.
//!
//! Data files go to `<temp dir>/clientele-bench/` and are reused while they exist (the
//! generator is deterministic, so a reused file is the same file).

use std::path::PathBuf;

use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::store::EventStore;

/// The folder for generated benchmark data.
pub fn data_dir() -> PathBuf {
    std::env::temp_dir().join("clientele-bench")
}

/// The generated event file of `customers` customers (seed 42) with extension `ext`
/// (`parquet` or `csv`), generated if missing.
///
/// # Errors
/// When the file cannot be generated or written.
pub fn events_file(customers: u64, ext: &str) -> clientele::Result<PathBuf> {
    let dir = data_dir();
    std::fs::create_dir_all(&dir).map_err(|e| clientele::Error::io(&dir, e))?;
    let path = dir.join(format!("events-{customers}.{ext}"));
    if !path.exists() {
        let cfg = clientele::synth::GenerateParams::default()
            .customers(customers)
            .seed(42)
            .validate()?;
        let batches = clientele::synth::generate(&cfg)?;
        // Written under another name first, so an interrupted run leaves no half file behind.
        let partial = dir.join(format!("partial-events-{customers}.{ext}"));
        clientele::io::write_batches(&clientele::synth::event_schema(), &batches, &partial)?;
        std::fs::rename(&partial, &path).map_err(|e| clientele::Error::io(&path, e))?;
    }
    Ok(path)
}

/// The store of [`events_file`]`(customers, "parquet")`, ingested in `par`.
///
/// # Errors
/// As ingestion.
pub fn store(customers: u64, par: &Parallelism) -> clientele::Result<EventStore> {
    let path = events_file(customers, "parquet")?;
    let mut ing = Ingestor::new(&IngestOptions::default())?.with_parallelism(par.clone());
    ing.read_path(&path, &CsvOptions::default())?;
    Ok(ing.finish()?.0)
}

/// The saved (IPC) store of `customers` customers, saved if missing.
///
/// # Errors
/// As ingestion and saving.
pub fn saved_store(customers: u64, par: &Parallelism) -> clientele::Result<PathBuf> {
    let dir = data_dir().join(format!("store-{customers}"));
    if !dir.join("manifest.json").exists() {
        store(customers, par)?.save(&dir, clientele::store::StoreFormat::Ipc)?;
    }
    Ok(dir)
}
