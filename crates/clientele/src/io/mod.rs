//! Writing result tables (Parquet, CSV, JSON, Arrow IPC, and plain-text tables for terminals)
//! and reading them back.

mod atomic;
mod json;
pub(crate) mod page_headers;
mod read;
mod table;
mod write;

pub(crate) use atomic::sync_parent;
pub use atomic::{check_outputs, write_atomically, write_bytes_atomically};
pub use json::JsonRowWriter;
pub use read::read_table;
pub use table::format_table;
pub use write::{OutputFormat, json_rows, write_batch, write_batches, write_batches_in};
