//! Observed repeat purchases over calendar time: the actual side of a tracking plot.
//!
//! The cohort is the summary's: every customer with a purchase before the calibration end.
//! Purchases are collapsed to distinct periods ([`Period`](super::Period)) as the summary
//! counts them; a customer's **repeat purchases** are the distinct purchase periods after the
//! first one, up to the observation end (or the calibration end without one). Time runs from
//! the start of the cohort's earliest first-purchase period, in the summary's time unit; point
//! `k` (k = 1, 2, …) counts the repeat purchases at times in `(k − 1, k]`, the same grid as the
//! expected curve of [`check_model`](crate::pipeline::check_model), whose origin is the first
//! customer's first purchase (largest `T`).
//!
//! Output, one row per complete time unit of the window (a last, partial unit is left out, so
//! the curve does not drop at its end):
//!
//! | column | type | definition |
//! |---|---|---|
//! | `time` | Float64 | `k`, time units since the cohort's start |
//! | `actual_incremental` | UInt64 | repeat purchases at times in `(k − 1, k]` |
//! | `actual_cumulative` | UInt64 | repeat purchases at times in `(0, k]` |
//!
//! Counts are integers summed in chunk order, so the table does not depend on the thread count.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema};

use super::params::SummaryConfig;
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::schema::output::tracking::{ACTUAL_CUMULATIVE, ACTUAL_INCREMENTAL, TIME};
use crate::store::EventStore;
use crate::time::micros_to_day;

/// Customers per parallel task (boundaries depend only on the data).
const CHUNK: usize = 16_384;

/// Longest curve, in points (a guard against a day time unit over decades).
pub const MAX_TRACKING_POINTS: usize = 100_000;

/// The observed repeat purchases of the summary's cohort per time unit (see the module docs).
///
/// # Errors
/// [`Error::InvalidParameter`] (`window`) when the curve would be longer than
/// [`MAX_TRACKING_POINTS`]; an internal Arrow error.
pub fn repeat_tracking(store: &EventStore, cfg: &SummaryConfig, par: &Parallelism) -> Result<RecordBatch> {
    let p = cfg.params();
    let cols = store.columns();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    let Some(purchase) = store.purchase_code() else {
        return table(Vec::new());
    };
    let end_excl = cfg.observation_end_excl.unwrap_or(cfg.calibration_end_excl);
    let last_period = cfg.observation_period.unwrap_or(cfg.calibration_period);
    let offsets = store.offsets();
    let n = store.num_customers();
    // per chunk: the earliest first-purchase period and the repeat periods (as period indexes)
    let parts: Vec<(i64, Vec<i64>)> = par.map_chunks(n, CHUNK, |range| {
        let (lo, hi) = (range.start, range.end);
        let mut earliest = i64::MAX;
        let mut repeats = Vec::new();
        for c in lo..hi {
            let (a, b) = (offsets[c], offsets[c + 1]);
            let (ts, ty) = (&times[a..b], &types[a..b]);
            let mut first: Option<i64> = None;
            let mut last = i64::MIN;
            for (&t, &code) in ts.iter().zip(ty) {
                if t >= end_excl {
                    break;
                }
                if code != purchase {
                    continue;
                }
                let period = p.period.index(micros_to_day(t));
                match first {
                    None => {
                        if t >= cfg.calibration_end_excl {
                            break; // first purchase after the calibration: not in the cohort
                        }
                        first = Some(period);
                        earliest = earliest.min(period);
                    }
                    Some(_) if period > last => repeats.push(period),
                    Some(_) => {}
                }
                last = last.max(period);
            }
        }
        (earliest, repeats)
    });
    let start = parts.iter().map(|p| p.0).min().unwrap_or(i64::MAX);
    if start == i64::MAX {
        return table(Vec::new());
    }
    // complete points only: purchases are timed at their period's start, the latest at
    // `last_period`; a point past it (a unit the window covers only in part) is left out
    let span = p.time_unit.measure(p.period, start, last_period).max(0.0).floor();
    if span > MAX_TRACKING_POINTS as f64 {
        return Err(Error::param(
            "window",
            format!("a tracking curve of {span} points is longer than {MAX_TRACKING_POINTS}; use a coarser time unit"),
        ));
    }
    let mut counts = vec![0_u64; span as usize];
    for (_, repeats) in &parts {
        for &period in repeats {
            let time = p.time_unit.measure(p.period, start, period);
            // (k − 1, k] → slot k − 1; times are > 0 because a repeat comes after a first purchase
            let slot = (time.ceil() as usize).saturating_sub(1);
            if let Some(c) = counts.get_mut(slot) {
                *c += 1;
            }
        }
    }
    table(counts)
}

