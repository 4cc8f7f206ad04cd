//! Customer lifetime value: fit a purchase model and Gamma-Gamma on a summary and value every
//! customer, or value them with models fitted before.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use super::fit::fit_purchase;
use super::summary::CustomerSummary;
use crate::churn::risk::{RiskTiers, churn_risk, risk_tier_codes};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::models::clv::Discounting;
use crate::models::scores::{CustomerScores, Histories, probability_alive_batch, score_customers};
use crate::models::uncertainty::score_intervals;
use crate::models::{GammaGammaParams, Horizon, ModelKind, RfmData, SavedModels, SpendData};
use crate::schema::output::{
    CHURN_RISK, CLV, CLV_LOWER, CLV_UPPER, EXPECTED_PURCHASES, EXPECTED_PURCHASES_LOWER, EXPECTED_PURCHASES_UPPER,
    EXPECTED_SPEND, FREQUENCY, MONETARY_VALUE, NET_CLV, P_ALIVE, RECENCY, RISK_TIER, T,
};

/// How future value is discounted (the horizon comes from [`ClvParams::horizon`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "convention", rename_all = "snake_case")]
pub enum Discount {
    /// The `lifetimes` / `pymc-marketing` sum over the horizon's months at `rate` per month
    /// (0.01 = 1 %); the horizon must be whole months.
    Monthly {
        /// Discount rate per month.
        rate: f64,
    },
    /// The `CLVTools` / `BTYD` continuous discounting over an infinite horizon (DERT),
    /// Pareto/NBD only.
    Continuous {
        /// Continuous rate per model time unit (0.0027 per week is about 15 % a year).
        rate_per_time_unit: f64,
    },
}

/// Unchecked settings of a CLV run; [`ClvParams::validate`] turns them into a [`ClvConfig`].
///
/// Defaults: BG/NBD purchases, Gamma-Gamma spend, a 12-month horizon, no penalizers, no cost,
/// the default risk tiers (cuts 0.5 and 0.8), and the risk model chosen as
/// [`ClvParams::risk_model`] says. There is no default discount: a CLV without a stated
/// discount rate is not comparable to anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClvParams {
    /// The purchase model: `bgnbd`, `mbgnbd` or `pnbd`.
    pub model: ModelKind,
    /// The horizon of `expected_purchases` (and of the monthly discounting).
    pub horizon: Horizon,
    /// The discounting (`None`: the one saved with the models, when scoring saved models).
    pub discount: Option<Discount>,
    /// Cost as a share of gross CLV in [0, 1]: adds `net_clv = clv × (1 − cost_rate)`.
    pub cost_rate: Option<f64>,
    /// L2 penalty of the purchase (and risk) model fit.
    pub purchase_penalizer: f64,
    /// L2 penalty of the Gamma-Gamma fit.
    pub spend_penalizer: f64,
    /// The model whose P(alive) grades `churn_risk`. `None` (the default): the purchase model,
    /// unless it is BG/NBD, whose P(alive) is 1 for every one-time buyer however long ago
    /// they bought; then MBG/NBD, which lets one-time buyers drop out.
    pub risk_model: Option<ModelKind>,
    /// How `churn_risk` becomes `risk_tier`.
    pub risk_tiers: RiskTiers,
    /// Confidence level (0.95 for 95 %) of delta-method intervals for `expected_purchases` and
    /// `clv` (columns `expected_purchases_lower/upper`, `clv_lower/upper`; see
    /// [`crate::models::uncertainty`]); `None` (the default): no intervals.
    pub intervals: Option<f64>,
}

impl Default for ClvParams {
    fn default() -> Self {
        ClvParams {
            model: ModelKind::BgNbd,
            horizon: Horizon::months(12.0),
            discount: None,
            cost_rate: None,
            purchase_penalizer: 0.0,
            spend_penalizer: 0.0,
            risk_model: None,
            risk_tiers: RiskTiers::default(),
            intervals: None,
        }
    }
}

impl ClvParams {
    /// The defaults with a discount.
    pub fn new(discount: Discount) -> Self {
        ClvParams {
            discount: Some(discount),
            ..Self::default()
        }
    }

