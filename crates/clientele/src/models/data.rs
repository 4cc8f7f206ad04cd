//! Model inputs: customer summaries (x, t_x, T) compressed into distinct weighted rows, and
//! (x, m̄) rows for the spend model.
//!
//! Conventions (those of Fader, Hardie & Lee 2005 and of the [`summarize`] kernel):
//! x (`frequency`) is the number of repeat purchase periods, t_x (`recency`) the time from the
//! first to the last purchase, T the time from the first purchase to the end of calibration,
//! all in one time unit of the caller's choice (the CDNOW analyses use weeks). Model parameters
//! with a time dimension (α, β) are in that same unit.
//!
//! Many customers share a summary (all one-time buyers with the same first purchase day share
//! (0, 0, T)), so the likelihood is evaluated once per distinct row, weighted by its count.
//! For numerical conditioning the fit also divides times by the largest T and scales α (β) back
//! afterwards; [`RfmData::scale`] is that divisor.
//!
//! [`summarize`]: crate::kernels::summary::summarize

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_schema::DataType;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::schema::output;

/// Distinct (x, t_x, T) rows with weights, ready for a likelihood.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmData {
    pub(crate) x: Vec<f64>,
    /// t_x / scale
    pub(crate) t_x: Vec<f64>,
    /// T / scale
    pub(crate) t_cal: Vec<f64>,
    pub(crate) weight: Vec<f64>,
    /// index of each row's x in `distinct_x`
    pub(crate) x_index: Vec<u32>,
    pub(crate) distinct_x: Vec<f64>,
    /// index of each row's T / scale in `distinct_t`
    pub(crate) t_index: Vec<u32>,
    pub(crate) distinct_t: Vec<f64>,
    /// index of each row's t_x / scale in `distinct_tx`
    pub(crate) tx_index: Vec<u32>,
    pub(crate) distinct_tx: Vec<f64>,
    pub(crate) scale: f64,
    customers: f64,
    input_rows: usize,
    /// Σ w·x (the log-likelihood changes by −Σ w·x·ln(scale) when times are divided by scale)
    pub(crate) sum_wx: f64,
}

fn invalid(column: &'static str, row: usize, value: f64, reason: &'static str) -> Error {
    Error::InvalidModelData {
        column,
        row,
        value,
        reason,
    }
}

fn check_row(row: usize, x: f64, t_x: f64, t: f64, w: f64) -> Result<()> {
    if !x.is_finite() || x < 0.0 || x.fract() != 0.0 {
        return Err(invalid("frequency", row, x, "must be a non-negative integer"));
    }
    // T = 0 (a first purchase in the calibration end's period) is a valid history: for the
    // (x, t_x, T) models its likelihood contribution is 1 and P(alive) is 1, as in lifetimes.
    if !t.is_finite() || t < 0.0 {
        return Err(invalid("T", row, t, "must be non-negative and finite"));
    }
    if !t_x.is_finite() || t_x < 0.0 || t_x > t {
        return Err(invalid("recency", row, t_x, "must be in [0, T]"));
    }
    if x == 0.0 && t_x != 0.0 {
        return Err(invalid("recency", row, t_x, "must be 0 when frequency is 0"));
    }
    if !w.is_finite() || w < 0.0 {
        return Err(invalid("weight", row, w, "must be non-negative and finite"));
    }
    Ok(())
}

impl RfmData {
    /// Validates per-customer summaries and compresses them into distinct weighted rows.
    ///
    /// `weights` (default 1 per row) count how many customers each row stands for; rows with
    /// weight 0 are dropped. Rows are sorted by (x, t_x, T), so the result does not depend on
    /// the input order.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the slices differ in length or hold no customer;
    /// [`Error::InvalidModelData`] for the first invalid row: x not a non-negative integer,
    /// T negative, t_x outside [0, T] or non-zero when x = 0, a negative weight, a
    /// non-finite value. T = 0 (a customer whose first purchase falls in the calibration end's
    /// period) is accepted; only when every customer has T = 0 is there nothing to fit
    /// ([`Error::InvalidParameter`] on `T`).
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::RfmData;
    /// let d = RfmData::from_slices(&[0.0, 2.0, 0.0], &[0.0, 30.0, 0.0], &[38.0, 38.0, 38.0], None)?;
    /// assert_eq!((d.len(), d.customers()), (2, 3.0));
    /// # Ok(()) }
    /// ```
    pub fn from_slices(frequency: &[f64], recency: &[f64], t: &[f64], weights: Option<&[f64]>) -> Result<Self> {
        Self::build(frequency, recency, t, weights, true)
    }

