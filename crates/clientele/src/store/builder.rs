//! Accumulates normalized batches and sorts them into an [`EventStore`].
//!
//! Appending only interns labels into store-wide dictionaries and extends plain vectors; all
//! ordering work happens once, in [`StoreBuilder::finish`]:
//!
//! 1. customer keys are ranked in their natural order (the dense `u32` index);
//! 2. label dictionaries are sorted and unused entries pruned, so codes never depend on input
//!    order;
//! 3. a stable partition by customer range, then per partition a counting sort by customer and
//!    a sort of each customer's events by (time, event type, amount): the order, and so every
//!    sum over time, type and amount, does not depend on the input order or the thread count
//!    (rows equal in all three keep their input order);
//! 4. every column is gathered through that permutation in parallel.

use rayon::prelude::*;

use super::EventStore;
use super::batch::{DictCol, NULL_CODE, StrCodes};
use super::batch::{KeyCol, NormalizedBatch};
use super::batch::{KeyType, KeyTyping};
use super::columns::StoreColumns;
use super::keys::{CustomerKeys, rank_ints};
use crate::error::{Error, Result};

/// A store-wide string dictionary.
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    strings: StrCodes,
}

impl Interner {
    fn code(&mut self, s: &str) -> u32 {
        self.strings.code(s)
    }

    /// The strings, by code.
    fn values(&self) -> &[String] {
        self.strings.values()
    }

    /// Appends `local`'s rows to `codes`, translating local codes to store-wide ones.
    fn extend(&mut self, codes: &mut Vec<u32>, local: &DictCol) {
        let table: Vec<u32> = local.values.iter().map(|v| self.code(v)).collect();
        codes.extend(local.codes.iter().map(|&c| {
            if c == NULL_CODE {
                NULL_CODE
            } else {
                table.get(c as usize).copied().unwrap_or(NULL_CODE)
            }
        }));
    }
}

/// An optional label column under construction.
#[derive(Debug, Default, Clone)]
struct LabelCol {
    codes: Option<Vec<u32>>,
    dict: Interner,
}

impl LabelCol {
    fn append(&mut self, before: usize, col: Option<&DictCol>, rows: usize) {
        match (col, self.codes.as_mut()) {
            (Some(c), Some(codes)) => self.dict.extend(codes, c),
            (Some(c), None) => {
                let mut codes = vec![NULL_CODE; before];
                self.dict.extend(&mut codes, c);
                self.codes = Some(codes);
            }
            (None, Some(codes)) => codes.resize(before + rows, NULL_CODE),
            (None, None) => {}
        }
    }
}

/// An optional float column under construction (NaN = null).
fn append_floats(dst: &mut Option<Vec<f64>>, before: usize, src: Option<&Vec<f64>>, rows: usize) {
    match (src, dst.as_mut()) {
        (Some(s), Some(d)) => d.extend_from_slice(s),
        (Some(s), None) => {
            let mut d = vec![f64::NAN; before];
            d.extend_from_slice(s);
            *dst = Some(d);
        }
        (None, Some(d)) => d.resize(before + rows, f64::NAN),
        (None, None) => {}
    }
}

/// A point to roll a [`StoreBuilder`] back to: its length and which optional columns existed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BuilderMark {
    len: usize,
    present: [bool; 6],
}

/// Collects accepted events; [`finish`](Self::finish) orders them into an [`EventStore`].
#[derive(Debug, Clone)]
pub(crate) struct StoreBuilder {
    purchase_type: String,
    key_type: KeyType,
    int_keys: Vec<i64>,
    str_keys: Vec<u32>,
    str_dict: Interner,
    /// Whether some batch had string keys (then `str_keys` holds every row's key).
    any_str: bool,
    time: Vec<i64>,
    event_type: Vec<u32>,
    type_dict: Interner,
    amount: Option<Vec<f64>>,
    channel: LabelCol,
    product: LabelCol,
    campaign_id: LabelCol,
    score: Option<Vec<f64>>,
    cost: Option<Vec<f64>>,
}

