//! Checking saved purchase models against a summary: the tables a report plots.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt32Array, UInt64Array};
use arrow_schema::{Field, Schema};
use serde::{Deserialize, Serialize};

use super::source::{EventSource, load_events};
use super::summary::{CustomerSummary, SUMMARY_ROLES};
use crate::error::Result;
use crate::exec::Parallelism;
use crate::kernels::summary::{SummaryConfig, repeat_tracking};
use crate::models::check::{calibration_vs_holdout, frequency_recency_matrix, period_transactions};
use crate::models::clv::PurchaseModel;
use crate::models::holdout::cumulative_expected_purchases;
use crate::models::{Horizon, SavedModels};
use crate::schema::output::check::{
    ACTUAL_CUSTOMERS, ACTUAL_HOLDOUT, EXPECTED_CUSTOMERS, EXPECTED_HOLDOUT, REPEAT_PURCHASES,
};
use crate::schema::output::common::CUSTOMERS;
use crate::schema::output::summary::{DURATION_HOLDOUT, FREQUENCY_HOLDOUT};
use crate::schema::output::tracking::{EXPECTED_CUMULATIVE, EXPECTED_INCREMENTAL, TIME};
use crate::schema::output::{EXPECTED_PURCHASES, FREQUENCY, P_ALIVE, RECENCY, T};

/// Settings of [`check_model`], with documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckParams {
    /// Highest calibration frequency with its own holdout bucket (default 6: buckets 0..6,
    /// the last "6 or more"; lifetimes plots the first 7).
    pub holdout_max_frequency: u32,
    /// Highest repeat-purchase count with its own period-transactions row (default 7, the last
    /// "7 or more").
    pub period_max: u32,
    /// The matrix's horizon for expected purchases (default: 1 model time unit, as lifetimes).
    pub matrix_horizon: Horizon,
    /// The matrix's largest frequency (default: the summary's largest, capped at 100).
    pub matrix_max_frequency: Option<u32>,
    /// Tracking points in model time units after the cohort's first purchase, one per unit up
    /// to the summary's largest T plus the holdout's longest duration (default: that).
    pub tracking_until: Option<f64>,
}

impl Default for CheckParams {
    fn default() -> Self {
        CheckParams {
            holdout_max_frequency: 6,
            period_max: 7,
            matrix_horizon: Horizon {
                value: 1.0,
                unit: crate::models::HorizonUnit::TimeUnits,
            },
            matrix_max_frequency: None,
            tracking_until: None,
        }
    }
}

/// The check tables.
#[derive(Debug, Clone)]
pub struct CheckTables {
    /// `frequency, customers, actual_holdout, expected_holdout` (needs the summary's holdout
    /// columns `frequency_holdout` and `duration_holdout`; `None` without them).
    pub calibration_vs_holdout: Option<RecordBatch>,
    /// `repeat_purchases, actual_customers, expected_customers`.
    pub period_transactions: RecordBatch,
    /// `frequency, recency, expected_purchases, p_alive` at T = the summary's largest T.
    pub frequency_recency: RecordBatch,
    /// `time, expected_cumulative, expected_incremental`: the cohort's expected repeat
    /// purchases per model time unit since the first customer's first purchase (first purchase
    /// of each customer taken as largest T − T).
    pub tracking: RecordBatch,
}

/// Checks the purchase model of `models` against `summary` (see [`crate::models::check`]).
///
/// # Errors
/// [`Error::InvalidParameter`] (`window`) for a summary prepared another way than the models'
/// (`model`) without a continuous-time purchase model; the models' errors.
pub fn check_model(
    summary: &CustomerSummary,
    models: &SavedModels,
    params: &CheckParams,
    par: &Parallelism,
) -> Result<CheckTables> {
    models.check_window(summary.window())?;
    let model = models.purchase_model()?;
    par.install(|| tables(model, summary, params))
}

/// The observed repeat purchases per time unit of the summary's cohort
/// ([`repeat_tracking`]): the actual curve to set beside [`CheckTables::tracking`] (same
/// grid when `cfg` is the configuration the summary was made with).
///
/// # Errors
/// The ingest's errors (for files); [`Error::InvalidParameter`](crate::Error) (`window`) for a
/// curve longer than [`MAX_TRACKING_POINTS`](crate::kernels::summary::MAX_TRACKING_POINTS).
pub fn actual_tracking(source: &EventSource<'_>, cfg: &SummaryConfig, par: &Parallelism) -> Result<RecordBatch> {
    let (events, _) = load_events(source, Some(SUMMARY_ROLES), par)?;
    repeat_tracking(&events, cfg, par)
}

