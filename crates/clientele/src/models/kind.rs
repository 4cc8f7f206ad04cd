//! Which model: one typed name shared by the API, the command line and saved JSON.
//!
//! [`ModelKind`] is spelled the same everywhere: `bgnbd`, `mbgnbd`, `pnbd`, `bgbb`, `gg`. Files
//! written before this spelling was shared say `pareto_nbd` and `gamma_gamma`; both are still
//! read. [`FittedModel`] holds any fitted model and reads any model file Clientele writes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::clv::PurchaseModel;
use super::{BgBb, BgNbd, GammaGamma, MbgNbd, ParetoNbd, Sbg};
use crate::error::{Error, Result};

/// A lifetime-value model, by its one name.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::models::ModelKind;
/// let k: ModelKind = "pnbd".parse()?;
/// assert_eq!(k, ModelKind::ParetoNbd);
/// assert_eq!(k.to_string(), "pnbd");
/// assert!(k.is_purchase_model());
/// assert!("pareto".parse::<ModelKind>().is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ModelKind {
    /// BG/NBD (Fader, Hardie & Lee 2005): `bgnbd`.
    #[serde(rename = "bgnbd")]
    BgNbd,
    /// MBG/NBD (Batislam, Denizel & Filiztekin 2007): `mbgnbd`.
    #[serde(rename = "mbgnbd")]
    MbgNbd,
    /// Pareto/NBD (Schmittlein, Morrison & Colombo 1987): `pnbd` (older files: `pareto_nbd`).
    #[serde(rename = "pnbd", alias = "pareto_nbd")]
    ParetoNbd,
    /// BG/BB, discrete periods (Fader, Hardie & Shang 2010): `bgbb`.
    #[serde(rename = "bgbb")]
    BgBb,
    /// Gamma-Gamma spend (Fader & Hardie 2013): `gg` (older files: `gamma_gamma`).
    #[serde(rename = "gg", alias = "gamma_gamma")]
    GammaGamma,
    /// Shifted-beta-geometric contractual retention (Fader & Hardie 2007): `sbg`.
    #[serde(rename = "sbg")]
    Sbg,
}

