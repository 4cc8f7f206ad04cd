//! The summary's activity columns (`first_event`, `last_event`, one `count_<type>` per event
//! type) straight from the events of a scan, without building a store.
//!
//! Partial state, per scan worker, for the customers `0..n` of the scan's key map:
//!
//! | field | update (a calibration event) | merge |
//! |---|---|---|
//! | first / last event | min / max of the time | min / max |
//! | events of each type | add 1 (types named as the scan names them, in order seen) | add, type by type under the sorted union of the names |
//!
//! Every event's type is named whatever its time, as a store lists every type of its events
//! (a type seen only after the calibration end gets a column of zeros). Counts are `u32`;
//! a count that would pass `u32::MAX`, or more than 256 event types, mark the state, and the
//! caller takes the store path.

use rayon::prelude::*;

/// Customers per parallel task of the merge.
const CHUNK: usize = 1 << 16;

/// One worker's activity (see the [module docs](self)).
///
/// Each customer's state is one record of `stride` `u32`s, so that an event touches one
/// place in memory, not one per field (events come in time order, so customers at random):
/// the first and last calibration event (µs, each as low and high 32 bits), then one count
/// per event type. The record grows (doubling its room for types) when a type is seen that
/// does not fit.
pub(super) struct Activity {
    /// Events at or after this time (µs) are outside the calibration window: not counted.
    end: i64,
    /// The customers.
    customers: usize,
    /// `u32`s per customer: 4 for the two times, the rest for counts.
    stride: usize,
    /// The records, customer after customer.
    cells: Vec<u32>,
    /// The event types, in the order this worker saw them.
    names: Vec<String>,
    /// Per name of the current batch, its index in `names` (`u32::MAX`: not seen yet).
    local: Vec<u32>,
    /// A count would have passed `u32::MAX`.
    overflow: bool,
}

/// The most event types a worker counts (more are refused at the merge, and the caller takes
/// the store path): event types are a short list, and each is a count column of the summary.
const MAX_TYPES: usize = 256;

/// `u32`s of a record before its counts.
const TIMES: usize = 4;

/// Room for event types in a new record (a record of 16 `u32`s is 64 bytes).
const FIRST_ROOM: usize = 12;

/// A time as the two `u32`s of a record (low, high).
fn split(t: i64) -> [u32; 2] {
    [t as u32, (t >> 32) as u32]
}

/// The time of a record's two `u32`s (low, high).
fn join(lo: u32, hi: u32) -> i64 {
    (i64::from(hi as i32) << 32) | i64::from(lo)
}

/// An empty record's times: no first (`i64::MAX`) and no last (`i64::MIN`) event.
fn empty_times() -> [u32; TIMES] {
    let ([a, b], [c, d]) = (split(i64::MAX), split(i64::MIN));
    [a, b, c, d]
}

impl Activity {
    /// The empty state of `customers` customers, for a calibration window ending before
    /// `end` (µs, exclusive).
    pub fn new(customers: usize, end: i64) -> Self {
        let stride = TIMES + FIRST_ROOM;
        Activity {
            end,
            customers,
            stride,
            cells: empty_records(customers, stride),
            names: Vec::new(),
            local: Vec::new(),
            overflow: false,
        }
    }

    /// Customer `c`'s (first, last) calibration event.
    fn times(&self, c: usize) -> (i64, i64) {
        match self.cells.get(c * self.stride..c * self.stride + TIMES) {
            Some(&[a, b, x, y]) => (join(a, b), join(x, y)),
            _ => (i64::MAX, i64::MIN),
        }
    }

    /// Customer `c`'s count of this worker's type `code`.
    fn count(&self, c: usize, code: usize) -> u32 {
        self.cells.get(c * self.stride + TIMES + code).copied().unwrap_or(0)
    }

    /// Room for one more type: the records re-laid with twice the room when full.
    fn make_room(&mut self) {
        let room = self.stride - TIMES;
        if self.names.len() < room {
            return;
        }
        let stride = TIMES + 2 * room;
        let mut cells = empty_records(self.customers, stride);
        for (new, old) in cells.chunks_mut(stride).zip(self.cells.chunks(self.stride)) {
            if let Some(dst) = new.get_mut(..old.len()) {
                dst.copy_from_slice(old);
            }
        }
        (self.stride, self.cells) = (stride, cells);
    }

