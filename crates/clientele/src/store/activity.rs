//! Per-customer activity and purchase-period totals saved with a store: the activity rollup.
//!
//! The customer summary of a whole store (a calibration end after its last event, no holdout)
//! needs, per customer, a few numbers that 19M events are read to compute. A version 2 store
//! saves them beside the purchase rollup ([`PurchaseRollup`](super::PurchaseRollup): purchase
//! count, spend, first and last purchase), in `activity.g<N>.arrow`, one row per customer:
//!
//! | column | type | per customer |
//! |---|---|---|
//! | `first_event`, `last_event` | Int64, µs since the epoch | first and last event of any type |
//! | `days`, `weeks`, `months` | UInt32 | distinct purchase days, weeks (Monday to Sunday) and calendar months (UTC) |
//! | `first_day_spend`, `first_week_spend`, `first_month_spend` | Decimal128(38, 9) | purchase amounts of the first such period, in exact nano-units |
//! | `count_<type>` | UInt32 | events of each type (the store's types, sorted) |
//!
//! With the purchase rollup's total spend, the first period's spend gives the mean spend of
//! the repeat periods exactly, as the summary kernel sums them. The totals cover every event
//! of the store, so they answer only questions about all of it; a kernel falls back to the
//! events for the others, and for stores saved without this file (older, Parquet-storage,
//! or with appended segments until `compact`).

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int64Type, UInt32Type};
use arrow_array::{Array, ArrayRef, Decimal128Array, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};

use super::{CustomerKeys, EventStore};
use crate::error::Result;
use crate::exec::Parallelism;
use crate::money::to_units;
use crate::time::{civil_from_days, micros_to_day};

/// The stem of the activity rollup file.
pub(super) const ACTIVITY: &str = "activity";

/// The period kinds the rollup counts, with their column names.
const KINDS: [(PeriodKind, &str, &str); 3] = [
    (PeriodKind::Day, "days", "first_day_spend"),
    (PeriodKind::Week, "weeks", "first_week_spend"),
    (PeriodKind::Month, "months", "first_month_spend"),
];

/// The prefix of the count columns' names.
const COUNT: &str = "count_";

/// Customers per parallel task.
const CHUNK: usize = 8192;

/// A calendar period the rollup counts purchases in (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    /// Calendar days.
    Day,
    /// Weeks from Monday to Sunday.
    Week,
    /// Calendar months.
    Month,
}

impl PeriodKind {
    /// The period of day `day` (days since 1970-01-01), as a number that orders periods.
    fn index(self, day: i64) -> i64 {
        match self {
            PeriodKind::Day => day,
            // 1970-01-01 was a Thursday: Monday-based weeks start at days ≡ 4 (mod 7).
            PeriodKind::Week => (day + 3).div_euclid(7),
            PeriodKind::Month => {
                let (y, m, _) = civil_from_days(day);
                y * 12 + m
            }
        }
    }
}

/// One customer's purchases in one period kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeriodTotals {
    /// Distinct periods with a purchase.
    pub periods: u32,
    /// The purchase amounts of the first of them, in nano-units.
    pub first_units: i128,
}

/// Every customer's activity totals, aligned with the store's customer keys.
#[derive(Debug, Clone)]
pub struct ActivityRollup {
    keys: CustomerKeys,
    types: Vec<String>,
    first_event: Vec<i64>,
    last_event: Vec<i64>,
    periods: [Vec<PeriodTotals>; 3],
    counts: Vec<Vec<u32>>,
}

impl ActivityRollup {
    /// The totals of `store`'s events, in `par`'s pool (or the calling thread outside any).
    pub(super) fn of(store: &EventStore) -> Self {
        let n = store.num_customers();
        let types = store.event_types();
        let one = |c: usize| customer_totals(store, c, types.len());
        let rows: Vec<Totals> = if rayon::current_thread_index().is_some() {
            Parallelism::current()
                .map_chunks(n, CHUNK, |r| r.map(one).collect::<Vec<_>>())
                .into_iter()
                .flatten()
                .collect()
        } else {
            (0..n).map(one).collect()
        };
        let mut out = ActivityRollup {
            keys: store.customer_keys().clone(),
            first_event: rows.iter().map(|r| r.first).collect(),
            last_event: rows.iter().map(|r| r.last).collect(),
            periods: [0, 1, 2].map(|k| rows.iter().map(|r| r.periods[k]).collect()),
            counts: Vec::new(),
            types,
        };
        out.counts = (0..out.types.len())
            .map(|t| rows.iter().map(|r| r.counts.get(t).copied().unwrap_or(0)).collect())
            .collect();
        out
    }