impl StoreBuilder {
    pub fn new(purchase_type: &str, key_type: KeyType) -> Self {
        StoreBuilder {
            purchase_type: purchase_type.to_string(),
            key_type,
            int_keys: Vec::new(),
            str_keys: Vec::new(),
            str_dict: Interner::default(),
            any_str: false,
            time: Vec::new(),
            event_type: Vec::new(),
            type_dict: Interner::default(),
            amount: None,
            channel: LabelCol::default(),
            product: LabelCol::default(),
            campaign_id: LabelCol::default(),
            score: None,
            cost: None,
        }
    }

    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// A mark to [`rollback`](Self::rollback) to.
    pub fn mark(&self) -> BuilderMark {
        BuilderMark {
            len: self.len(),
            present: [
                self.amount.is_some(),
                self.channel.codes.is_some(),
                self.product.codes.is_some(),
                self.campaign_id.codes.is_some(),
                self.score.is_some(),
                self.cost.is_some(),
            ],
        }
    }

    /// Forgets every row appended since `mark`. Dictionary entries added since stay, unused
    /// (they are pruned at `finish`); keys switched to strings stay strings, which `finish`
    /// resolves to the same keys.
    pub fn rollback(&mut self, mark: BuilderMark) {
        let n = mark.len;
        self.int_keys.truncate(n);
        self.str_keys.truncate(n);
        self.time.truncate(n);
        self.event_type.truncate(n);
        let [amount, channel, product, campaign, score, cost] = mark.present;
        let floats = |v: &mut Option<Vec<f64>>, keep: bool| {
            if keep {
                v.iter_mut().for_each(|v| v.truncate(n))
            } else {
                *v = None
            }
        };
        let labels = |v: &mut Option<Vec<u32>>, keep: bool| {
            if keep {
                v.iter_mut().for_each(|v| v.truncate(n))
            } else {
                *v = None
            }
        };
        floats(&mut self.amount, amount);
        labels(&mut self.channel.codes, channel);
        labels(&mut self.product.codes, product);
        labels(&mut self.campaign_id.codes, campaign);
        floats(&mut self.score, score);
        floats(&mut self.cost, cost);
    }

    /// Switches every key seen so far to string keys.
    fn switch_to_string_keys(&mut self) {
        if self.any_str {
            return;
        }
        self.any_str = true;
        let ints = std::mem::take(&mut self.int_keys);
        let mut codes = Vec::with_capacity(ints.len());
        for k in ints {
            codes.push(self.str_dict.code(&k.to_string()));
        }
        self.str_keys = codes;
    }

    pub fn append(&mut self, batch: &NormalizedBatch) {
        let before = self.len();
        let rows = batch.len();
        match &batch.keys {
            KeyCol::Int(v) => {
                if self.any_str {
                    for k in v {
                        let c = self.str_dict.code(&k.to_string());
                        self.str_keys.push(c);
                    }
                } else {
                    self.int_keys.extend_from_slice(v);
                }
            }
            KeyCol::Str(d) => {
                self.switch_to_string_keys();
                self.str_dict.extend(&mut self.str_keys, d);
            }
        }
        self.time.extend_from_slice(&batch.time);
        match &batch.event_type {
            Some(d) => self.type_dict.extend(&mut self.event_type, d),
            None => {
                let c = self.type_dict.code(&self.purchase_type);
                self.event_type.resize(before + rows, c);
            }
        }
        append_floats(&mut self.amount, before, batch.amount.as_ref(), rows);
        self.channel.append(before, batch.channel.as_ref(), rows);
        self.product.append(before, batch.product.as_ref(), rows);
        self.campaign_id.append(before, batch.campaign_id.as_ref(), rows);
        append_floats(&mut self.score, before, batch.score.as_ref(), rows);
        append_floats(&mut self.cost, before, batch.cost.as_ref(), rows);
    }

