//! Merging two stores into one: how appended segments meet the base store on open.
//!
//! [`merge`] gives the store that one ingest of `a`'s events followed by `b`'s would build:
//! customers are the union of both key sets in key order; each customer's events are `a`'s
//! and `b`'s merged by (time, event type, amount), and events equal in all three keep `a`'s
//! before `b`'s (the builder's stable order with `a` read first); dictionaries are the sorted
//! union of both. So a store opened with its appended segments is row for row the store a
//! full re-ingest of the same inputs would give.
//!
//! Cost: one pass over the keys, one over the events to place them, and one gather per
//! column, all linear and parallel over customers.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    Array, DictionaryArray, Float64Array, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, ScalarBuffer};
use rayon::prelude::*;

use super::builder::total_order_bits;
use super::columns::{StoreColumns, dict_values, dictionary};
use super::{CustomerKeys, EventStore};
use crate::error::{Error, Result};

/// Where one customer of the merged store has events: its index in `a`, in `b`, or both.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pair {
    pub(super) a: Option<usize>,
    pub(super) b: Option<usize>,
}

/// The sorted union of two strictly increasing key lists, with each key's source indices.
fn union_sorted<T: Ord + Copy>(x: &[T], y: &[T]) -> (Vec<T>, Vec<Pair>) {
    let mut keys = Vec::with_capacity(x.len().max(y.len()));
    let mut pairs = Vec::with_capacity(x.len().max(y.len()));
    let (mut i, mut j) = (0, 0);
    loop {
        let (k, p) = match (x.get(i), y.get(j)) {
            (None, None) => break,
            (Some(&p), None) => (p, Pair { a: Some(i), b: None }),
            (None, Some(&q)) => (q, Pair { a: None, b: Some(j) }),
            (Some(&p), Some(&q)) => match p.cmp(&q) {
                std::cmp::Ordering::Less => (p, Pair { a: Some(i), b: None }),
                std::cmp::Ordering::Greater => (q, Pair { a: None, b: Some(j) }),
                std::cmp::Ordering::Equal => (p, Pair { a: Some(i), b: Some(j) }),
            },
        };
        i += usize::from(p.a.is_some());
        j += usize::from(p.b.is_some());
        keys.push(k);
        pairs.push(p);
    }
    (keys, pairs)
}

/// The union of the customer keys of `a` and `b`, which must be of one type.
pub(super) fn merge_keys(a: &CustomerKeys, b: &CustomerKeys) -> Result<(CustomerKeys, Vec<Pair>)> {
    // A side without customers (of whatever key type) adds none.
    if b.is_empty() {
        let pairs = (0..a.len()).map(|i| Pair { a: Some(i), b: None }).collect();
        return Ok((a.clone(), pairs));
    }
    if a.is_empty() {
        let pairs = (0..b.len()).map(|j| Pair { a: None, b: Some(j) }).collect();
        return Ok((b.clone(), pairs));
    }
    match (a, b) {
        (CustomerKeys::Int(x), CustomerKeys::Int(y)) => {
            let (keys, pairs) = union_sorted(x.values(), y.values());
            Ok((CustomerKeys::Int(Int64Array::from(keys)), pairs))
        }
        (CustomerKeys::Str(x), CustomerKeys::Str(y)) => {
            let x: Vec<&str> = x.iter().map(Option::unwrap_or_default).collect();
            let y: Vec<&str> = y.iter().map(Option::unwrap_or_default).collect();
            let (keys, pairs) = union_sorted(&x, &y);
            Ok((CustomerKeys::Str(StringArray::from(keys)), pairs))
        }
        _ => Err(Error::param(
            "customer_id",
            "the stores' customer keys have different types (integer and string)",
        )),
    }
}

/// The sorted union of two dictionaries, and each side's code map into it.
pub(super) fn union_dict(a: &[String], b: &[String]) -> (Vec<String>, Vec<i32>, Vec<i32>) {
    let all: BTreeSet<&str> = a.iter().chain(b).map(String::as_str).collect();
    let values: Vec<String> = all.into_iter().map(str::to_string).collect();
    let code = |v: &String| {
        values
            .binary_search_by(|x| x.as_str().cmp(v.as_str()))
            .map_or(0, |i| i32::try_from(i).unwrap_or(0))
    };
    let ma = a.iter().map(code).collect();
    let mb = b.iter().map(code).collect();
    (values, ma, mb)
}

