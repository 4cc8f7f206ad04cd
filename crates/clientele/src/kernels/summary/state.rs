//! The per-customer partial state of the summary, with `update`, `merge` and `finish`.
//!
//! A [`CustomerState`] is everything the summary needs to know about one customer, in a form
//! that two partitions of that customer's events can compute apart and merge exactly:
//!
//! | field | update | merge |
//! |---|---|---|
//! | first/last event, first/last purchase | min / max | min / max |
//! | purchase count, counts by event type | add | add |
//! | calibration purchase periods | sorted `(period, spend)` list; same period adds | sorted merge |
//! | holdout purchase periods | likewise | sorted merge |
//! | total spend | add | add |
//!
//! Spend is accumulated in exact integer nano-units (`round(amount × 10⁹)` as `i128`), so
//! sums are associative: any partitioning, merge order or thread count gives bit-identical
//! results. Amounts are thereby rounded to 10⁻⁹ of a currency unit, far below a cent. Ingest
//! rejects amounts above [`MAX_AMOUNT`](crate::ingest::MAX_AMOUNT) in magnitude, so no sum of
//! a store's amounts comes near `i128`'s limit (the saturating additions are a guard only).

use super::params::SummaryConfig;
use crate::time::micros_to_day;

pub(crate) use crate::money::{from_units, to_units, units_to_cents};

/// The summary's partial state for one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerState {
    pub(crate) first_event: i64,
    pub(crate) last_event: i64,
    pub(crate) first_purchase: i64,
    pub(crate) last_purchase: i64,
    pub(crate) purchase_count: u64,
    pub(crate) spend: i128,
    pub(crate) calibration: Vec<(i64, i128)>,
    pub(crate) holdout: Vec<(i64, i128)>,
    pub(crate) type_counts: Vec<u64>,
}

impl Default for CustomerState {
    fn default() -> Self {
        CustomerState {
            first_event: i64::MAX,
            last_event: i64::MIN,
            first_purchase: i64::MAX,
            last_purchase: i64::MIN,
            purchase_count: 0,
            spend: 0,
            calibration: Vec::new(),
            holdout: Vec::new(),
            type_counts: Vec::new(),
        }
    }
}

/// Adds `units` to period `p` of a sorted period list.
#[inline(always)]
fn add_period(v: &mut Vec<(i64, i128)>, p: i64, units: i128) {
    match v.last_mut() {
        Some(last) if last.0 == p => last.1 = last.1.saturating_add(units),
        Some(last) if last.0 < p => v.push((p, units)),
        None => v.push((p, units)),
        Some(_) => match v.binary_search_by_key(&p, |e| e.0) {
            Ok(i) => {
                if let Some(e) = v.get_mut(i) {
                    e.1 = e.1.saturating_add(units);
                }
            }
            Err(i) => v.insert(i, (p, units)),
        },
    }
}

