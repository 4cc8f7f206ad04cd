//! The store's event columns as typed Arrow arrays.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{Array, DictionaryArray, Float64Array, Int32Array, StringArray, TimestampMicrosecondArray};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use rayon::prelude::*;

use super::batch::{DictCol, NULL_CODE};
use crate::error::Result;

/// The event columns of a store, all of the same length, ordered by (customer, time).
///
/// Invariants that kernels rely on: no nulls in `time` and `event_type`; float columns hold
/// finite values, and 0.0 in their null slots.
#[derive(Debug, Clone)]
pub struct StoreColumns {
    /// Event times, microseconds since the epoch, UTC.
    pub time: TimestampMicrosecondArray,
    /// Event types (sorted dictionary, no nulls).
    pub event_type: DictionaryArray<Int32Type>,
    /// Amounts, if any input had them.
    pub amount: Option<Float64Array>,
    /// Channels, if any input had them (sorted dictionary).
    pub channel: Option<DictionaryArray<Int32Type>>,
    /// Products, if any input had them (sorted dictionary).
    pub product: Option<DictionaryArray<Int32Type>>,
    /// Campaign ids, if any input had them (sorted dictionary).
    pub campaign_id: Option<DictionaryArray<Int32Type>>,
    /// Satisfaction scores, if any input had them.
    pub score: Option<Float64Array>,
    /// Costs, if any input had them.
    pub cost: Option<Float64Array>,
}

fn gather_vec<T: Copy + Send + Sync>(src: &[T], perm: &[u32]) -> Vec<T> {
    perm.par_iter().map(|&i| src[i as usize]).collect()
}

/// A Float64 array with nulls where the value is NaN (the null slots hold 0.0, so a NaN in a
/// saved store's values can only be corruption).
pub(crate) fn floats(mut values: Vec<f64>) -> Float64Array {
    let nulls = if values.iter().any(|v| v.is_nan()) {
        let nulls = NullBuffer::from_iter(values.iter().map(|v| !v.is_nan()));
        values.iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = 0.0);
        Some(nulls)
    } else {
        None
    };
    Float64Array::new(ScalarBuffer::from(values), nulls)
}

/// A dictionary array from codes (with [`NULL_CODE`] for null) and sorted values.
pub(crate) fn dictionary(codes: Vec<u32>, values: Vec<String>) -> Result<DictionaryArray<Int32Type>> {
    let nulls = if codes.contains(&NULL_CODE) {
        Some(NullBuffer::from_iter(codes.iter().map(|&c| c != NULL_CODE)))
    } else {
        None
    };
    let keys: Vec<i32> = codes
        .into_iter()
        .map(|c| if c == NULL_CODE { 0 } else { c as i32 })
        .collect();
    let keys = Int32Array::new(ScalarBuffer::from(keys), nulls);
    Ok(DictionaryArray::try_new(keys, Arc::new(StringArray::from(values)))?)
}

/// The values of a Float64 array with NaN for null.
pub(crate) fn floats_with_nan(a: &Float64Array) -> Vec<f64> {
    a.iter().map(|v| v.unwrap_or(f64::NAN)).collect()
}

/// The distinct values of a dictionary array's dictionary.
pub(crate) fn dict_values(a: &DictionaryArray<Int32Type>) -> Vec<String> {
    let values = a.values();
    match values.as_any().downcast_ref::<StringArray>() {
        Some(s) => s.iter().map(|v| v.unwrap_or_default().to_string()).collect(),
        None => Vec::new(),
    }
}

/// A dictionary array as a [`DictCol`].
pub(crate) fn dict_col(a: &DictionaryArray<Int32Type>) -> DictCol {
    DictCol {
        values: dict_values(a),
        codes: a.keys().iter().map(|k| k.map_or(NULL_CODE, |k| k as u32)).collect(),
    }
}

impl StoreColumns {
    /// The number of events.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    pub(crate) fn event_type_dict(&self) -> DictCol {
        dict_col(&self.event_type)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn gather(
        perm: &[u32],
        time: &[i64],
        event_type: (&[u32], Vec<String>),
        amount: Option<&[f64]>,
        channel: Option<(&[u32], Vec<String>)>,
        product: Option<(&[u32], Vec<String>)>,
        campaign_id: Option<(&[u32], Vec<String>)>,
        score: Option<&[f64]>,
        cost: Option<&[f64]>,
    ) -> Result<Self> {
        let dict = |(codes, values): (&[u32], Vec<String>)| dictionary(gather_vec(codes, perm), values);
        let opt_dict = |d: Option<(&[u32], Vec<String>)>| d.map(dict).transpose();
        let ((time, amount), (score, cost)) = rayon::join(
            || (gather_vec(time, perm), amount.map(|a| floats(gather_vec(a, perm)))),
            || {
                (
                    score.map(|a| floats(gather_vec(a, perm))),
                    cost.map(|a| floats(gather_vec(a, perm))),
                )
            },
        );
        Ok(StoreColumns {
            time: TimestampMicrosecondArray::from(time).with_timezone(crate::time::UTC),
            event_type: dict(event_type)?,
            amount,
            channel: opt_dict(channel)?,
            product: opt_dict(product)?,
            campaign_id: opt_dict(campaign_id)?,
            score,
            cost,
        })
    }
}
