//! Supervised churn as jobs: the time-split data set (features before a cutoff, labels after),
//! with optional BG/NBD features, training, scoring and held-out evaluation.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use chrono::NaiveDate;

use super::summary::CustomerSummary;
use crate::churn::evaluation::{ChurnEvaluation, evaluate};
use crate::churn::labels::label_values;
use crate::churn::logistic::ClassWeight;
use crate::churn::{
    BtydFeatures, ChurnModel, ChurnModelParams, FeatureParams, LabelParams, churn_features, churn_labels,
};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use crate::models::{BgNbdParams, DataWindow, RfmData};
use crate::schema::output::{EXPECTED_PURCHASES, FREQUENCY, P_ALIVE, RECENCY, T};
use crate::store::EventStore;

/// BG/NBD features of the customers who bought before `cutoff` (`customer_id, p_alive,
/// expected_purchases` over the next `weeks`): the model is fitted on the weekly-period summary
/// whose calibration ends the day before the cutoff.
///
/// # Errors
/// [`Error::InvalidParameter`] for a cutoff without a previous day; the summary's and the fit's
/// errors.
pub fn btyd_features(store: &EventStore, cutoff: NaiveDate, weeks: f64, par: &Parallelism) -> Result<RecordBatch> {
    // every step in the caller's pool
    par.install(|| {
        let end = cutoff
            .pred_opt()
            .ok_or_else(|| Error::param("cutoff", "the cutoff has no previous day"))?;
        let table = summarize(store, &SummaryParams::new(end).period(Period::Week).validate()?, par)?;
        let summary = CustomerSummary::new(table, DataWindow::new(Period::Week, TimeUnit::Period))?;
        let (x, tx, t) = (summary.column(FREQUENCY)?, summary.column(RECENCY)?, summary.column(T)?);
        let data = RfmData::from_slices(&x, &tx, &t, None)?;
        let (p_alive, expected) = par.install(|| -> Result<(Vec<f64>, Vec<f64>)> {
            let model = BgNbdParams::new().validate()?.fit(&data)?;
            Ok((
                model.p_alive_batch(&x, &tx, &t)?,
                model.conditional_expected_purchases_batch(weeks, &x, &tx, &t)?,
            ))
        })?;
        let keys = summary.keys()?;
        Ok(RecordBatch::try_from_iter([
            (crate::schema::CUSTOMER_ID, keys),
            (P_ALIVE, Arc::new(Float64Array::from(p_alive)) as ArrayRef),
            (EXPECTED_PURCHASES, Arc::new(Float64Array::from(expected)) as ArrayRef),
        ])?)
    })
}

/// The time-split data set: features of the customers active before `cutoff` (with BG/NBD
/// features over `btyd_weeks` when given) and their labels (churned: no purchase in the
/// `horizon_days` from the cutoff).
///
/// # Errors
/// The feature, label and BG/NBD errors.
pub fn churn_dataset(
    store: &EventStore,
    features: &FeatureParams,
    cutoff: NaiveDate,
    horizon_days: u32,
    btyd_weeks: Option<f64>,
    par: &Parallelism,
) -> Result<(RecordBatch, RecordBatch)> {
    // every step in the caller's pool
    par.install(|| {
        let extra = btyd_weeks.map(|w| btyd_features(store, cutoff, w, par)).transpose()?;
        let f = churn_features(store, &features.validate()?, extra.as_ref(), par)?;
        let l = churn_labels(
            store,
            &LabelParams::new(cutoff).horizon_days(horizon_days).validate()?,
            par,
        )?;
        Ok((f, l))
    })
}

/// A trained churn model with the data it was trained on.
#[derive(Debug, Clone)]
pub struct ChurnTraining {
    /// The model (with its feature settings and BG/NBD setting saved in it).
    pub model: ChurnModel,
    /// The training features.
    pub features: RecordBatch,
    /// The training labels.
    pub labels: RecordBatch,
    /// The model's evaluation on its own training window.
    pub training_fit: ChurnEvaluation,
}

/// Trains the L2 logistic churn model on the window before `cutoff` with labels from the
/// `horizon_days` after it; `c` is the inverse regularization strength, `balanced` weights the
/// classes by their inverse frequency.
///
/// # Errors
/// The data set's and the fit's errors.
pub fn churn_train(
    store: &EventStore,
    cutoff: NaiveDate,
    horizon_days: u32,
    btyd_weeks: Option<f64>,
    c: f64,
    balanced: bool,
    par: &Parallelism,
) -> Result<ChurnTraining> {
    // every step in the caller's pool
    par.install(|| {
        let fp = FeatureParams::new(cutoff);
        let (features, labels) = churn_dataset(store, &fp, cutoff, horizon_days, btyd_weeks, par)?;
        let mut params = ChurnModelParams::new().c(c);
        if balanced {
            params = params.class_weight(ClassWeight::Balanced);
        }
        let model = par
            .install(|| params.validate()?.fit(&features, &labels))?
            .with_feature_params(&fp)
            .with_btyd(match btyd_weeks {
                Some(weeks) => BtydFeatures::Used { weeks },
                None => BtydFeatures::Off,
            });
        let training_fit = evaluate(&label_values(&labels)?, &model.predict(&features)?)?;
        Ok(ChurnTraining {
            model,
            features,
            labels,
            training_fit,
        })
    })
}

/// Churn probabilities of the customers active before `as_of` under a saved model (with the
/// BG/NBD features over `btyd_weeks` when the model uses them).
///
/// # Errors
/// The model's feature settings, the features' and the scoring's errors.
pub fn churn_score(
    store: &EventStore,
    model: &ChurnModel,
    as_of: NaiveDate,
    btyd_weeks: Option<f64>,
    par: &Parallelism,
) -> Result<RecordBatch> {
    // every step in the caller's pool
    par.install(|| {
        let extra = btyd_weeks
            .map(|weeks| btyd_features(store, as_of, weeks, par))
            .transpose()?;
        let features = churn_features(store, &model.feature_config(as_of)?, extra.as_ref(), par)?;
        model.score(&features)
    })
}

/// A saved model's held-out evaluation: features before `cutoff`, churn = no purchase in the
/// next `horizon_days`.
///
/// # Errors
/// The data set's and the evaluation's errors.
pub fn churn_evaluate(
    store: &EventStore,
    model: &ChurnModel,
    cutoff: NaiveDate,
    horizon_days: u32,
    btyd_weeks: Option<f64>,
    par: &Parallelism,
) -> Result<ChurnEvaluation> {
    // every step in the caller's pool
    par.install(|| {
        let fp = model.feature_config(cutoff)?;
        let (features, labels) = churn_dataset(store, fp.params(), cutoff, horizon_days, btyd_weeks, par)?;
        evaluate(&label_values(&labels)?, &model.predict(&features)?)
    })
}
