//! One module per subcommand.

pub mod churn;
pub mod demo;
pub mod generate;
pub mod ingest;
pub mod models;
pub mod report;
pub mod retention;
pub mod rfm;
pub mod segment;
pub mod simulate;
pub mod summary;
pub mod views;
