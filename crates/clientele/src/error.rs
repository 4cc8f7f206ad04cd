//! The crate's error type.
//!
//! Every failure that user data or the file system can cause is a variant of [`Error`] with
//! structured fields (the file, the column, the row), so that callers can match on it and a
//! command-line tool can print a precise message. Library code never panics on user data.

use std::path::PathBuf;

use crate::reject::RejectReason;

/// A result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in Clientele.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be decoded (truncated, corrupt or not of the expected format).
    #[error("{source_name}: cannot read {format} data: {message}")]
    Format {
        /// The file or stream being read.
        source_name: String,
        /// The expected format (`parquet`, `arrow-ipc`, `csv`, ...).
        format: &'static str,
        /// What the decoder said.
        message: String,
    },
    /// A required column is not in the input.
    #[error("{source_name}: required column `{column}` is missing (columns present: {present})")]
    MissingColumn {
        /// The file or stream being read.
        source_name: String,
        /// The (mapped) column name that was looked for.
        column: String,
        /// The columns that are present, comma separated.
        present: String,
    },
    /// A column has a data type that cannot be used for its role.
    #[error("{source_name}: column `{column}` has type {found}, expected {expected}")]
    ColumnType {
        /// The file or stream being read.
        source_name: String,
        /// The column name.
        column: String,
        /// The type found.
        found: String,
        /// What the role accepts.
        expected: &'static str,
    },
    /// In strict mode, the first rejected row stops ingestion.
    #[error("{source_name}: row {row}, column `{column}`: {reason}{}", value.as_ref().map(|v| format!(" (value {v:?})")).unwrap_or_default())]
    RejectedRow {
        /// The file or stream being read.
        source_name: String,
        /// 1-based data row number within that input (a header line is not counted).
        row: u64,
        /// The column at fault.
        column: String,
        /// Why the row was rejected.
        reason: RejectReason,
        /// The offending value as text, when there is one.
        value: Option<String>,
    },
    /// A parameter is invalid (named by `field`).
    #[error("invalid parameter `{field}`: {message}")]
    InvalidParameter {
        /// The parameter's name.
        field: &'static str,
        /// Why it is invalid.
        message: String,
    },
    /// A segment rule is invalid (rules are numbered from 1).
    #[error("segment rule {rule} ({segment:?}), field `{field}`: {message}")]
    InvalidSegmentRule {
        /// The rule's 1-based position in the map.
        rule: usize,
        /// The rule's segment name.
        segment: String,
        /// The field at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A saved store is inconsistent (its manifest and its columns disagree, or its order is broken).
    #[error("store {path}: {message}")]
    CorruptStore {
        /// The store directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An append's input file has the bytes of a file the store already holds: nothing was
    /// appended.
    #[error(
        "store {}: {source_name} has the same bytes as {earlier}, already in the store ({rows} rows accepted from it); nothing appended",
        store.display()
    )]
    AlreadyIngested {
        /// The store directory.
        store: PathBuf,
        /// The input file refused.
        source_name: String,
        /// The file already ingested, and where (the base save or a segment).
        earlier: String,
        /// Rows accepted from the earlier file.
        rows: u64,
    },
    /// An ingest rejected more of its rows than allowed (every row, or a share above the
    /// caller's limit).
    #[error(
        "{rejected} of {read} rows rejected ({share:.4} of them), more than the {max_share} allowed; see the ingest report"
    )]
    TooManyRejections {
        /// Rows rejected.
        rejected: u64,
        /// Rows read.
        read: u64,
        /// `rejected / read`.
        share: f64,
        /// The limit that was exceeded.
        max_share: f64,
    },
    /// The store holds more customers or events than its index type allows.
    #[error("capacity exceeded: {message}")]
    Capacity {
        /// What overflowed.
        message: String,
    },
    /// An error from the Arrow library on data Clientele built itself.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// An error from the Parquet library.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A JSON document (report, manifest) could not be encoded or decoded.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A trigger rule is invalid (named by `rule`: its name, or `#n` for an unnamed one).
    #[error("trigger rule {rule:?}: {message}")]
    InvalidTrigger {
        /// The rule's name.
        rule: String,
        /// What is wrong.
        message: String,
    },
    /// A TOML document (a rule file) could not be decoded.
    #[error("toml: {message}")]
    Toml {
        /// The parser's message, with the line and column of the fault.
        message: String,
    },
    /// A thread pool could not be built.
    #[error("thread pool: {0}")]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
    /// A row of model input (a customer summary) is invalid for the model.
    #[error("model input row {row}, column `{column}`: {reason} (value {value})")]
    InvalidModelData {
        /// The column at fault (`frequency`, `recency`, `T`, `monetary_value`, `weight`, ...).
        column: &'static str,
        /// The 0-based row in the input slices or batch.
        row: usize,
        /// The offending value.
        value: f64,
        /// Why the value is invalid.
        reason: &'static str,
    },
    /// A numerical routine (a series, a quadrature) did not converge within its iteration cap.
    #[error("{routine}: no convergence after {iterations} iterations ({message})")]
    NoConvergence {
        /// The routine, e.g. `hyp2f1`.
        routine: &'static str,
        /// Iterations done.
        iterations: usize,
        /// Details (the arguments).
        message: String,
    },
    /// A model fit did not reach a maximum of the likelihood; the diagnostics say how far it got.
    #[error("{model} fit failed: {diagnostics}")]
    FitFailed {
        /// The model (`bgnbd`, `pareto_nbd`, ...).
        model: &'static str,
        /// Where the optimizer stopped.
        diagnostics: Box<crate::diagnostics::FitDiagnostics>,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Format`] for a Parquet source named `source_name`.
    pub(crate) fn parquet(source_name: &str, message: impl std::fmt::Display) -> Self {
        Error::Format {
            source_name: source_name.to_string(),
            format: "parquet",
            message: message.to_string(),
        }
    }

    /// An [`Error::InvalidParameter`].
    pub fn param(field: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            field,
            message: message.into(),
        }
    }
}

thread_local! {
    /// How many [`guard_decode`] calls are running on this thread.
    static GUARDED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Whether this thread is decoding user bytes under the panic guard, whose panics become
/// [`Error::Format`]: a panic hook can stay silent for them (the error names the file).
pub fn decoding_under_guard() -> bool {
    GUARDED.with(|g| g.get() > 0)
}

/// Runs `f`, turning a panic inside a dependency's decoder into an [`Error::Format`].
///
/// Arrow's IPC reader and the Parquet decoder assert on some malformed inputs instead of
/// returning errors; a damaged file must never bring down the caller, so every decode of
/// untrusted bytes runs through this guard. (The default panic hook still prints the panic
/// message to stderr; Clientele does not replace the process-wide hook, but a program's hook
/// can stay silent while [`decoding_under_guard`] is true, as the CLI's does.)
pub(crate) fn guard_decode<T>(source_name: &str, format: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    GUARDED.with(|g| g.set(g.get() + 1));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get().saturating_sub(1)));
    match outcome {
        Ok(r) => r,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the decoder panicked".into());
            Err(Error::Format {
                source_name: source_name.to_string(),
                format,
                message: format!("malformed data ({message})"),
            })
        }
    }
}
