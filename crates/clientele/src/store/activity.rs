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
//! events for the others, and for stores saved without this file (older or Parquet-storage).
//!
//! # Appended segments
//!
//! Each appended segment saves the totals of its own events, and opening merges them into the
//! base's ([`ActivityRollup::merged`]). First and last events and the counts per type merge
//! as they are (min, max, sum). Distinct purchase periods do not add up in general (a period
//! with purchases on both sides counts once), but they do when one side's purchase periods
//! all come before the other's, which the purchase rollups' first and last purchases tell:
//! the counts add, less one when the earlier side's last period is the later side's first.
//! That is the case of events appended in time order. The period totals of a customer whose
//! periods interleave (events appended out of order) are recounted from that customer's
//! events ([`ActivityRollup::recount`], a point lookup each); with too many such customers
//! the merged rollup is not used and the kernels read the events instead.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int64Type, UInt32Type};
use arrow_array::{Array, ArrayRef, Decimal128Array, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};

use super::merge::{Pair, union_dict};
use super::rollup::CustomerPurchases;
use super::{CustomerKeys, EventStore, PurchaseRollup};
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

    /// The totals of the union of this rollup's customers and `other`'s (`keys`, with each
    /// key's place on either side in `pairs`), given each side's purchase rollup (`mine`,
    /// `theirs`, aligned with its keys) for its customers' first and last purchases, with the
    /// rows of the customers whose purchase periods on the two sides interleave: their period
    /// totals cannot be merged from totals (see the [module docs](self)) and are left at zero,
    /// to be [recounted](Self::recount) from their events.
    pub(super) fn merged(
        &self,
        mine: &PurchaseRollup,
        other: &ActivityRollup,
        theirs: &PurchaseRollup,
        keys: CustomerKeys,
        pairs: &[Pair],
    ) -> (ActivityRollup, Vec<usize>) {
        use rayon::prelude::*;
        let (types, ma, mb) = union_dict(&self.types, &other.types);
        let bought = |r: &PurchaseRollup, i: usize| r.customers().get(i).copied().unwrap_or_default();
        // One column at a time, in the caller's pool (rayon keeps the order).
        let first_event = pairs
            .par_iter()
            .map(|p| {
                let a = p.a.and_then(|i| self.first_event.get(i)).copied().unwrap_or(i64::MAX);
                a.min(p.b.and_then(|j| other.first_event.get(j)).copied().unwrap_or(i64::MAX))
            })
            .collect();
        let last_event = pairs
            .par_iter()
            .map(|p| {
                let a = p.a.and_then(|i| self.last_event.get(i)).copied().unwrap_or(i64::MIN);
                a.max(p.b.and_then(|j| other.last_event.get(j)).copied().unwrap_or(i64::MIN))
            })
            .collect();
        let mut periods: [Vec<PeriodTotals>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        let mut interleaved = Vec::new();
        for (k, ((kind, ..), merged)) in KINDS.iter().zip(periods.iter_mut()).enumerate() {
            let (pa, pb) = (self.periods.get(k), other.periods.get(k));
            let totals =
                |p: Option<&Vec<PeriodTotals>>, i: usize| p.and_then(|v| v.get(i)).copied().unwrap_or_default();
            // `None` where a customer's periods interleave.
            let totals: Vec<Option<PeriodTotals>> = pairs
                .par_iter()
                .map(|p| match (p.a, p.b) {
                    (Some(i), Some(j)) => merge_periods(
                        Some((totals(pa, i), period_span(&bought(mine, i), *kind))),
                        Some((totals(pb, j), period_span(&bought(theirs, j), *kind))),
                    ),
                    // On one side only (most customers): that side's totals.
                    (Some(i), None) => Some(totals(pa, i)),
                    (None, Some(j)) => Some(totals(pb, j)),
                    (None, None) => Some(PeriodTotals::default()),
                })
                .collect();
            interleaved.extend(totals.iter().enumerate().filter(|(_, t)| t.is_none()).map(|(r, _)| r));
            *merged = totals.into_iter().map(Option::unwrap_or_default).collect();
        }
        // (Interleaved in weeks or months implies in days: the same rows, once.)
        interleaved.sort_unstable();
        interleaved.dedup();
        // Each type's counts: the sum of its column on either side (absent on a side: 0).
        let counts = (0..types.len())
            .into_par_iter()
            .map(|u| {
                let (ca, cb) = (type_counts(self, &ma, u), type_counts(other, &mb, u));
                let get = |c: Option<&Vec<u32>>, i: Option<usize>| c.zip(i).and_then(|(c, i)| c.get(i)).copied();
                pairs
                    .iter()
                    .map(|p| get(ca, p.a).unwrap_or(0).saturating_add(get(cb, p.b).unwrap_or(0)))
                    .collect()
            })
            .collect();
        let merged = ActivityRollup {
            keys,
            first_event,
            last_event,
            periods,
            counts,
            types,
        };
        (merged, interleaved)
    }

    /// Sets the period totals of row `row` to those of the one-customer store `one` (that
    /// customer's events from every part of the store), for a customer whose periods
    /// [`merged`](Self::merged) could not merge.
    pub(super) fn recount(&mut self, row: usize, one: &EventStore) {
        let totals = customer_totals(one, 0, 0);
        for (k, column) in self.periods.iter_mut().enumerate() {
            if let (Some(slot), Some(t)) = (column.get_mut(row), totals.periods.get(k)) {
                *slot = *t;
            }
        }
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

/// The counts of the type whose code is `u` in the union of types that `map` maps `from`'s
/// codes into (`None` when `from` has not that type).
fn type_counts<'a>(from: &'a ActivityRollup, map: &[i32], u: usize) -> Option<&'a Vec<u32>> {
    let t = map.iter().position(|&to| usize::try_from(to).is_ok_and(|to| to == u))?;
    from.counts.get(t)
}

