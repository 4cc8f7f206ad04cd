//! What the store is built from: validated events in canonical columns. Ingestion produces
//! these batches; the [`StoreBuilder`](super::StoreBuilder) orders them into a store.

use serde::{Deserialize, Serialize};

/// The code of a null entry in a [`DictCol`].
pub(crate) const NULL_CODE: u32 = u32::MAX;

/// Distinct strings in first-seen order, each found again by a hash table of their codes:
/// one allocation per distinct string, none per lookup. The hasher has fixed seeds, so the
/// work (and every code, which follows first sight alone) is the same from run to run.
#[derive(Debug, Clone)]
pub(crate) struct StrCodes {
    table: hashbrown::HashTable<u32>,
    hasher: ahash::RandomState,
    values: Vec<String>,
}

impl Default for StrCodes {
    fn default() -> Self {
        StrCodes {
            table: hashbrown::HashTable::new(),
            hasher: ahash::RandomState::with_seeds(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344),
            values: Vec::new(),
        }
    }
}

impl StrCodes {
    /// The code of `s`, interned on first sight.
    #[inline]
    pub fn code(&mut self, s: &str) -> u32 {
        let StrCodes { table, hasher, values } = self;
        let h = hasher.hash_one(s);
        if let Some(&c) = table.find(h, |&c| values.get(c as usize).is_some_and(|v| v == s)) {
            return c;
        }
        let c = values.len() as u32;
        values.push(s.to_owned());
        table.insert_unique(h, c, |&j| {
            hasher.hash_one(values.get(j as usize).map_or("", String::as_str))
        });
        c
    }

    /// The strings, by code.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// The strings, by code, without the table.
    pub fn into_values(self) -> Vec<String> {
        self.values
    }
}

/// A string column as a local dictionary: distinct values and one code per row.
#[derive(Debug, Clone, Default)]
pub(crate) struct DictCol {
    pub values: Vec<String>,
    pub codes: Vec<u32>,
}

/// How customer keys are typed in the store.
///
/// Under `Auto` and `Int`, a text key that is a null marker as pandas reads one by default
/// (`NULL`, `null`, `NA`, `N/A`, `n/a`, `NaN`, `nan`, `-NaN`, `-nan`, `None`, `<NA>`, `#N/A`,
/// `#N/A N/A`, `#NA`, `1.#IND`, `-1.#IND`, `1.#QNAN`, `-1.#QNAN`) is a missing key: the row is
/// rejected (`null_customer_id`) and the marker does not make the column text. Under `String`
/// every text is a key as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyType {
    /// Integer keys when every input key is an integer (integer columns, or strings that all
    /// parse as `i64`, leading zeros allowed, as pandas reads them); otherwise string keys,
    /// and the ingest report's [`KeyTyping`] names the keys that made them strings.
    #[default]
    Auto,
    /// Integer keys; a string key that does not parse is rejected (`invalid_customer_id`).
    Int,
    /// String keys; integer inputs are formatted in decimal.
    String,
}

/// How an ingest typed the customer keys, and why: what [`KeyType::Auto`] decided is said,
/// not left to be guessed from the output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyTyping {
    /// The key type asked for.
    pub requested: KeyType,
    /// How the store types its keys: [`KeyType::Int`] or [`KeyType::String`].
    pub typed_as: KeyType,
    /// Distinct keys in the store.
    pub distinct_keys: u64,
    /// Under [`KeyType::Auto`] with string keys: the distinct keys that are not integers (the
    /// others are); 0 otherwise.
    pub non_integer_keys: u64,
    /// Up to [`KeyTyping::EXAMPLES`] of those keys, in order of first appearance.
    pub examples: Vec<String>,
}

impl KeyTyping {
    /// How many non-integer keys are kept as examples.
    pub const EXAMPLES: usize = 3;

    /// A warning for people when [`KeyType::Auto`] made the keys strings although some of
    /// them are integers: how many are not, which ones, and how to reject their rows instead.
    /// `None` in every other case.
    pub fn warning(&self) -> Option<String> {
        let integers = self.distinct_keys.saturating_sub(self.non_integer_keys);
        if self.requested != KeyType::Auto || self.typed_as != KeyType::String || integers == 0 {
            return None;
        }
        let quoted: Vec<String> = self.examples.iter().map(|e| format!("{e:?}")).collect();
        Some(format!(
            "customer keys are strings: {} of {} distinct keys are not integers (e.g. {}); \
             declare integer keys (--key-type int, or KeyType::Int) to reject their rows instead",
            self.non_integer_keys,
            self.distinct_keys,
            quoted.join(", ")
        ))
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;

    #[test]
    fn strings_get_codes_in_first_seen_order_through_every_rehash() {
        let mut s = StrCodes::default();
        // 100,000 distinct strings (the table grows many times), each seen three times.
        let text = |i: u32| format!("c{}", i.wrapping_mul(2_654_435_761) % 1_000_003);
        let n = 100_000u32;
        let mut distinct = std::collections::HashMap::new();
        let mut expected = Vec::new();
        for round in 0..3 {
            for i in 0..n {
                let t = text(i);
                let next = distinct.len() as u32;
                let want = *distinct.entry(t.clone()).or_insert(next);
                if round == 0 && want == next {
                    expected.push(t.clone());
                }
                assert_eq!(s.code(&t), want, "{t}");
            }
        }
        assert_eq!(s.code(""), distinct.len() as u32);
        assert_eq!(s.code(""), distinct.len() as u32);
        expected.push(String::new());
        assert_eq!(s.values(), &expected[..]);
        assert_eq!(s.clone().into_values(), expected);
    }
}