    /// Sets the purchase model.
    pub fn model(mut self, model: ModelKind) -> Self {
        self.model = model;
        self
    }

    /// Sets the horizon.
    pub fn horizon(mut self, horizon: Horizon) -> Self {
        self.horizon = horizon;
        self
    }

    /// Sets the discount.
    pub fn discount(mut self, discount: Discount) -> Self {
        self.discount = Some(discount);
        self
    }

    /// Sets the cost rate.
    pub fn cost_rate(mut self, rate: f64) -> Self {
        self.cost_rate = Some(rate);
        self
    }

    /// Sets the purchase model's penalizer.
    pub fn purchase_penalizer(mut self, c: f64) -> Self {
        self.purchase_penalizer = c;
        self
    }

    /// Sets the spend model's penalizer.
    pub fn spend_penalizer(mut self, c: f64) -> Self {
        self.spend_penalizer = c;
        self
    }

    /// Sets the risk model.
    pub fn risk_model(mut self, model: ModelKind) -> Self {
        self.risk_model = Some(model);
        self
    }

    /// Asks for intervals at `level` (0.95 for 95 %).
    pub fn intervals(mut self, level: f64) -> Self {
        self.intervals = Some(level);
        self
    }

    /// Sets the risk tiers.
    pub fn risk_tiers(mut self, tiers: RiskTiers) -> Self {
        self.risk_tiers = tiers;
        self
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the field: `model` / `risk_model` not a purchase
    /// model, `horizon` negative or not whole months under monthly discounting, `discount`
    /// negative or continuous without Pareto/NBD, `cost_rate` outside [0, 1], a penalizer
    /// negative or not finite, `risk_tiers` invalid, `intervals` outside (0, 1).
    pub fn validate(&self) -> Result<ClvConfig> {
        for (field, kind) in [("model", Some(self.model)), ("risk_model", self.risk_model)] {
            if let Some(k) = kind
                && !k.is_purchase_model()
            {
                return Err(Error::param(
                    field,
                    format!("{k} is not a purchase model: use bgnbd, mbgnbd or pnbd"),
                ));
            }
        }
        if !(self.horizon.value.is_finite() && self.horizon.value >= 0.0) {
            return Err(Error::param(
                "horizon",
                format!("must be finite and ≥ 0, got {}", self.horizon),
            ));
        }
        match self.discount {
            Some(Discount::Monthly { rate }) => {
                if !(rate.is_finite() && rate >= 0.0) {
                    return Err(Error::param("discount", format!("a monthly rate ≥ 0, got {rate}")));
                }
                if self.horizon.whole_months().is_none_or(|m| m == 0) {
                    return Err(Error::param(
                        "horizon",
                        format!(
                            "monthly discounting sums over whole months: give the horizon as 1m or more, got {}",
                            self.horizon
                        ),
                    ));
                }
            }
            Some(Discount::Continuous { rate_per_time_unit }) => {
                if !(rate_per_time_unit.is_finite() && rate_per_time_unit > 0.0) {
                    return Err(Error::param(
                        "discount",
                        format!("a continuous rate > 0, got {rate_per_time_unit}"),
                    ));
                }
                if self.model != ModelKind::ParetoNbd {
                    return Err(Error::param(
                        "discount",
                        format!(
                            "continuous discounting (DERT) needs the Pareto/NBD model (pnbd), not {}",
                            self.model
                        ),
                    ));
                }
            }
            None => {}
        }
        if let Some(r) = self.cost_rate
            && !(0.0..=1.0).contains(&r)
        {
            return Err(Error::param("cost_rate", format!("must be a share in [0, 1], got {r}")));
        }
        for (field, c) in [
            ("purchase_penalizer", self.purchase_penalizer),
            ("spend_penalizer", self.spend_penalizer),
        ] {
            if !(c.is_finite() && c >= 0.0) {
                return Err(Error::param(field, format!("must be finite and ≥ 0, got {c}")));
            }
        }
        risk_tier_codes(&[], &self.risk_tiers).map_err(|e| Error::param("risk_tiers", e.to_string()))?;
        if let Some(level) = self.intervals {
            crate::models::uncertainty::z_of_level(level).map_err(|_| {
                Error::param(
                    "intervals",
                    format!("a confidence level strictly between 0 and 1 (0.95 for 95 %), got {level}"),
                )
            })?;
        }
        Ok(ClvConfig { params: self.clone() })
    }
}

/// Validated [`ClvParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClvConfig {
    params: ClvParams,
}

