//! Accumulates normalized batches and sorts them into an [`EventStore`].
//!
//! Appending only interns labels into store-wide dictionaries and extends plain vectors; all
//! ordering work happens once, in [`StoreBuilder::finish`]:
//!
//! 1. customer keys are ranked in their natural order (the dense `u32` index);
//! 2. label dictionaries are sorted and unused entries pruned, so codes never depend on input
//!    order;
//! 3. a stable counting sort by customer gives per-customer offsets, and each customer's slice
//!    is then sorted by (time, event type, amount), so the order of events, and every sum over
//!    them, does not depend on the input order or the thread count;
//! 4. every column is gathered through that permutation in parallel.

use std::collections::HashMap;

use rayon::prelude::*;

use super::EventStore;
use super::columns::StoreColumns;
use super::keys::{CustomerKeys, rank_ints};
use crate::error::{Error, Result};
use crate::ingest::KeyType;
use crate::ingest::columns::{DictCol, NULL_CODE};
use crate::ingest::normalize::{KeyCol, NormalizedBatch};

/// A store-wide string dictionary.
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    map: HashMap<String, u32>,
    values: Vec<String>,
}

impl Interner {
    fn code(&mut self, s: &str) -> u32 {
        if let Some(&c) = self.map.get(s) {
            return c;
        }
        let c = self.values.len() as u32;
        self.map.insert(s.to_string(), c);
        self.values.push(s.to_string());
        c
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
    pub fn finish(mut self) -> Result<EventStore> {
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
                .values
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
            }
        }
        // 1. customer ranks
        let (ranks, keys) = if self.any_str {
            let (order, remap) = sorted_order(&self.str_dict.values);
            let ranks: Vec<u32> = self
                .str_keys
                .par_iter()
                .map(|&c| remap.get(c as usize).copied().unwrap_or(0))
                .collect();
            let used = order
                .iter()
                .map(|&i| self.str_dict.values.get(i).map(String::as_str).unwrap_or_default());
            (ranks, CustomerKeys::Str(used.collect::<Vec<_>>().into()))
        } else {
            let (ranks, sorted) = rank_ints(&self.int_keys);
            (ranks, CustomerKeys::Int(sorted.into()))
        };
        let num_customers = keys.len();
        // 2. sorted dictionaries
        let types = finalize_dict(&mut self.event_type, &self.type_dict.values);
        let channel = self
            .channel
            .codes
            .as_mut()
            .map(|c| finalize_dict(c, &self.channel.dict.values));
        let product = self
            .product
            .codes
            .as_mut()
            .map(|c| finalize_dict(c, &self.product.dict.values));
        let campaign = self
            .campaign_id
            .codes
            .as_mut()
            .map(|c| finalize_dict(c, &self.campaign_id.dict.values));
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
        // Scatter compact sort keys into each customer's slots (one pass, stable), then sort
        // every customer's contiguous slice: no random reads into the columns while sorting.
        let mut keyed = vec![SortKey::default(); n];
        {
            let mut next = offsets.clone();
            let amount = self.amount.as_deref();
            for (row, &r) in ranks.iter().enumerate() {
                let slot = &mut next[r as usize];
                keyed[*slot] = SortKey {
                    time: self.time[row],
                    event_type: self.event_type[row],
                    amount: amount.map_or(0, |a| total_order_bits(a[row])),
                    row: row as u32,
                };
                *slot += 1;
            }
        }
        drop(ranks);
        {
            let mut slices: Vec<&mut [SortKey]> = Vec::with_capacity(num_customers);
            let mut rest: &mut [SortKey] = &mut keyed;
            for w in offsets.windows(2) {
                let (head, tail) = rest.split_at_mut(w[1] - w[0]);
                slices.push(head);
                rest = tail;
            }
            // Stable, so rows equal in every key keep input order.
            slices.par_iter_mut().for_each(|s| {
                if s.len() > 1 {
                    s.sort_by_key(|k| (k.time, k.event_type, k.amount));
                }
            });
        }
        let perm: Vec<u32> = keyed.par_iter().map(|k| k.row).collect();
        drop(keyed);
        // 4. gather
        let cols = StoreColumns::gather(
            &perm,
            &offsets,
            &self.time,
            (&self.event_type, types),
            self.amount.as_deref(),
            self.channel.codes.as_deref().zip(channel),
            self.product.codes.as_deref().zip(product),
            self.campaign_id.codes.as_deref().zip(campaign),
            self.score.as_deref(),
            self.cost.as_deref(),
        )?;
        EventStore::from_parts(keys, offsets, cols, self.purchase_type)
    }
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
fn total_order_bits(v: f64) -> i64 {
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
