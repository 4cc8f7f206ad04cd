//! What the store is built from: validated events in canonical columns. Ingestion produces
//! these batches; the [`StoreBuilder`](super::StoreBuilder) orders them into a store.

use serde::{Deserialize, Serialize};

/// The code of a null entry in a [`DictCol`].
pub(crate) const NULL_CODE: u32 = u32::MAX;

/// A string column as a local dictionary: distinct values and one code per row.
#[derive(Debug, Clone, Default)]
pub(crate) struct DictCol {
    pub values: Vec<String>,
    pub codes: Vec<u32>,
}

/// How customer keys are typed in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyType {
    /// Integer keys when every input key is an integer (integer columns, or strings that all
    /// parse as `i64`, leading zeros allowed, as pandas reads them); otherwise string keys.
    #[default]
    Auto,
    /// Integer keys; a string key that does not parse is rejected (`invalid_customer_id`).
    Int,
    /// String keys; integer inputs are formatted in decimal.
    String,
}

/// Customer keys of accepted rows.
#[derive(Debug, Clone)]
pub(crate) enum KeyCol {
    Int(Vec<i64>),
    Str(DictCol),
}

/// The accepted rows of one batch in canonical form. Floats use NaN for null (non-finite
/// inputs are rejected, so NaN is free); labels use [`NULL_CODE`].
#[derive(Debug, Clone)]
pub(crate) struct NormalizedBatch {
    pub keys: KeyCol,
    pub time: Vec<i64>,
    /// `None` when the input has no event-type column (all rows are purchases).
    pub event_type: Option<DictCol>,
    pub amount: Option<Vec<f64>>,
    pub channel: Option<DictCol>,
    pub product: Option<DictCol>,
    pub campaign_id: Option<DictCol>,
    pub score: Option<Vec<f64>>,
    pub cost: Option<Vec<f64>>,
}

impl NormalizedBatch {
    pub fn len(&self) -> usize {
        self.time.len()
    }
}
