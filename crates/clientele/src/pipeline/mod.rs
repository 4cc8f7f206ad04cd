//! Jobs: one library call per thing the command line does, on Arrow in and Arrow out.
//!
//! This is the top layer (the "faces"): it composes ingest, the store, the kernels and the
//! models into whole jobs, and nothing below imports it. The command line, the examples, the
//! report and the bindings call these functions rather than wiring the layers themselves, so
//! that every formula is found in the library and every face computes the same numbers.
//!
//! | job | function | input | output |
//! |---|---|---|---|
//! | per-customer summary | [`customer_summary`] | [`EventSource`] (store, files, batches) | [`CustomerSummary`] + ingest report |
//! | RFM scores | [`customer_rfm`] | [`EventSource`], [`RfmConfig`](crate::kernels::rfm::RfmConfig) | [`RfmRun`] + ingest report |
//! | fit one model | [`fit`] | [`CustomerSummary`], [`ModelKind`](crate::models::ModelKind) | [`ModelFit`] |
//! | predict with saved models | [`predict`] | [`CustomerSummary`], [`SavedModels`](crate::models::SavedModels) | `RecordBatch` |
//! | observed tracking curve | [`actual_tracking`] | [`EventSource`], summary config | `RecordBatch` |
//! | check a model | [`check_model`] | [`CustomerSummary`], [`SavedModels`](crate::models::SavedModels) | [`CheckTables`] |
//! | churn | [`churn_train`] / [`churn_score`] / [`churn_evaluate`] | `EventStore`, cutoff, horizon | model, scores, evaluation |
//! | lifetime value | [`clv`] / [`score_clv`] | [`CustomerSummary`], [`ClvConfig`] | [`Clv`]: table, models, report |
//! | value tiers | [`value_segments`] | [`EventSource`], RFM config, [`Tiers`](crate::kernels::rfm::Tiers) | [`TierRun`]: per customer + per tier |
//! | behavioural clusters | [`cluster_segments`] | [`EventSource`], RFM config, features, k-means config | [`ClusterRun`]: labels + fit |
//! | segment report | [`report_segments`] | [`EventSource`], RFM config, [`SegmentBy`] | [`SegmentReportRun`] |
//! | contractual retention data | [`retention_data`] | a table with `churn_period` | [`SbgData`](crate::models::SbgData) |
//! | triggers | [`fire_triggers`] | rules, any customer table | fired rules |
//! | CRM views | [`cohort_view`], [`channel_view`], [`acquisition_view`], [`attribution_view`], [`satisfaction_view`], [`campaign_view`], [`cross_sell_view`], [`customer360_view`], [`customer_card`] | [`EventSource`], the view's config | [`ViewRun`] |
//!
//! # Example: the CLV job
//! ```
//! # fn main() -> Result<(), clientele::Error> {
//! use clientele::chrono::NaiveDate;
//! use clientele::exec::Parallelism;
//! use clientele::kernels::summary::{SummaryParams, TimeUnit};
//! use clientele::pipeline::{ClvParams, Discount, EventSource, clv, customer_summary};
//! use clientele::synth::{GenerateParams, generate};
//!
//! let par = Parallelism::threads(2)?;
//! let events = generate(&GenerateParams::default().customers(1_000).validate()?)?;
//! let end = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default();
//! let prep = SummaryParams::new(end).time_unit(TimeUnit::Week).validate()?;
//! let summary = customer_summary(&EventSource::batches("events", events), &prep, &par)?.summary;
//! let valued = clv(&summary, &ClvParams::new(Discount::Monthly { rate: 0.01 }).validate()?, &par)?;
//! let json = valued.models.to_json()?; // fit once, score many: see `score_clv`
//! assert!(json.contains("\"window\""));
//! # Ok(()) }
//! ```

mod check;
mod churn;
mod clv;
mod covariates;
mod fit;
mod retention;
mod rfm;
mod segments;
mod source;
mod summary;
mod triggers;
mod views;

pub use check::{CheckParams, CheckTables, actual_tracking, check_model};
pub use churn::{ChurnTraining, btyd_features, churn_dataset, churn_evaluate, churn_score, churn_train};
pub use clv::{Clv, ClvConfig, ClvParams, ClvReport, Discount, clv, score_clv, top_by};
pub use covariates::{
    CovariateColumns, covariate_data, fit_with_covariates, predict_with_covariates, takes_covariates,
};
pub use fit::{ModelFit, expected_purchases_of, fit, p_alive_of, predict, predict_with_intervals};
pub use retention::{CHURN_PERIOD, retention_data};
pub use rfm::{RFM_ROLES, RfmRun, customer_rfm};
pub use segments::{
    CLUSTER_FEATURES, ClusterRun, SEGMENT_REPORT_ROLES, SegmentBy, SegmentReportRun, TierRun, cluster_segments,
    report_segments, value_segments,
};
pub use source::{EventSource, Events, FileSource, load_events};
pub use summary::{CustomerSummary, SUMMARY_ROLES, SummaryRun, customer_summary, customer_summary_all};
pub use triggers::{TriggerRun, fire_triggers};
pub use views::{
    ACQUISITION_ROLES, ATTRIBUTION_ROLES, CAMPAIGN_ROLES, CHANNEL_ROLES, COHORT_ROLES, CROSS_SELL_ROLES,
    CUSTOMER360_ROLES, SATISFACTION_ROLES, ViewRun, acquisition_view, attribution_view, campaign_view, channel_view,
    cohort_view, cross_sell_view, customer_card, customer360_view, satisfaction_view,
};
