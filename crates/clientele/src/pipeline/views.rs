//! The CRM views from any event source: each loads only the columns its kernel reads and
//! runs it in the caller's pool.

use arrow_array::RecordBatch;

use super::source::{EventSource, load_events};
use crate::error::Result;
use crate::exec::Parallelism;
use crate::ingest::IngestReport;
use crate::schema::Role;
use crate::store::KeyRef;
use crate::views::{
    AttributionConfig, CampaignConfig, ChannelConfig, ChannelViews, CohortConfig, CrossSellConfig, CrossSellViews,
    Customer360Config, CustomerCard, SatisfactionConfig, SatisfactionViews, acquisition_channels, attribution,
    campaigns, channels, cohorts, cross_sell, customer_lookup, customer360, satisfaction,
};

/// A view's output and, when files or batches were read, the ingest report (rows the ingest
/// rejected are skipped and counted there).
#[derive(Debug, Clone)]
pub struct ViewRun<T> {
    /// The view (a table, or the view's struct of tables).
    pub output: T,
    /// `None` when the source was a store.
    pub ingest: Option<IngestReport>,
}

/// Roles read by [`cohort_view`].
pub const COHORT_ROLES: &[Role] = &[Role::EventType, Role::Amount];
/// Roles read by [`channel_view`].
pub const CHANNEL_ROLES: &[Role] = &[Role::EventType, Role::Amount, Role::Channel, Role::Cost];
/// Roles read by [`acquisition_view`].
pub const ACQUISITION_ROLES: &[Role] = &[Role::EventType, Role::Amount, Role::Channel];
/// Roles read by [`attribution_view`].
pub const ATTRIBUTION_ROLES: &[Role] = &[Role::EventType, Role::Amount, Role::Channel, Role::CampaignId];
/// Roles read by [`satisfaction_view`].
pub const SATISFACTION_ROLES: &[Role] = &[Role::EventType, Role::Channel, Role::Score];
/// Roles read by [`campaign_view`].
pub const CAMPAIGN_ROLES: &[Role] = &[Role::EventType, Role::Amount, Role::CampaignId];
/// Roles read by [`cross_sell_view`].
pub const CROSS_SELL_ROLES: &[Role] = &[Role::EventType, Role::Product];
/// Roles read by [`customer_card`] and [`customer360_view`]: every column, since the card's
/// recent events show them all.
pub const CUSTOMER360_ROLES: &[Role] = &Role::ALL;

fn run<T: Send>(
    source: &EventSource<'_>,
    roles: &[Role],
    par: &Parallelism,
    view: impl FnOnce(&crate::store::EventStore) -> Result<T> + Send,
) -> Result<ViewRun<T>> {
    let (store, ingest) = load_events(source, Some(roles), par)?;
    let output = par.install(|| view(&store))?;
    Ok(ViewRun { output, ingest })
}

/// Retention and revenue by acquisition cohort and period ([`cohorts`]; long format).
///
/// # Errors
/// The ingest's and the kernel's errors.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::pipeline::{EventSource, cohort_view};
/// use clientele::synth::{GenerateParams, generate};
/// use clientele::views::{CohortParams, retention_matrix};
///
/// let events = generate(&GenerateParams::default().customers(300).validate()?)?;
/// let as_of = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
/// let run = cohort_view(&EventSource::batches("events", events), &CohortParams::new(as_of).validate()?, &Parallelism::current())?;
/// let matrix = retention_matrix(&run.output, 12)?; // one row per cohort
/// assert!(matrix.num_rows() > 0);
/// # Ok(()) }
/// ```
pub fn cohort_view(source: &EventSource<'_>, cfg: &CohortConfig, par: &Parallelism) -> Result<ViewRun<RecordBatch>> {
    run(source, COHORT_ROLES, par, |s| cohorts(s, cfg, par))
}

