//! Scoring many customers at once: P(alive), expected purchases, expected spend and CLV.
//!
//! A summary of a million customers holds far fewer distinct histories: (x, t_x, T) repeat
//! across customers (all one-time buyers of one week share (0, 0, T)), and the factor of the
//! conditional expectation that needs the expensive special functions,
//! E[Y(t) | alive, x, T], depends on (x, T) only. [`score_customers`] therefore evaluates
//! P(alive) once per distinct (x, t_x, T), the "if alive" expectations once per distinct (x, T),
//! and only the cheap products per customer. Each value is a pure function of its key, so the
//! result is the same as a per-customer evaluation, bit for bit, whatever the thread count.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use rayon::prelude::*;

use super::clv::{Discounting, PairHasher, PurchaseModel, discounted_if_alive};
use super::gamma_gamma::GammaGamma;
use crate::error::{Error, Result};

/// Per-customer scores, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerScores {
    /// P(alive | x, t_x, T).
    pub p_alive: Vec<f64>,
    /// E[Y(horizon) | x, t_x, T].
    pub expected_purchases: Vec<f64>,
    /// Discounted expected purchases under the discounting convention (CLV with E\[M\] = 1).
    pub discounted_purchases: Vec<f64>,
    /// E[M | x, m̄] of the spend model.
    pub expected_spend: Vec<f64>,
    /// Gross CLV = discounted purchases × E\[M\].
    pub clv: Vec<f64>,
}

type Map<K> = HashMap<K, u32, BuildHasherDefault<PairHasher>>;

/// Rows per chunk when finding distinct histories in parallel.
const CHUNK: usize = 1 << 16;

/// Distinct (x, t_x, T) rows in first-seen order, and each customer's row index. Chunks are
/// deduplicated in parallel and their distinct rows merged in chunk order, which gives the
/// same first-seen order as one sequential pass.
fn distinct_histories(x: &[f64], t_x: &[f64], t_cal: &[f64]) -> (Vec<[f64; 3]>, Vec<u32>) {
    let bits = |k: &[f64; 3]| [k[0].to_bits(), k[1].to_bits(), k[2].to_bits()];
    let starts: Vec<usize> = (0..x.len()).step_by(CHUNK).collect();
    let parts: Vec<(Vec<[f64; 3]>, Vec<u32>)> = starts
        .par_iter()
        .map(|&lo| {
            let hi = (lo + CHUNK).min(x.len());
            let mut map: Map<[u64; 3]> = HashMap::default();
            let mut keys = Vec::new();
            let idx = (lo..hi)
                .map(|i| {
                    let k = [x[i], t_x[i], t_cal[i]];
                    *map.entry(bits(&k)).or_insert_with(|| {
                        keys.push(k);
                        (keys.len() - 1) as u32
                    })
                })
                .collect();
            (keys, idx)
        })
        .collect();
    let mut map: Map<[u64; 3]> = HashMap::default();
    let mut keys = Vec::new();
    let remaps: Vec<Vec<u32>> = parts
        .iter()
        .map(|(local, _)| {
            local
                .iter()
                .map(|k| {
                    *map.entry(bits(k)).or_insert_with(|| {
                        keys.push(*k);
                        (keys.len() - 1) as u32
                    })
                })
                .collect()
        })
        .collect();
    let idx = parts
        .par_iter()
        .zip(&remaps)
        .flat_map_iter(|((_, local), remap)| local.iter().map(|&l| remap.get(l as usize).copied().unwrap_or(0)))
        .collect();
    (keys, idx)
}

/// The calibration histories of the customers to score, one value per customer in each slice
/// (the columns of a customer summary: repeat purchases, time of the last one and age, in the
/// models' time unit, and mean repeat spend, 0 when unknown).
#[derive(Debug, Clone, Copy)]
pub struct Histories<'a> {
    /// Repeat purchases `x`.
    pub frequency: &'a [f64],
    /// Time of the last purchase since the first, `t_x`.
    pub recency: &'a [f64],
    /// Time since the first purchase at the calibration end, `T`.
    pub t: &'a [f64],
    /// Mean repeat spend `m̄` (0 when unknown: Gamma-Gamma's population mean is used).
    pub monetary_value: &'a [f64],
}