    /// The customer keys, in the store's order.
    pub fn keys(&self) -> &CustomerKeys {
        &self.keys
    }

    /// The event types, sorted (the store's event-type dictionary).
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// Per customer, the first event (µs since the epoch).
    pub fn first_event(&self) -> &[i64] {
        &self.first_event
    }

    /// Per customer, the last event (µs since the epoch).
    pub fn last_event(&self) -> &[i64] {
        &self.last_event
    }

    /// Per customer, the events of type `types()[t]`.
    pub fn counts(&self, t: usize) -> &[u32] {
        self.counts.get(t).map_or(&[][..], |v| &v[..])
    }

    /// Per customer, the purchases in periods of `kind`.
    pub fn periods(&self, kind: PeriodKind) -> &[PeriodTotals] {
        let k = KINDS.iter().position(|(p, ..)| *p == kind).unwrap_or(0);
        self.periods.get(k).map_or(&[][..], |v| &v[..])
    }

    /// The latest event of any customer (`None` without customers).
    pub fn last(&self) -> Option<i64> {
        self.last_event.iter().copied().max()
    }

    /// The totals as the rollup file's columns.
    pub(super) fn to_batch(&self) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(self.first_event.clone())),
            Arc::new(Int64Array::from(self.last_event.clone())),
        ];
        for p in &self.periods {
            columns.push(Arc::new(UInt32Array::from_iter_values(p.iter().map(|t| t.periods))));
        }
        for p in &self.periods {
            columns.push(Arc::new(
                Decimal128Array::from_iter_values(p.iter().map(|t| t.first_units)).with_precision_and_scale(38, 9)?,
            ));
        }
        for c in &self.counts {
            columns.push(Arc::new(UInt32Array::from(c.clone())));
        }
        Ok(RecordBatch::try_new(Arc::new(schema(&self.types)), columns)?)
    }

    /// The rollup of `keys` from the rollup file's `batches`.
    ///
    /// # Errors
    /// [`Error::CorruptStore`](crate::Error::CorruptStore) when the columns are missing,
    /// mistyped, null, or of another length than the keys.
    pub(super) fn from_batches(dir: &Path, keys: CustomerKeys, batches: &[RecordBatch]) -> Result<Self> {
        let bad = |what: &str| super::persist::corrupt(dir, format!("the activity file: {what}"));
        // The event types are the count columns' names.
        let types: Vec<String> = batches.first().map_or_else(Vec::new, |b| {
            b.schema()
                .fields()
                .iter()
                .skip(2 + 2 * KINDS.len())
                .map(|f| f.name().strip_prefix(COUNT).unwrap_or(f.name()).to_string())
                .collect()
        });
        let want = schema(&types);
        let mut out = ActivityRollup {
            keys,
            first_event: Vec::new(),
            last_event: Vec::new(),
            periods: [Vec::new(), Vec::new(), Vec::new()],
            counts: types.iter().map(|_| Vec::new()).collect(),
            types,
        };
        for b in batches {
            if b.schema().fields() != want.fields() {
                return Err(bad("its columns are not the activity rollup's"));
            }
            if b.columns().iter().any(|c| c.null_count() > 0) {
                return Err(bad("a null total"));
            }
            let i64s = |i: usize| b.column(i).as_primitive::<Int64Type>().values();
            out.first_event.extend_from_slice(i64s(0));
            out.last_event.extend_from_slice(i64s(1));
            for (k, p) in out.periods.iter_mut().enumerate() {
                let n = b.column(2 + k).as_primitive::<UInt32Type>().values();
                let u = b.column(5 + k).as_primitive::<Decimal128Type>().values();
                p.extend(
                    n.iter()
                        .zip(u.iter())
                        .map(|(&periods, &first_units)| PeriodTotals { periods, first_units }),
                );
            }
            for (t, c) in out.counts.iter_mut().enumerate() {
                c.extend_from_slice(b.column(8 + t).as_primitive::<UInt32Type>().values());
            }
        }
        let n = out.keys.len();
        if out.first_event.len() != n {
            return Err(bad(&format!("{} rows for {n} customers", out.first_event.len())));
        }
        Ok(out)
    }
}

/// One customer's totals while they are computed.
struct Totals {
    first: i64,
    last: i64,
    periods: [PeriodTotals; 3],
    counts: Vec<u32>,
}

