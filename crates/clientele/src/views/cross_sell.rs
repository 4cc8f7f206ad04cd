//! Cross-sell: product affinity (support, confidence, lift) from purchase baskets, and each
//! customer's next-best products.
//!
//! A **basket** is the set of distinct products of a customer's purchase events
//! ([`Basket::Customer`], default) or of one customer's purchases on one UTC day
//! ([`Basket::Day`]). Purchases without a product are left out; baskets without products are
//! not counted. With `as_of`, only purchases strictly before that date's midnight (UTC) count.
//!
//! With `N` baskets and `n(X)` the baskets holding every product of `X`: support
//! `s(X) = n(X)/N`; confidence `c(A→B) = n(A,B)/n(A)`; lift `l(A→B) = c(A→B)/s(B) =
//! N·n(A,B)/(n(A)·n(B))`. **Pruning** (Apriori): products with `s(A) < min_support` are
//! dropped before pairs are counted, and pairs with `s(A,B) < min_support` are dropped.
//!
//! [`CrossSellViews::rules`], two rows per kept pair (A→B and B→A), by antecedent then
//! consequent (name order): `antecedent`, `consequent` (Utf8), `baskets` (UInt64, `n(A,B)`),
//! `support`, `confidence`, `lift` (Float64), and the total `baskets_total` (UInt64, `N`).
//!
//! [`CrossSellViews::next_best`]: for every customer, the products B they never bought (before
//! `as_of`) that a rule A→B with a product A they did buy recommends, scored by the highest lift
//! of such a rule; the `top_k` best (lift descending, then confidence descending, then product
//! name), one row each in the store's customer order: `customer_id`, `rank` (UInt32, from 1),
//! `product` (Utf8), `lift`, `confidence` (Float64, of the best rule), `antecedent` (Utf8, its A).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::CHUNK;
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::schema::PRODUCT;
use crate::schema::output::cross_sell::{
    ANTECEDENT, BASKETS, BASKETS_TOTAL, CONFIDENCE, CONSEQUENT, LIFT, RANK, SUPPORT,
};
use crate::store::EventStore;
use crate::store::columns::dict_values;
use crate::time::{date_to_micros, micros_to_day};

/// What a basket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basket {
    /// All of a customer's purchases.
    #[default]
    Customer,
    /// A customer's purchases on one UTC day.
    Day,
}

impl Basket {
    /// Parses `customer` or `day`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`basket`).
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "customer" => Ok(Basket::Customer),
            "day" => Ok(Basket::Day),
            _ => Err(Error::param("basket", format!("expected customer or day, got {s:?}"))),
        }
    }
}

/// Unchecked parameters of [`cross_sell`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossSellParams {
    /// What a basket is (default: a customer).
    #[serde(default)]
    pub basket: Basket,
    /// The minimum support of a product and of a pair, in `[0, 1]` (default 0.01).
    #[serde(default = "default_min_support")]
    pub min_support: f64,
    /// Next-best products per customer (default 3).
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    /// Only purchases strictly before this date's midnight (UTC) count (default: every one).
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
}

fn default_min_support() -> f64 {
    0.01
}
fn default_top_k() -> usize {
    3
}

impl Default for CrossSellParams {
    fn default() -> Self {
        CrossSellParams {
            basket: Basket::Customer,
            min_support: default_min_support(),
            top_k: default_top_k(),
            as_of: None,
        }
    }
}

impl CrossSellParams {
    /// Defaults: customer baskets, minimum support 0.01, 3 next-best products, every purchase.
    pub fn new() -> Self {
        CrossSellParams::default()
    }

    /// Sets what a basket is.
    pub fn basket(mut self, b: Basket) -> Self {
        self.basket = b;
        self
    }

    /// Sets the minimum support.
    pub fn min_support(mut self, s: f64) -> Self {
        self.min_support = s;
        self
    }

    /// Sets the number of next-best products per customer.
    pub fn top_k(mut self, k: usize) -> Self {
        self.top_k = k;
        self
    }

    /// Sets the as-of date.
    pub fn as_of(mut self, d: NaiveDate) -> Self {
        self.as_of = Some(d);
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`min_support`) outside `[0, 1]`.
    pub fn validate(&self) -> Result<CrossSellConfig> {
        if !(0.0..=1.0).contains(&self.min_support) {
            return Err(Error::param(
                "min_support",
                format!("{} is not in [0, 1]", self.min_support),
            ));
        }
        Ok(CrossSellConfig {
            params: self.clone(),
            as_of_micros: self.as_of.map_or(i64::MAX, date_to_micros),
        })
    }
}