    /// Like [`RfmData::from_slices`] but keeps one row per input row (no compression); the
    /// likelihood and the fitted parameters are the same, only slower.
    ///
    /// # Errors
    /// As [`RfmData::from_slices`].
    pub fn from_slices_uncompressed(
        frequency: &[f64],
        recency: &[f64],
        t: &[f64],
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        Self::build(frequency, recency, t, weights, false)
    }

    /// Reads the Float64 columns `frequency`, `recency` and `T` of a customer summary (the
    /// output of [`crate::kernels::summary::summarize`]), one customer per row.
    ///
    /// # Errors
    /// [`Error::MissingColumn`] or [`Error::ColumnType`] when a column is absent or not Float64,
    /// [`Error::InvalidModelData`] for a null or invalid value, as [`RfmData::from_slices`].
    pub fn from_summary(batch: &RecordBatch) -> Result<Self> {
        let x = float_column(batch, output::FREQUENCY)?;
        let tx = float_column(batch, output::RECENCY)?;
        let t = float_column(batch, output::T)?;
        Self::from_slices(&x, &tx, &t, None)
    }

    fn build(frequency: &[f64], recency: &[f64], t: &[f64], weights: Option<&[f64]>, compress: bool) -> Result<Self> {
        let n = frequency.len();
        if recency.len() != n || t.len() != n || weights.is_some_and(|w| w.len() != n) {
            return Err(Error::param(
                "recency",
                format!(
                    "frequency, recency, T (and weights) must have the same length; got {n}, {}, {}{}",
                    recency.len(),
                    t.len(),
                    weights.map(|w| format!(", {}", w.len())).unwrap_or_default()
                ),
            ));
        }
        let w_at = |i: usize| weights.map_or(1.0, |w| w[i]);
        let mut max_t = 0.0_f64;
        for i in 0..n {
            check_row(i, frequency[i], recency[i], t[i], w_at(i))?;
            if w_at(i) > 0.0 {
                max_t = max_t.max(t[i]);
            }
        }
        if !(0..n).any(|i| w_at(i) > 0.0) {
            return Err(Error::param("frequency", "no customer with a positive weight"));
        }
        if max_t <= 0.0 {
            return Err(Error::param(
                "T",
                "every customer has T = 0 (all first purchases fall in the calibration end's period): \
                 there is no time in which to observe purchases, so no model can be fitted",
            ));
        }
        let key = |a: &(f64, f64, f64, f64), b: &(f64, f64, f64, f64)| {
            a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.total_cmp(&b.2))
        };
        // +0.0 normalises a −0.0 recency
        let mut rows: Vec<(f64, f64, f64, f64)> = if compress && weights.is_none() {
            // Unit weights: count equal rows (exact integers, so the split cannot matter),
            // then sort only the distinct rows. Same rows and weights as sorting them all.
            let counts = count_distinct(n, |i| [frequency[i], recency[i] + 0.0, t[i]]);
            counts
                .into_iter()
                .map(|(k, c)| {
                    (
                        f64::from_bits(k[0]),
                        f64::from_bits(k[1]),
                        f64::from_bits(k[2]),
                        c as f64,
                    )
                })
                .collect()
        } else {
            (0..n)
                .filter(|&i| w_at(i) > 0.0)
                .map(|i| (frequency[i], recency[i] + 0.0, t[i], w_at(i)))
                .collect()
        };
        // sorting by the weight too makes the merged weights independent of the input order
        rows.par_sort_unstable_by(|a, b| key(a, b).then(a.3.total_cmp(&b.3)));
        if compress {
            let mut merged: Vec<(f64, f64, f64, f64)> = Vec::with_capacity(rows.len() / 2 + 1);
            for r in rows {
                match merged.last_mut() {
                    Some(last) if key(last, &r).is_eq() => last.3 += r.3,
                    _ => merged.push(r),
                }
            }
            rows = merged;
        }
        let mut d = RfmData {
            x: Vec::with_capacity(rows.len()),
            t_x: Vec::with_capacity(rows.len()),
            t_cal: Vec::with_capacity(rows.len()),
            weight: Vec::with_capacity(rows.len()),
            x_index: Vec::with_capacity(rows.len()),
            distinct_x: Vec::new(),
            t_index: Vec::new(),
            distinct_t: Vec::new(),
            tx_index: Vec::new(),
            distinct_tx: Vec::new(),
            scale: max_t,
            customers: 0.0,
            input_rows: n,
            sum_wx: 0.0,
        };
        let distinct = |v: &mut Vec<f64>| {
            v.par_sort_unstable_by(f64::total_cmp);
            v.dedup();
        };
        let mut dt: Vec<f64> = rows.iter().map(|r| r.2 / max_t).collect();
        let mut dtx: Vec<f64> = rows.iter().map(|r| r.1 / max_t).collect();
        distinct(&mut dt);
        distinct(&mut dtx);
        let find = |v: &[f64], x: f64| v.binary_search_by(|p| p.total_cmp(&x)).unwrap_or(0) as u32;
        d.t_index = rows.par_iter().map(|r| find(&dt, r.2 / max_t)).collect();
        d.tx_index = rows.par_iter().map(|r| find(&dtx, r.1 / max_t)).collect();
        d.distinct_t = dt;
        d.distinct_tx = dtx;
        for (x, tx, t, w) in rows {
            if d.distinct_x.last() != Some(&x) {
                d.distinct_x.push(x);
            }
            d.x_index.push((d.distinct_x.len() - 1) as u32);
            d.x.push(x);
            d.t_x.push(tx / max_t);
            d.t_cal.push(t / max_t);
            d.weight.push(w);
            d.customers += w;
            d.sum_wx += w * x;
        }
        Ok(d)
    }

    /// The number of distinct rows.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether there are no rows (never true for a successfully built value).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The number of customers: the sum of the weights.
    pub fn customers(&self) -> f64 {
        self.customers
    }

    /// The number of input rows (before compression, including weight-0 rows).
    pub fn input_rows(&self) -> usize {
        self.input_rows
    }

    /// The time divisor used while fitting: the largest T.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The rows as (x, t_x, T, weight), in the input's time unit.
    pub fn rows(&self) -> impl Iterator<Item = (f64, f64, f64, f64)> + '_ {
        (0..self.len()).map(|i| {
            (
                self.x[i],
                self.t_x[i] * self.scale,
                self.t_cal[i] * self.scale,
                self.weight[i],
            )
        })
    }
}

