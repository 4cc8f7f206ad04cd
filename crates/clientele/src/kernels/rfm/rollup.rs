//! RFM in the `orders` convention from a saved store's purchase rollup, without its events.

use arrow_array::RecordBatch;

use super::kernel::{Row, orders_columns, score};
use super::params::{RfmConfig, RfmMode};
use crate::error::Result;
use crate::exec::Parallelism;
use crate::store::PurchaseRollup;

/// Customers per parallel task (boundaries independent of the thread count).
const CHUNK: usize = 8192;

/// The [`rfm`](super::rfm) table of the store `rollup` was saved with, from its per-customer
/// purchase totals ([`EventStore::open_rollup`](crate::store::EventStore::open_rollup)): the
/// same table, byte for byte, from one row per customer instead of every event. `None` when
/// the totals cannot answer: the `btyd` convention (purchases merged per period), or an
/// `as_of` that is not after the store's last purchase (the totals count every purchase; RFM
/// counts those before `as_of`).
///
/// # Errors
/// Only on an internal Arrow error while assembling the output.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::kernels::rfm::{RfmParams, rfm, rfm_rollup};
/// use clientele::store::{EventStore, StoreFormat};
/// let csv = "customer_id,event_time,amount\n1,2024-01-01,10\n1,2024-01-20,5.5\n2,2024-01-30,100\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let dir = std::env::temp_dir().join(format!("clientele-doc-rollup-{}", std::process::id()));
/// store.save(&dir, StoreFormat::Ipc)?;
///
/// let par = Parallelism::current();
/// let rollup = EventStore::open_rollup(&dir, &par)?.expect("an IPC store saves a rollup");
/// let after = RfmParams::new(NaiveDate::from_ymd_opt(2024, 2, 1).unwrap()).bins(2).validate()?;
/// assert_eq!(rfm_rollup(&rollup, &after, &par)?, Some(rfm(&store, &after, &par)?));
/// // an as-of inside the history needs the events
/// let inside = RfmParams::new(NaiveDate::from_ymd_opt(2024, 1, 25).unwrap()).validate()?;
/// assert_eq!(rfm_rollup(&rollup, &inside, &par)?, None);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(()) }
/// ```
pub fn rfm_rollup(rollup: &PurchaseRollup, cfg: &RfmConfig, par: &Parallelism) -> Result<Option<RecordBatch>> {
    let as_of = cfg.as_of_micros;
    if cfg.params.mode != RfmMode::Orders || !crate::store::rollup_covers(rollup, as_of) {
        return Ok(None);
    }
    let totals = rollup.customers();
    let parts: Vec<Vec<Row>> = par.map_chunks(totals.len(), CHUNK, |r| {
        r.filter_map(|c| {
            let t = totals.get(c)?;
            let count = i64::try_from(t.count).ok()?;
            (count > 0).then(|| Row::new(c, count, t.units, t.first, t.last, as_of))
        })
        .collect()
    });
    let rows: Vec<Row> = parts.into_iter().flatten().collect();
    let axes = orders_columns(rollup.keys(), &rows)?;
    // scoring runs in the caller's pool too (its NTILE chunking reads the pool's size)
    par.install(|| score(axes, cfg)).map(Some)
}
