//! Where a job's events come from: a store already in memory or saved, or event files read
//! here.

use std::ops::Deref;
use std::path::PathBuf;

use arrow_array::RecordBatch;

use crate::error::Result;
use crate::exec::Parallelism;
use crate::ingest::{CsvOptions, IngestOptions, IngestReport, Ingestor, ProgressFn};
use crate::schema::Role;
use crate::store::EventStore;

/// Event files and how to read them.
#[derive(Clone)]
pub struct FileSource {
    /// The files: `.csv`/`.tsv`/`.txt`, `.parquet`, `.arrow` (IPC file) or `.arrows` (IPC stream).
    pub paths: Vec<PathBuf>,
    /// Column mapping, purchase type, key type and the other ingest settings.
    pub ingest: IngestOptions,
    /// Delimiter, header and quoting of text files.
    pub csv: CsvOptions,
    /// Called as the files are read (a progress bar); `None` for silence.
    pub progress: Option<ProgressFn>,
}

impl FileSource {
    /// Files read with default ingest and CSV settings.
    pub fn new(paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        FileSource {
            paths: paths.into_iter().map(Into::into).collect(),
            ingest: IngestOptions::default(),
            csv: CsvOptions::default(),
            progress: None,
        }
    }

    /// The ingest settings (column mapping, purchase type, ...).
    pub fn ingest(mut self, options: IngestOptions) -> Self {
        self.ingest = options;
        self
    }

    /// The settings of text files.
    pub fn csv(mut self, options: CsvOptions) -> Self {
        self.csv = options;
        self
    }

    /// A progress callback.
    pub fn progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }

    /// The single Parquet file of this source, if that is what it is.
    pub(crate) fn single_parquet(&self) -> Option<&PathBuf> {
        match self.paths.as_slice() {
            [p] if p
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq")) =>
            {
                Some(p)
            }
            _ => None,
        }
    }
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("paths", &self.paths)
            .field("ingest", &self.ingest)
            .field("csv", &self.csv)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// The events of a job.
#[derive(Debug, Clone)]
pub enum EventSource<'a> {
    /// A store opened or built before (nothing is re-read).
    Store(&'a EventStore),
    /// A store saved in this directory ([`EventStore::save`]): the job opens it, reading only
    /// the columns it needs ([`EventStore::open_columns`]; a one-customer lookup reads only
    /// that customer's rows). Nothing is rejected, so the job's ingest report is `None`.
    Saved(PathBuf),
    /// Event files, read and validated by the job (rejected rows are counted in its report).
    Files(FileSource),
    /// Record batches in memory (any schema the ingest accepts), validated by the job.
    Batches {
        /// The source's name in reports and errors.
        name: String,
        /// The batches.
        batches: Vec<RecordBatch>,
        /// Column mapping and the other ingest settings.
        ingest: IngestOptions,
    },
}

impl EventSource<'_> {
    /// In-memory batches with default ingest settings (canonical column names).
    pub fn batches(name: impl Into<String>, batches: Vec<RecordBatch>) -> Self {
        EventSource::Batches {
            name: name.into(),
            batches,
            ingest: IngestOptions::default(),
        }
    }
}

impl<'a> From<&'a EventStore> for EventSource<'a> {
    fn from(s: &'a EventStore) -> Self {
        EventSource::Store(s)
    }
}

impl From<FileSource> for EventSource<'_> {
    fn from(f: FileSource) -> Self {
        EventSource::Files(f)
    }
}

/// A store borrowed from the caller or built from files by the job.
#[derive(Debug)]
pub enum Events<'a> {
    /// The caller's store.
    Borrowed(&'a EventStore),
    /// A store ingested from files.
    Owned(Box<EventStore>),
}

impl Deref for Events<'_> {
    type Target = EventStore;
    fn deref(&self) -> &EventStore {
        match self {
            Events::Borrowed(s) => s,
            Events::Owned(s) => s,
        }
    }
}

/// The events of `source` as a store: the caller's store, or the files ingested (loading only
/// `roles` besides the key and time; `None` for every column present). Rows the ingest rejects
/// are skipped and counted in the report (`None` for a store).
///
/// # Errors
/// The ingest's errors: unreadable files, missing required columns, bad options.
pub fn load_events<'a>(
    source: &EventSource<'a>,
    roles: Option<&[Role]>,
    par: &Parallelism,
) -> Result<(Events<'a>, Option<IngestReport>)> {
    let ingestor = |options: &IngestOptions| -> Result<Ingestor> {
        let options = match roles {
            Some(r) => options.clone().only(r),
            None => options.clone(),
        };
        Ok(Ingestor::new(&options)?.with_parallelism(par.clone()))
    };
    // every step in the caller's pool
    par.install(|| {
        let ing = match source {
            EventSource::Store(s) => return Ok((Events::Borrowed(s), None)),
            EventSource::Saved(dir) => {
                let store = EventStore::open_columns(dir, roles, par)?;
                return Ok((Events::Owned(Box::new(store)), None));
            }
            EventSource::Files(f) => {
                let mut ing = ingestor(&f.ingest)?;
                if let Some(p) = &f.progress {
                    ing = ing.with_progress(p.clone());
                }
                for path in &f.paths {
                    ing.read_path(path, &f.csv)?;
                }
                ing
            }
            EventSource::Batches { name, batches, ingest } => {
                let mut ing = ingestor(ingest)?;
                ing.read_batches(name, batches.iter().cloned().map(Ok))?;
                ing
            }
        };
        let (store, report) = ing.finish()?;
        Ok((Events::Owned(Box::new(store)), Some(report)))
    })
}