    /// Adds one batch of events: (customer, time, index into `names`), as a scan hands them
    /// over (`PurchaseSink::events`).
    pub fn update(&mut self, names: &[&str], events: &[(u32, i64, u32)]) {
        // This batch's names as this worker's codes: only names some event has.
        self.local.clear();
        self.local.resize(names.len(), u32::MAX);
        for &(_, _, j) in events {
            let j = j as usize;
            if self.local.get(j) != Some(&u32::MAX) {
                continue;
            }
            let name = names.get(j).copied().unwrap_or_default();
            let code = match self.names.iter().position(|k| k == name) {
                Some(p) => p,
                None if self.names.len() >= MAX_TYPES => {
                    // Refused at the merge: the caller takes the store path.
                    self.overflow = true;
                    return;
                }
                None => {
                    self.make_room();
                    self.names.push(name.to_owned());
                    self.names.len() - 1
                }
            };
            if let Some(slot) = self.local.get_mut(j) {
                *slot = code as u32;
            }
        }
        let (end, stride, local) = (self.end, self.stride, &self.local);
        let mut overflow = false;
        for &(c, t, j) in events {
            if t >= end {
                continue;
            }
            let at = c as usize * stride;
            let code = local.get(j as usize).map_or(0, |&k| k as usize);
            let Some(record) = self.cells.get_mut(at..at + stride) else {
                continue;
            };
            if let [a, b, x, y, counts @ ..] = record {
                if t < join(*a, *b) {
                    [*a, *b] = split(t);
                }
                if t > join(*x, *y) {
                    [*x, *y] = split(t);
                }
                if let Some(n) = counts.get_mut(code) {
                    let (m, o) = n.overflowing_add(1);
                    *n = m;
                    overflow |= o;
                }
            }
        }
        self.overflow |= overflow;
    }
}

/// `customers` empty records of `stride` `u32`s.
fn empty_records(customers: usize, stride: usize) -> Vec<u32> {
    let mut record = vec![0u32; stride];
    if let Some(times) = record.get_mut(..TIMES) {
        times.copy_from_slice(&empty_times());
    }
    let mut cells = Vec::with_capacity(customers * stride);
    for _ in 0..customers {
        cells.extend_from_slice(&record);
    }
    cells
}

/// The workers' activity merged: the event types sorted (as a store's dictionary), and per
/// customer the first and last calibration event and the calibration events of each type.
pub(super) struct MergedActivity {
    /// The event types, sorted.
    pub names: Vec<String>,
    /// Per customer, the first calibration event (`i64::MAX` without one).
    pub first: Vec<i64>,
    /// Per customer, the last calibration event (`i64::MIN` without one).
    pub last: Vec<i64>,
    /// Per type (as `names`), per customer, the calibration events.
    pub counts: Vec<Vec<u32>>,
}

