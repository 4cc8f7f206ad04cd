//! Customer lifetime value: expected future purchases × expected spend, discounted.
//!
//! Two conventions are in use and give different numbers for the same customer, so the API
//! names the one it applies ([`Discounting`]):
//!
//! - [`Discounting::DiscreteMonthly`] — the `lifetimes` / `pymc-marketing` convention:
//!   CLV = Σ_{m=1..H} (E[Y(m·k)] − E[Y((m−1)·k)]) · E\[M\] / (1 + d)^m, with E[Y(t)] the purchase
//!   model's conditional expectation, k the model time units per month
//!   ([`WEEKS_PER_MONTH`] = 4.345, [`DAYS_PER_MONTH`] = 30, 1 for months), d the monthly
//!   discount rate, H the horizon in months. Purchases in month m are discounted as if they all
//!   happened at its end.
//! - [`Discounting::Continuous`] — the `CLVTools` / `BTYD` convention: CLV = DERT(δ) · E\[M\], the
//!   discounted expected residual transactions with continuous rate δ per model time unit over an
//!   infinite horizon (15 % a year is δ ≈ 0.0027 per week). Only models with a DERT support it.
//!
//! E\[M\] is the spend model's conditional expected average spend; for one-time buyers (x = 0)
//! it is the population mean, as in `lifetimes`.

use serde::{Deserialize, Serialize};

use super::bgnbd::BgNbd;
use super::gamma_gamma::GammaGamma;
use crate::error::{Error, Result};

/// Weeks per month in the `lifetimes` convention (365.25 / 12 / 7 ≈ 4.348, rounded there to 4.345).
pub const WEEKS_PER_MONTH: f64 = 4.345;
/// Days per month in the `lifetimes` convention.
pub const DAYS_PER_MONTH: f64 = 30.0;

/// How future value is discounted; see the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "convention", rename_all = "snake_case")]
pub enum Discounting {
    /// The `lifetimes` / `pymc-marketing` sum over monthly steps.
    DiscreteMonthly {
        /// Horizon H in months.
        months: u32,
        /// Discount rate d per month (0.01 = 1 %).
        monthly_rate: f64,
        /// Model time units per month k ([`WEEKS_PER_MONTH`] for weekly summaries).
        time_units_per_month: f64,
    },
    /// The `CLVTools` / `BTYD` continuous discounting over an infinite horizon (DERT).
    Continuous {
        /// Continuous discount rate δ per model time unit.
        rate_per_time_unit: f64,
    },
}

