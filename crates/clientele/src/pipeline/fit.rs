//! Fit one model on a customer summary; score a summary with saved models.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use super::summary::CustomerSummary;
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::models::clv::Discounting;
use crate::models::scores::Histories;
use crate::models::scores::{conditional_expected_purchases_batch, probability_alive_batch};
use crate::models::uncertainty::score_intervals;
use crate::models::{
    BgBbData, BgBbParams, BgNbdParams, FittedModel, GammaGammaParams, Horizon, MbgNbdParams, ModelKind,
    ParetoNbdParams, RfmData, SavedModels, SpendData,
};
use crate::schema::output::{
    EXPECTED_PURCHASES, EXPECTED_PURCHASES_LOWER, EXPECTED_PURCHASES_UPPER, EXPECTED_SPEND, FREQUENCY, MONETARY_VALUE,
    P_ALIVE, RECENCY, T,
};

/// A fitted model and the data it was fitted on.
#[derive(Debug, Clone)]
pub struct ModelFit {
    /// The model.
    pub model: FittedModel,
    /// Customers in the fit (for Gamma-Gamma: the repeat customers with a positive mean spend).
    pub customers: f64,
    /// Gamma-Gamma only: one-time buyers (x = 0) left out (they carry no spend information).
    pub one_time_buyers_excluded: usize,
    /// Gamma-Gamma only: repeat customers left out because their mean spend is zero or negative.
    pub non_positive_spend_excluded: usize,
    /// Gamma-Gamma only: the correlation of frequency and mean spend (the model assumes none).
    pub frequency_spend_correlation: Option<f64>,
}

impl ModelFit {
    /// The fitted model with the summary's data window, ready to save.
    pub fn saved(&self, summary: &CustomerSummary) -> SavedModels {
        SavedModels::single(self.model.clone(), Some(*summary.window()))
    }
}

/// Fits `kind` on `summary` by maximum likelihood with an L2 `penalizer` (0: none), in `par`.
///
/// BG/NBD, MBG/NBD and Pareto/NBD read `frequency`, `recency` and `T`; BG/BB the same in whole
/// periods; Gamma-Gamma `frequency` and `monetary_value` of the repeat customers.
///
/// # Errors
/// [`Error::InvalidParameter`] for `sbg` (fitted on cohort survival counts: see
/// [`crate::models::SbgParams`]) or an invalid penalizer; the data's and the fit's errors
/// ([`Error::FitFailed`] with the diagnostics when the optimiser does not converge).
pub fn fit(summary: &CustomerSummary, kind: ModelKind, penalizer: f64, par: &Parallelism) -> Result<ModelFit> {
    par.install(|| {
        let x = summary.column(FREQUENCY)?;
        let purchase = |model: FittedModel, customers: f64| ModelFit {
            model,
            customers,
            one_time_buyers_excluded: 0,
            non_positive_spend_excluded: 0,
            frequency_spend_correlation: None,
        };
        match kind {
            ModelKind::GammaGamma => {
                let m = summary.column(MONETARY_VALUE)?;
                let data = SpendData::from_slices(&x, &m, None)?;
                let model = GammaGammaParams::new().penalizer(penalizer).validate()?.fit(&data)?;
                Ok(ModelFit {
                    model: FittedModel::GammaGamma(model),
                    customers: data.customers(),
                    one_time_buyers_excluded: data.skipped(),
                    non_positive_spend_excluded: data.non_positive(),
                    frequency_spend_correlation: Some(data.frequency_spend_correlation()),
                })
            }
            ModelKind::BgBb => {
                let (tx, t) = (summary.column(RECENCY)?, summary.column(T)?);
                let data = BgBbData::from_slices(&x, &tx, &t, None)?;
                let model = BgBbParams::new().penalizer(penalizer).validate()?.fit(&data)?;
                Ok(purchase(FittedModel::BgBb(model), summary.len() as f64))
            }
            ModelKind::BgNbd | ModelKind::MbgNbd | ModelKind::ParetoNbd => {
                let (tx, t) = (summary.column(RECENCY)?, summary.column(T)?);
                let data = RfmData::from_slices(&x, &tx, &t, None)?;
                let model = fit_purchase(kind, &data, penalizer)?;
                Ok(purchase(model, data.customers()))
            }
            ModelKind::Sbg => Err(Error::param(
                "model",
                "sbg is fitted on cohort survival counts, not on a customer summary: use SbgParams",
            )),
        }
    })
}