impl ClvConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &ClvParams {
        &self.params
    }

    /// The risk model a fit uses for `purchase` (see [`ClvParams::risk_model`]).
    pub fn risk_model_for(&self, purchase: ModelKind) -> ModelKind {
        match self.params.risk_model {
            Some(k) => k,
            None if purchase.one_time_buyers_always_alive() => ModelKind::MbgNbd,
            None => purchase,
        }
    }
}

/// What a CLV run did besides the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClvReport {
    /// Customers valued (rows of the table).
    pub customers: usize,
    /// True when the models were fitted here, false when saved models were used.
    pub fitted: bool,
    /// The model behind `churn_risk`.
    pub risk_model: ModelKind,
    /// One-time buyers left out of the Gamma-Gamma fit (valued at the population mean spend).
    pub spend_one_time_buyers_excluded: usize,
    /// Repeat customers left out of the Gamma-Gamma fit because their mean spend is ≤ 0.
    pub spend_non_positive_excluded: usize,
    /// Repeat customers whose negative mean spend (refunds exceeding purchases) was valued as
    /// zero spend.
    pub negative_spend_valued_as_zero: usize,
    /// The horizon in model time units.
    pub horizon_time_units: f64,
    /// The discounting applied.
    pub discounting: Discounting,
    /// Warnings for the reader (e.g. a saved BG/NBD model without a risk model).
    pub warnings: Vec<String>,
}

/// A valued customer base.
#[derive(Debug, Clone)]
pub struct Clv {
    /// `customer_id, frequency, recency, T, monetary_value, p_alive, expected_purchases`
    /// (+ `expected_purchases_lower, expected_purchases_upper`), `expected_spend, clv`
    /// (+ `clv_lower, clv_upper`) (+ `net_clv`), `churn_risk, risk_tier`.
    pub table: RecordBatch,
    /// The models used, with the data window and discounting (save with
    /// [`SavedModels::to_json`]; score again with [`score_clv`]).
    pub models: SavedModels,
    /// What was done.
    pub report: ClvReport,
}

/// Fits the purchase model, Gamma-Gamma and (when it differs) the risk model on `summary`,
/// and values every customer, in `par`.
///
/// # Errors
/// [`Error::InvalidParameter`] (`discount`) when `cfg` has no discount; the data's, the fits'
/// and the scoring's errors.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::kernels::summary::{SummaryParams, TimeUnit};
/// use clientele::pipeline::{ClvParams, Discount, EventSource, clv, customer_summary};
/// use clientele::synth::{GenerateParams, generate};
/// let par = Parallelism::current();
/// let events = generate(&GenerateParams::default().customers(2_000).seed(3).validate()?)?;
/// let end = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default();
/// let cfg = SummaryParams::new(end).time_unit(TimeUnit::Week).validate()?;
/// let summary = customer_summary(&EventSource::batches("synth", events), &cfg, &par)?.summary;
/// let run = clv(&summary, &ClvParams::new(Discount::Monthly { rate: 0.01 }).validate()?, &par)?;
/// assert_eq!(run.table.num_rows(), summary.len());
/// assert!(run.table.column_by_name("clv").is_some());
/// # Ok(()) }
/// ```
pub fn clv(summary: &CustomerSummary, cfg: &ClvConfig, par: &Parallelism) -> Result<Clv> {
    // every step in the caller's pool (the model data's row counting is parallel too)
    par.install(|| clv_in_pool(summary, cfg, par))
}

