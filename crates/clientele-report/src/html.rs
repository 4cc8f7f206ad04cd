//! The HTML report: build it from events with [`build`], write it with
//! [`Report::write_html`], and the numbers behind its charts with [`Report::write_data`].
//!
//! # Example
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use clientele::chrono::NaiveDate;
//! use clientele::exec::Parallelism;
//! use clientele::pipeline::EventSource;
//! use clientele::synth::{GenerateParams, generate};
//! use clientele_report::html::{ReportParams, build};
//!
//! let events = generate(&GenerateParams::default().customers(400).validate()?)?;
//! let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).ok_or("bad date");
//! let cfg = ReportParams::new(d(2026, 1, 1)?, d(2025, 6, 30)?).validate()?;
//! let report = build(&EventSource::batches("events", events), &cfg, &Parallelism::threads(2)?)?;
//! let html = report.to_html()?;
//! assert!(html.contains("data-section=\"segments\""));
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::pipeline::{EventSource, load_events};

use crate::chart::Rendered;
use crate::error::{Error, Result};
pub use crate::params::{ReportConfig, ReportParams};
pub use crate::sections::{Figure, SECTION_KEYS, Section};

/// What the data holds, for the page's header.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// Customers in the store.
    pub customers: usize,
    /// Events in the store.
    pub events: usize,
    /// The day of the earliest event (UTC).
    pub first_event: Option<NaiveDate>,
    /// The day of the latest event (UTC).
    pub last_event: Option<NaiveDate>,
}

/// A built report: its sections with their charts' specifications and tables.
#[derive(Debug, Clone)]
pub struct Report {
    /// The settings it was built with.
    pub params: ReportParams,
    /// What the data holds.
    pub facts: Facts,
    /// The sections in page order (see [`SECTION_KEYS`]).
    pub sections: Vec<Section>,
    /// Rows the ingest rejected (files and batches only).
    pub rows_rejected: u64,
    /// Time spent loading the events (files and batches: the ingest), in seconds.
    pub load_seconds: f64,
    /// Time spent on the jobs the sections share (RFM segments, the summary, the CLV fits).
    pub shared_seconds: f64,
}

/// The format of the data files written beside the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// Comma-separated text with a header.
    Csv,
    /// Apache Parquet.
    Parquet,
}

fn day(micros: i64) -> Option<NaiveDate> {
    chrono::DateTime::from_timestamp_micros(micros).map(|t| t.date_naive())
}

/// Builds the report over the events of `source` (a store, files or batches: files are
/// ingested once and every section reads the same store).
///
/// # Errors
/// The ingest's and the jobs' errors. A model that cannot be fitted or data that is absent
/// (no channels, no campaigns, no surveys) does not fail the report: its section says why.
pub fn build(source: &EventSource<'_>, cfg: &ReportConfig, par: &Parallelism) -> Result<Report> {
    let started = std::time::Instant::now();
    let (store, ingest) = load_events(source, None, par)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let times = store.columns().time.values();
    let facts = Facts {
        customers: store.num_customers(),
        events: store.num_events(),
        first_event: times.iter().min().and_then(|&t| day(t)),
        last_event: times.iter().max().and_then(|&t| day(t)),
    };
    let started = std::time::Instant::now();
    let ctx = crate::sections::Ctx::new(&store, cfg, par)?;
    let shared_seconds = started.elapsed().as_secs_f64();
    let sections = crate::sections::all(&ctx)?;
    Ok(Report {
        params: cfg.params().clone(),
        facts,
        sections,
        rows_rejected: ingest.map_or(0, |r| r.rows_rejected),
        load_seconds,
        shared_seconds,
    })
}

impl Report {
    /// The section with key `key`.
    pub fn section(&self, key: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.key == key)
    }

    /// Every figure, with its section's key.
    pub fn figures(&self) -> impl Iterator<Item = (&'static str, &Figure)> {
        self.sections
            .iter()
            .flat_map(|s| s.figures.iter().map(move |f| (s.key, f)))
    }

    /// Draws every chart.
    ///
    /// # Errors
    /// [`Error::Chart`] naming the chart that could not be drawn.
    pub fn render_charts(&self) -> Result<Vec<Vec<Rendered>>> {
        self.sections
            .iter()
            .map(|s| {
                s.figures
                    .iter()
                    .map(|f| {
                        f.chart.render().map_err(|source| Error::Chart {
                            chart: f.key.into(),
                            source,
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// The self-contained HTML page.
    ///
    /// # Errors
    /// [`Error::Chart`] when a chart cannot be drawn.
    pub fn to_html(&self) -> Result<String> {
        crate::page::page(self, &self.render_charts()?)
    }

    /// Writes the page to `path` atomically (a temporary file renamed into place); returns its
    /// size in bytes.
    ///
    /// # Errors
    /// [`Error::Chart`]; [`Error::Engine`] when the file cannot be written.
    pub fn write_html(&self, path: impl AsRef<Path>) -> Result<u64> {
        let html = self.to_html()?;
        clientele::io::write_bytes_atomically(path.as_ref(), html.as_bytes())?;
        Ok(html.len() as u64)
    }

    /// Writes the table behind every chart to `dir` (created when missing) as
    /// `<chart key>.csv` or `.parquet`; returns the paths written.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder cannot be created; [`Error::Engine`] when a file cannot be
    /// written.
    pub fn write_data(&self, dir: impl AsRef<Path>, format: DataFormat) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let ext = match format {
            DataFormat::Csv => "csv",
            DataFormat::Parquet => "parquet",
        };
        let mut written = Vec::new();
        for (_, f) in self.figures() {
            let path = dir.join(format!("{}.{ext}", f.key));
            clientele::io::write_batch(&f.table, &path)?;
            written.push(path);
        }
        Ok(written)
    }
}
