//! RFM scores per customer from any event source.

use arrow_array::RecordBatch;

use super::source::{EventSource, load_events};
use crate::error::Result;
use crate::exec::Parallelism;
use crate::ingest::IngestReport;
use crate::kernels::rfm::{RfmConfig, rfm, rfm_batches, rfm_parquet};
use crate::schema::Role;

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
}

/// RFM scores of the events of `source`: one Parquet file (or batches in memory) straight from
/// its purchase columns when it is in the streaming path's scope ([`rfm_parquet`],
/// [`rfm_batches`]), anything else through a store
/// (loading only the key, time, type and amount). Both give the same table, byte for byte.
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
        });
    }
    if let EventSource::Batches { batches, ingest, .. } = source
        && let Some(table) = rfm_batches(batches, cfg, &ingest.clone().only(RFM_ROLES), par)?
    {
        return Ok(RfmRun {
            table,
            ingest: None,
            streamed: true,
        });
    }
    let (events, ingest) = load_events(source, Some(RFM_ROLES), par)?;
    Ok(RfmRun {
        table: rfm(&events, cfg, par)?,
        ingest,
        streamed: false,
    })
}
