//! Writing result tables: Parquet, CSV, JSON, Arrow IPC, and plain-text tables for terminals.

mod table;
mod write;

pub use table::format_table;
pub use write::{OutputFormat, write_batch, write_batches};