/// Merges two sorted period lists.
fn merge_periods(a: &[(i64, i128)], b: &[(i64, i128)]) -> Vec<(i64, i128)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.0.cmp(&y.0) {
            std::cmp::Ordering::Less => {
                out.push(*x);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(*y);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((x.0, x.1.saturating_add(y.1)));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(a.get(i..).unwrap_or_default());
    out.extend_from_slice(b.get(j..).unwrap_or_default());
    out
}

impl CustomerState {
    /// Resets to the empty state, keeping allocations.
    pub(crate) fn clear(&mut self) {
        self.first_event = i64::MAX;
        self.last_event = i64::MIN;
        self.first_purchase = i64::MAX;
        self.last_purchase = i64::MIN;
        self.purchase_count = 0;
        self.spend = 0;
        self.calibration.clear();
        self.holdout.clear();
        self.type_counts.iter_mut().for_each(|c| *c = 0);
    }

    /// Whether the customer has a calibration purchase.
    pub fn is_buyer(&self) -> bool {
        !self.calibration.is_empty()
    }

    /// Whether the customer has any calibration event.
    pub fn has_events(&self) -> bool {
        self.first_event != i64::MAX
    }

    /// Adds one event: `time` in µs since the epoch, `type_code` an index into the event-type
    /// dictionary of whoever feeds this state, `amount` NaN for null.
    #[inline]
    pub(crate) fn update(&mut self, cfg: &SummaryConfig, time: i64, type_code: usize, is_purchase: bool, amount: f64) {
        if time < cfg.calibration_end_excl {
            self.first_event = self.first_event.min(time);
            self.last_event = self.last_event.max(time);
            if let Some(c) = self.type_counts.get_mut(type_code) {
                *c += 1;
            } else {
                self.type_counts.resize(type_code + 1, 0);
                if let Some(c) = self.type_counts.get_mut(type_code) {
                    *c = 1;
                }
            }
            if is_purchase {
                self.first_purchase = self.first_purchase.min(time);
                self.last_purchase = self.last_purchase.max(time);
                self.purchase_count += 1;
                let units = to_units(amount);
                self.spend = self.spend.saturating_add(units);
                add_period(
                    &mut self.calibration,
                    cfg.params.period.index(micros_to_day(time)),
                    units,
                );
            }
        } else if is_purchase && cfg.observation_end_excl.is_some_and(|end| time < end) {
            add_period(
                &mut self.holdout,
                cfg.params.period.index(micros_to_day(time)),
                to_units(amount),
            );
        }
    }

    /// Fills the state from one customer's events sorted by time, as repeated
    /// [`update`](Self::update)s would, but in tight loops: the windows are found by binary
    /// search, and periods arrive in order. `amounts` must hold 0.0 (or NaN) for null amounts.
    #[inline]
    pub(crate) fn fill_sorted(
        &mut self,
        cfg: &SummaryConfig,
        times: &[i64],
        types: &[i32],
        amounts: Option<&[f64]>,
        purchase: Option<i32>,
    ) {
        let cal = times.partition_point(|&t| t < cfg.calibration_end_excl);
        let hold = match cfg.observation_end_excl {
            Some(end) => times.partition_point(|&t| t < end),
            None => cal,
        };
        if cal > 0 {
            self.first_event = self.first_event.min(times[0]);
            self.last_event = self.last_event.max(times[cal - 1]);
            for &code in &types[..cal] {
                let code = code as usize;
                if code >= self.type_counts.len() {
                    self.type_counts.resize(code + 1, 0);
                }
                self.type_counts[code] += 1;
            }
        }
        let Some(purchase) = purchase else {
            return;
        };
        let period = cfg.params.period;
        let amount = |i: usize| amounts.map_or(0.0, |a| a[i]);
        for i in 0..cal {
            if types[i] == purchase {
                let t = times[i];
                self.first_purchase = self.first_purchase.min(t);
                self.last_purchase = self.last_purchase.max(t);
                self.purchase_count += 1;
                let units = to_units(amount(i));
                self.spend = self.spend.saturating_add(units);
                add_period(&mut self.calibration, period.index(micros_to_day(t)), units);
            }
        }
        for i in cal..hold {
            if types[i] == purchase {
                add_period(
                    &mut self.holdout,
                    period.index(micros_to_day(times[i])),
                    to_units(amount(i)),
                );
            }
        }
    }

    /// Merges another partial state of the same customer (same event-type dictionary).
    pub(crate) fn merge(&mut self, other: &CustomerState) {
        self.first_event = self.first_event.min(other.first_event);
        self.last_event = self.last_event.max(other.last_event);
        self.first_purchase = self.first_purchase.min(other.first_purchase);
        self.last_purchase = self.last_purchase.max(other.last_purchase);
        self.purchase_count += other.purchase_count;
        self.spend = self.spend.saturating_add(other.spend);
        self.calibration = merge_periods(&self.calibration, &other.calibration);
        self.holdout = merge_periods(&self.holdout, &other.holdout);
        if self.type_counts.len() < other.type_counts.len() {
            self.type_counts.resize(other.type_counts.len(), 0);
        }
        for (a, b) in self.type_counts.iter_mut().zip(&other.type_counts) {
            *a += b;
        }
    }

    /// Rewrites event-type codes through `remap` (old code → new code).
    pub(crate) fn remap_types(&mut self, remap: &[usize], new_len: usize) {
        let mut counts = vec![0; new_len];
        for (old, &c) in self.type_counts.iter().enumerate() {
            if let Some(slot) = remap.get(old).and_then(|&n| counts.get_mut(n)) {
                *slot += c;
            }
        }
        self.type_counts = counts;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::UNITS;

    #[test]
    fn periods_add_and_merge() {
        let mut v = Vec::new();
        add_period(&mut v, 5, 1);
        add_period(&mut v, 5, 2);
        add_period(&mut v, 9, 1);
        add_period(&mut v, 7, 4);
        add_period(&mut v, 1, 1);
        assert_eq!(v, vec![(1, 1), (5, 3), (7, 4), (9, 1)]);
        assert_eq!(
            merge_periods(&v, &[(0, 1), (5, 1), (10, 1)]),
            vec![(0, 1), (1, 1), (5, 4), (7, 4), (9, 1), (10, 1)]
        );
        assert_eq!(to_units(29.33), 29_330_000_000);
        assert_eq!(to_units(f64::NAN), 0);
        for x in [
            0.5e-9,
            1.5e-9,
            -0.5e-9,
            -2.5e-9,
            1e-10,
            123.456_789_012_5,
            -7.0,
            1e10,
            -3e12,
            5e9,
            -5e9,
        ] {
            assert_eq!(to_units(x), (x * UNITS).round() as i128, "{x}");
        }
        assert_eq!(from_units(29_330_000_000), 29.33);
    }
}
