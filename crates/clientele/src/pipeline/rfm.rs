//! RFM scores per customer from any event source.

use arrow_array::RecordBatch;

use super::source::{EventSource, load_events};
use crate::error::Result;
use crate::exec::Parallelism;
use crate::ingest::IngestReport;
use crate::kernels::rfm::{RfmConfig, RfmMode, rfm, rfm_batches, rfm_parquet, rfm_rollup};
use crate::schema::Role;
use crate::store::EventStore;

/// The roles RFM needs besides the key and the time.
pub const RFM_ROLES: &[Role] = &[Role::EventType, Role::Amount];

/// An RFM table and how it was computed.
#[derive(Debug, Clone)]
pub struct RfmRun {
    /// The RFM table (see [`rfm`] for the columns).
    pub table: RecordBatch,
    /// The ingest report when files or batches were read into a store (`None` for a store, or
    /// for a Parquet file scored straight from its columns, which happens only when no row
    /// would be rejected).
    pub ingest: Option<IngestReport>,
    /// True when a single Parquet file (or batches in memory) was scored straight from its
    /// columns.
    pub streamed: bool,
    /// True when a saved store was scored from its purchase rollup (one row per customer)
    /// without opening its events ([`rfm_rollup`]).
    pub from_rollup: bool,
}

/// RFM scores of the events of `source`: one Parquet file (or batches in memory) straight from
/// its purchase columns when it is in the streaming path's scope ([`rfm_parquet`],
/// [`rfm_batches`]), a saved store from its purchase rollup when the question is about all of
/// its purchases ([`rfm_rollup`]: the `orders` convention, `as_of` after the last purchase),
/// anything else through a store (loading only the key, time, type and amount). Every way gives
/// the same table, byte for byte.
///
/// # Errors
/// The ingest's and the kernel's errors.
pub fn customer_rfm(source: &EventSource<'_>, cfg: &RfmConfig, par: &Parallelism) -> Result<RfmRun> {
    if let EventSource::Files(f) = source
        && let Some(path) = f.single_parquet()
        && let Some(table) = rfm_parquet(path, cfg, &f.ingest.clone().only(RFM_ROLES), par)?
    {
        return Ok(RfmRun {
            table,
            ingest: None,
            streamed: true,
            from_rollup: false,
        });
    }
    if let EventSource::Batches { batches, ingest, .. } = source
        && let Some(table) = rfm_batches(batches, cfg, &ingest.clone().only(RFM_ROLES), par)?
    {
        return Ok(RfmRun {
            table,
            ingest: None,
            streamed: true,
            from_rollup: false,
        });
    }
    if let EventSource::Saved(dir) = source
        && cfg.params.mode == RfmMode::Orders
        && let Some(rollup) = EventStore::open_rollup(dir, par)?
        && let Some(table) = rfm_rollup(&rollup, cfg, par)?
    {
        return Ok(RfmRun {
            table,
            ingest: None,
            streamed: false,
            from_rollup: true,
        });
    }
    let (events, ingest) = load_events(source, Some(RFM_ROLES), par)?;
    Ok(RfmRun {
        table: rfm(&events, cfg, par)?,
        ingest,
        streamed: false,
        from_rollup: false,
    })
}
