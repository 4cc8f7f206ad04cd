//! The summary as a mergeable aggregate: `update` with batches, `merge` partials, `finish`.
//!
//! This is how the summary scales out (DataFusion, Spark): each partition of the events feeds
//! its own [`SummaryAccumulator`], partials are merged in any order, and `finish` gives exactly
//! the table [`summarize`](super::summarize) computes over a store of all the events: the same
//! rows, columns and bits. Partial state per customer is a
//! [`CustomerState`](super::CustomerState); its event-type dictionary is local to each
//! accumulator and remapped on merge.

use std::collections::HashMap;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use std::sync::Arc;

use super::output::SummaryColumns;
use super::params::SummaryConfig;
use super::state::CustomerState;
use crate::error::{Error, Result};
use crate::ingest::normalize::{RowNumbers, normalize};
use crate::ingest::{IngestConfig, IngestOptions, KeyType};
use crate::store::OwnedKey;
use crate::store::batch::KeyCol;
use crate::store::batch::NULL_CODE;

/// A mergeable summary aggregate. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct SummaryAccumulator {
    pub(super) config: SummaryConfig,
    pub(super) ingest: IngestConfig,
    pub(super) types: Vec<String>,
    type_index: HashMap<String, usize>,
    pub(super) customers: HashMap<OwnedKey, CustomerState>,
}

impl SummaryAccumulator {
    /// An empty accumulator. `ingest` says how `update` reads batches (column mapping, time
    /// format, purchase type); refunds are accepted and any bad row is an error, since an
    /// aggregate cannot drop rows silently.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] from [`IngestOptions::validate`].
    pub fn new(config: &SummaryConfig, ingest: &IngestOptions) -> Result<Self> {
        let opts = ingest.clone().strict(true).allow_refunds(true);
        Ok(SummaryAccumulator {
            config: config.clone(),
            ingest: opts.validate()?,
            types: Vec::new(),
            type_index: HashMap::new(),
            customers: HashMap::new(),
        })
    }

    pub(super) fn type_code(&mut self, name: &str) -> usize {
        if let Some(&c) = self.type_index.get(name) {
            return c;
        }
        let c = self.types.len();
        self.types.push(name.to_string());
        self.type_index.insert(name.to_string(), c);
        c
    }

    /// Adds the events of `batch`.
    ///
    /// # Errors
    /// [`Error::MissingColumn`], [`Error::ColumnType`], or [`Error::RejectedRow`] for the
    /// first invalid row.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        let (nb, _) = normalize(batch, "batch", RowNumbers::From(1), &self.ingest)?;
        let purchase = self.ingest.options().purchase_type.clone();
        // Types are registered when a row uses them, as the store keeps only used types.
        let names: Vec<String> = match &nb.event_type {
            Some(d) => d.values.clone(),
            None => vec![purchase.clone()],
        };
        let mut local: Vec<Option<usize>> = vec![None; names.len()];
        for i in 0..nb.len() {
            let code = nb.event_type.as_ref().map_or(0, |d| d.codes[i]) as usize;
            if let Some(slot @ None) = local.get_mut(code) {
                *slot = names.get(code).map(|n| self.type_code(n));
            }
        }
        let purchase_code = self.type_index.get(&purchase).copied();
        let ntypes = self.types.len();
        for i in 0..nb.len() {
            let key = match &nb.keys {
                KeyCol::Int(v) => OwnedKey::Int(v[i]),
                KeyCol::Str(d) => OwnedKey::Str(d.values.get(d.codes[i] as usize).cloned().unwrap_or_default()),
            };
            let code = match &nb.event_type {
                Some(d) => d.codes[i],
                None => 0,
            };
            let t = if code == NULL_CODE {
                0
            } else {
                local.get(code as usize).copied().flatten().unwrap_or(0)
            };
            let amount = nb.amount.as_ref().map_or(f64::NAN, |a| a[i]);
            let state = self.customers.entry(key).or_insert_with(|| CustomerState {
                type_counts: vec![0; ntypes],
                ..Default::default()
            });
            state.update(&self.config, nb.time[i], t, Some(t) == purchase_code, amount);
        }
        Ok(())
    }

    /// Merges another partial (built with the same configuration).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`config`) when the summary or ingest parameters differ.
    pub fn merge(&mut self, other: SummaryAccumulator) -> Result<()> {
        if other.config != self.config || other.ingest.options() != self.ingest.options() {
            return Err(Error::param(
                "config",
                "cannot merge summaries built with different summary or ingest parameters",
            ));
        }
        let remap: Vec<usize> = other.types.iter().map(|t| self.type_code(t)).collect();
        let n = self.types.len();
        for (k, mut s) in other.customers {
            s.remap_types(&remap, n);
            match self.customers.get_mut(&k) {
                Some(mine) => mine.merge(&s),
                None => {
                    self.customers.insert(k, s);
                }
            }
        }
        Ok(())
    }

    /// The number of customers seen so far.
    pub fn num_customers(&self) -> usize {
        self.customers.len()
    }

    /// The summary table: rows sorted by customer key, event-type count columns sorted by type.
    ///
    /// # Errors
    /// Only on an internal Arrow error.
    pub fn finish(self) -> Result<RecordBatch> {
        let mut order: Vec<usize> = (0..self.types.len()).collect();
        order.sort_by(|&a, &b| self.types[a].cmp(&self.types[b]));
        let mut remap = vec![0; self.types.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old] = new;
        }
        let names: Vec<String> = order.iter().map(|&i| self.types[i].clone()).collect();
        let as_strings = self.ingest.options().key_type == KeyType::String
            || self.customers.keys().any(|k| matches!(k, OwnedKey::Str(_)));
        let auto_ints = as_strings
            && self.ingest.options().key_type == KeyType::Auto
            && self.customers.keys().all(|k| match k {
                OwnedKey::Int(_) => true,
                OwnedKey::Str(s) => s.trim().parse::<i64>().is_ok(),
            });
        let mut rows: Vec<(OwnedKey, CustomerState)> = self
            .customers
            .into_iter()
            .map(|(k, s)| {
                let k = match k {
                    OwnedKey::Str(s) if auto_ints => OwnedKey::Int(s.trim().parse::<i64>().unwrap_or(0)),
                    OwnedKey::Int(i) if as_strings && !auto_ints => OwnedKey::Str(i.to_string()),
                    k => k,
                };
                (k, s)
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        // Keys that became equal (an integer 7 and a string "7") are one customer.
        let mut merged: Vec<(OwnedKey, CustomerState)> = Vec::with_capacity(rows.len());
        for (k, s) in rows {
            match merged.last_mut() {
                Some((last, state)) if *last == k => state.merge(&s),
                _ => merged.push((k, s)),
            }
        }
        let rows = merged;
        let mut out = SummaryColumns::with_capacity(&self.config, names.len(), rows.len());
        let mut int_keys = Vec::new();
        let mut str_keys = Vec::new();
        for (k, mut s) in rows {
            s.remap_types(&remap, names.len());
            if !SummaryColumns::includes(&self.config, &s) {
                continue;
            }
            out.push(&self.config, &s);
            match k {
                OwnedKey::Int(i) => int_keys.push(i),
                OwnedKey::Str(s) => str_keys.push(s),
            }
        }
        let keys: ArrayRef = if as_strings && !auto_ints {
            Arc::new(StringArray::from(str_keys))
        } else {
            Arc::new(Int64Array::from(int_keys))
        };
        out.finish(keys, &names)
    }
}
