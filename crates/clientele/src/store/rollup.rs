//! Per-customer purchase totals saved with a store: the rollup.
//!
//! A kernel that needs only each customer's purchase count, spend and first and last purchase
//! time (RFM in the `orders` convention) reads 19M events to compute four numbers per
//! customer. A version 2 store saves those numbers beside its event columns, in a file of one
//! row per customer (`rollup.g<N>.arrow`, checksummed per block and listed in the manifest
//! like every other file), so such a kernel opens 1M rows instead of 19M.
//!
//! | column | type | per customer |
//! |---|---|---|
//! | `purchases` | UInt32 | purchase events (a store holds at most 2³² − 1 events per customer) |
//! | `spend` | Decimal128(38, 9) | their amounts summed in exact nano-units, as the kernels sum them |
//! | `first_purchase` | Int64, µs since the epoch | null without purchases |
//! | `purchase_span` | Int64, µs | last purchase − first (0 for one purchase; smaller numbers than a second time stamp, so they compress better); null without purchases |
//!
//! The totals are a mergeable state: two partitions of a customer's events give totals whose
//! sum (counts, spend) and min / max (times) are the totals of the whole, exactly
//! ([`CustomerPurchases::merge`]). That is how a store with appended segments keeps its
//! rollup current: each segment saves the totals of its own events, and opening merges them
//! into the base's (see [`rollup_open`](super::rollup_open)). They cover every event of the store, so they answer
//! only questions about all of it (an RFM `as_of` after the last purchase); a kernel falls
//! back to the events for the others.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int64Type, UInt32Type};
use arrow_array::{Array, ArrayRef, Decimal128Array, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};

use super::merge::Pair;
use super::{CustomerKeys, EventStore};
use crate::error::Result;
use crate::exec::Parallelism;
use crate::money::to_units;

/// The stem of the rollup file.
pub(super) const ROLLUP: &str = "rollup";

const PURCHASES: &str = "purchases";
const SPEND: &str = "spend";
const FIRST: &str = "first_purchase";
const SPAN: &str = "purchase_span";

/// Customers per parallel task.
const CHUNK: usize = 8192;

/// One customer's purchase totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerPurchases {
    /// Purchase events.
    pub count: u64,
    /// Their amounts in nano-units (10⁻⁹ of a currency unit; null amounts count 0).
    pub units: i128,
    /// The first purchase, µs since the epoch (`i64::MAX` without purchases).
    pub first: i64,
    /// The last purchase, µs since the epoch (`i64::MIN` without purchases).
    pub last: i64,
}

impl Default for CustomerPurchases {
    fn default() -> Self {
        CustomerPurchases {
            count: 0,
            units: 0,
            first: i64::MAX,
            last: i64::MIN,
        }
    }
}

impl CustomerPurchases {
    /// Adds one purchase.
    pub fn update(&mut self, time: i64, units: i128) {
        self.count += 1;
        self.units = self.units.saturating_add(units);
        self.first = self.first.min(time);
        self.last = self.last.max(time);
    }

    /// Merges the totals of another partition of the same customer's purchases.
    pub fn merge(&mut self, other: &CustomerPurchases) {
        self.count += other.count;
        self.units = self.units.saturating_add(other.units);
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
    }
}

/// Every customer's purchase totals, aligned with the store's customer keys.
#[derive(Debug, Clone)]
pub struct PurchaseRollup {
    keys: CustomerKeys,
    rows: Vec<CustomerPurchases>,
}

impl PurchaseRollup {
    /// The totals of `store`'s purchases (events of its purchase type), in `par`'s pool.
    pub fn of(store: &EventStore, par: &Parallelism) -> Self {
        let parts: Vec<Vec<CustomerPurchases>> = par.map_chunks(store.num_customers(), CHUNK, |r| {
            r.map(|c| customer_purchases(store, c)).collect()
        });
        PurchaseRollup {
            keys: store.customer_keys().clone(),
            rows: parts.into_iter().flatten().collect(),
        }
    }

    /// [`of`](Self::of) in the calling thread (a save outside any pool).
    pub(super) fn of_sequential(store: &EventStore) -> Self {
        PurchaseRollup {
            keys: store.customer_keys().clone(),
            rows: (0..store.num_customers())
                .map(|c| customer_purchases(store, c))
                .collect(),
        }
    }

    /// The customer keys, in the store's order.
    pub fn keys(&self) -> &CustomerKeys {
        &self.keys
    }

    /// The totals, one per customer key.
    pub fn customers(&self) -> &[CustomerPurchases] {
        &self.rows
    }

    /// The latest purchase of any customer (`None` without purchases).
    pub fn last_purchase(&self) -> Option<i64> {
        self.rows.iter().filter(|r| r.count > 0).map(|r| r.last).max()
    }

    /// The totals of the union of this rollup's customers and `other`'s (`keys`, with each
    /// key's place on either side in `pairs`): a customer on both sides gets both sides'
    /// totals merged ([`CustomerPurchases::merge`]), so the rollups of a base store and of a
    /// segment appended to it give the rollup of the two stores' events together.
    pub(super) fn merged(&self, other: &PurchaseRollup, keys: CustomerKeys, pairs: &[Pair]) -> PurchaseRollup {
        use rayon::prelude::*;
        // In the caller's pool (rayon keeps the order).
        let rows = pairs
            .par_iter()
            .map(|p| {
                let mut t = p.a.and_then(|i| self.rows.get(i)).copied().unwrap_or_default();
                if let Some(o) = p.b.and_then(|j| other.rows.get(j)) {
                    t.merge(o);
                }
                t
            })
            .collect();
        PurchaseRollup { keys, rows }
    }