impl Discounting {
    pub(crate) fn validate(&self) -> Result<()> {
        match *self {
            Discounting::DiscreteMonthly {
                months,
                monthly_rate,
                time_units_per_month,
            } => {
                if months == 0 {
                    return Err(Error::param("months", "the horizon must be at least one month"));
                }
                if !(monthly_rate.is_finite() && monthly_rate > -1.0) {
                    return Err(Error::param(
                        "monthly_rate",
                        format!("must be > −1, got {monthly_rate}"),
                    ));
                }
                if !(time_units_per_month.is_finite() && time_units_per_month > 0.0) {
                    return Err(Error::param(
                        "time_units_per_month",
                        format!("must be positive, got {time_units_per_month}"),
                    ));
                }
            }
            Discounting::Continuous { rate_per_time_unit } => {
                if !(rate_per_time_unit.is_finite() && rate_per_time_unit > 0.0) {
                    return Err(Error::param(
                        "rate_per_time_unit",
                        format!("must be positive, got {rate_per_time_unit}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A purchase model usable for CLV, holdout evaluation and tracking.
///
/// The three continuous-time models factor the conditional expectation as
/// E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) · E[Y(t) | alive, x, T], where the second factor does
/// not depend on t_x. Batch predictions and CLV use this: the second factor is computed once per
/// distinct (x, T), which real summaries have far fewer of than customers.
pub trait PurchaseModel: Sync {
    /// The model's name, for error messages.
    fn name(&self) -> &'static str;

    /// P(alive | x, t_x, T).
    ///
    /// # Errors
    /// The model's own errors (see its documentation).
    fn probability_alive(&self, x: f64, t_x: f64, t_cal: f64) -> Result<f64>;

    /// E[Y(t) | alive at T, x, T], the expected purchases in the next t time units of a customer
    /// known to be alive.
    ///
    /// # Errors
    /// The model's own errors (see its documentation).
    fn expected_purchases_if_alive(&self, t: f64, x: f64, t_cal: f64) -> Result<f64>;

    /// E[X(t)] of a new customer.
    ///
    /// # Errors
    /// The model's own errors (see its documentation).
    fn expected_purchases(&self, t: f64) -> Result<f64>;

    /// P(X(t) = n): the probability that a new customer makes `n` repeat purchases in `t`.
    ///
    /// # Errors
    /// The model's own errors (see its documentation).
    fn probability_of_purchases(&self, t: f64, n: u32) -> Result<f64>;

    /// DERT(δ) of a customer known to be alive at T (see
    /// [`PurchaseModel::discounted_expected_residual_transactions`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (field `discounting`) for models without a DERT (the default).
    fn discounted_residual_transactions_if_alive(&self, delta: f64, x: f64, t_cal: f64) -> Result<f64> {
        let _ = (delta, x, t_cal);
        Err(Error::param(
            "discounting",
            format!(
                "the {} model has no DERT: use Discounting::DiscreteMonthly",
                self.name()
            ),
        ))
    }

    /// E[Y(t) | x, t_x, T] = P(alive) · E[Y(t) | alive].
    ///
    /// # Errors
    /// The model's own errors (see its documentation).
    fn conditional_expected_purchases(&self, t: f64, x: f64, t_x: f64, t_cal: f64) -> Result<f64> {
        Ok(self.probability_alive(x, t_x, t_cal)? * self.expected_purchases_if_alive(t, x, t_cal)?)
    }

    /// DERT(δ | x, t_x, T), discounted expected residual transactions at continuous rate δ per
    /// time unit over an infinite horizon.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (field `discounting`) for models without a DERT.
    fn discounted_expected_residual_transactions(&self, delta: f64, x: f64, t_x: f64, t_cal: f64) -> Result<f64> {
        let d = self.discounted_residual_transactions_if_alive(delta, x, t_cal)?;
        Ok(self.probability_alive(x, t_x, t_cal)? * d)
    }
}

impl PurchaseModel for BgNbd {
    fn name(&self) -> &'static str {
        "BG/NBD"
    }
    fn probability_of_purchases(&self, t: f64, n: u32) -> Result<f64> {
        Ok(BgNbd::probability_of_purchases(self, t, n))
    }
    fn probability_alive(&self, x: f64, t_x: f64, t_cal: f64) -> Result<f64> {
        super::data::check_history(x, t_x, t_cal)?;
        Ok(self.p_alive(x, t_x, t_cal))
    }
    fn expected_purchases_if_alive(&self, t: f64, x: f64, t_cal: f64) -> Result<f64> {
        self.expectation_core(t, x, t_cal)
    }
    fn expected_purchases(&self, t: f64) -> Result<f64> {
        BgNbd::expected_purchases(self, t)
    }
}

/// A fast multiplicative hasher for (x, T) bit patterns (keys come from trusted f64 bits; no
/// collision resistance is needed).
#[derive(Default)]
pub(crate) struct PairHasher(u64);

impl std::hash::Hasher for PairHasher {
    fn finish(&self) -> u64 {
        // f64 bit patterns of small whole numbers differ only in their high bits, and the
        // table indexes by the low bits: mix every bit into every other (splitmix64's finalizer)
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        // `[u64; N]` keys arrive here as one byte slice: take them a word at a time
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.write_u64(u64::from_le_bytes(b));
        }
        for b in words.remainder() {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// The discounted expected number of purchases of one customer under `discounting` (CLV with
/// E\[M\] = 1).
///
/// # Errors
/// [`Error::InvalidParameter`] for invalid discounting settings or a model without DERT under
/// [`Discounting::Continuous`]; the model's own errors.
pub fn discounted_purchases(
    model: &impl PurchaseModel,
    x: f64,
    t_x: f64,
    t_cal: f64,
    discounting: &Discounting,
) -> Result<f64> {
    discounting.validate()?;
    discounted_unchecked(model, x, t_x, t_cal, discounting)
}

fn discounted_unchecked(
    model: &impl PurchaseModel,
    x: f64,
    t_x: f64,
    t_cal: f64,
    discounting: &Discounting,
) -> Result<f64> {
    Ok(model.probability_alive(x, t_x, t_cal)? * discounted_if_alive(model, x, t_cal, discounting)?)
}

/// The discounted expected purchases of a customer known to be alive at T.
pub(crate) fn discounted_if_alive(
    model: &impl PurchaseModel,
    x: f64,
    t_cal: f64,
    discounting: &Discounting,
) -> Result<f64> {
    match *discounting {
        Discounting::DiscreteMonthly {
            months,
            monthly_rate,
            time_units_per_month,
        } => {
            let mut total = 0.0;
            let mut prev = 0.0;
            let mut factor = 1.0;
            for m in 1..=months {
                let e = model.expected_purchases_if_alive(f64::from(m) * time_units_per_month, x, t_cal)?;
                factor /= 1.0 + monthly_rate;
                total += (e - prev) * factor;
                prev = e;
            }
            Ok(total)
        }
        Discounting::Continuous { rate_per_time_unit } => {
            model.discounted_residual_transactions_if_alive(rate_per_time_unit, x, t_cal)
        }
    }
}

/// Per-customer CLV.
#[derive(Debug, Clone, PartialEq)]
pub struct ClvOutput {
    /// Discounted expected purchases (CLV with E\[M\] = 1).
    pub discounted_purchases: Vec<f64>,
    /// E[M | x, m̄].
    pub expected_spend: Vec<f64>,
    /// Gross CLV = discounted purchases × E\[M\].
    pub gross: Vec<f64>,
    /// Net CLV = gross − cost per customer, when costs were given.
    pub net: Option<Vec<f64>>,
    /// The convention used.
    pub discounting: Discounting,
}

/// CLV of many customers (in parallel): gross = discounted expected purchases × E[M | x, m̄],
/// and net = gross − `cost` when a per-customer cost (acquisition or service cost, already in
/// present value) is given.
///
/// # Errors
/// [`Error::InvalidParameter`] for slices of different lengths, invalid discounting settings,
/// a model without DERT under [`Discounting::Continuous`], a non-finite cost; the models' own errors.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::models::clv::{Discounting, WEEKS_PER_MONTH, customer_lifetime_value};
/// use clientele::models::{BgNbd, GammaGamma};
/// let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426)?; // weekly CDNOW estimates (FHL 2005)
/// let gg = GammaGamma::new(6.25, 3.74, 15.44)?; // Fader & Hardie (2013)
/// let d = Discounting::DiscreteMonthly { months: 12, monthly_rate: 0.01, time_units_per_month: WEEKS_PER_MONTH };
/// let out = customer_lifetime_value(&bg, &gg, &[2.0, 0.0], &[30.43, 0.0], &[38.86, 38.86], &[35.0, 0.0], &d, None)?;
/// assert!(out.gross[0] > out.gross[1]);
/// # Ok(()) }
/// ```
#[allow(clippy::too_many_arguments)]
pub fn customer_lifetime_value(
    model: &impl PurchaseModel,
    spend: &GammaGamma,
    x: &[f64],
    t_x: &[f64],
    t_cal: &[f64],
    monetary_value: &[f64],
    discounting: &Discounting,
    cost: Option<&[f64]>,
) -> Result<ClvOutput> {
    if cost.is_some_and(|c| c.len() != x.len()) {
        return Err(Error::param(
            "monetary_value",
            "monetary_value (and cost) must have one value per customer",
        ));
    }
    // the shared batch scoring (once per distinct history); the horizon is not needed here
    let histories = super::scores::Histories {
        frequency: x,
        recency: t_x,
        t: t_cal,
        monetary_value,
    };
    let scores = super::scores::score_customers(model, spend, &histories, 0.0, discounting)?;
    let gross = scores.clv;
    let net = match cost {
        Some(c) => {
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(Error::InvalidModelData {
                    column: "cost",
                    row: i,
                    value: c[i],
                    reason: "must be finite",
                });
            }
            Some(gross.iter().zip(c).map(|(g, c)| g - c).collect())
        }
        None => None,
    };
    Ok(ClvOutput {
        discounted_purchases: scores.discounted_purchases,
        expected_spend: scores.expected_spend,
        gross,
        net,
        discounting: *discounting,
    })
}