/// Reads a Float64 column of a batch as a vector; a null is an [`Error::InvalidModelData`].
pub(crate) fn float_column(batch: &RecordBatch, name: &'static str) -> Result<Vec<f64>> {
    let Some(col) = batch.column_by_name(name) else {
        let present = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::MissingColumn {
            source_name: "summary".into(),
            column: name.into(),
            present,
        });
    };
    if col.data_type() != &DataType::Float64 {
        return Err(Error::ColumnType {
            source_name: "summary".into(),
            column: name.into(),
            found: col.data_type().to_string(),
            expected: "Float64",
        });
    }
    let arr = col.as_primitive::<Float64Type>();
    arr.iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| invalid(name, i, f64::NAN, "null")))
        .collect()
}

/// Repeat customers' (x, m̄) rows for the Gamma-Gamma spend model.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendData {
    pub(crate) x: Vec<f64>,
    pub(crate) m: Vec<f64>,
    pub(crate) weight: Vec<f64>,
    pub(crate) ln_m: Vec<f64>,
    pub(crate) x_index: Vec<u32>,
    pub(crate) distinct_x: Vec<f64>,
    skipped: usize,
    non_positive: usize,
    customers: f64,
}

impl SpendData {
    /// Keeps the customers with x > 0 (the model describes the spend of repeat transactions;
    /// one-time buyers, x = 0, are skipped and counted in [`SpendData::skipped`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the slices differ in length or no repeat customer is
    /// left; [`Error::InvalidModelData`] for the first invalid row: x not a non-negative
    /// integer, a repeat customer's m̄ not finite (NaN, infinite), a negative weight.
    /// A repeat customer whose m̄ is zero or negative does not fit a gamma model: the row is
    /// excluded and counted in [`SpendData::non_positive`], not an error.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::SpendData;
    /// let d = SpendData::from_slices(&[0.0, 2.0, 1.0], &[0.0, 30.5, 12.0], None)?;
    /// assert_eq!((d.len(), d.skipped()), (2, 1));
    /// let d = SpendData::from_slices(&[1.0, 2.0, 3.0], &[-3.0, 0.0, 8.0], None)?;
    /// assert_eq!((d.len(), d.non_positive()), (1, 2));
    /// assert!(SpendData::from_slices(&[1.0], &[f64::NAN], None).is_err());
    /// # Ok(()) }
    /// ```
    pub fn from_slices(frequency: &[f64], monetary_value: &[f64], weights: Option<&[f64]>) -> Result<Self> {
        let n = frequency.len();
        if monetary_value.len() != n || weights.is_some_and(|w| w.len() != n) {
            return Err(Error::param(
                "monetary_value",
                "frequency, monetary_value (and weights) must have the same length",
            ));
        }
        let mut d = SpendData {
            x: Vec::new(),
            m: Vec::new(),
            weight: Vec::new(),
            ln_m: Vec::new(),
            x_index: Vec::new(),
            distinct_x: Vec::new(),
            skipped: 0,
            non_positive: 0,
            customers: 0.0,
        };
        for i in 0..n {
            let (x, m, w) = (frequency[i], monetary_value[i], weights.map_or(1.0, |w| w[i]));
            if weights.is_none() && x > 0.0 && x.fract() == 0.0 && m.is_finite() && m > 0.0 {
                // a valid unit-weight row: counted below
                d.customers += 1.0;
                continue;
            }
            if !x.is_finite() || x < 0.0 || x.fract() != 0.0 {
                return Err(invalid("frequency", i, x, "must be a non-negative integer"));
            }
            if !w.is_finite() || w < 0.0 {
                return Err(invalid("weight", i, w, "must be non-negative and finite"));
            }
            if x == 0.0 || w == 0.0 {
                d.skipped += 1;
                continue;
            }
            if !m.is_finite() {
                return Err(invalid("monetary_value", i, m, "must be finite for a repeat customer"));
            }
            if m <= 0.0 {
                // zero or negative mean spend does not fit a gamma model: excluded and counted
                // (lifetimes refuses the whole fit instead)
                d.non_positive += 1;
                continue;
            }
            d.x.push(x);
            d.m.push(m);
            d.weight.push(w);
            d.customers += w;
        }
        // sort by (x, m̄) so that sums do not depend on the input order; index the distinct x
        // equal (x, m̄) rows are merged into one weighted row (weights summed in sorted order)
        let mut rows: Vec<(f64, f64, f64)> = if weights.is_none() {
            // unit weights: count equal rows (exact integers), then sort the distinct ones
            let valid = |i: usize| {
                let (x, m) = (frequency[i], monetary_value[i]);
                x > 0.0 && x.fract() == 0.0 && m.is_finite() && m > 0.0
            };
            let counts = count_distinct_where(n, valid, |i| [frequency[i], monetary_value[i]]);
            counts
                .into_iter()
                .map(|(k, c)| (f64::from_bits(k[0]), f64::from_bits(k[1]), c as f64))
                .collect()
        } else {
            (0..d.x.len()).map(|i| (d.x[i], d.m[i], d.weight[i])).collect()
        };
        if rows.is_empty() {
            return Err(Error::param(
                "frequency",
                "no repeat customer (x > 0) with a positive mean spend to fit the spend model on",
            ));
        }
        rows.par_sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.total_cmp(&b.2)));
        let (mut xs, mut ms, mut ws): (Vec<f64>, Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new(), Vec::new());
        for (x, m, w) in rows {
            match (xs.last(), ms.last(), ws.last_mut()) {
                (Some(&lx), Some(&lm), Some(lw)) if lx == x && lm == m => *lw += w,
                _ => {
                    xs.push(x);
                    ms.push(m);
                    ws.push(w);
                }
            }
        }
        d.x = xs;
        d.m = ms;
        d.weight = ws;
        d.ln_m = d.m.iter().map(|m| m.ln()).collect();
        for &x in &d.x {
            if d.distinct_x.last() != Some(&x) {
                d.distinct_x.push(x);
            }
            d.x_index.push((d.distinct_x.len() - 1) as u32);
        }
        Ok(d)
    }

    /// Reads the Float64 columns `frequency` and `monetary_value` of a customer summary.
    ///
    /// # Errors
    /// As [`RfmData::from_summary`] and [`SpendData::from_slices`].
    pub fn from_summary(batch: &RecordBatch) -> Result<Self> {
        let x = float_column(batch, output::FREQUENCY)?;
        let m = float_column(batch, output::MONETARY_VALUE)?;
        Self::from_slices(&x, &m, None)
    }

    /// The number of distinct (x, m̄) rows kept (customers with the same x and m̄ share a weighted row).
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Whether no row was kept (never true for a successfully built value).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Rows skipped because x = 0 or the weight is 0.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Repeat customers (x > 0) excluded because their mean spend m̄ is zero or negative.
    pub fn non_positive(&self) -> usize {
        self.non_positive
    }

    /// The number of customers kept: the sum of the weights.
    pub fn customers(&self) -> f64 {
        self.customers
    }

    /// Weighted Pearson correlation between x and m̄ over the kept rows. The Gamma-Gamma model
    /// assumes spend is independent of purchase frequency; a correlation far from 0 says the
    /// model is a poor fit. NaN when either variable is constant.
    pub fn frequency_spend_correlation(&self) -> f64 {
        let sw: f64 = self.weight.iter().sum();
        let mx = self.x.iter().zip(&self.weight).map(|(a, w)| a * w).sum::<f64>() / sw;
        let mm = self.m.iter().zip(&self.weight).map(|(a, w)| a * w).sum::<f64>() / sw;
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for i in 0..self.len() {
            let (dx, dm) = (self.x[i] - mx, self.m[i] - mm);
            sxy += self.weight[i] * dx * dm;
            sxx += self.weight[i] * dx * dx;
            syy += self.weight[i] * dm * dm;
        }
        sxy / (sxx * syy).sqrt()
    }
}

