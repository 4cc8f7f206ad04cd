//! Clientele: an embedded analytical CRM engine.
#![deny(missing_docs)]

pub mod error;
pub mod exec;
pub mod ingest;
pub mod io;
pub mod schema;
pub mod store;
pub mod summary;
pub mod synth;
pub mod time;

pub use error::{Error, Result};

/// Re-exported so that users name the same `chrono` and `arrow` versions the API uses.
pub use {arrow_array, arrow_schema, chrono};
