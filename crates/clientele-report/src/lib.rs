//! Self-contained HTML reports over Clientele's jobs.
//!
//! [`html::build`] runs the engine's jobs (RFM segments, value tiers, lifetime value with
//! its model checks, cohorts, channels, attribution, campaigns, satisfaction, churn) over one
//! event store and turns their outputs into sections of charts, each with a one-line reading;
//! [`html::Report::write_html`] writes one HTML file with the charts as inline SVG (no script,
//! no network at view time), and [`html::Report::write_data`] the numbers behind every chart.
//!
//! Charts are specifications ([`chart::Chart`]) drawn offline by plotters' SVG backend; the
//! data marks of each chart sit in their own SVG group beside a JSON description of the drawn
//! values, so a browser test can count the marks and compare them to the data.
//!
//! The plotting dependency lives here, not in the engine: services and the command line link
//! this crate when they serve or write reports.

pub mod chart;
mod columns;
mod error;
pub mod html;
mod page;
mod params;
mod sections;
mod table;

pub use error::{Error, Result};
