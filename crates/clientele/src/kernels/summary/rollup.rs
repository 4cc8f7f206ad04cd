//! The summary of a whole saved store from its rollups, without reading its events.

use arrow_array::RecordBatch;

use super::output::{Row, SummaryColumns};
use super::params::SummaryConfig;
use super::period::Period;
use crate::error::Result;
use crate::exec::Parallelism;
use crate::store::{ActivityRollup, PeriodKind, PurchaseRollup};
use crate::time::micros_to_day;

/// Customers per parallel task (chunks depend only on the data, so any pool gives the same
/// output).
const CHUNK: usize = 8192;

/// The summary (every column of [`summarize`](super::summarize)) of a saved store from its
/// purchase and activity rollups ([`EventStore::open_activity`](crate::store::EventStore::open_activity)),
/// or `None` when the rollups cannot answer: a calibration end before the store's last event,
/// an observation end (holdout), or a period other than day, week or month. When it is
/// `Some`, it equals [`summarize`](super::summarize) over the store's events, byte for byte.
///
/// # Errors
/// Only on an internal Arrow error while assembling the output.
///
/// # Example
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use clientele::chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::kernels::summary::{SummaryParams, summarize, summarize_rollup};
/// use clientele::store::{EventStore, StoreFormat};
/// use clientele::synth::{GenerateParams, generate};
/// let events = generate(&GenerateParams::default().customers(300).seed(5).validate()?)?;
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_batches("synth", events.into_iter().map(Ok))?;
/// let (store, _) = ing.finish()?;
/// let dir = std::env::temp_dir().join(format!("clientele-doc-activity-{}", std::process::id()));
/// store.save(&dir, StoreFormat::Ipc)?;
/// let par = Parallelism::current();
/// let end = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap_or_default(); // after every event
/// let cfg = SummaryParams::new(end).validate()?;
/// let (purchases, activity) = EventStore::open_activity(&dir, &par)?.ok_or("an IPC store has both")?;
/// let fast = summarize_rollup(&purchases, &activity, &cfg, &par)?;
/// assert_eq!(fast, Some(summarize(&store, &cfg, &par)?));
/// std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
pub fn summarize_rollup(
    purchases: &PurchaseRollup,
    activity: &ActivityRollup,
    cfg: &SummaryConfig,
    par: &Parallelism,
) -> Result<Option<RecordBatch>> {
    let period = cfg.params.period;
    let kind = match period {
        Period::Day => PeriodKind::Day,
        Period::Week => PeriodKind::Week,
        Period::Month => PeriodKind::Month,
        Period::Days(_) => return Ok(None),
    };
    if cfg.observation_end_excl.is_some() || activity.last().is_some_and(|last| last >= cfg.calibration_end_excl) {
        return Ok(None);
    }
    let totals = purchases.customers();
    let periods = activity.periods(kind);
    let (first_event, last_event) = (activity.first_event(), activity.last_event());
    let n = totals.len();
    if [periods.len(), first_event.len(), last_event.len()]
        .iter()
        .any(|&l| l != n)
    {
        return Ok(None);
    }
    let types = activity.types().len();
    let counts: Vec<&[u32]> = (0..types).map(|t| activity.counts(t)).collect();
    let parts: Vec<(SummaryColumns, Vec<u32>)> = par.map_chunks(n, CHUNK, |range| {
        let mut out = SummaryColumns::with_capacity(cfg, types, range.len());
        let mut rows = Vec::with_capacity(range.len());
        let mut type_counts = vec![0u64; types];
        for c in range {
            let (Some(p), Some(q)) = (totals.get(c), periods.get(c)) else {
                continue;
            };
            for (slot, column) in type_counts.iter_mut().zip(&counts) {
                *slot = column.get(c).map_or(0, |&k| u64::from(k));
            }
            let index = |t: i64| period.index(micros_to_day(t));
            let row = Row {
                first_event: first_event.get(c).copied().unwrap_or(i64::MAX),
                last_event: last_event.get(c).copied().unwrap_or(i64::MIN),
                first_purchase: p.first,
                last_purchase: p.last,
                purchase_count: p.count,
                spend: p.units,
                calibration: (p.count > 0).then(|| {
                    let repeat = p.units.saturating_sub(q.first_units);
                    (index(p.first), index(p.last), q.periods as usize, repeat)
                }),
                holdout: (0, 0),
                type_counts: &type_counts,
            };
            if row.included(cfg) {
                out.push_row(cfg, &row);
                rows.push(c as u32);
            }
        }
        (out, rows)
    });
    SummaryColumns::assemble(cfg, parts, purchases.keys().array().as_ref(), activity.types()).map(Some)
}