/// One side of a column: its values (borrowed when they need no mapping) and validity.
struct Side<'a, T: Copy> {
    values: Cow<'a, [T]>,
    nulls: Option<&'a NullBuffer>,
    /// The column is absent on this side: every row null.
    absent: bool,
}

impl<'a, T: Copy + Default + Send + Sync> Side<'a, T> {
    fn absent(n: usize) -> Self {
        Side {
            values: Cow::Owned(vec![T::default(); n]),
            nulls: None,
            absent: true,
        }
    }

    fn is_valid(&self, i: usize) -> bool {
        !self.absent && self.nulls.is_none_or(|n| n.is_valid(i))
    }

    fn has_nulls(&self) -> bool {
        self.absent || self.nulls.is_some_and(|n| n.null_count() > 0)
    }
}

/// A dictionary column's side: its keys mapped into the union dictionary by `map` (borrowed
/// as they are when the map is the identity).
fn dict_side<'a>(d: Option<&'a DictionaryArray<Int32Type>>, n: usize, map: &[i32]) -> Side<'a, i32> {
    let Some(d) = d else {
        return Side::absent(n);
    };
    let identity = map.iter().enumerate().all(|(i, &c)| usize::try_from(c).ok() == Some(i));
    let keys = d.keys().values();
    let values = if identity {
        Cow::Borrowed(&keys[..])
    } else {
        Cow::Owned(
            keys.par_iter()
                .map(|&k| usize::try_from(k).ok().and_then(|k| map.get(k)).copied().unwrap_or(0))
                .collect(),
        )
    };
    Side {
        values,
        nulls: d.keys().nulls(),
        absent: false,
    }
}

fn float_side(f: Option<&Float64Array>, n: usize) -> Side<'_, f64> {
    match f {
        None => Side::absent(n),
        Some(f) => Side {
            values: Cow::Borrowed(&f.values()[..]),
            nulls: f.nulls(),
            absent: false,
        },
    }
}

/// Row `i` of the concatenation `a ++ b`.
#[inline]
fn pick<T: Copy + Default>(a: &[T], b: &[T], i: u32) -> T {
    let i = i as usize;
    match i.checked_sub(a.len()) {
        None => a.get(i).copied().unwrap_or_default(),
        Some(j) => b.get(j).copied().unwrap_or_default(),
    }
}

/// Values of `a ++ b` in the order of `perm`, in parallel.
fn gather<T: Copy + Default + Send + Sync>(a: &[T], b: &[T], perm: &[u32]) -> Vec<T> {
    perm.par_iter().map(|&i| pick(a, b, i)).collect()
}

/// The validity of `a ++ b` in the order of `perm` (`None`: no nulls), packed 64 rows per
/// word in parallel.
fn gather_nulls<T: Copy + Default + Send + Sync>(a: &Side<'_, T>, b: &Side<'_, T>, perm: &[u32]) -> Option<NullBuffer> {
    if !a.has_nulls() && !b.has_nulls() {
        return None;
    }
    let na = a.values.len();
    let words: Vec<u64> = perm
        .par_chunks(64)
        .map(|rows| {
            rows.iter().enumerate().fold(0u64, |w, (bit, &i)| {
                let i = i as usize;
                let valid = match i.checked_sub(na) {
                    None => a.is_valid(i),
                    Some(j) => b.is_valid(j),
                };
                w | (u64::from(valid) << bit)
            })
        })
        .collect();
    let bits = BooleanBuffer::new(Buffer::from_vec(words), 0, perm.len());
    Some(NullBuffer::new(bits))
}

fn gather_side<T: Copy + Default + Send + Sync>(
    a: &Side<'_, T>,
    b: &Side<'_, T>,
    perm: &[u32],
) -> (Vec<T>, Option<NullBuffer>) {
    let (values, nulls) = rayon::join(|| gather(&a.values, &b.values, perm), || gather_nulls(a, b, perm));
    (values, nulls)
}

/// The merged dictionary column of `x` (rows of `a`) and `y` (rows of `b`); `None` when
/// neither has it.
fn merge_dict(
    x: Option<&DictionaryArray<Int32Type>>,
    na: usize,
    y: Option<&DictionaryArray<Int32Type>>,
    nb: usize,
    perm: &[u32],
) -> Result<Option<DictionaryArray<Int32Type>>> {
    if x.is_none() && y.is_none() {
        return Ok(None);
    }
    let (values, ma, mb) = union_dict(
        &x.map(dict_values).unwrap_or_default(),
        &y.map(dict_values).unwrap_or_default(),
    );
    let (sa, sb) = (dict_side(x, na, &ma), dict_side(y, nb, &mb));
    let (keys, nulls) = gather_side(&sa, &sb, perm);
    let keys = Int32Array::new(ScalarBuffer::from(keys), nulls);
    Ok(Some(DictionaryArray::try_new(
        keys,
        Arc::new(StringArray::from(values)),
    )?))
}

