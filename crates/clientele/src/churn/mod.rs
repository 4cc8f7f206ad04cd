//! Supervised churn scoring: time-split labels, per-customer features, an L2-regularized
//! logistic regression and its evaluation.
//!
//! The flow, for a `cutoff` date and a `horizon_days` window:
//!
//! 1. **Population and labels** ([`churn_labels`]): the customers with at least one purchase
//!    strictly before the cutoff's midnight (UTC); a customer is churned (1) when they make no
//!    purchase in the `horizon_days` days from the cutoff, else 0.
//! 2. **Features** ([`churn_features`]): one row per customer of the same population, in the
//!    same order (customer key order), computed from the events strictly before the cutoff only,
//!    so nothing after the cutoff leaks into them; optionally joined with caller-provided numeric
//!    columns (e.g. `p_alive` of a BTYD model).
//! 3. **Model** ([`ChurnModelParams`] → [`ChurnModelConfig::fit`] → [`ChurnModel`]): the features
//!    are standardized ([`Scaling`], stored in the model) and a logistic regression is fitted by
//!    Newton's method, minimising scikit-learn's objective C·Σᵢ wᵢ·loglossᵢ + ½‖w‖² (the
//!    intercept is not penalised). [`ChurnModel::score`] scores new features with the stored
//!    scaling; the model is saved as versioned JSON.
//! 4. **Evaluation** ([`evaluation`]): ROC AUC, average precision, lift and capture at the top
//!    decile, Brier score and a calibration table.
//!
//! Without labels, [`risk`] turns a fitted BTYD model's P(alive) into a non-contractual churn
//! risk (1 − P(alive)) and named risk tiers.
//!
//! Everything is deterministic: no clock, randomness or environment variable is involved, and
//! parallel passes run over fixed chunks combined in order, so results do not depend on the
//! thread count.
//!
//! # Example
//! ```
//! # fn main() -> Result<(), clientele::Error> {
//! use clientele::chrono::NaiveDate;
//! use clientele::churn::{ChurnModelParams, FeatureParams, LabelParams, churn_features, churn_labels};
//! use clientele::exec::Parallelism;
//! use clientele::ingest::{IngestOptions, Ingestor};
//! use clientele::synth::{GenerateParams, generate};
//!
//! let batches = generate(&GenerateParams::default().customers(300).seed(1).validate()?)?;
//! let mut ing = Ingestor::new(&IngestOptions::default())?;
//! ing.read_batches("synthetic", batches.into_iter().map(Ok))?;
//! let (store, _) = ing.finish()?;
//! let cutoff = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
//! let par = Parallelism::current();
//! let labels = churn_labels(&store, &LabelParams::new(cutoff).horizon_days(90).validate()?, &par)?;
//! let features = churn_features(&store, &FeatureParams::new(cutoff).validate()?, None, &par)?;
//! let model = ChurnModelParams::new().c(1.0).validate()?.fit(&features, &labels)?;
//! let scores = model.score(&features)?;
//! assert_eq!(scores.num_rows(), labels.num_rows());
//! let json = model.to_json()?;
//! assert_eq!(clientele::churn::ChurnModel::from_json(&json)?, model);
//! # Ok(()) }
//! ```

use arrow_array::{ArrayRef, UInt32Array};

use crate::error::Result;
use crate::store::EventStore;

pub mod evaluation;
pub mod features;
pub mod labels;
pub mod logistic;
pub mod risk;

pub use features::{FeatureConfig, FeatureParams, Scaling, churn_features};
pub use labels::{LabelConfig, LabelParams, churn_labels, label_values};
pub use logistic::{
    BtydFeatures, ChurnModel, ChurnModelConfig, ChurnModelParams, ClassWeight, DEFAULT_BTYD_WEEKS, LogisticDiagnostics,
};

/// Customers per parallel task (boundaries independent of the thread count).
pub(crate) const CHUNK: usize = 4096;

/// The original keys of the given dense customer indices, as an Arrow array.
pub(crate) fn key_column(store: &EventStore, customers: &[u32]) -> Result<ArrayRef> {
    let keys = store.customer_keys().array();
    let idx = UInt32Array::from(customers.to_vec());
    Ok(arrow_select::take::take(keys.as_ref(), &idx, None)?)
}