/// The first and last period of `kind` with a purchase, from a customer's purchase totals
/// (`None` without purchases).
fn period_span(purchases: &CustomerPurchases, kind: PeriodKind) -> Option<(i64, i64)> {
    (purchases.count > 0).then(|| {
        (
            kind.index(micros_to_day(purchases.first)),
            kind.index(micros_to_day(purchases.last)),
        )
    })
}

/// One customer's purchase periods of one kind on two sides (each: its totals and its first
/// and last purchase period), as those of both sides' purchases together; `None` when the
/// two sides' periods interleave, so that the distinct periods cannot be counted from the
/// totals.
fn merge_periods(
    a: Option<(PeriodTotals, Option<(i64, i64)>)>,
    b: Option<(PeriodTotals, Option<(i64, i64)>)>,
) -> Option<PeriodTotals> {
    let (Some((ta, Some((fa, la)))), Some((tb, Some((fb, lb))))) = (a, b) else {
        // At most one side has purchases: its totals are the customer's.
        let bought = |s: Option<(PeriodTotals, Option<(i64, i64)>)>| s.filter(|(_, span)| span.is_some());
        return Some(bought(a).or(bought(b)).map(|(t, _)| t).unwrap_or_default());
    };
    // The side whose periods come first, and the other.
    let ((early, first_early, last_early), (late, first_late)) = if la <= fb {
        ((ta, fa, la), (tb, fb))
    } else if lb <= fa {
        ((tb, fb, lb), (ta, fa))
    } else {
        return None;
    };
    // At most one period is on both sides: the early side's last, if it is the late side's first.
    let shared = last_early == first_late;
    let periods = early
        .periods
        .saturating_add(late.periods)
        .saturating_sub(u32::from(shared));
    // The first period is the early side's; the late side spent in it too when it is shared.
    let first_units = if shared && first_early == last_early {
        early.first_units.saturating_add(late.first_units)
    } else {
        early.first_units
    };
    Some(PeriodTotals { periods, first_units })
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