/// The merged float column (null slots hold 0.0 on both sides, so in the result too).
fn merge_floats(
    x: Option<&Float64Array>,
    na: usize,
    y: Option<&Float64Array>,
    nb: usize,
    perm: &[u32],
) -> Option<Float64Array> {
    if x.is_none() && y.is_none() {
        return None;
    }
    let (values, nulls) = gather_side(&float_side(x, na), &float_side(y, nb), perm);
    Some(Float64Array::new(ScalarBuffer::from(values), nulls))
}

/// What orders one customer's events (the builder's order): time, event type (union code),
/// amount (total order of the bits, null as NaN); 0 for an amount when no side has amounts.
#[inline]
fn sort_key(time: &[i64], types: &Side<'_, i32>, amount: Option<&Side<'_, f64>>, i: usize) -> (i64, i32, i64) {
    let amount = match amount {
        None => 0,
        Some(f) if f.is_valid(i) => total_order_bits(f.values.get(i).copied().unwrap_or(0.0)),
        Some(_) => total_order_bits(f64::NAN),
    };
    (
        time.get(i).copied().unwrap_or(0),
        types.values.get(i).copied().unwrap_or(0),
        amount,
    )
}

/// Customers per parallel piece of the placement pass.
const CUSTOMERS_PER_PIECE: usize = 4096;

/// The store holding the events of `a` and of `b`, as one ingest reading `a`'s events first
/// would build it (see the module docs). Both must have the same purchase type; their keys
/// the same type unless one has no customers. Columns present in one only are null for the
/// other's events. `a` is consumed column by column, so its memory is freed as the result
/// is built.
///
/// # Errors
/// [`Error::InvalidParameter`] when the purchase types or key types differ;
/// [`Error::Capacity`] beyond `u32::MAX - 1` events.
pub(crate) fn merge(a: EventStore, b: &EventStore) -> Result<EventStore> {
    if a.purchase_type() != b.purchase_type() {
        return Err(Error::param(
            "purchase_type",
            format!(
                "the stores' purchase types differ ({:?} and {:?})",
                a.purchase_type(),
                b.purchase_type()
            ),
        ));
    }
    let (na, nb) = (a.num_events(), b.num_events());
    let total = na + nb;
    if total >= u32::MAX as usize {
        return Err(Error::Capacity {
            message: format!("{total} events; a store holds at most {}", u32::MAX - 1),
        });
    }
    let (keys, pairs) = merge_keys(a.customer_keys(), b.customer_keys())?;
    let mut offsets = Vec::with_capacity(pairs.len() + 1);
    offsets.push(0usize);
    for p in &pairs {
        let n = p.a.map_or(0, |c| a.customer_range(c).len()) + p.b.map_or(0, |c| b.customer_range(c).len());
        offsets.push(offsets.last().copied().unwrap_or(0) + n);
    }
    let perm = placement(&a, b, &pairs, &offsets);
    drop(pairs);

    let purchase_type = a.purchase_type.clone();
    let cb = b.columns();
    let ca = a.columns;
    // Event types: sort keys were compared as union codes; the column is built the same way.
    let event_type =
        merge_dict(Some(&ca.event_type), na, Some(&cb.event_type), nb, &perm)?.ok_or_else(|| Error::Capacity {
            message: "internal: event types".into(),
        })?;
    drop(ca.event_type);
    let time = TimestampMicrosecondArray::from(gather(ca.time.values(), cb.time.values(), &perm))
        .with_timezone(crate::time::UTC);
    drop(ca.time);
    let amount = merge_floats(ca.amount.as_ref(), na, cb.amount.as_ref(), nb, &perm);
    drop(ca.amount);
    let channel = merge_dict(ca.channel.as_ref(), na, cb.channel.as_ref(), nb, &perm)?;
    drop(ca.channel);
    let product = merge_dict(ca.product.as_ref(), na, cb.product.as_ref(), nb, &perm)?;
    drop(ca.product);
    let campaign_id = merge_dict(ca.campaign_id.as_ref(), na, cb.campaign_id.as_ref(), nb, &perm)?;
    drop(ca.campaign_id);
    let score = merge_floats(ca.score.as_ref(), na, cb.score.as_ref(), nb, &perm);
    let cost = merge_floats(ca.cost.as_ref(), na, cb.cost.as_ref(), nb, &perm);
    let columns = StoreColumns {
        time,
        event_type,
        amount,
        channel,
        product,
        campaign_id,
        score,
        cost,
    };
    EventStore::from_parts(keys, offsets, columns, purchase_type)
}