/// Fits a continuous-time purchase model on prepared data (in the current pool).
pub(crate) fn fit_purchase(kind: ModelKind, data: &RfmData, penalizer: f64) -> Result<FittedModel> {
    Ok(match kind {
        ModelKind::BgNbd => FittedModel::BgNbd(BgNbdParams::new().penalizer(penalizer).validate()?.fit(data)?),
        ModelKind::MbgNbd => FittedModel::MbgNbd(MbgNbdParams::new().penalizer(penalizer).validate()?.fit(data)?),
        ModelKind::ParetoNbd => {
            FittedModel::ParetoNbd(ParetoNbdParams::new().penalizer(penalizer).validate()?.fit(data)?)
        }
        other => {
            return Err(Error::param(
                "model",
                format!("{other} is not a purchase model for CLV: use bgnbd, mbgnbd or pnbd"),
            ));
        }
    })
}

/// P(alive | x, t_x, T) of many customers under a purchase model (BG/NBD, MBG/NBD,
/// Pareto/NBD, or BG/BB in whole periods), in the current pool.
///
/// # Errors
/// [`Error::InvalidParameter`] (`model`) for a model that does not predict purchases; the
/// models' errors on invalid histories (for BG/BB, the fit's checks: whole periods,
/// 0 ≤ x ≤ t_x ≤ n).
pub fn p_alive_of(model: &FittedModel, x: &[f64], tx: &[f64], t: &[f64]) -> Result<Vec<f64>> {
    match model {
        FittedModel::BgNbd(_) | FittedModel::MbgNbd(_) | FittedModel::ParetoNbd(_) => {
            probability_alive_batch(model, x, tx, t)
        }
        FittedModel::BgBb(m) => {
            BgBbData::from_slices(x, tx, t, None)?;
            Ok((0..x.len()).map(|i| m.p_alive(x[i], tx[i], t[i])).collect())
        }
        other => Err(not_purchase(other)),
    }
}

/// E[Y(horizon) | x, t_x, T] of many customers (`horizon` in model time units) under a
/// purchase model, as [`p_alive_of`].
///
/// # Errors
/// As [`p_alive_of`].
pub fn expected_purchases_of(model: &FittedModel, horizon: f64, x: &[f64], tx: &[f64], t: &[f64]) -> Result<Vec<f64>> {
    match model {
        FittedModel::BgNbd(_) | FittedModel::MbgNbd(_) | FittedModel::ParetoNbd(_) => {
            conditional_expected_purchases_batch(model, horizon, x, tx, t)
        }
        FittedModel::BgBb(m) => {
            BgBbData::from_slices(x, tx, t, None)?;
            Ok((0..x.len())
                .map(|i| m.conditional_expected_purchases(horizon, x[i], tx[i], t[i]))
                .collect())
        }
        other => Err(not_purchase(other)),
    }
}

fn not_purchase(model: &FittedModel) -> Error {
    Error::param("model", format!("{} does not predict purchases", model.kind()))
}

/// P(alive) and expected purchases over `horizon` (model time units) under a purchase model.
pub(crate) fn purchase_scores(
    model: &FittedModel,
    horizon: f64,
    x: &[f64],
    tx: &[f64],
    t: &[f64],
) -> Result<(Vec<f64>, Vec<f64>)> {
    Ok((
        p_alive_of(model, x, tx, t)?,
        expected_purchases_of(model, horizon, x, tx, t)?,
    ))
}