fn table(counts: Vec<u64>) -> Result<RecordBatch> {
    let cumulative: Vec<u64> = counts
        .iter()
        .scan(0_u64, |acc, &c| {
            *acc += c;
            Some(*acc)
        })
        .collect();
    let schema = Schema::new(vec![
        Field::new(TIME, DataType::Float64, false),
        Field::new(ACTUAL_INCREMENTAL, DataType::UInt64, false),
        Field::new(ACTUAL_CUMULATIVE, DataType::UInt64, false),
    ]);
    let time: ArrayRef = Arc::new(Float64Array::from_iter_values((1..=counts.len()).map(|k| k as f64)));
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            time,
            Arc::new(UInt64Array::from(counts)),
            Arc::new(UInt64Array::from(cumulative)),
        ],
    )?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;
    use crate::ingest::{IngestOptions, Ingestor};
    use crate::kernels::summary::{Period, SummaryParams, TimeUnit};
    use arrow_array::StringArray;
    use arrow_array::cast::AsArray;
    use arrow_array::types::UInt64Type;
    use chrono::NaiveDate;

    fn store(rows: &[(&str, &str)]) -> EventStore {
        let batch = RecordBatch::try_from_iter([
            (
                "customer_id",
                Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())) as ArrayRef,
            ),
            (
                "event_time",
                Arc::new(StringArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())) as ArrayRef,
            ),
        ])
        .unwrap();
        let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
        ing.read_batches("memory", [Ok(batch)]).unwrap();
        ing.finish().unwrap().0
    }

    #[test]
    fn counts_distinct_repeat_periods_on_the_expected_grid() {
        // weeks starting Monday 2024-01-01; a: first in week 0, repeats in weeks 1 (twice: one
        // period) and 3 (holdout); b: first in week 2, repeat in week 2 (same period: not a
        // repeat) and week 4 (after the observation end: left out); c: first after the calibration.
        let s = store(&[
            ("a", "2024-01-01"),
            ("a", "2024-01-08"),
            ("a", "2024-01-09"),
            ("a", "2024-01-22"),
            ("b", "2024-01-15"),
            ("b", "2024-01-16"),
            ("b", "2024-02-05"),
            ("c", "2024-01-23"),
            ("c", "2024-01-24"),
        ]);
        let d = |m, d| NaiveDate::from_ymd_opt(2024, m, d).unwrap();
        let cfg = SummaryParams::new(d(1, 21))
            .observation_end(d(1, 28))
            .period(Period::Week)
            .time_unit(TimeUnit::Week)
            .validate()
            .unwrap();
        for threads in [1, 2] {
            let t = repeat_tracking(&s, &cfg, &Parallelism::threads(threads).unwrap()).unwrap();
            let inc: Vec<u64> = t.column(1).as_primitive::<UInt64Type>().values().to_vec();
            let cum: Vec<u64> = t.column(2).as_primitive::<UInt64Type>().values().to_vec();
            // time 1 = week 1 (a's repeat), 3 = week 3 (a's holdout repeat), the last
            assert_eq!(inc, vec![1, 0, 1]);
            assert_eq!(cum, vec![1, 1, 2]);
        }
    }

    #[test]
    fn no_purchases_give_an_empty_curve() {
        let s = store(&[]);
        let cfg = SummaryParams::new(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap())
            .validate()
            .unwrap();
        assert_eq!(
            repeat_tracking(&s, &cfg, &Parallelism::current()).unwrap().num_rows(),
            0
        );
    }
}