/// Validated [`CrossSellParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct CrossSellConfig {
    params: CrossSellParams,
    as_of_micros: i64,
}

impl CrossSellConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &CrossSellParams {
        &self.params
    }
}

/// The two tables of [`cross_sell`].
#[derive(Debug, Clone, PartialEq)]
pub struct CrossSellViews {
    /// Association rules A→B of the kept pairs.
    pub rules: RecordBatch,
    /// Next-best products per customer.
    pub next_best: RecordBatch,
}

/// Calls `f` with each basket of customer `c` (sorted distinct product codes).
fn baskets(store: &EventStore, c: usize, as_of: i64, basket: Basket, f: &mut impl FnMut(&[u32])) {
    let cols = store.columns();
    let (Some(product), Some(purchase)) = (cols.product.as_ref().map(|p| p.keys()), store.purchase_code()) else {
        return;
    };
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    let r = store.customer_range(c);
    let end = r.start + times[r.clone()].partition_point(|&t| t < as_of);
    let mut buf: Vec<u32> = Vec::new();
    let mut day = None;
    let mut flush = |buf: &mut Vec<u32>| {
        buf.sort_unstable();
        buf.dedup();
        if !buf.is_empty() {
            f(buf);
        }
        buf.clear();
    };
    for i in r.start..end {
        if types[i] != purchase || !product.is_valid(i) {
            continue;
        }
        if basket == Basket::Day {
            let d = micros_to_day(times[i]);
            if day.is_some_and(|x| x != d) {
                flush(&mut buf);
            }
            day = Some(d);
        }
        if let Ok(p) = u32::try_from(product.value(i)) {
            buf.push(p);
        }
    }
    flush(&mut buf);
}

/// A rule's consequent, lift and confidence.
type Rule = (u32, f64, f64);

