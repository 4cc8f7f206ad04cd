//! Customer keys: the original ids behind the store's dense `u32` customer index.
//!
//! Customers are numbered in the natural order of their keys (numeric for integer keys,
//! byte-wise for string keys), so the dense index never depends on input order and results
//! come out sorted by key.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, StringArray};
use arrow_schema::DataType;
use rayon::prelude::*;

/// A customer key value, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyRef<'a> {
    /// An integer key.
    Int(i64),
    /// A string key.
    Str(&'a str),
}

/// A customer key value, owned (held apart from its store).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum OwnedKey {
    /// An integer key.
    Int(i64),
    /// A string key.
    Str(String),
}

impl OwnedKey {
    /// The owned copy of `key`.
    pub fn of(key: KeyRef<'_>) -> Self {
        match key {
            KeyRef::Int(k) => OwnedKey::Int(k),
            KeyRef::Str(s) => OwnedKey::Str(s.to_string()),
        }
    }

    /// The key, borrowed.
    pub fn as_ref(&self) -> KeyRef<'_> {
        match self {
            OwnedKey::Int(k) => KeyRef::Int(*k),
            OwnedKey::Str(s) => KeyRef::Str(s),
        }
    }
}

impl std::fmt::Display for KeyRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRef::Int(k) => write!(f, "{k}"),
            KeyRef::Str(s) => f.write_str(s),
        }
    }
}

/// The original customer keys, in dense-index order (strictly increasing).
#[derive(Debug, Clone, PartialEq)]
pub enum CustomerKeys {
    /// Integer keys.
    Int(Int64Array),
    /// String keys.
    Str(StringArray),
}

impl CustomerKeys {
    /// The number of customers.
    pub fn len(&self) -> usize {
        match self {
            CustomerKeys::Int(a) => a.len(),
            CustomerKeys::Str(a) => a.len(),
        }
    }

    /// Whether there are no customers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys as an Arrow array (Int64 or Utf8).
    pub fn array(&self) -> ArrayRef {
        match self {
            CustomerKeys::Int(a) => Arc::new(a.clone()),
            CustomerKeys::Str(a) => Arc::new(a.clone()),
        }
    }

    /// Keys `offset..offset + len` (clamped to the keys held; no copy).
    pub fn slice(&self, offset: usize, len: usize) -> Self {
        let offset = offset.min(self.len());
        let len = len.min(self.len() - offset);
        match self {
            CustomerKeys::Int(a) => CustomerKeys::Int(a.slice(offset, len)),
            CustomerKeys::Str(a) => CustomerKeys::Str(a.slice(offset, len)),
        }
    }

    /// The Arrow type of the keys.
    pub fn data_type(&self) -> DataType {
        match self {
            CustomerKeys::Int(_) => DataType::Int64,
            CustomerKeys::Str(_) => DataType::Utf8,
        }
    }

    /// The key of customer `index`, if in range.
    pub fn get(&self, index: usize) -> Option<KeyRef<'_>> {
        if index >= self.len() {
            return None;
        }
        Some(match self {
            CustomerKeys::Int(a) => KeyRef::Int(a.value(index)),
            CustomerKeys::Str(a) => KeyRef::Str(a.value(index)),
        })
    }

    /// The dense index of `key`: O(1) for integer keys that form one contiguous range (the
    /// usual case of generated or surrogate ids), otherwise a binary search (keys are sorted);
    /// [`hash_index`](Self::hash_index) gives O(1) lookups for any keys. An integer key is
    /// found in string keys by its decimal text, and a string key in integer keys if it parses.
    pub fn position(&self, key: KeyRef<'_>) -> Option<u32> {
        if let (CustomerKeys::Int(a), KeyRef::Int(k)) = (self, key)
            && let (Some(&first), Some(&last)) = (a.values().first(), a.values().last())
            && last.checked_sub(first) == i64::try_from(a.len() - 1).ok()
        {
            // Strictly increasing and contiguous: the index is the offset from the first key.
            return k
                .checked_sub(first)
                .and_then(|d| u32::try_from(d).ok())
                .filter(|&i| (i as usize) < a.len());
        }
        let idx = match (self, key) {
            (CustomerKeys::Int(a), KeyRef::Int(k)) => a.values().binary_search(&k).ok(),
            (CustomerKeys::Int(a), KeyRef::Str(s)) => {
                let k = s.trim().parse::<i64>().ok()?;
                a.values().binary_search(&k).ok()
            }
            (CustomerKeys::Str(a), KeyRef::Str(s)) => binary_search_str(a, s),
            (CustomerKeys::Str(a), KeyRef::Int(k)) => binary_search_str(a, &k.to_string()),
        }?;
        u32::try_from(idx).ok()
    }
}

/// A hash index of customer keys: O(1) expected [`position`](KeyIndex::position) for any keys
/// (a service answering call-centre lookups builds it once per opened store).
#[derive(Debug, Clone, Default)]
pub struct KeyIndex {
    ints: std::collections::HashMap<i64, u32>,
    strs: std::collections::HashMap<String, u32>,
}

impl KeyIndex {
    /// The dense index of `key`, with the same key conversions as [`CustomerKeys::position`].
    pub fn position(&self, key: KeyRef<'_>) -> Option<u32> {
        if !self.ints.is_empty() {
            let k = match key {
                KeyRef::Int(k) => k,
                KeyRef::Str(s) => s.trim().parse::<i64>().ok()?,
            };
            return self.ints.get(&k).copied();
        }
        match key {
            KeyRef::Str(s) => self.strs.get(s).copied(),
            KeyRef::Int(k) => self.strs.get(&k.to_string()).copied(),
        }
    }
}