/// The totals of customer `c` of `store` (its events are in time order).
fn customer_totals(store: &EventStore, c: usize, types: usize) -> Totals {
    let cols = store.columns();
    let range = store.customer_range(c);
    let times = cols.time.values().get(range.clone()).unwrap_or_default();
    let codes = cols.event_type.keys().values().get(range.clone()).unwrap_or_default();
    // Store invariant: null amounts hold 0.0.
    let amounts: Option<&[f64]> = cols.amount.as_ref().and_then(|a| a.values().get(range));
    let purchase = store.purchase_code();
    let mut t = Totals {
        first: times.first().copied().unwrap_or(i64::MAX),
        last: times.last().copied().unwrap_or(i64::MIN),
        periods: [PeriodTotals::default(); 3],
        counts: vec![0; types],
    };
    let mut current = [None::<i64>; 3];
    for (i, (&time, &code)) in times.iter().zip(codes).enumerate() {
        if let Some(n) = usize::try_from(code).ok().and_then(|k| t.counts.get_mut(k)) {
            *n = n.saturating_add(1);
        }
        if Some(code) != purchase {
            continue;
        }
        let units = amounts.and_then(|a| a.get(i)).map_or(0, |&x| to_units(x));
        let day = micros_to_day(time);
        for ((kind, ..), (totals, at)) in KINDS.iter().zip(t.periods.iter_mut().zip(current.iter_mut())) {
            let p = kind.index(day);
            if *at != Some(p) {
                // Times are in order, so a new period index is a new period.
                totals.periods = totals.periods.saturating_add(1);
                *at = Some(p);
            }
            if totals.periods == 1 {
                totals.first_units = totals.first_units.saturating_add(units);
            }
        }
    }
    t
}

/// The activity file's schema for the event `types`.
fn schema(types: &[String]) -> Schema {
    let mut fields = vec![
        Field::new("first_event", DataType::Int64, false),
        Field::new("last_event", DataType::Int64, false),
    ];
    fields.extend(KINDS.iter().map(|(_, n, _)| Field::new(*n, DataType::UInt32, false)));
    fields.extend(
        KINDS
            .iter()
            .map(|(_, _, s)| Field::new(*s, DataType::Decimal128(38, 9), false)),
    );
    fields.extend(
        types
            .iter()
            .map(|t| Field::new(format!("{COUNT}{t}"), DataType::UInt32, false)),
    );
    Schema::new(fields)
}

impl EventStore {
    /// The activity rollup saved with the store in `dir` (see the [module docs](self)), with
    /// the purchase rollup it completes; `None` when the store has either not (a
    /// Parquet-storage or older store, or a store with appended segments until `compact`).
    ///
    /// # Errors
    /// As [`open`](Self::open), for the manifest, the customers file and the two rollup files.
    pub fn open_activity(
        dir: impl AsRef<Path>,
        par: &Parallelism,
    ) -> Result<Option<(super::PurchaseRollup, ActivityRollup)>> {
        let dir = dir.as_ref();
        par.install(|| {
            let m = super::persist::read_manifest(dir)?;
            let (name, entry) = m.file(ACTIVITY);
            let Some(entry) = entry else {
                return Ok(None);
            };
            if m.version != super::persist::FORMAT_V2 || !m.segments.is_empty() {
                return Ok(None);
            }
            let (purchases, batches) = rayon::join(
                || super::rollup::rollup_in(dir, &m),
                || super::persist::read_file(dir, &name, m.storage, Some(entry)),
            );
            let Some(purchases) = purchases? else {
                return Ok(None);
            };
            let batches = batches?;
            let keys = purchases.keys().clone();
            ActivityRollup::from_batches(dir, keys, &batches).map(|a| Some((purchases, a)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_months_are_calendar_months() {
        // 2024-01-01 was a Monday (day 19723); 2023-12-31 a Sunday.
        let week = |d| PeriodKind::Week.index(d);
        assert_eq!(week(19_723), week(19_729));
        assert_ne!(week(19_722), week(19_723));
        assert_eq!(week(0), week(-3)); // 1969-12-29 (Monday) to 1970-01-04
        assert_ne!(week(-4), week(-3));
        let month = |d| PeriodKind::Month.index(d);
        assert_eq!(month(19_723), month(19_753)); // 2024-01-01 and 2024-01-31
        assert_ne!(month(19_753), month(19_754));
    }
}