fn clv_in_pool(summary: &CustomerSummary, cfg: &ClvConfig, par: &Parallelism) -> Result<Clv> {
    let p = cfg.params();
    let discount = p
        .discount
        .ok_or_else(|| Error::param("discount", "give a discount (monthly or continuous): it has no default"))?;
    let (x, tx, t, m) = history(summary)?;
    let data = RfmData::from_slices(&x, &tx, &t, None)?;
    let spend_data = SpendData::from_slices(&x, &m, None)?;
    let spend = GammaGammaParams::new()
        .penalizer(p.spend_penalizer)
        .validate()?
        .fit(&spend_data)?;
    let purchase = fit_purchase(p.model, &data, p.purchase_penalizer)?;
    let risk_kind = cfg.risk_model_for(p.model);
    let risk = (risk_kind != p.model)
        .then(|| fit_purchase(risk_kind, &data, p.purchase_penalizer))
        .transpose()?;
    let models = SavedModels {
        purchase: Some(purchase),
        spend: Some(spend),
        risk,
        window: Some(*summary.window()),
        discounting: None,
    };
    let mut run = value(summary, models, discount, cfg, (&x, &tx, &t, &m), par)?;
    run.report.fitted = true;
    run.report.spend_one_time_buyers_excluded = spend_data.skipped();
    run.report.spend_non_positive_excluded = spend_data.non_positive();
    Ok(run)
}

/// Values every customer of `summary` with saved models (no fitting): the purchase model,
/// Gamma-Gamma and, when present, the risk model. The discount is `cfg`'s, else the one saved
/// with the models.
///
/// # Errors
/// [`Error::InvalidParameter`] (`window`) when the models were fitted on a summary prepared
/// with another period or time unit, (`model`) when the file lacks a purchase or spend model,
/// (`discount`) when neither `cfg` nor the file gives one; the scoring's errors.
pub fn score_clv(summary: &CustomerSummary, models: &SavedModels, cfg: &ClvConfig, par: &Parallelism) -> Result<Clv> {
    models.check_window(summary.window())?;
    models.purchase_model()?;
    if models.spend.is_none() {
        return Err(Error::param(
            "model",
            format!("CLV needs a Gamma-Gamma spend model; the file holds {}", models.kinds()),
        ));
    }
    let discount = match (cfg.params().discount, models.discounting) {
        (Some(d), _) => d,
        (None, Some(Discounting::DiscreteMonthly { monthly_rate, .. })) => Discount::Monthly { rate: monthly_rate },
        (None, Some(Discounting::Continuous { rate_per_time_unit })) => Discount::Continuous { rate_per_time_unit },
        (None, None) => {
            return Err(Error::param(
                "discount",
                "the model file has no discounting: give a discount (monthly or continuous)",
            ));
        }
    };
    par.install(|| {
        let (x, tx, t, m) = history(summary)?;
        value(summary, models.clone(), discount, cfg, (&x, &tx, &t, &m), par)
    })
}

type History = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

fn history(summary: &CustomerSummary) -> Result<History> {
    Ok((
        summary.column(FREQUENCY)?,
        summary.column(RECENCY)?,
        summary.column(T)?,
        summary.column(MONETARY_VALUE)?,
    ))
}

