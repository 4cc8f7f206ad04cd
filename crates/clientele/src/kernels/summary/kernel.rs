//! The summary over an [`EventStore`]: one parallel pass over contiguous customer slices.

use arrow_array::RecordBatch;

use super::output::SummaryColumns;
use super::params::SummaryConfig;
use super::state::CustomerState;
use crate::error::Result;
use crate::exec::Parallelism;
use crate::store::EventStore;

/// Customers per parallel task. Chunk boundaries depend only on the data, never on the thread
/// count, and chunks are concatenated in order, so the output is the same for any pool.
const CHUNK: usize = 8192;

/// Summarizes every customer of `store` (see [`crate::kernels::summary`] for the columns).
///
/// # Errors
/// Only on an internal Arrow error while assembling the output.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use std::sync::Arc;
/// use arrow_array::{RecordBatch, StringArray};
/// use chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::kernels::summary::{SummaryParams, summarize};
///
/// let batch = RecordBatch::try_from_iter([
///     ("customer_id", Arc::new(StringArray::from(vec!["c1", "c1", "c2"])) as _),
///     ("event_time", Arc::new(StringArray::from(vec!["2015-02-01", "2015-02-06", "2015-01-01"])) as _),
/// ])?;
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_batches("memory", [Ok(batch)])?;
/// let (store, _) = ing.finish()?;
/// let end = NaiveDate::from_ymd_opt(2015, 2, 7).unwrap();
/// let summary = summarize(&store, &SummaryParams::new(end).validate()?, &Parallelism::current())?;
/// let t = summary.column_by_name("T").unwrap();
/// let t = t.as_any().downcast_ref::<arrow_array::Float64Array>().unwrap();
/// assert_eq!(t.values(), &[6.0, 37.0]);
/// # Ok(()) }
/// ```
pub fn summarize(store: &EventStore, cfg: &SummaryConfig, par: &Parallelism) -> Result<RecordBatch> {
    let cols = store.columns();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    // Store invariant: null amounts hold 0.0 (see `StoreColumns`), so raw values suffice.
    let amounts: Option<&[f64]> = cols.amount.as_ref().map(|a| &a.values()[..]);
    let purchase = store.purchase_code();
    let type_names = store.event_types();
    let offsets = store.offsets();
    let n = store.num_customers();
    let parts: Vec<(SummaryColumns, Vec<u32>)> = par.map_chunks(n, CHUNK, |range| {
        let (lo, hi) = (range.start, range.end);
        let mut out = SummaryColumns::with_capacity(cfg, type_names.len(), hi - lo);
        let mut rows = Vec::with_capacity(hi - lo);
        let mut state = CustomerState {
            type_counts: vec![0; type_names.len()],
            ..Default::default()
        };
        for c in lo..hi {
            state.clear();
            let (a, b) = (offsets[c], offsets[c + 1]);
            state.fill_sorted(cfg, &times[a..b], &types[a..b], amounts.map(|v| &v[a..b]), purchase);
            if SummaryColumns::includes(cfg, &state) {
                out.push(cfg, &state);
                rows.push(c as u32);
            }
        }
        (out, rows)
    });
    SummaryColumns::assemble(cfg, parts, store.customer_keys().array().as_ref(), &type_names)
}