/// Checks one customer history passed to a prediction: x ≥ 0, T ≥ 0, 0 ≤ t_x ≤ T, all finite.
pub(crate) fn check_history(x: f64, t_x: f64, t_cal: f64) -> Result<()> {
    if !(x.is_finite() && x >= 0.0) {
        return Err(Error::param(
            "frequency",
            format!("must be finite and non-negative, got {x}"),
        ));
    }
    if !(t_cal.is_finite() && t_cal >= 0.0) {
        return Err(Error::param(
            "T",
            format!("must be finite and non-negative, got {t_cal}"),
        ));
    }
    if !(t_x.is_finite() && (0.0..=t_cal).contains(&t_x)) {
        return Err(Error::param(
            "recency",
            format!("must be in [0, T = {t_cal}], got {t_x}"),
        ));
    }
    Ok(())
}

/// Distinct rows among `0..n` (those where `keep` holds) by the bit patterns of `key`, with
/// their counts. Counted over fixed chunks in parallel and merged by adding integers, so the
/// result is the same for any thread count (its order is not: callers sort it).
fn count_distinct_where<const K: usize>(
    n: usize,
    keep: impl Fn(usize) -> bool + Sync,
    key: impl Fn(usize) -> [f64; K] + Sync,
) -> Vec<([u64; K], u64)> {
    use std::collections::HashMap;
    use std::hash::BuildHasherDefault;
    type Counts<const K: usize> = HashMap<[u64; K], u64, BuildHasherDefault<crate::models::clv::PairHasher>>;
    const CHUNK: usize = 1 << 16;
    let chunks: Vec<usize> = (0..n).step_by(CHUNK).collect();
    let merged = chunks
        .par_iter()
        .fold(Counts::<K>::default, |mut m, &lo| {
            for i in lo..(lo + CHUNK).min(n) {
                if keep(i) {
                    *m.entry(key(i).map(f64::to_bits)).or_insert(0) += 1;
                }
            }
            m
        })
        .reduce(Counts::<K>::default, |a, b| {
            // fold the smaller map into the larger one
            let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (k, c) in small {
                *big.entry(k).or_insert(0) += c;
            }
            big
        });
    merged.into_iter().collect()
}

/// [`count_distinct_where`] over every row.
fn count_distinct<const K: usize>(n: usize, key: impl Fn(usize) -> [f64; K] + Sync) -> Vec<([u64; K], u64)> {
    count_distinct_where(n, |_| true, key)
}