/// P(alive), E[Y(`horizon`)], discounted purchases, E\[M\] and CLV of every customer, in the
/// current rayon pool (see the [module docs](self) for how the work is shared).
///
/// # Errors
/// [`Error::InvalidParameter`] for slices of different lengths, invalid discounting settings,
/// a negative or non-finite horizon, a model without DERT under [`Discounting::Continuous`];
/// the models' own errors (invalid histories, spend).
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::models::clv::{Discounting, WEEKS_PER_MONTH};
/// use clientele::models::scores::{Histories, score_customers};
/// use clientele::models::{BgNbd, GammaGamma};
/// let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426)?; // weekly CDNOW estimates (FHL 2005)
/// let gg = GammaGamma::new(6.25, 3.74, 15.44)?; // Fader & Hardie (2013)
/// let d = Discounting::DiscreteMonthly { months: 12, monthly_rate: 0.01, time_units_per_month: WEEKS_PER_MONTH };
/// let h = Histories {
///     frequency: &[2.0, 2.0, 0.0],
///     recency: &[30.43, 30.43, 0.0],
///     t: &[38.86, 38.86, 38.86],
///     monetary_value: &[35.0, 35.0, 0.0],
/// };
/// let s = score_customers(&bg, &gg, &h, 52.0, &d)?;
/// assert_eq!(s.clv[0], s.clv[1]);
/// assert!(s.p_alive[0] < 1.0 && s.expected_purchases[0] > 0.0);
/// # Ok(()) }
/// ```
pub fn score_customers(
    model: &impl PurchaseModel,
    spend: &GammaGamma,
    histories: &Histories<'_>,
    horizon: f64,
    discounting: &Discounting,
) -> Result<CustomerScores> {
    let Histories {
        frequency: x,
        recency: t_x,
        t: t_cal,
        monetary_value,
    } = *histories;
    discounting.validate()?;
    super::bgnbd::check_lengths(x, t_x, t_cal)?;
    if monetary_value.len() != x.len() {
        return Err(Error::param(
            "monetary_value",
            "monetary_value must have one value per customer",
        ));
    }
    if !(horizon.is_finite() && horizon >= 0.0) {
        return Err(Error::param(
            "horizon",
            format!("must be finite and ≥ 0, got {horizon}"),
        ));
    }
    let (histories, idx) = distinct_histories(x, t_x, t_cal);
    // (x, T) keys of the distinct histories, for the "if alive" factors
    let mut xt_map: Map<[u64; 2]> = HashMap::default();
    let mut xt = Vec::new();
    let xt_idx: Vec<u32> = histories
        .iter()
        .map(|h| {
            *xt_map.entry([h[0].to_bits(), h[2].to_bits()]).or_insert_with(|| {
                xt.push((h[0], h[2]));
                (xt.len() - 1) as u32
            })
        })
        .collect();
    let if_alive: Vec<(f64, f64)> = xt
        .par_iter()
        .map(|&(xx, tt)| {
            Ok((
                model.expected_purchases_if_alive(horizon, xx, tt)?,
                discounted_if_alive(model, xx, tt, discounting)?,
            ))
        })
        .collect::<Result<_>>()?;
    // per distinct history: (P(alive), E[Y(h)], discounted purchases)
    let per_history: Vec<(f64, f64, f64)> = histories
        .par_iter()
        .zip(&xt_idx)
        .map(|(h, &k)| {
            let p = model.probability_alive(h[0], h[1], h[2])?;
            let (e, d) = if_alive.get(k as usize).copied().unwrap_or((f64::NAN, f64::NAN));
            Ok((p, p * e, p * d))
        })
        .collect::<Result<_>>()?;
    let rows: Vec<((f64, f64, f64), f64)> = idx
        .par_iter()
        .zip(x)
        .zip(monetary_value)
        .map(|((&k, &xx), &m)| {
            let h = per_history
                .get(k as usize)
                .copied()
                .unwrap_or((f64::NAN, f64::NAN, f64::NAN));
            Ok((h, spend.conditional_expected_average_spend(xx, m)?))
        })
        .collect::<Result<_>>()?;
    Ok(CustomerScores {
        p_alive: rows.iter().map(|r| r.0.0).collect(),
        expected_purchases: rows.iter().map(|r| r.0.1).collect(),
        discounted_purchases: rows.iter().map(|r| r.0.2).collect(),
        expected_spend: rows.iter().map(|r| r.1).collect(),
        clv: rows.iter().map(|r| r.0.2 * r.1).collect(),
    })
}

/// Evaluates `f` once per distinct (x, t_x, T) history, in parallel, and gives each customer
/// its history's value.
fn per_history(
    x: &[f64],
    t_x: &[f64],
    t_cal: &[f64],
    f: impl Fn(f64, f64, f64) -> Result<f64> + Sync,
) -> Result<Vec<f64>> {
    super::bgnbd::check_lengths(x, t_x, t_cal)?;
    let (histories, idx) = distinct_histories(x, t_x, t_cal);
    let values: Vec<f64> = histories
        .par_iter()
        .map(|h| f(h[0], h[1], h[2]))
        .collect::<Result<_>>()?;
    Ok(idx
        .par_iter()
        .map(|&k| values.get(k as usize).copied().unwrap_or(f64::NAN))
        .collect())
}

/// P(alive | x, t_x, T) of many customers, once per distinct history, in the current rayon
/// pool.
///
/// # Errors
/// [`Error::InvalidParameter`] for slices of different lengths; the model's own errors.
pub fn probability_alive_batch(model: &impl PurchaseModel, x: &[f64], t_x: &[f64], t_cal: &[f64]) -> Result<Vec<f64>> {
    per_history(x, t_x, t_cal, |a, b, c| model.probability_alive(a, b, c))
}