impl ModelKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ModelKind; 6] = [
        ModelKind::BgNbd,
        ModelKind::MbgNbd,
        ModelKind::ParetoNbd,
        ModelKind::BgBb,
        ModelKind::GammaGamma,
        ModelKind::Sbg,
    ];

    /// The one spelling: `bgnbd`, `mbgnbd`, `pnbd`, `bgbb`, `gg` or `sbg`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ModelKind::BgNbd => "bgnbd",
            ModelKind::MbgNbd => "mbgnbd",
            ModelKind::ParetoNbd => "pnbd",
            ModelKind::BgBb => "bgbb",
            ModelKind::GammaGamma => "gg",
            ModelKind::Sbg => "sbg",
        }
    }

    /// The name older model files used, where it differed (`pareto_nbd`, `gamma_gamma`).
    pub const fn legacy_name(self) -> Option<&'static str> {
        match self {
            ModelKind::ParetoNbd => Some("pareto_nbd"),
            ModelKind::GammaGamma => Some("gamma_gamma"),
            _ => None,
        }
    }

    /// A readable title: `BG/NBD`, `Pareto/NBD`, ...
    pub const fn title(self) -> &'static str {
        match self {
            ModelKind::BgNbd => "BG/NBD",
            ModelKind::MbgNbd => "MBG/NBD",
            ModelKind::ParetoNbd => "Pareto/NBD",
            ModelKind::BgBb => "BG/BB",
            ModelKind::GammaGamma => "Gamma-Gamma",
            ModelKind::Sbg => "sBG",
        }
    }

    /// True for the continuous-time (x, t_x, T) purchase models usable for CLV: BG/NBD,
    /// MBG/NBD and Pareto/NBD.
    pub const fn is_purchase_model(self) -> bool {
        matches!(self, ModelKind::BgNbd | ModelKind::MbgNbd | ModelKind::ParetoNbd)
    }

    /// True when P(alive) of a one-time buyer (x = 0) is 1 whatever the time since the first
    /// purchase: BG/NBD lets a customer drop out only right after a repeat purchase. Such a
    /// P(alive) is correct for the model but no measure of churn risk.
    pub const fn one_time_buyers_always_alive(self) -> bool {
        matches!(self, ModelKind::BgNbd)
    }

    /// Parses a name; the error lists the accepted spellings.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (field `model`) for any other name.
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == name || k.legacy_name() == Some(name))
            .ok_or_else(|| {
                Error::param(
                    "model",
                    format!(
                        "unknown model {name:?}: expected one of {}",
                        Self::ALL.map(ModelKind::as_str).join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ModelKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Any fitted model, as read from any model file Clientele writes.
#[derive(Debug, Clone, PartialEq)]
pub enum FittedModel {
    /// A BG/NBD model.
    BgNbd(BgNbd),
    /// An MBG/NBD model.
    MbgNbd(MbgNbd),
    /// A Pareto/NBD model.
    ParetoNbd(ParetoNbd),
    /// A BG/BB model.
    BgBb(BgBb),
    /// A Gamma-Gamma spend model.
    GammaGamma(GammaGamma),
    /// An sBG retention model.
    Sbg(Sbg),
}

impl FittedModel {
    /// The continuous-time purchase model inside (BG/NBD, MBG/NBD, Pareto/NBD).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (field `model`) for any other kind.
    pub fn as_purchase_model(&self) -> Result<&dyn PurchaseModel> {
        match self {
            FittedModel::BgNbd(m) => Ok(m),
            FittedModel::MbgNbd(m) => Ok(m),
            FittedModel::ParetoNbd(m) => Ok(m),
            other => Err(Error::param(
                "model",
                format!("{} is not a purchase model (bgnbd, mbgnbd, pnbd)", other.kind()),
            )),
        }
    }

    /// Which model this is.
    pub fn kind(&self) -> ModelKind {
        match self {
            FittedModel::BgNbd(_) => ModelKind::BgNbd,
            FittedModel::MbgNbd(_) => ModelKind::MbgNbd,
            FittedModel::ParetoNbd(_) => ModelKind::ParetoNbd,
            FittedModel::BgBb(_) => ModelKind::BgBb,
            FittedModel::GammaGamma(_) => ModelKind::GammaGamma,
            FittedModel::Sbg(_) => ModelKind::Sbg,
        }
    }

    /// The parameters by name, in the model's order (`r, alpha, a, b` for BG/NBD, ...).
    pub fn params(&self) -> Vec<(&'static str, f64)> {
        match self {
            FittedModel::BgNbd(m) => vec![("r", m.r), ("alpha", m.alpha), ("a", m.a), ("b", m.b)],
            FittedModel::MbgNbd(m) => vec![("r", m.r), ("alpha", m.alpha), ("a", m.a), ("b", m.b)],
            FittedModel::ParetoNbd(m) => vec![("r", m.r), ("alpha", m.alpha), ("s", m.s), ("beta", m.beta)],
            FittedModel::BgBb(m) => vec![
                ("alpha", m.alpha),
                ("beta", m.beta),
                ("gamma", m.gamma),
                ("delta", m.delta),
            ],
            FittedModel::GammaGamma(m) => vec![("p", m.p), ("q", m.q), ("gamma", m.gamma)],
            FittedModel::Sbg(m) => vec![("alpha", m.alpha), ("beta", m.beta)],
        }
    }

    /// The fit's diagnostics (`None` for a model built from given parameters).
    pub fn diagnostics(&self) -> Option<&super::FitDiagnostics> {
        match self {
            FittedModel::BgNbd(m) => m.diagnostics.as_ref(),
            FittedModel::MbgNbd(m) => m.diagnostics.as_ref(),
            FittedModel::ParetoNbd(m) => m.diagnostics.as_ref(),
            FittedModel::BgBb(m) => m.diagnostics.as_ref(),
            FittedModel::GammaGamma(m) => m.diagnostics.as_ref(),
            FittedModel::Sbg(m) => m.diagnostics.as_ref(),
        }
    }

    /// The model as versioned JSON (the model's own `to_json`).
    ///
    /// # Errors
    /// [`Error::Json`] if encoding fails.
    pub fn to_json(&self) -> Result<String> {
        match self {
            FittedModel::BgNbd(m) => m.to_json(),
            FittedModel::MbgNbd(m) => m.to_json(),
            FittedModel::ParetoNbd(m) => m.to_json(),
            FittedModel::BgBb(m) => m.to_json(),
            FittedModel::GammaGamma(m) => m.to_json(),
            FittedModel::Sbg(m) => m.to_json(),
        }
    }

    /// Reads one model document, whatever its kind (the `model` field says which).
    ///
    /// # Errors
    /// [`Error::Format`] for JSON that is not a Clientele model document, an unknown model
    /// name, an unsupported version or invalid parameters.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::{BgNbd, FittedModel, ModelKind};
    /// let json = BgNbd::new(0.243, 4.414, 0.793, 2.426)?.to_json()?;
    /// let m = FittedModel::from_json(&json)?;
    /// assert_eq!(m.kind(), ModelKind::BgNbd);
    /// # Ok(()) }
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        let kind = super::envelope_kind(json)?;
        Ok(match kind {
            ModelKind::BgNbd => FittedModel::BgNbd(BgNbd::from_json(json)?),
            ModelKind::MbgNbd => FittedModel::MbgNbd(MbgNbd::from_json(json)?),
            ModelKind::ParetoNbd => FittedModel::ParetoNbd(ParetoNbd::from_json(json)?),
            ModelKind::BgBb => FittedModel::BgBb(BgBb::from_json(json)?),
            ModelKind::GammaGamma => FittedModel::GammaGamma(GammaGamma::from_json(json)?),
            ModelKind::Sbg => FittedModel::Sbg(Sbg::from_json(json)?),
        })
    }
}

/// A fitted model scores as the purchase model inside it, so that one code path serves BG/NBD,
/// MBG/NBD and Pareto/NBD; other kinds answer every call with the error of
/// [`FittedModel::as_purchase_model`].
impl PurchaseModel for FittedModel {
    fn name(&self) -> &'static str {
        self.kind().title()
    }
    fn probability_alive(&self, x: f64, t_x: f64, t_cal: f64) -> Result<f64> {
        self.as_purchase_model()?.probability_alive(x, t_x, t_cal)
    }
    fn expected_purchases_if_alive(&self, t: f64, x: f64, t_cal: f64) -> Result<f64> {
        self.as_purchase_model()?.expected_purchases_if_alive(t, x, t_cal)
    }
    fn expected_purchases(&self, t: f64) -> Result<f64> {
        self.as_purchase_model()?.expected_purchases(t)
    }
    fn probability_of_purchases(&self, t: f64, n: u32) -> Result<f64> {
        self.as_purchase_model()?.probability_of_purchases(t, n)
    }
    fn discounted_residual_transactions_if_alive(&self, delta: f64, x: f64, t_cal: f64) -> Result<f64> {
        self.as_purchase_model()?
            .discounted_residual_transactions_if_alive(delta, x, t_cal)
    }
    fn conditional_expected_purchases(&self, t: f64, x: f64, t_x: f64, t_cal: f64) -> Result<f64> {
        self.as_purchase_model()?
            .conditional_expected_purchases(t, x, t_x, t_cal)
    }
    fn discounted_expected_residual_transactions(&self, delta: f64, x: f64, t_x: f64, t_cal: f64) -> Result<f64> {
        self.as_purchase_model()?
            .discounted_expected_residual_transactions(delta, x, t_x, t_cal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_in_text_and_json() {
        for k in ModelKind::ALL {
            assert_eq!(ModelKind::parse(k.as_str()).ok(), Some(k));
            let json = serde_json::to_string(&k).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<ModelKind>(&json).ok(), Some(k));
            if let Some(old) = k.legacy_name() {
                assert_eq!(serde_json::from_str::<ModelKind>(&format!("\"{old}\"")).ok(), Some(k));
            }
        }
        assert!(ModelKind::parse("").is_err());
        assert!(ModelKind::parse("BGNBD").is_err());
    }
}