impl MergedActivity {
    /// Merges the workers' states (any order gives the same result), or `None` when a count
    /// passes `u32::MAX`.
    pub fn merge(workers: Vec<Activity>) -> Option<MergedActivity> {
        if workers.iter().any(|w| w.overflow) {
            return None;
        }
        let mut names: Vec<String> = workers.iter().flat_map(|w| w.names.iter().cloned()).collect();
        names.sort_unstable();
        names.dedup();
        let customers = workers.first().map_or(0, |w| w.customers);
        // Each worker's codes as indices into the sorted names.
        let global: Vec<Vec<usize>> = workers
            .iter()
            .map(|w| w.names.iter().filter_map(|n| names.binary_search(n).ok()).collect())
            .collect();
        let mut first = vec![i64::MAX; customers];
        let mut last = vec![i64::MIN; customers];
        first
            .par_chunks_mut(CHUNK)
            .zip(last.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(k, (first, last))| {
                for (i, (f, l)) in first.iter_mut().zip(last.iter_mut()).enumerate() {
                    for w in &workers {
                        let (a, b) = w.times(k * CHUNK + i);
                        *f = (*f).min(a);
                        *l = (*l).max(b);
                    }
                }
            });
        let mut counts: Vec<Vec<u32>> = names.iter().map(|_| vec![0; customers]).collect();
        let mut overflow = false;
        for (g, column) in counts.iter_mut().enumerate() {
            // Per worker, its code of type `g`, if it saw the type.
            let codes: Vec<(&Activity, usize)> = workers
                .iter()
                .zip(&global)
                .filter_map(|(w, map)| map.iter().position(|&x| x == g).map(|code| (w, code)))
                .collect();
            overflow |= column
                .par_chunks_mut(CHUNK)
                .enumerate()
                .map(|(k, part)| {
                    let mut over = false;
                    for (i, x) in part.iter_mut().enumerate() {
                        for &(w, code) in &codes {
                            let (sum, o) = x.overflowing_add(w.count(k * CHUNK + i, code));
                            *x = sum;
                            over |= o;
                        }
                    }
                    over
                })
                .reduce(|| false, |a, b| a | b);
        }
        (!overflow).then_some(MergedActivity {
            names,
            first,
            last,
            counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_merge_in_any_order_and_name_every_type() {
        let mut a = Activity::new(3, 100);
        a.update(&["visit", "purchase"], &[(0, 50, 0), (0, 10, 1), (2, 99, 0)]);
        // "late" is only seen after the calibration end: named, not counted.
        a.update(&["late", "visit"], &[(1, 100, 0), (1, 20, 1)]);
        let mut b = Activity::new(3, 100);
        b.update(&["purchase", "unused", "visit"], &[(0, 5, 0), (2, 7, 2)]);
        let merged = |ws: Vec<Activity>| MergedActivity::merge(ws).unwrap();
        let m = merged(vec![a, b]);
        assert_eq!(m.names, ["late", "purchase", "visit"]);
        assert_eq!(m.first, [5, 20, 7]);
        assert_eq!(m.last, [50, 20, 99]);
        assert_eq!(m.counts, [vec![0, 0, 0], vec![2, 0, 0], vec![1, 1, 2]]);

        // The other order of workers, and one worker with everything.
        let mut b = Activity::new(3, 100);
        b.update(&["purchase", "unused", "visit"], &[(0, 5, 0), (2, 7, 2)]);
        let mut a = Activity::new(3, 100);
        a.update(&["visit", "purchase"], &[(0, 50, 0), (0, 10, 1), (2, 99, 0)]);
        a.update(&["late", "visit"], &[(1, 100, 0), (1, 20, 1)]);
        let n = merged(vec![b, a]);
        assert_eq!(
            (n.names, n.first, n.last, n.counts),
            (m.names, m.first, m.last, m.counts)
        );

        let mut one = Activity::new(2, 100);
        one.update(&["x"], &[(1, 1, 0)]);
        one.cells[..2].copy_from_slice(&split(0)); // customer 0's first event
        one.cells[2..4].copy_from_slice(&split(0));
        let m = merged(vec![one]);
        assert_eq!((m.first, m.last, m.counts), (vec![0, 1], vec![0, 1], vec![vec![0, 1]]));
    }

    #[test]
    fn times_split_and_join_and_records_grow_for_many_types() {
        for t in [
            i64::MIN,
            i64::MAX,
            0,
            -1,
            1,
            1_700_000_000_000_000,
            -62_000_000_000_000_000,
        ] {
            let [lo, hi] = split(t);
            assert_eq!(join(lo, hi), t);
        }
        // 40 types, seen a few at a time: the records are re-laid three times.
        let mut a = Activity::new(5, 1_000);
        let names: Vec<String> = (0..40).map(|k| format!("t{k:02}")).collect();
        for (k, chunk) in names.chunks(7).enumerate() {
            let batch: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let events: Vec<(u32, i64, u32)> = (0..batch.len())
                .map(|j| ((j % 5) as u32, (k * 10 + j) as i64, j as u32))
                .collect();
            a.update(&batch, &events);
        }
        assert_eq!(a.stride, TIMES + 48);
        let m = MergedActivity::merge(vec![a]).unwrap();
        assert_eq!(m.names, names);
        for (t, column) in m.counts.iter().enumerate() {
            let want: Vec<u32> = (0..5).map(|c| u32::from(c == (t % 7) % 5)).collect();
            assert_eq!(column, &want, "type {t}");
        }
        assert_eq!(m.first, [0, 1, 2, 3, 4]);
        assert_eq!(m.last, [50, 51, 52, 53, 54]);
    }

    #[test]
    fn more_than_256_types_are_refused() {
        let names: Vec<String> = (0..=MAX_TYPES).map(|k| format!("t{k}")).collect();
        let batch: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut a = Activity::new(2, 100);
        let events: Vec<(u32, i64, u32)> = (0..MAX_TYPES as u32).map(|j| (j % 2, 1, j)).collect();
        a.update(&batch, &events);
        assert!(!a.overflow, "256 types are counted");
        a.update(&batch, &[(0, 1, MAX_TYPES as u32)]);
        assert!(MergedActivity::merge(vec![a]).is_none());
    }

    #[test]
    fn counts_past_u32_are_refused() {
        let mut a = Activity::new(1, 100);
        a.update(&["visit"], &[(0, 1, 0)]);
        a.cells[TIMES] = u32::MAX;
        let mut b = Activity::new(1, 100);
        b.update(&["visit"], &[(0, 2, 0)]);
        assert!(MergedActivity::merge(vec![a, b]).is_none());
        let mut c = Activity::new(1, 100);
        c.update(&["visit"], &[(0, 1, 0)]);
        c.cells[TIMES] = u32::MAX;
        c.update(&["visit"], &[(0, 1, 0)]);
        assert!(MergedActivity::merge(vec![c]).is_none());
    }
}
