//! Model files: one document that any command writes and any command reads.
//!
//! Two layouts, both JSON:
//! - **one model** (`clientele fit --out`): the model's own versioned document
//!   (`{"format":"clientele-model","version":1,"model":"pnbd","params":{...},...}`) plus, when
//!   known, the `window` of the summary it was fitted on;
//! - **a model set** (`clientele clv --model-out`): `{"format":"clientele-models","version":1,
//!   "window":{...},"discounting":{...},"purchase":{model},"spend":{model},"risk":{model}}`.
//!   Files that `clv` wrote before the set had a format tag (`{"discounting","purchase","spend"}`)
//!   are still read.
//!
//! [`SavedModels::from_json`] reads both, so `predict`, `clv --models` and a service take any
//! file.

use std::path::Path;

use serde_json::Value;

use super::clv::Discounting;
use super::{DataWindow, FittedModel, GammaGamma, ModelKind};
use crate::error::{Error, Result};

/// The format tag of a model set.
pub const MODEL_SET_FORMAT: &str = "clientele-models";
/// The version of the model-set layout.
pub const MODEL_SET_VERSION: u32 = 1;

/// Fitted models read from (or to be written to) one file.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModels {
    /// The purchase model (BG/NBD, MBG/NBD, Pareto/NBD), or a BG/BB or sBG model.
    pub purchase: Option<FittedModel>,
    /// The Gamma-Gamma spend model.
    pub spend: Option<GammaGamma>,
    /// The model whose P(alive) grades churn risk, when it is not the purchase model.
    pub risk: Option<FittedModel>,
    /// How the summary the models were fitted on was prepared (`None` in older files).
    pub window: Option<DataWindow>,
    /// The discounting a CLV run applied (model sets only).
    pub discounting: Option<Discounting>,
}

fn bad(message: impl Into<String>) -> Error {
    Error::Format {
        source_name: "model JSON".into(),
        format: MODEL_SET_FORMAT,
        message: message.into(),
    }
}

impl SavedModels {
    /// One fitted model (a Gamma-Gamma model becomes the spend model).
    pub fn single(model: FittedModel, window: Option<DataWindow>) -> Self {
        let (purchase, spend) = match model {
            FittedModel::GammaGamma(g) => (None, Some(g)),
            other => (Some(other), None),
        };
        SavedModels {
            purchase,
            spend,
            risk: None,
            window,
            discounting: None,
        }
    }

    /// True when the file holds exactly one model (written in the one-model layout).
    fn is_single(&self) -> bool {
        self.risk.is_none() && self.discounting.is_none() && (self.purchase.is_some() != self.spend.is_some())
    }

    /// The document: the one-model layout for a single model, else a model set.
    ///
    /// # Errors
    /// [`Error::Json`] if encoding fails.
    pub fn to_json(&self) -> Result<String> {
        let doc = |m: &FittedModel| -> Result<Value> { Ok(serde_json::from_str(&m.to_json()?)?) };
        let spend = self.spend.clone().map(FittedModel::GammaGamma);
        let window = self.window.map(serde_json::to_value).transpose()?;
        if self.is_single()
            && let Some(m) = self.purchase.as_ref().or(spend.as_ref())
        {
            let mut v = doc(m)?;
            if let (Value::Object(o), Some(w)) = (&mut v, window) {
                o.insert("window".into(), w);
            }
            return Ok(serde_json::to_string_pretty(&v)? + "\n");
        }
        let mut o = serde_json::Map::new();
        o.insert("format".into(), MODEL_SET_FORMAT.into());
        o.insert("version".into(), MODEL_SET_VERSION.into());
        if let Some(w) = window {
            o.insert("window".into(), w);
        }
        if let Some(d) = &self.discounting {
            o.insert("discounting".into(), serde_json::to_value(d)?);
        }
        for (key, m) in [("purchase", &self.purchase), ("spend", &spend), ("risk", &self.risk)] {
            if let Some(m) = m {
                o.insert(key.into(), doc(m)?);
            }
        }
        Ok(serde_json::to_string_pretty(&Value::Object(o))? + "\n")
    }