impl CustomerKeys {
    /// Builds a [`KeyIndex`] (one pass; memory proportional to the number of customers).
    pub fn hash_index(&self) -> KeyIndex {
        let mut index = KeyIndex::default();
        match self {
            CustomerKeys::Int(a) => {
                index.ints = a.values().iter().enumerate().map(|(i, &k)| (k, i as u32)).collect();
            }
            CustomerKeys::Str(a) => {
                index.strs = (0..a.len()).map(|i| (a.value(i).to_string(), i as u32)).collect();
            }
        }
        index
    }
}

fn binary_search_str(a: &StringArray, s: &str) -> Option<usize> {
    let (mut lo, mut hi) = (0usize, a.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match a.value(mid).cmp(s) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(mid),
        }
    }
    None
}

/// Ranks integer keys: the sorted distinct keys and, per input row, the rank of its key.
///
/// Uses a direct-address table when the key range is small (dense ids, the common case) and a
/// sort plus binary search otherwise.
pub(crate) fn rank_ints(keys: &[i64]) -> (Vec<u32>, Vec<i64>) {
    let (Some(&min), Some(&max)) = (keys.par_iter().min(), keys.par_iter().max()) else {
        return (Vec::new(), Vec::new());
    };
    let range = (max as i128 - min as i128 + 1) as u128;
    let limit = (keys.len() as u128 * 4).clamp(1 << 20, 1 << 28);
    if range <= limit {
        let mut table = vec![u32::MAX; range as usize];
        for &k in keys {
            if let Some(slot) = table.get_mut((k - min) as usize) {
                *slot = 0;
            }
        }
        let mut sorted = Vec::new();
        for (offset, slot) in table.iter_mut().enumerate() {
            if *slot == 0 {
                *slot = sorted.len() as u32;
                sorted.push(min + offset as i64);
            }
        }
        let ranks = keys
            .par_iter()
            .map(|&k| table.get((k - min) as usize).copied().unwrap_or(0))
            .collect();
        (ranks, sorted)
    } else {
        let mut sorted = keys.to_vec();
        sorted.par_sort_unstable();
        sorted.dedup();
        let ranks = keys
            .par_iter()
            .map(|k| sorted.binary_search(k).map(|r| r as u32).unwrap_or(0))
            .collect();
        (ranks, sorted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_dense_and_sparse() {
        let keys = [5, 3, 5, 9, 3];
        let (r, s) = rank_ints(&keys);
        assert_eq!(s, vec![3, 5, 9]);
        assert_eq!(r, vec![1, 0, 1, 2, 0]);
        let keys = [i64::MAX, i64::MIN, 0, i64::MAX];
        let (r, s) = rank_ints(&keys);
        assert_eq!(s, vec![i64::MIN, 0, i64::MAX]);
        assert_eq!(r, vec![2, 0, 1, 2]);
        assert_eq!(rank_ints(&[]), (vec![], vec![]));
    }

    #[test]
    fn position_lookup() {
        let k = CustomerKeys::Int(Int64Array::from(vec![1, 4, 9]));
        assert_eq!(k.position(KeyRef::Int(4)), Some(1));
        assert_eq!(k.position(KeyRef::Str("9")), Some(2));
        assert_eq!(k.position(KeyRef::Int(5)), None);
        let k = CustomerKeys::Str(StringArray::from(vec!["a", "b", "c"]));
        assert_eq!(k.position(KeyRef::Str("c")), Some(2));
        assert_eq!(k.position(KeyRef::Str("d")), None);
    }
}

#[cfg(test)]
mod position_tests {
    use super::*;

    #[test]
    fn contiguous_integer_keys_and_the_hash_index_agree_with_binary_search() {
        let dense = CustomerKeys::Int(Int64Array::from(vec![10, 11, 12, 13]));
        let sparse = CustomerKeys::Int(Int64Array::from(vec![10, 12, 13, 40]));
        let text = CustomerKeys::Str(StringArray::from(vec!["a", "b", "x"]));
        for keys in [&dense, &sparse, &text] {
            let index = keys.hash_index();
            for probe in [
                KeyRef::Int(9),
                KeyRef::Int(10),
                KeyRef::Int(12),
                KeyRef::Int(13),
                KeyRef::Int(14),
                KeyRef::Int(40),
                KeyRef::Int(i64::MIN),
                KeyRef::Int(i64::MAX),
                KeyRef::Str("12"),
                KeyRef::Str("b"),
                KeyRef::Str("zz"),
            ] {
                let by_search = (0..keys.len()).find(|&i| match (keys.get(i), probe) {
                    (Some(KeyRef::Int(a)), KeyRef::Int(b)) => a == b,
                    (Some(KeyRef::Int(a)), KeyRef::Str(b)) => b.trim().parse::<i64>().ok() == Some(a),
                    (Some(KeyRef::Str(a)), KeyRef::Str(b)) => a == b,
                    (Some(KeyRef::Str(a)), KeyRef::Int(b)) => a == b.to_string(),
                    _ => false,
                });
                let want = by_search.map(|i| i as u32);
                assert_eq!(keys.position(probe), want, "{probe:?}");
                assert_eq!(index.position(probe), want, "{probe:?}");
            }
        }
    }
}