/// Per-channel revenue, customers and cost, and each customer's preferred channels
/// ([`channels`]).
///
/// # Errors
/// The ingest's and the kernel's errors.
pub fn channel_view(source: &EventSource<'_>, cfg: &ChannelConfig, par: &Parallelism) -> Result<ViewRun<ChannelViews>> {
    run(source, CHANNEL_ROLES, par, |s| channels(s, cfg, par))
}

/// Customers acquired per channel, with their CLV when a CLV table is given
/// ([`acquisition_channels`]).
///
/// # Errors
/// The ingest's and the kernel's errors.
pub fn acquisition_view(
    source: &EventSource<'_>,
    clv: Option<&RecordBatch>,
    cfg: &ChannelConfig,
    par: &Parallelism,
) -> Result<ViewRun<RecordBatch>> {
    run(source, ACQUISITION_ROLES, par, |s| {
        acquisition_channels(s, clv, cfg, par)
    })
}

/// Revenue attributed to channels and campaigns ([`attribution`]).
///
/// # Errors
/// The ingest's and the kernel's errors.
pub fn attribution_view(
    source: &EventSource<'_>,
    cfg: &AttributionConfig,
    par: &Parallelism,
) -> Result<ViewRun<RecordBatch>> {
    run(source, ATTRIBUTION_ROLES, par, |s| attribution(s, cfg, par))
}

/// Satisfaction scores by channel, period and (with a segment table) segment
/// ([`satisfaction`]).
///
/// # Errors
/// The ingest's and the kernel's errors.
pub fn satisfaction_view(
    source: &EventSource<'_>,
    segments: Option<&RecordBatch>,
    cfg: &SatisfactionConfig,
    par: &Parallelism,
) -> Result<ViewRun<SatisfactionViews>> {
    run(source, SATISFACTION_ROLES, par, |s| satisfaction(s, segments, cfg, par))
}

/// Campaign reach, response and uplift against held-out controls ([`campaigns`]).
///
/// # Errors
/// The ingest's and the kernel's errors.
pub fn campaign_view(
    source: &EventSource<'_>,
    segments: Option<&RecordBatch>,
    cfg: &CampaignConfig,
    par: &Parallelism,
) -> Result<ViewRun<RecordBatch>> {
    run(source, CAMPAIGN_ROLES, par, |s| campaigns(s, segments, cfg, par))
}

/// Product association rules and each customer's next-best products ([`cross_sell`]).
///
/// # Errors
/// The ingest's and the kernel's errors.
pub fn cross_sell_view(
    source: &EventSource<'_>,
    cfg: &CrossSellConfig,
    par: &Parallelism,
) -> Result<ViewRun<CrossSellViews>> {
    run(source, CROSS_SELL_ROLES, par, |s| cross_sell(s, cfg, par))
}

/// One row per customer: the 360 table, left-joined with `table` when given
/// ([`customer360`]).
///
/// # Errors
/// The ingest's and the kernel's errors.
pub fn customer360_view(
    source: &EventSource<'_>,
    table: Option<&RecordBatch>,
    cfg: &Customer360Config,
    par: &Parallelism,
) -> Result<ViewRun<RecordBatch>> {
    run(source, CUSTOMER360_ROLES, par, |s| customer360(s, table, cfg, par))
}

/// One customer's card and recent events ([`customer_lookup`]); `None` inside when the
/// source does not hold the key.
///
/// # Errors
/// The ingest's and the kernel's errors.
pub fn customer_card(
    source: &EventSource<'_>,
    key: KeyRef<'_>,
    table: Option<&RecordBatch>,
    cfg: &Customer360Config,
    par: &Parallelism,
) -> Result<ViewRun<Option<CustomerCard>>> {
    if let EventSource::Saved(dir) = source {
        // Only the customer's rows are read.
        let output = match crate::store::EventStore::open_customer(dir, key, Some(CUSTOMER360_ROLES), par)? {
            Some(store) => par.install(|| customer_lookup(&store, key, table, cfg))?,
            None => None,
        };
        return Ok(ViewRun { output, ingest: None });
    }
    run(source, CUSTOMER360_ROLES, par, |s| customer_lookup(s, key, table, cfg))
}