/// Scores `summary` with saved models: for a purchase model `frequency, recency, T, p_alive,
/// expected_purchases` over `horizon`; for a spend model `frequency, monetary_value,
/// expected_spend` (one-time buyers get the population mean, as lifetimes does); both sets of
/// columns for a file holding both. The first column is `customer_id`.
///
/// # Errors
/// [`Error::InvalidParameter`] (`window`) when the models were fitted on a summary prepared
/// with another period or time unit, (`horizon`) for a horizon beyond 100 years, (`model`)
/// for a file without a purchase or spend model; the models' errors on invalid histories.
pub fn predict(
    summary: &CustomerSummary,
    models: &SavedModels,
    horizon: Horizon,
    par: &Parallelism,
) -> Result<RecordBatch> {
    predict_with_intervals(summary, models, horizon, None, par)
}

/// [`predict`], with delta-method intervals at `intervals` (0.95 for 95 %) of
/// `expected_purchases` in the columns `expected_purchases_lower` and
/// `expected_purchases_upper` (see [`crate::models::uncertainty`]).
///
/// # Errors
/// As [`predict`]; [`Error::InvalidParameter`] (`level`) outside (0, 1), (`intervals`) when
/// the purchase model has no covariance (a model saved before covariances were recorded, a
/// boundary fit), (`model`) for BG/BB.
pub fn predict_with_intervals(
    summary: &CustomerSummary,
    models: &SavedModels,
    horizon: Horizon,
    intervals: Option<f64>,
    par: &Parallelism,
) -> Result<RecordBatch> {
    models.check_window(summary.window())?;
    let horizon = summary.window().time_units(horizon)?;
    let keys = summary.keys()?;
    let x = summary.column(FREQUENCY)?;
    let mut fields = vec![Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false)];
    let mut cols: Vec<ArrayRef> = vec![keys];
    let mut push = |name: &str, v: Vec<f64>| {
        fields.push(Field::new(name, DataType::Float64, false));
        cols.push(Arc::new(Float64Array::from(v)));
    };
    push(FREQUENCY, x.clone());
    par.install(|| -> Result<()> {
        let purchase = models.purchase.as_ref().or(models.risk.as_ref());
        if purchase.is_none() && models.spend.is_none() {
            return Err(Error::param(
                "model",
                format!("the model file holds {}: nothing to predict with", models.kinds()),
            ));
        }
        if let Some(p) = purchase {
            let (tx, t) = (summary.column(RECENCY)?, summary.column(T)?);
            let (alive, expected) = purchase_scores(p, horizon, &x, &tx, &t)?;
            let iv = match intervals {
                Some(level) => {
                    let zeros = vec![0.0; x.len()];
                    let h = Histories {
                        frequency: &x,
                        recency: &tx,
                        t: &t,
                        monetary_value: &zeros,
                    };
                    // the discounting is not used for purchase intervals
                    let d = Discounting::DiscreteMonthly {
                        months: 1,
                        monthly_rate: 0.0,
                        time_units_per_month: summary.window().time_units_per_month(),
                    };
                    Some(score_intervals(p, None, &h, horizon, &d, level)?.expected_purchases)
                }
                None => None,
            };
            push(RECENCY, tx);
            push(T, t);
            push(P_ALIVE, alive);
            push(EXPECTED_PURCHASES, expected);
            if let Some(iv) = iv {
                push(EXPECTED_PURCHASES_LOWER, iv.lower);
                push(EXPECTED_PURCHASES_UPPER, iv.upper);
            }
        }
        if let Some(gg) = &models.spend {
            let m = summary.column(MONETARY_VALUE)?;
            let e = gg.conditional_expected_average_spend_batch(&x, &m)?;
            push(MONETARY_VALUE, m);
            push(EXPECTED_SPEND, e);
        }
        Ok(())
    })?;
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}