    /// Reads either layout.
    ///
    /// # Errors
    /// [`Error::Format`] for JSON that is neither layout, an unknown model or version, a
    /// spend slot that does not hold a Gamma-Gamma model.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use clientele::models::saved::SavedModels;
    /// use clientele::models::{BgNbd, FittedModel, ModelKind};
    /// let json = BgNbd::new(0.243, 4.414, 0.793, 2.426)?.to_json()?;
    /// let m = SavedModels::from_json(&json)?;
    /// assert_eq!(m.purchase.map(|p| p.kind()), Some(ModelKind::BgNbd));
    /// assert!(SavedModels::from_json(r#"{"model": ""}"#).is_err());
    /// # Ok(()) }
    /// ```
    pub fn from_json(json: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        let Value::Object(o) = &v else {
            return Err(bad("a model file is a JSON object"));
        };
        let window = o
            .get("window")
            .map(|w| serde_json::from_value::<DataWindow>(w.clone()))
            .transpose()
            .map_err(|e| bad(format!("window: {e}")))?;
        if o.contains_key("purchase") || o.contains_key("spend") {
            if let Some(f) = o.get("format")
                && f != MODEL_SET_FORMAT
            {
                return Err(bad(format!("format is {f}, expected {MODEL_SET_FORMAT:?}")));
            }
            if let Some(ver) = o.get("version")
                && ver.as_u64() != Some(u64::from(MODEL_SET_VERSION))
            {
                return Err(bad(format!(
                    "version {ver} is not supported (this build reads version {MODEL_SET_VERSION})"
                )));
            }
            let model = |key: &str| -> Result<Option<FittedModel>> {
                o.get(key)
                    .filter(|m| !m.is_null())
                    .map(|m| FittedModel::from_json(&m.to_string()))
                    .transpose()
            };
            let spend = match model("spend")? {
                None => None,
                Some(FittedModel::GammaGamma(g)) => Some(g),
                Some(other) => {
                    return Err(bad(format!(
                        "the spend slot holds a {} model, expected gg",
                        other.kind()
                    )));
                }
            };
            let discounting = o
                .get("discounting")
                .map(|d| serde_json::from_value::<Discounting>(d.clone()))
                .transpose()
                .map_err(|e| bad(format!("discounting: {e}")))?;
            return Ok(SavedModels {
                purchase: model("purchase")?,
                spend,
                risk: model("risk")?,
                window,
                discounting,
            });
        }
        Ok(SavedModels::single(FittedModel::from_json(json)?, window))
    }

    /// Reads a model file.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file; as [`SavedModels::from_json`], with the file named.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text).map_err(|e| match e {
            Error::Format { format, message, .. } => Error::Format {
                source_name: path.display().to_string(),
                format,
                message,
            },
            other => other,
        })
    }

    /// The purchase model, or an error naming what the file holds instead.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (field `model`) when the file has no purchase model.
    pub fn purchase_model(&self) -> Result<&FittedModel> {
        match &self.purchase {
            Some(m) if m.kind().is_purchase_model() => Ok(m),
            Some(m) => Err(Error::param(
                "model",
                format!(
                    "the file holds a {} model, not a purchase model (bgnbd, mbgnbd, pnbd)",
                    m.kind()
                ),
            )),
            None => Err(Error::param("model", "the file holds no purchase model")),
        }
    }

    /// Checks that the models may score a summary prepared as `data` (see
    /// [`DataWindow::check_compatible`]); files without a window are not checked.
    ///
    /// # Errors
    /// As [`DataWindow::check_compatible`].
    pub fn check_window(&self, data: &DataWindow) -> Result<()> {
        match &self.window {
            Some(w) => w.check_compatible(data),
            None => Ok(()),
        }
    }

    /// The kinds held, for messages: `bgnbd + gg`.
    pub fn kinds(&self) -> String {
        let spend = self.spend.as_ref().map(|_| ModelKind::GammaGamma);
        [
            self.purchase.as_ref().map(FittedModel::kind),
            spend,
            self.risk.as_ref().map(FittedModel::kind),
        ]
        .into_iter()
        .flatten()
        .map(ModelKind::as_str)
        .collect::<Vec<_>>()
        .join(" + ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::summary::{Period, TimeUnit};
    use crate::models::BgNbd;

    #[test]
    fn both_layouts_round_trip() {
        let bg = FittedModel::BgNbd(BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap());
        let gg = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
        let w = DataWindow::new(Period::Day, TimeUnit::Week);
        let one = SavedModels::single(bg.clone(), Some(w));
        assert_eq!(SavedModels::from_json(&one.to_json().unwrap()).unwrap(), one);
        let set = SavedModels {
            purchase: Some(bg),
            spend: Some(gg.clone()),
            risk: None,
            window: Some(w),
            discounting: None,
        };
        let text = set.to_json().unwrap();
        assert!(text.contains(MODEL_SET_FORMAT));
        assert_eq!(SavedModels::from_json(&text).unwrap(), set);
        // the layout clv wrote before: no format tag, no window
        let legacy = format!(
            "{{\"discounting\": {{\"convention\": \"continuous\", \"rate_per_time_unit\": 0.01}}, \"purchase\": {}, \"spend\": {}}}",
            BgNbd::new(1.0, 2.0, 3.0, 4.0).unwrap().to_json().unwrap(),
            gg.to_json().unwrap()
        );
        let old = SavedModels::from_json(&legacy).unwrap();
        assert_eq!(old.spend, Some(gg));
        assert!(old.window.is_none() && old.discounting.is_some());
        assert!(SavedModels::from_json(&legacy.replace("\"gg\"", "\"bgnbd\"")).is_err());
    }
}