/// The product affinity rules and next-best products of `store` (see the
/// [module docs](self)).
///
/// # Errors
/// Only on an internal inconsistency (building the record batches).
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::views::{CrossSellParams, cross_sell};
/// let csv = "customer_id,event_time,event_type,amount,product\n\
///            1,2024-01-05,purchase,3,bread\n\
///            1,2024-01-05,purchase,2,milk\n\
///            2,2024-01-07,purchase,3,bread\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let v = cross_sell(&store, &CrossSellParams::new().validate()?, &Parallelism::current())?;
/// assert_eq!(v.rules.num_rows(), 2); // bread→milk, milk→bread
/// assert_eq!(v.next_best.num_rows(), 1); // customer 2: milk
/// # Ok(()) }
/// ```
pub fn cross_sell(store: &EventStore, cfg: &CrossSellConfig, par: &Parallelism) -> Result<CrossSellViews> {
    let p = &cfg.params;
    let names = store.columns().product.as_ref().map(dict_values).unwrap_or_default();
    let np = names.len();
    let as_of = cfg.as_of_micros;
    // Pass 1: baskets per product.
    let parts: Vec<(u64, Vec<u64>)> = par.map_chunks(store.num_customers(), CHUNK, |r| {
        let (lo, hi) = (r.start, r.end);
        let (mut n, mut counts) = (0u64, vec![0u64; np]);
        for c in lo..hi {
            baskets(store, c, as_of, p.basket, &mut |b| {
                n += 1;
                for &x in b {
                    if let Some(k) = counts.get_mut(x as usize) {
                        *k += 1;
                    }
                }
            });
        }
        (n, counts)
    });
    let (mut total, mut counts) = (0u64, vec![0u64; np]);
    for (n, c) in parts {
        total += n;
        counts.iter_mut().zip(c).for_each(|(a, b)| *a += b);
    }
    let kept = |n: u64| n > 0 && n as f64 / total as f64 >= p.min_support;
    let frequent: Vec<bool> = counts.iter().map(|&n| kept(n)).collect();
    // Pass 2: pairs of frequent products.
    let parts: Vec<Vec<((u32, u32), u64)>> = par.map_chunks(store.num_customers(), CHUNK, |r| {
        let (lo, hi) = (r.start, r.end);
        let mut pairs: HashMap<(u32, u32), u64> = HashMap::new();
        let mut f: Vec<u32> = Vec::new();
        for c in lo..hi {
            baskets(store, c, as_of, p.basket, &mut |b| {
                f.clear();
                f.extend(b.iter().copied().filter(|&x| frequent.get(x as usize) == Some(&true)));
                for (i, &a) in f.iter().enumerate() {
                    for &bb in &f[i + 1..] {
                        *pairs.entry((a, bb)).or_insert(0) += 1;
                    }
                }
            });
        }
        let mut v: Vec<_> = pairs.into_iter().collect();
        v.sort_unstable();
        v
    });
    let mut pairs: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for part in parts {
        for (k, n) in part {
            *pairs.entry(k).or_insert(0) += n;
        }
    }
    // Rules, by antecedent then consequent.
    let mut rules: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for (&(a, b), &n) in &pairs {
        if kept(n) {
            rules.insert((a, b), n);
            rules.insert((b, a), n);
        }
    }
    let count = |x: u32| counts.get(x as usize).copied().unwrap_or(0).max(1) as f64;
    let name = |x: u32| names.get(x as usize).cloned().unwrap_or_default();
    let n_all = total.max(1) as f64;
    let mut by_ante: Vec<Vec<Rule>> = vec![Vec::new(); np];
    let (mut ante, mut cons, mut both, mut sup, mut conf, mut lift) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (&(a, b), &n) in &rules {
        let c = n as f64 / count(a);
        let l = n as f64 * n_all / (count(a) * count(b));
        if let Some(v) = by_ante.get_mut(a as usize) {
            v.push((b, l, c));
        }
        ante.push(name(a));
        cons.push(name(b));
        both.push(n);
        sup.push(n as f64 / n_all);
        conf.push(c);
        lift.push(l);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new(ANTECEDENT, DataType::Utf8, false),
        Field::new(CONSEQUENT, DataType::Utf8, false),
        Field::new(BASKETS, DataType::UInt64, false),
        Field::new(SUPPORT, DataType::Float64, false),
        Field::new(CONFIDENCE, DataType::Float64, false),
        Field::new(LIFT, DataType::Float64, false),
        Field::new(BASKETS_TOTAL, DataType::UInt64, false),
    ]));
    let nrules = ante.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ante)),
        Arc::new(StringArray::from(cons)),
        Arc::new(UInt64Array::from(both)),
        Arc::new(Float64Array::from(sup)),
        Arc::new(Float64Array::from(conf)),
        Arc::new(Float64Array::from(lift)),
        Arc::new(UInt64Array::from(vec![total; nrules])),
    ];
    let rules = RecordBatch::try_new(schema, columns)?;
    // Next-best products.
    let k = p.top_k;
    let rows: Vec<Vec<(u32, u32, Rule, u32)>> = par.map_chunks(store.num_customers(), CHUNK, |r| {
        let (lo, hi) = (r.start, r.end);
        let mut out = Vec::new();
        if k == 0 {
            return out;
        }
        let mut held: Vec<u32> = Vec::new();
        for c in lo..hi {
            held.clear();
            baskets(store, c, as_of, Basket::Customer, &mut |b| held.extend_from_slice(b));
            let mut best: BTreeMap<u32, (f64, f64, u32)> = BTreeMap::new();
            for &a in &held {
                for &(b, l, cf) in by_ante.get(a as usize).map_or(&[][..], |v| &v[..]) {
                    if held.binary_search(&b).is_ok() {
                        continue;
                    }
                    let e = best.entry(b).or_insert((l, cf, a));
                    if (l, cf) > (e.0, e.1) {
                        *e = (l, cf, a);
                    }
                }
            }
            let mut cand: Vec<(u32, (f64, f64, u32))> = best.into_iter().collect();
            cand.sort_by(|x, y| {
                y.1.0
                    .total_cmp(&x.1.0)
                    .then(y.1.1.total_cmp(&x.1.1))
                    .then(x.0.cmp(&y.0))
            });
            for (rank, (b, (l, cf, a))) in cand.into_iter().take(k).enumerate() {
                out.push((c as u32, rank as u32 + 1, (b, l, cf), a));
            }
        }
        out
    });
    let rows: Vec<_> = rows.into_iter().flatten().collect();
    let index = UInt32Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>());
    let keys = arrow_select::take::take(store.customer_keys().array().as_ref(), &index, None)?;
    let schema = Arc::new(Schema::new(vec![
        Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false),
        Field::new(RANK, DataType::UInt32, false),
        Field::new(PRODUCT, DataType::Utf8, false),
        Field::new(LIFT, DataType::Float64, false),
        Field::new(CONFIDENCE, DataType::Float64, false),
        Field::new(ANTECEDENT, DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        keys,
        Arc::new(UInt32Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
        Arc::new(StringArray::from(rows.iter().map(|r| name(r.2.0)).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(rows.iter().map(|r| r.2.1).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(rows.iter().map(|r| r.2.2).collect::<Vec<_>>())),
        Arc::new(StringArray::from(rows.iter().map(|r| name(r.3)).collect::<Vec<_>>())),
    ];
    let next_best = RecordBatch::try_new(schema, columns)?;
    Ok(CrossSellViews { rules, next_best })
}