    /// Appends every event of `store` (used to add new data to an existing store).
    pub fn append_store(&mut self, store: &EventStore) {
        let cols = store.columns();
        let n = store.num_events();
        let mut customer = Vec::with_capacity(n);
        for c in 0..store.num_customers() {
            let len = store.customer_range(c).len();
            customer.extend(std::iter::repeat_n(c as u32, len));
        }
        let keys = match store.customer_keys() {
            CustomerKeys::Int(a) => KeyCol::Int(customer.iter().map(|&c| a.value(c as usize)).collect()),
            CustomerKeys::Str(a) => KeyCol::Str(DictCol {
                values: a.iter().map(|v| v.unwrap_or_default().to_string()).collect(),
                codes: customer,
            }),
        };
        let batch = NormalizedBatch {
            keys,
            time: cols.time.values().to_vec(),
            event_type: Some(cols.event_type_dict()),
            amount: cols.amount.as_ref().map(super::columns::floats_with_nan),
            channel: cols.channel.as_ref().map(super::columns::dict_col),
            product: cols.product.as_ref().map(super::columns::dict_col),
            campaign_id: cols.campaign_id.as_ref().map(super::columns::dict_col),
            score: cols.score.as_ref().map(super::columns::floats_with_nan),
            cost: cols.cost.as_ref().map(super::columns::floats_with_nan),
        };
        self.append(&batch);
    }

    /// Orders the events into an [`EventStore`].
    ///
    /// # Errors
    /// [`Error::Capacity`] beyond `u32::MAX` events or customers.
    pub fn finish(self) -> Result<EventStore> {
        self.finish_typed().map(|(store, _)| store)
    }