fn batch(fields: Vec<(&str, ArrayRef)>) -> Result<RecordBatch> {
    let schema = Schema::new(
        fields
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), false))
            .collect::<Vec<_>>(),
    );
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        fields.into_iter().map(|f| f.1).collect(),
    )?)
}

fn f64s(v: impl IntoIterator<Item = f64>) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(v))
}

fn tables(m: &impl PurchaseModel, summary: &CustomerSummary, p: &CheckParams) -> Result<CheckTables> {
    let (x, tx, t) = (summary.column(FREQUENCY)?, summary.column(RECENCY)?, summary.column(T)?);
    let holdout = match (
        summary.table().column_by_name(FREQUENCY_HOLDOUT),
        summary.table().column_by_name(DURATION_HOLDOUT),
    ) {
        (Some(_), Some(_)) => {
            let (fh, dh) = (summary.column(FREQUENCY_HOLDOUT)?, summary.column(DURATION_HOLDOUT)?);
            let rows = calibration_vs_holdout(m, &x, &tx, &t, &dh, &fh, p.holdout_max_frequency)?;
            Some(batch(vec![
                (
                    FREQUENCY,
                    Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.frequency))),
                ),
                (
                    CUSTOMERS,
                    Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.customers))),
                ),
                (ACTUAL_HOLDOUT, f64s(rows.iter().map(|r| r.actual))),
                (EXPECTED_HOLDOUT, f64s(rows.iter().map(|r| r.expected))),
            ])?)
        }
        _ => None,
    };
    let period = period_transactions(m, &x, &t, p.period_max)?;
    let period = batch(vec![
        (
            REPEAT_PURCHASES,
            Arc::new(UInt32Array::from_iter_values(period.iter().map(|r| r.repeat_purchases))),
        ),
        (
            ACTUAL_CUSTOMERS,
            Arc::new(UInt64Array::from_iter_values(period.iter().map(|r| r.actual))),
        ),
        (EXPECTED_CUSTOMERS, f64s(period.iter().map(|r| r.expected))),
    ])?;
    let max_t = t.iter().copied().fold(0.0_f64, f64::max);
    let max_x = x.iter().copied().fold(0.0_f64, f64::max);
    let horizon = summary.window().time_units(p.matrix_horizon)?;
    let cells = frequency_recency_matrix(
        m,
        p.matrix_max_frequency.unwrap_or(max_x.min(100.0) as u32),
        max_t.floor() as u32,
        horizon,
    )?;
    let matrix = batch(vec![
        (
            FREQUENCY,
            Arc::new(UInt32Array::from_iter_values(cells.iter().map(|c| c.frequency))),
        ),
        (
            RECENCY,
            Arc::new(UInt32Array::from_iter_values(cells.iter().map(|c| c.recency))),
        ),
        (EXPECTED_PURCHASES, f64s(cells.iter().map(|c| c.expected_purchases))),
        (P_ALIVE, f64s(cells.iter().map(|c| c.p_alive))),
    ])?;
    let longest_holdout = summary
        .table()
        .column_by_name(DURATION_HOLDOUT)
        .map(|_| summary.column(DURATION_HOLDOUT))
        .transpose()?
        .map_or(0.0, |d| d.iter().copied().fold(0.0_f64, f64::max));
    let until = p
        .tracking_until
        .unwrap_or(max_t + longest_holdout)
        .clamp(0.0, 100_000.0);
    let times: Vec<f64> = (1..=until.ceil() as u32).map(f64::from).collect();
    let first: Vec<f64> = t.iter().map(|ti| max_t - ti).collect();
    let points = cumulative_expected_purchases(m, &first, &times)?;
    let tracking = batch(vec![
        (TIME, f64s(points.iter().map(|p| p.time))),
        (EXPECTED_CUMULATIVE, f64s(points.iter().map(|p| p.cumulative))),
        (EXPECTED_INCREMENTAL, f64s(points.iter().map(|p| p.incremental))),
    ])?;
    Ok(CheckTables {
        calibration_vs_holdout: holdout,
        period_transactions: period,
        frequency_recency: matrix,
        tracking,
    })
}
