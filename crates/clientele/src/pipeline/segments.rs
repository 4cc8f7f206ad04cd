//! Segments from any event source: value tiers, behavioural clusters and the segment report.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};

use super::rfm::customer_rfm;
use super::source::{EventSource, load_events};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::ingest::IngestReport;
use crate::kernels::kmeans::{self, KMeansConfig, KMeansFit};
use crate::kernels::rfm::{RfmConfig, Tiers, rfm, tier_summary, value_tiers, with_tier};
use crate::report::{SegmentReportParams, segment_report};
use crate::schema::output::clusters::CLUSTER;
use crate::schema::output::rfm::{FREQUENCY, MONETARY, RECENCY_DAYS, T_DAYS};
use crate::schema::output::tiers::TIER;
use crate::schema::{CUSTOMER_ID, Role};

/// Value tiers and what they hold.
#[derive(Debug, Clone)]
pub struct TierRun {
    /// One row per customer in rank order (see [`value_tiers`] for the columns).
    pub table: RecordBatch,
    /// Customers and revenue per tier (see [`tier_summary`]).
    pub summary: RecordBatch,
    /// The ingest report when files or batches were read (`None` for a store or a streamed
    /// Parquet file).
    pub ingest: Option<IngestReport>,
}

/// Customers tiered by revenue (Pareto top group or deciles) from the RFM table of `source`
/// under `cfg` (revenue is RFM's `monetary`).
///
/// # Errors
/// The ingest's and the kernels' errors; `top_share` outside (0, 1].
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::kernels::rfm::{RfmParams, Tiers};
/// use clientele::pipeline::{EventSource, value_segments};
/// use clientele::synth::{GenerateParams, generate};
///
/// let events = generate(&GenerateParams::default().customers(500).validate()?)?;
/// let as_of = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
/// let cfg = RfmParams::new(as_of).validate()?;
/// let run = value_segments(&EventSource::batches("events", events), &cfg, Tiers::Deciles, &Parallelism::current())?;
/// assert_eq!(run.summary.num_rows(), 10);
/// # Ok(()) }
/// ```
pub fn value_segments(source: &EventSource<'_>, cfg: &RfmConfig, tiers: Tiers, par: &Parallelism) -> Result<TierRun> {
    let run = customer_rfm(source, cfg, par)?;
    let table = value_tiers(&run.table, tiers)?;
    let summary = tier_summary(&table, tiers)?;
    Ok(TierRun {
        table,
        summary,
        ingest: run.ingest,
    })
}

/// Behavioural clusters and the fit behind them.
#[derive(Debug, Clone)]
pub struct ClusterRun {
    /// `customer_id`, `cluster` (UInt32, 0-based) and the features as Float64, one row per
    /// customer in key order.
    pub table: RecordBatch,
    /// The k-means fit: centroids, sizes, inertia, silhouette.
    pub fit: KMeansFit,
    /// The ingest report when files or batches were read.
    pub ingest: Option<IngestReport>,
}

/// The columns of the RFM table that can be clustered on.
pub const CLUSTER_FEATURES: &[&str] = &[RECENCY_DAYS, FREQUENCY, MONETARY, T_DAYS];

/// Customers clustered by k-means on `features` (columns of the RFM table of `source`, see
/// [`CLUSTER_FEATURES`]; nulls count as 0).
///
/// # Errors
/// The ingest's and the kernels' errors; [`Error::InvalidParameter`] naming `features` when
/// it is empty or names a column the RFM table does not have.
pub fn cluster_segments(
    source: &EventSource<'_>,
    cfg: &RfmConfig,
    features: &[String],
    kmeans_cfg: &KMeansConfig,
    par: &Parallelism,
) -> Result<ClusterRun> {
    if features.is_empty() {
        return Err(Error::param("features", "name at least one column"));
    }
    let run = customer_rfm(source, cfg, par)?;
    let t = &run.table;
    let columns = features
        .iter()
        .map(|name| feature(t, name))
        .collect::<Result<Vec<_>>>()?;
    let fit = kmeans::fit(&columns, kmeans_cfg, par)?;
    let keys = t
        .column_by_name(CUSTOMER_ID)
        .ok_or_else(|| Error::param("table", "no `customer_id` column"))?;
    let mut fields = vec![
        Field::new(CUSTOMER_ID, keys.data_type().clone(), false),
        Field::new(CLUSTER, DataType::UInt32, false),
    ];
    let mut cols: Vec<ArrayRef> = vec![keys.clone(), Arc::new(UInt32Array::from(fit.labels.clone()))];
    for (name, col) in features.iter().zip(columns) {
        fields.push(Field::new(name, DataType::Float64, false));
        cols.push(Arc::new(Float64Array::from(col)));
    }
    let table = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?;
    Ok(ClusterRun {
        table,
        fit,
        ingest: run.ingest,
    })
}

/// The numeric column `name` of `t` as f64 (nulls as 0).
fn feature(t: &RecordBatch, name: &str) -> Result<Vec<f64>> {
    let c = t.column_by_name(name).ok_or_else(|| {
        Error::param(
            "features",
            format!(
                "no column `{name}` in the RFM table (columns: {})",
                CLUSTER_FEATURES.join(", ")
            ),
        )
    })?;
    let c = arrow_cast::cast(c, &DataType::Float64)?;
    let c = c
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| Error::param("features", format!("`{name}` is not numeric")))?;
    Ok(c.iter().map(|v| v.unwrap_or(0.0)).collect())
}

/// How the segment report groups customers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SegmentBy {
    /// The RFM segment map of the RFM configuration (labels in the map's rule order).
    Rfm,
    /// Value tiers (labels in [`Tiers::labels`] order).
    Tiers(Tiers),
}

/// A segment report and what it covered.
#[derive(Debug, Clone)]
pub struct SegmentReportRun {
    /// One row per segment (see [`segment_report`]).
    pub report: RecordBatch,
    /// The RFM table the report grouped (with a `tier` column when grouped by tiers): one row
    /// per customer with purchases before the as-of date.
    pub table: RecordBatch,
    /// The ingest report when files or batches were read.
    pub ingest: Option<IngestReport>,
}

/// The roles the segment report reads besides the key and the time (RFM's among them).
pub const SEGMENT_REPORT_ROLES: &[Role] = &[Role::EventType, Role::Amount, Role::Channel, Role::Score];

/// The segment report of `source`: RFM under `cfg`, grouped `by` RFM segment or value tier,
/// with the behaviour, service and campaign columns of [`segment_report`]. `params` gives the
/// event types; its as-of date, segment column and order are set from `cfg` and `by`.
///
/// # Errors
/// The ingest's and the kernels' errors.
pub fn report_segments(
    source: &EventSource<'_>,
    cfg: &RfmConfig,
    by: SegmentBy,
    params: SegmentReportParams,
    par: &Parallelism,
) -> Result<SegmentReportRun> {
    let (store, ingest) = load_events(source, Some(SEGMENT_REPORT_ROLES), par)?;
    let table = rfm(&store, cfg, par)?;
    let mut params = params;
    params.as_of = cfg.params().as_of;
    let (table, params) = match by {
        SegmentBy::Rfm => {
            let order = cfg.params().segments.rules.iter().map(|r| r.segment.clone()).collect();
            (table, params.segment_order(order))
        }
        SegmentBy::Tiers(t) => (
            with_tier(&table, t)?,
            params.segment_column(TIER).segment_order(t.labels()),
        ),
    };
    let report = segment_report(&store, &table, &params.validate()?, par)?;
    Ok(SegmentReportRun { report, table, ingest })
}