    /// [`finish`](Self::finish), and how the keys were typed.
    ///
    /// # Errors
    /// As [`finish`](Self::finish).
    pub fn finish_typed(mut self) -> Result<(EventStore, KeyTyping)> {
        let requested = self.key_type;
        let mut non_integer_keys = 0u64;
        let mut examples = Vec::new();
        let n = self.len();
        if n >= u32::MAX as usize {
            return Err(Error::Capacity {
                message: format!("{n} events; a store holds at most {}", u32::MAX - 1),
            });
        }
        if !self.any_str && self.key_type == KeyType::String {
            self.switch_to_string_keys();
        }
        if self.any_str && self.key_type == KeyType::Auto {
            // Integer keys after all, if every string parses (as pandas would read them).
            let parsed: Option<Vec<i64>> = self
                .str_dict
                .values()
                .iter()
                .map(|s| s.trim().parse::<i64>().ok())
                .collect();
            if let Some(parsed) = parsed {
                self.int_keys = self
                    .str_keys
                    .iter()
                    .map(|&c| parsed.get(c as usize).copied().unwrap_or(0))
                    .collect();
                self.any_str = false;
            } else {
                // say which keys kept the column text (dictionary order: first appearance)
                for v in self.str_dict.values() {
                    if v.trim().parse::<i64>().is_err() {
                        non_integer_keys += 1;
                        if examples.len() < KeyTyping::EXAMPLES {
                            examples.push(v.clone());
                        }
                    }
                }
            }
        }
        // 1. customer ranks
        let (ranks, keys) = if self.any_str {
            let (order, remap) = sorted_order(self.str_dict.values());
            let ranks: Vec<u32> = self
                .str_keys
                .par_iter()
                .map(|&c| remap.get(c as usize).copied().unwrap_or(0))
                .collect();
            let used = order
                .iter()
                .map(|&i| self.str_dict.values().get(i).map(String::as_str).unwrap_or_default());
            (ranks, CustomerKeys::Str(used.collect::<Vec<_>>().into()))
        } else {
            let (ranks, sorted) = rank_ints(&self.int_keys);
            (ranks, CustomerKeys::Int(sorted.into()))
        };
        let num_customers = keys.len();
        // 2. sorted dictionaries
        let types = finalize_dict(&mut self.event_type, self.type_dict.values());
        let channel = self
            .channel
            .codes
            .as_mut()
            .map(|c| finalize_dict(c, self.channel.dict.values()));
        let product = self
            .product
            .codes
            .as_mut()
            .map(|c| finalize_dict(c, self.product.dict.values()));
        let campaign = self
            .campaign_id
            .codes
            .as_mut()
            .map(|c| finalize_dict(c, self.campaign_id.dict.values()));
        // 3. counting sort by customer, then time order within each customer
        let mut offsets = vec![0usize; num_customers + 1];
        for &r in &ranks {
            if let Some(o) = offsets.get_mut(r as usize + 1) {
                *o += 1;
            }
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        // Two cache-friendly passes instead of one random scatter over all rows (input is
        // usually time-ordered, so a customer's events are spread over the whole input):
        // (a) a stable partition of every column into contiguous customer ranges of about
        //     PART_ROWS rows, whose writes go to few sequential streams;
        // (b) per partition, in parallel: counting sort by customer, then each customer's
        //     events by (time, event type, amount); the permutation stays inside the partition,
        //     so the final gather reads cache-sized windows.
        let parts = partitions(&offsets);
        let dest = partition_destinations(&ranks, &offsets, &parts);
        // The columns are independent: scatter them in parallel.
        let ((ranks, time), (event_type, amount)) = rayon::join(
            || rayon::join(|| scatter(&ranks, &dest), || scatter(&self.time, &dest)),
            || {
                rayon::join(
                    || scatter(&self.event_type, &dest),
                    || self.amount.as_deref().map(|a| scatter(a, &dest)),
                )
            },
        );
        let opt = |c: Option<&[u32]>| c.map(|c| scatter(c, &dest));
        let optf = |c: Option<&[f64]>| c.map(|c| scatter(c, &dest));
        let ((channel_codes, product_codes), (campaign_codes, (score, cost))) = rayon::join(
            || {
                rayon::join(
                    || opt(self.channel.codes.as_deref()),
                    || opt(self.product.codes.as_deref()),
                )
            },
            || {
                rayon::join(
                    || opt(self.campaign_id.codes.as_deref()),
                    || rayon::join(|| optf(self.score.as_deref()), || optf(self.cost.as_deref())),
                )
            },
        );
        drop(dest);
        let perm = local_order(&parts, &offsets, &ranks, &time, &event_type, amount.as_deref());
        drop(ranks);
        // 4. gather
        let cols = StoreColumns::gather(
            &perm,
            &time,
            (&event_type, types),
            amount.as_deref(),
            channel_codes.as_deref().zip(channel),
            product_codes.as_deref().zip(product),
            campaign_codes.as_deref().zip(campaign),
            score.as_deref(),
            cost.as_deref(),
        )?;
        let store = EventStore::from_parts(keys, offsets, cols, self.purchase_type)?;
        let typing = KeyTyping {
            requested,
            typed_as: if self.any_str { KeyType::String } else { KeyType::Int },
            distinct_keys: store.num_customers() as u64,
            non_integer_keys,
            examples,
        };
        Ok((store, typing))
    }
}

/// Rows per partition of the ordering step (about what fits in a core's L2 cache).
const PART_ROWS: usize = 1 << 15;

/// Splits customers into contiguous ranges of about [`PART_ROWS`] events: `(first customer,
/// end customer)` per partition.
fn partitions(offsets: &[usize]) -> Vec<(usize, usize)> {
    let customers = offsets.len().saturating_sub(1);
    let mut parts = Vec::new();
    let mut start = 0;
    for c in 0..customers {
        if offsets[c + 1] - offsets[start] >= PART_ROWS {
            parts.push((start, c + 1));
            start = c + 1;
        }
    }
    if start < customers || parts.is_empty() {
        parts.push((start, customers));
    }
    parts
}

/// For each row, its position after a stable partition by customer range.
fn partition_destinations(ranks: &[u32], offsets: &[usize], parts: &[(usize, usize)]) -> Vec<u32> {
    let customers = offsets.len().saturating_sub(1);
    let mut part_of = vec![0u32; customers];
    for (p, &(lo, hi)) in parts.iter().enumerate() {
        part_of[lo..hi].iter_mut().for_each(|x| *x = p as u32);
    }
    let mut next: Vec<usize> = parts.iter().map(|&(lo, _)| offsets[lo]).collect();
    ranks
        .iter()
        .map(|&r| {
            let slot = &mut next[part_of[r as usize] as usize];
            let d = *slot as u32;
            *slot += 1;
            d
        })
        .collect()
}

/// `out[dest[i]] = src[i]`.
fn scatter<T: Copy + Default>(src: &[T], dest: &[u32]) -> Vec<T> {
    let mut out = vec![T::default(); src.len()];
    for (&v, &d) in src.iter().zip(dest) {
        out[d as usize] = v;
    }
    out
}

/// The permutation that orders partitioned rows by (customer, time, event type, amount),
/// computed per partition in parallel; every index stays inside its partition.
fn local_order(
    parts: &[(usize, usize)],
    offsets: &[usize],
    ranks: &[u32],
    time: &[i64],
    event_type: &[u32],
    amount: Option<&[f64]>,
) -> Vec<u32> {
    let mut perm = vec![0u32; ranks.len()];
    let mut slices: Vec<(&mut [u32], (usize, usize))> = Vec::with_capacity(parts.len());
    let mut rest: &mut [u32] = &mut perm;
    for &(lo, hi) in parts {
        let (head, tail) = rest.split_at_mut(offsets[hi] - offsets[lo]);
        slices.push((head, (lo, hi)));
        rest = tail;
    }
    slices.into_par_iter().for_each(|(out, (lo, hi))| {
        let base = offsets[lo];
        let mut next: Vec<usize> = offsets[lo..hi].iter().map(|&o| o - base).collect();
        let mut keyed = vec![SortKey::default(); out.len()];
        for row in base..base + out.len() {
            let slot = &mut next[ranks[row] as usize - lo];
            keyed[*slot] = SortKey {
                time: time[row],
                event_type: event_type[row],
                amount: amount.map_or(0, |a| total_order_bits(a[row])),
                row: row as u32,
            };
            *slot += 1;
        }
        for c in lo..hi {
            let s = &mut keyed[offsets[c] - base..offsets[c + 1] - base];
            if s.len() > 1 {
                // Stable: rows equal in every key keep input order.
                s.sort_by_key(|k| (k.time, k.event_type, k.amount));
            }
        }
        for (o, k) in out.iter_mut().zip(&keyed) {
            *o = k.row;
        }
    });
    perm
}

/// What orders the events of one customer: time, then event type, then amount, then input row.
#[derive(Debug, Clone, Copy, Default)]
struct SortKey {
    time: i64,
    event_type: u32,
    /// The amount's bits mapped so that integer order is `f64::total_cmp` order.
    amount: i64,
    row: u32,
}

/// Maps `f64` bits to an `i64` whose order is `f64::total_cmp`'s.
#[inline]
pub(super) fn total_order_bits(v: f64) -> i64 {
    let b = v.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

/// The indices of `values` in sorted order, and for each value its rank.
fn sorted_order(values: &[String]) -> (Vec<usize>, Vec<u32>) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.par_sort_unstable_by(|&a, &b| values[a].cmp(&values[b]));
    let mut remap = vec![0u32; values.len()];
    for (rank, &i) in order.iter().enumerate() {
        remap[i] = rank as u32;
    }
    (order, remap)
}

/// Sorts a dictionary, drops entries no row uses, and rewrites `codes` to the new order.
fn finalize_dict(codes: &mut [u32], values: &[String]) -> Vec<String> {
    let mut used = vec![false; values.len()];
    for &c in codes.iter() {
        if let Some(u) = used.get_mut(c as usize) {
            *u = true;
        }
    }
    let mut kept: Vec<usize> = (0..values.len()).filter(|&i| used[i]).collect();
    kept.sort_by(|&a, &b| values[a].cmp(&values[b]));
    let mut remap = vec![NULL_CODE; values.len()];
    for (rank, &i) in kept.iter().enumerate() {
        remap[i] = rank as u32;
    }
    codes.par_iter_mut().for_each(|c| {
        *c = if *c == NULL_CODE {
            NULL_CODE
        } else {
            remap.get(*c as usize).copied().unwrap_or(NULL_CODE)
        }
    });
    kept.into_iter().map(|i| values[i].clone()).collect()
}