    /// The totals as the rollup file's columns.
    pub(super) fn to_batch(&self) -> Result<RecordBatch> {
        let bought = |r: &CustomerPurchases, v: i64| (r.count > 0).then_some(v);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from_iter_values(
                self.rows.iter().map(|r| u32::try_from(r.count).unwrap_or(u32::MAX)),
            )),
            Arc::new(
                Decimal128Array::from_iter_values(self.rows.iter().map(|r| r.units)).with_precision_and_scale(38, 9)?,
            ),
            Arc::new(Int64Array::from_iter(self.rows.iter().map(|r| bought(r, r.first)))),
            Arc::new(Int64Array::from_iter(
                self.rows.iter().map(|r| bought(r, r.last.saturating_sub(r.first))),
            )),
        ];
        Ok(RecordBatch::try_new(Arc::new(schema()), columns)?)
    }

    /// The rollup of `keys` from the rollup file's `batches`.
    ///
    /// # Errors
    /// [`Error::CorruptStore`] when the columns are missing, mistyped, of another length than
    /// the keys, or disagree (a time without purchases, a negative span).
    pub(super) fn from_batches(dir: &Path, keys: CustomerKeys, batches: &[RecordBatch]) -> Result<Self> {
        let bad = |what: &str| super::persist::corrupt(dir, format!("the rollup file: {what}"));
        let mut rows = Vec::with_capacity(keys.len());
        for b in batches {
            if b.schema().fields() != schema().fields() {
                return Err(bad("its columns are not the rollup's"));
            }
            let count = b.column(0).as_primitive::<UInt32Type>();
            let units = b.column(1).as_primitive::<Decimal128Type>();
            let first = b.column(2).as_primitive::<Int64Type>();
            let span = b.column(3).as_primitive::<Int64Type>();
            if count.null_count() > 0 || units.null_count() > 0 {
                return Err(bad("a null purchase count or spend"));
            }
            for i in 0..b.num_rows() {
                let n = u64::from(count.value(i));
                let (f, l) = (first.is_valid(i), span.is_valid(i));
                let last = first.value(i).checked_add(span.value(i)).filter(|_| span.value(i) >= 0);
                let r = match (n > 0, f && l, last) {
                    (true, true, Some(last)) => CustomerPurchases {
                        count: n,
                        units: units.value(i),
                        first: first.value(i),
                        last,
                    },
                    (false, false, _) if !f && !l && units.value(i) == 0 => CustomerPurchases::default(),
                    _ => {
                        return Err(bad(&format!(
                            "row {} has purchase times that disagree with its count",
                            rows.len()
                        )));
                    }
                };
                rows.push(r);
            }
        }
        if rows.len() != keys.len() {
            return Err(bad(&format!("{} rows for {} customers", rows.len(), keys.len())));
        }
        Ok(PurchaseRollup { keys, rows })
    }
}

/// The purchase totals of customer `c` of `store`.
fn customer_purchases(store: &EventStore, c: usize) -> CustomerPurchases {
    let cols = store.columns();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    // Store invariant: null amounts hold 0.0.
    let amounts: Option<&[f64]> = cols.amount.as_ref().map(|a| &a.values()[..]);
    let mut t = CustomerPurchases::default();
    if let Some(p) = store.purchase_code() {
        for i in store.customer_range(c) {
            if types.get(i) == Some(&p) {
                let units = amounts.and_then(|v| v.get(i)).map_or(0, |&x| to_units(x));
                t.update(times.get(i).copied().unwrap_or_default(), units);
            }
        }
    }
    t
}

/// The rollup file's schema.
fn schema() -> Schema {
    Schema::new(vec![
        Field::new(PURCHASES, DataType::UInt32, false),
        Field::new(SPEND, DataType::Decimal128(38, 9), false),
        Field::new(FIRST, DataType::Int64, true),
        Field::new(SPAN, DataType::Int64, true),
    ])
}

/// True when every purchase of `rollup` is before `as_of` (µs): a question about purchases
/// before `as_of` is then one about all of them.
pub(crate) fn rollup_covers(rollup: &PurchaseRollup, as_of: i64) -> bool {
    rollup.last_purchase().is_none_or(|last| last < as_of)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;

    #[test]
    fn merging_partitions_gives_the_totals_of_the_whole() {
        let events: Vec<(i64, i128)> = (0..50)
            .map(|i| ((i * 37) % 23, i128::from(i) * 1_000_000_007))
            .collect();
        let mut whole = CustomerPurchases::default();
        for &(t, u) in &events {
            whole.update(t, u);
        }
        for split in 0..=events.len() {
            let (mut a, mut b) = (CustomerPurchases::default(), CustomerPurchases::default());
            events[..split].iter().for_each(|&(t, u)| a.update(t, u));
            events[split..].iter().for_each(|&(t, u)| b.update(t, u));
            let mut ab = a;
            ab.merge(&b);
            b.merge(&a);
            assert_eq!(ab, whole, "split {split}");
            assert_eq!(b, whole, "split {split}, merged the other way");
        }
    }
}
