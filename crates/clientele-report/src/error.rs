//! The report's errors.

use std::path::PathBuf;

use crate::chart::ChartError;

/// Why a report could not be made or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A report parameter is out of range.
    #[error("invalid report parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// The engine failed on the data (ingest, a model, a view).
    #[error(transparent)]
    Engine(#[from] clientele::Error),
    /// A chart could not be drawn.
    #[error("chart `{chart}`: {source}")]
    Chart {
        /// The chart's key.
        chart: String,
        /// The drawing error.
        source: ChartError,
    },
    /// A table the report reads lacks a column it needs (a bug or a changed engine output).
    #[error("table `{table}` has no usable column `{column}`")]
    MissingColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// Writing the report or its data failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The report's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