/// Scores with `models` and builds the table.
fn value(
    summary: &CustomerSummary,
    mut models: SavedModels,
    discount: Discount,
    cfg: &ClvConfig,
    h: (&[f64], &[f64], &[f64], &[f64]),
    par: &Parallelism,
) -> Result<Clv> {
    let p = cfg.params();
    let window = summary.window();
    let horizon = window.time_units(p.horizon)?;
    let discounting = match discount {
        Discount::Monthly { rate } => Discounting::DiscreteMonthly {
            months: p.horizon.whole_months().unwrap_or(0),
            monthly_rate: rate,
            time_units_per_month: window.time_units_per_month(),
        },
        Discount::Continuous { rate_per_time_unit } => Discounting::Continuous { rate_per_time_unit },
    };
    let (x, tx, t, m) = h;
    let purchase = models.purchase_model()?.clone();
    let Some(spend) = models.spend.clone() else {
        return Err(Error::param("model", "CLV needs a Gamma-Gamma spend model"));
    };
    // Refunds may exceed purchases: such a mean spend is valued as zero spend.
    let negative = x.iter().zip(m).filter(|(x, m)| **x > 0.0 && **m < 0.0).count();
    let m_used: Vec<f64> = if negative > 0 {
        x.iter()
            .zip(m)
            .map(|(x, m)| if *x > 0.0 && *m < 0.0 { 0.0 } else { *m })
            .collect()
    } else {
        m.to_vec()
    };
    let mut warnings = Vec::new();
    let risk_model = models.risk.as_ref().unwrap_or(&purchase).clone();
    if models.risk.is_none() && purchase.kind().one_time_buyers_always_alive() {
        warnings.push(format!(
            "churn risk comes from the {} model, which gives every one-time buyer P(alive) = 1; \
             fit the models again to add a risk model",
            purchase.kind()
        ));
    }
    let (s, risk_alive, intervals) = par.install(|| -> Result<(CustomerScores, Option<Vec<f64>>, _)> {
        let h = Histories {
            frequency: x,
            recency: tx,
            t,
            monetary_value: &m_used,
        };
        let s = score_customers(&purchase, &spend, &h, horizon, &discounting)?;
        let r = match &models.risk {
            Some(r) => Some(probability_alive_batch(r, x, tx, t)?),
            None => None,
        };
        let iv = p
            .intervals
            .map(|level| score_intervals(&purchase, Some(&spend), &h, horizon, &discounting, level))
            .transpose()?;
        Ok((s, r, iv))
    })?;
    let risk = churn_risk(risk_alive.as_ref().unwrap_or(&s.p_alive))?;
    let (labels, codes) = risk_tier_codes(&risk, &p.risk_tiers)?;
    let keys = summary.keys()?;
    let net = p
        .cost_rate
        .map(|r| s.clv.iter().map(|g| g * (1.0 - r)).collect::<Vec<_>>());
    let mut fields = vec![Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false)];
    let mut columns: Vec<ArrayRef> = vec![keys];
    let mut out = vec![
        (FREQUENCY, x.to_vec()),
        (RECENCY, tx.to_vec()),
        (T, t.to_vec()),
        (MONETARY_VALUE, m.to_vec()),
        (P_ALIVE, s.p_alive),
        (EXPECTED_PURCHASES, s.expected_purchases),
    ];
    let (purchase_iv, clv_iv) = match intervals {
        Some(iv) => (Some(iv.expected_purchases), Some(iv.clv)),
        None => (None, None),
    };
    if let Some(iv) = purchase_iv {
        out.push((EXPECTED_PURCHASES_LOWER, iv.lower));
        out.push((EXPECTED_PURCHASES_UPPER, iv.upper));
    }
    out.push((EXPECTED_SPEND, s.expected_spend));
    out.push((CLV, s.clv));
    if let Some(iv) = clv_iv {
        out.push((CLV_LOWER, iv.lower));
        out.push((CLV_UPPER, iv.upper));
    }
    if let Some(n) = net {
        out.push((NET_CLV, n));
    }
    out.push((CHURN_RISK, risk));
    for (name, v) in out {
        fields.push(Field::new(name, DataType::Float64, false));
        columns.push(Arc::new(Float64Array::from(v)));
    }
    fields.push(Field::new(RISK_TIER, DataType::Utf8, false));
    columns.push(Arc::new(StringArray::from_iter_values(
        codes.iter().map(|&c| labels.get(c as usize).map_or("", String::as_str)),
    )));
    let table = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    models.discounting = Some(discounting);
    if models.window.is_none() {
        models.window = Some(*window);
    }
    let report = ClvReport {
        customers: table.num_rows(),
        fitted: false,
        risk_model: risk_model.kind(),
        spend_one_time_buyers_excluded: 0,
        spend_non_positive_excluded: 0,
        negative_spend_valued_as_zero: negative,
        horizon_time_units: horizon,
        discounting,
        warnings,
    };
    Ok(Clv { table, models, report })
}

/// The `n` rows of `table` with the highest value in the Float64 column `column`, highest
/// first (ties: input order).
///
/// # Errors
/// [`Error::MissingColumn`] / [`Error::ColumnType`] for a missing or non-Float64 column.
pub fn top_by(table: &RecordBatch, column: &'static str, n: usize) -> Result<RecordBatch> {
    let v = crate::models::data::float_column(table, column)?;
    let mut idx: Vec<u32> = (0..v.len() as u32).collect();
    idx.sort_by(|&a, &b| v[b as usize].total_cmp(&v[a as usize]).then(a.cmp(&b)));
    idx.truncate(n);
    let take = UInt32Array::from(idx);
    let cols = table
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &take, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(table.schema(), cols)?)
}