/// E[Y(t) | x, t_x, T] of many customers, once per distinct history, in the current rayon
/// pool.
///
/// # Errors
/// [`Error::InvalidParameter`] for slices of different lengths; the model's own errors.
pub fn conditional_expected_purchases_batch(
    model: &impl PurchaseModel,
    t: f64,
    x: &[f64],
    t_x: &[f64],
    t_cal: &[f64],
) -> Result<Vec<f64>> {
    per_history(x, t_x, t_cal, |a, b, c| {
        model.conditional_expected_purchases(t, a, b, c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::clv::{WEEKS_PER_MONTH, customer_lifetime_value, discounted_purchases};
    use crate::models::{BgNbd, ParetoNbd};

    /// A summary with many repeated histories, in scrambled order.
    fn customers() -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut x, mut tx, mut t, mut m) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..500u32 {
            let xi = f64::from((i * 7) % 5);
            let ti = 30.0 + f64::from((i * 13) % 9);
            x.push(xi);
            tx.push(if xi == 0.0 { 0.0 } else { f64::from((i * 3) % 30) });
            t.push(ti);
            m.push(if xi == 0.0 { 0.0 } else { 10.0 + f64::from(i % 4) });
        }
        (x, tx, t, m)
    }

    fn check(model: &impl PurchaseModel, d: &Discounting) {
        let (x, tx, t, m) = customers();
        let gg = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
        let h = Histories {
            frequency: &x,
            recency: &tx,
            t: &t,
            monetary_value: &m,
        };
        let s = score_customers(model, &gg, &h, 52.0, d).unwrap();
        let clv = customer_lifetime_value(model, &gg, &x, &tx, &t, &m, d, None).unwrap();
        for i in 0..x.len() {
            let p = model.probability_alive(x[i], tx[i], t[i]).unwrap();
            let e = model.conditional_expected_purchases(52.0, x[i], tx[i], t[i]).unwrap();
            assert_eq!(s.p_alive[i].to_bits(), p.to_bits(), "row {i}");
            assert_eq!(s.expected_purchases[i].to_bits(), e.to_bits(), "row {i}");
            // the one-customer functions, evaluated independently of the batch path
            let d1 = discounted_purchases(model, x[i], tx[i], t[i], d).unwrap();
            let m1 = gg.conditional_expected_average_spend(x[i], m[i]).unwrap();
            assert_eq!(s.discounted_purchases[i].to_bits(), d1.to_bits(), "row {i}");
            assert_eq!(s.expected_spend[i].to_bits(), m1.to_bits(), "row {i}");
            assert_eq!(s.clv[i].to_bits(), (d1 * m1).to_bits(), "row {i}");
            assert_eq!(clv.gross[i].to_bits(), s.clv[i].to_bits(), "row {i}");
        }
        let pa = probability_alive_batch(model, &x, &tx, &t).unwrap();
        let ce = conditional_expected_purchases_batch(model, 52.0, &x, &tx, &t).unwrap();
        assert_eq!(pa, s.p_alive);
        assert_eq!(ce, s.expected_purchases);
    }

    #[test]
    fn batch_scores_equal_per_customer_evaluation_bit_for_bit() {
        let monthly = Discounting::DiscreteMonthly {
            months: 12,
            monthly_rate: 0.01,
            time_units_per_month: WEEKS_PER_MONTH,
        };
        check(&BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap(), &monthly);
        let pnbd = ParetoNbd::new(0.553, 10.58, 0.606, 11.67).unwrap();
        check(&pnbd, &monthly);
        check(
            &pnbd,
            &Discounting::Continuous {
                rate_per_time_unit: 0.0027,
            },
        );
    }

    #[test]
    fn chunked_distinct_histories_keep_the_sequential_first_seen_order() {
        // more than three chunks, keys repeating across chunk boundaries
        let n = 3 * CHUNK + 1234;
        let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 13) as f64).collect();
        let tx: Vec<f64> = (0..n).map(|i| ((i * 104_729) % 17) as f64).collect();
        let t: Vec<f64> = (0..n).map(|i| 20.0 + ((i / 1000) % 5) as f64).collect();
        let (keys, idx) = distinct_histories(&x, &tx, &t);
        let mut seen: Vec<[f64; 3]> = Vec::new();
        for i in 0..n {
            let k = [x[i], tx[i], t[i]];
            let at = match seen.iter().position(|s| *s == k) {
                Some(p) => p,
                None => {
                    seen.push(k);
                    seen.len() - 1
                }
            };
            assert_eq!(idx[i] as usize, at, "row {i}");
        }
        assert_eq!(keys, seen);
    }

    #[test]
    fn mismatched_lengths_and_bad_horizons_are_errors() {
        let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
        let gg = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
        let d = Discounting::Continuous {
            rate_per_time_unit: 0.01,
        };
        let score = |t: &[f64], m: &[f64], horizon: f64| {
            let h = Histories {
                frequency: &[1.0],
                recency: &[1.0],
                t,
                monetary_value: m,
            };
            score_customers(&bg, &gg, &h, horizon, &d)
        };
        assert!(score(&[2.0, 3.0], &[1.0], 1.0).is_err());
        assert!(score(&[2.0], &[], 1.0).is_err());
        assert!(score(&[2.0], &[1.0], f64::NAN).is_err());
    }
}
