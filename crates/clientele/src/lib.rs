//! Clientele: an embedded analytical CRM engine.
//!
//! Clientele turns a log of customer events (purchases, refunds, visits, e-mail opens,
//! campaign responses, service calls, complaints, surveys) into per-customer facts. The flow
//! is always the same:
//!
//! 1. **Ingest** ([`ingest::Ingestor`]): read CSV, Parquet, Arrow IPC or in-memory
//!    [`RecordBatch`](arrow_array::RecordBatch)es; every row is accepted or rejected with its
//!    row, column and reason ([`ingest::IngestReport`]).
//! 2. **Store** ([`store::EventStore`]): the accepted events in Arrow columns, ordered by
//!    customer and time, saved once and opened many times.
//! 3. **Kernels** ([`kernels::summary::summarize`], ...): parallel passes over each customer's
//!    contiguous events, returning Arrow record batches ([`io`] writes them out).
//! 4. **Models** ([`models`]): lifetime-value models fitted on the customer summary.
//! 5. **Jobs** ([`pipeline`]): one call per job (summary, fit, predict, CLV) that composes the
//!    layers above; the command line and the examples are thin shells over it.
//!
//! Ground types that every layer may use and that use nothing above them: [`error`],
//! [`reject`], [`diagnostics`], [`schema`], [`time`], [`exec`] (and the crate-internal `money`).
//!
//! Every parameter that changes a result is explicit: dates such as the calibration end,
//! periods and time units, and the thread pool ([`exec::Parallelism`]). Results do not depend
//! on input order or thread count. Per-customer aggregates are mergeable partial states
//! ([`kernels::summary::SummaryAccumulator`]), so partitions computed apart merge to the same answer.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), clientele::Error> {
//! use clientele::exec::Parallelism;
//! use clientele::ingest::{IngestOptions, Ingestor};
//! use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
//! use clientele::chrono::NaiveDate;
//!
//! let csv = "customer_id,event_time,event_type,amount\n\
//!            17,2024-01-01,purchase,30.00\n\
//!            17,2024-01-15,purchase,12.50\n\
//!            17,2024-01-16,web_visit,\n\
//!            42,2024-01-20,purchase,-5\n";  // a negative purchase: rejected
//! let mut ingestor = Ingestor::new(&IngestOptions::default())?;
//! ingestor.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
//! let (store, report) = ingestor.finish()?;
//! assert_eq!((report.rows_accepted, report.rows_rejected), (3, 1));
//! assert_eq!(report.rejections[0].row, 4);
//!
//! let params = SummaryParams::new(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap())
//!     .period(Period::Day)
//!     .time_unit(TimeUnit::Day);
//! let summary = summarize(&store, &params.validate()?, &Parallelism::current())?;
//! println!("{}", clientele::io::format_table(&summary, 10));
//! assert_eq!(summary.num_rows(), 1); // customer 17: frequency 1, recency 14, T 30
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod churn;
pub mod diagnostics;
pub mod error;
pub mod exec;
pub mod ingest;
pub mod io;
pub mod kernels;
pub mod models;
pub(crate) mod money;
pub mod pipeline;
pub mod reject;
pub mod report;
pub mod schema;
pub mod store;
pub mod synth;
pub mod time;
pub mod triggers;
pub mod views;

pub use error::{Error, Result, decoding_under_guard};

/// Re-exported so that users name the same `chrono` and `arrow` versions the API uses.
pub use {arrow_array, arrow_schema, chrono};