/// Where each merged row comes from (an index into `a ++ b`): per customer, `a`'s events and
/// `b`'s merged by (time, event type, amount), `a`'s first on ties; pieces of customers in
/// parallel.
fn placement(a: &EventStore, b: &EventStore, pairs: &[Pair], offsets: &[usize]) -> Vec<u32> {
    let (ca, cb) = (a.columns(), b.columns());
    let (na, nb) = (a.num_events(), b.num_events());
    // Event types compare as union codes (sorted like the strings).
    let (_, ma, mb) = union_dict(&dict_values(&ca.event_type), &dict_values(&cb.event_type));
    let (ta, tb) = (
        dict_side(Some(&ca.event_type), na, &ma),
        dict_side(Some(&cb.event_type), nb, &mb),
    );
    let (fa, fb) = (float_side(ca.amount.as_ref(), na), float_side(cb.amount.as_ref(), nb));
    let has_amount = ca.amount.is_some() || cb.amount.is_some();
    let (time_a, time_b) = (ca.time.values(), cb.time.values());
    let key_a = |i: usize| sort_key(time_a, &ta, has_amount.then_some(&fa), i);
    let key_b = |j: usize| sort_key(time_b, &tb, has_amount.then_some(&fb), j);

    let mut perm = vec![0u32; na + nb];
    let mut pieces = Vec::with_capacity(pairs.len() / CUSTOMERS_PER_PIECE + 1);
    let mut rest: &mut [u32] = &mut perm;
    for (chunk, ps) in pairs.chunks(CUSTOMERS_PER_PIECE).enumerate() {
        let lo = chunk * CUSTOMERS_PER_PIECE;
        let len = offsets.get(lo + ps.len()).copied().unwrap_or(0) - offsets.get(lo).copied().unwrap_or(0);
        let r = std::mem::take(&mut rest);
        let (here, later) = r.split_at_mut(len.min(r.len()));
        pieces.push((ps, here));
        rest = later;
    }
    pieces.into_par_iter().for_each(|(ps, out)| {
        let mut slots = out.iter_mut();
        let mut put = |row: usize| {
            if let Some(s) = slots.next() {
                *s = row as u32;
            }
        };
        for p in ps {
            let ra = p.a.map_or(0..0, |c| a.customer_range(c));
            let rb = p.b.map_or(0..0, |c| b.customer_range(c));
            if rb.is_empty() {
                ra.for_each(&mut put);
                continue;
            }
            let (mut i, mut j) = (ra.start, rb.start);
            while i < ra.end || j < rb.end {
                // `a`'s event first unless `b`'s sorts strictly before it (ties keep `a` first).
                if j >= rb.end || (i < ra.end && key_a(i) <= key_b(j)) {
                    put(i);
                    i += 1;
                } else {
                    put(na + j);
                    j += 1;
                }
            }
        }
    });
    perm
}

/// A store without events whose optional columns are `names` (of [`StoreColumns`]): merged
/// into another store, it adds those columns (null) where that store lacks them.
pub(crate) fn shape(names: &[&str], purchase_type: &str) -> Result<EventStore> {
    use crate::schema;
    let has = |n: &str| names.contains(&n);
    let dict = |n: &str| has(n).then(|| dictionary(Vec::new(), Vec::new())).transpose();
    let float = |n: &str| has(n).then(|| Float64Array::from(Vec::<f64>::new()));
    let columns = StoreColumns {
        time: TimestampMicrosecondArray::from(Vec::<i64>::new()).with_timezone(crate::time::UTC),
        event_type: dictionary(Vec::new(), Vec::new())?,
        amount: float(schema::AMOUNT),
        channel: dict(schema::CHANNEL)?,
        product: dict(schema::PRODUCT)?,
        campaign_id: dict(schema::CAMPAIGN_ID)?,
        score: float(schema::SCORE),
        cost: float(schema::COST),
    };
    EventStore::from_parts(
        CustomerKeys::Int(Int64Array::from(Vec::<i64>::new())),
        vec![0],
        columns,
        purchase_type.to_string(),
    )
}
