//! A seeded mutation harness for the readers of user bytes: the CSV reader, the Parquet paths
//! (footer, page decoder, Arrow-reader fallback, ingest) and store open. Each case damages a
//! valid input (bit flips, byte runs, truncations, duplicated ranges, inserted quotes and line
//! breaks, footer edits) and checks that the reader returns (no panic), within 5 s, with a
//! report that reconciles; a store that opens after damage (whole, or one customer) must hold
//! exactly the saved events, and a purchase rollup that opens holds the saved totals.
//!
//! CI runs a few hundred cases per reader. For a long local run:
//! `CLIENTELE_FUZZ_CASES=1000000 cargo test --release -p clientele --test fuzz_inputs -- --nocapture`
//! (`CLIENTELE_FUZZ_SEED` picks another sequence; `CLIENTELE_FUZZ_CLOCK=cpu` measures the 5 s
//! limit in CPU time, see [`timed`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::{Duration, Instant};

use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::kernels::rfm::{RfmParams, rfm_parquet};
use clientele::kernels::summary::{SummaryParams, summarize_parquet};
use clientele::store::{EventStore, PurchaseRollup, StoreFormat};
use clientele::synth::{GenerateParams, event_schema, generate};

fn cases() -> u64 {
    std::env::var("CLIENTELE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// `CLIENTELE_FUZZ_ONLY=N` runs case N alone (the mutations before it are still drawn, so it
/// is the same input) and keeps its file in `CLIENTELE_FUZZ_KEEP` if set.
fn only() -> Option<u64> {
    std::env::var("CLIENTELE_FUZZ_ONLY").ok().and_then(|v| v.parse().ok())
}

fn seed() -> u64 {
    std::env::var("CLIENTELE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// xorshift64*: a small deterministic generator for the mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One mutation of `good`; `tail` is the size of the region at the end (a Parquet footer) that
/// some mutations aim at.
fn mutate(good: &[u8], r: &mut Rng, tail: usize) -> Vec<u8> {
    let mut b = good.to_vec();
    let n = b.len().max(1);
    let at = |r: &mut Rng| {
        if tail > 0 && r.below(2) == 0 {
            n - 1 - r.below(tail.min(n))
        } else {
            r.below(n)
        }
    };
    for _ in 0..1 + r.below(3) {
        if b.is_empty() {
            break;
        }
        match r.below(7) {
            0 => {
                let i = at(r).min(b.len() - 1);
                b[i] ^= 1 << r.below(8);
            }
            1 => {
                let i = at(r).min(b.len() - 1);
                let len = 1 + r.below(64);
                let v = r.next() as u8;
                for x in b.iter_mut().skip(i).take(len) {
                    *x = v;
                }
            }
            2 => b.truncate(r.below(b.len())),
            3 => {
                let i = r.below(b.len());
                let len = (1 + r.below(256)).min(b.len() - i);
                let piece = b[i..i + len].to_vec();
                let j = r.below(b.len());
                b.splice(j..j, piece);
            }
            4 => {
                let i = r.below(b.len());
                b.insert(i, b'"');
            }
            5 => {
                let i = r.below(b.len());
                b.insert(i, b'\n');
            }
            _ => {
                let i = at(r).min(b.len() - 1);
                b[i] = r.next() as u8;
            }
        }
    }
    b
}

/// The process's CPU time (user + system) from `/proc/self/stat`, on Linux; `None` elsewhere.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the command name (in parentheses, which may hold spaces): utime and stime
    // are the 12th and 13th
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut f = rest.split(' ');
    let utime: u64 = f.nth(11)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    // clock ticks: 100 per second on every Linux this runs on (USER_HZ)
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Runs one case and fails it when it took 5 s or more: wall time by default; the process's
/// CPU time with `CLIENTELE_FUZZ_CLOCK=cpu` (Linux), for long runs at low priority on a
/// shared machine, where wall time counts the time others used. Run one test per process
/// then (a test name filter), so the clock counts that test's work alone.
fn timed<T>(what: &str, case: u64, f: impl FnOnce() -> T) -> T {
    let cpu = std::env::var("CLIENTELE_FUZZ_CLOCK").is_ok_and(|v| v == "cpu");
    let started = Instant::now();
    let cpu_started = if cpu { cpu_time() } else { None };
    let out = f();
    let took = match (cpu_started, cpu_time().filter(|_| cpu)) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => started.elapsed(),
    };
    assert!(took < Duration::from_secs(5), "{what} case {case} took {took:?}");
    out
}

fn events() -> Vec<clientele::arrow_array::RecordBatch> {
    generate(&GenerateParams::default().customers(150).seed(4).validate().unwrap()).unwrap()
}

#[test]
fn damaged_csv_never_panics_and_always_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.csv");
    clientele::io::write_batches(&event_schema(), &events(), &path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let mut r = Rng(seed() ^ 0x9e37_79b9);
    for case in 0..cases() {
        let bad = mutate(&good, &mut r, 0);
        timed("csv", case, || {
            let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
            if ing
                .read_csv_reader(bad.as_slice(), "e.csv", &CsvOptions::default())
                .is_ok()
                && let Ok((store, report)) = ing.finish()
            {
                assert!(report.reconciles(), "csv case {case}");
                assert_eq!(store.num_events() as u64, report.rows_accepted, "csv case {case}");
            }
        });
    }
}

#[test]
fn damaged_parquet_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.parquet");
    clientele::io::write_batches(&event_schema(), &events(), &path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let bad_path = dir.path().join("bad.parquet");
    let par = Parallelism::threads(2).unwrap();
    let end = clientele::chrono::NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
    let rfm_cfg = RfmParams::new(end).validate().unwrap();
    let sum_cfg = SummaryParams::new(end).validate().unwrap();
    let opts = IngestOptions::default();
    let mut r = Rng(seed() ^ 0x51_7cc1);
    for case in 0..cases() {
        let bad = mutate(&good, &mut r, 2048);
        if only().is_some_and(|k| k != case) {
            continue;
        }
        std::fs::write(&bad_path, &bad).unwrap();
        if let Ok(keep) = std::env::var("CLIENTELE_FUZZ_KEEP") {
            std::fs::write(keep, &bad).unwrap();
        }
        timed("parquet", case, || {
            let _ = rfm_parquet(&bad_path, &rfm_cfg, &opts, &par);
            let _ = summarize_parquet(&bad_path, &sum_cfg, &opts, &par);
            let mut ing = Ingestor::new(&opts).unwrap();
            if ing.read_parquet(&bad_path).is_ok()
                && let Ok((_, report)) = ing.finish()
            {
                assert!(report.reconciles(), "parquet case {case}");
            }
            let _ = clientele::io::read_table(&bad_path);
        });
    }
}

#[test]
fn a_damaged_store_opens_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("gen", events().into_iter().map(Ok)).unwrap();
    let (store, _) = ing.finish().unwrap();
    let want = store.events().unwrap();
    let want_rollup = PurchaseRollup::of(&store, &Parallelism::current());
    let mut r = Rng(seed() ^ 0x5709e);
    for format in [StoreFormat::Ipc, StoreFormat::Parquet] {
        let d = dir.path().join(format!("{format:?}"));
        store.save(&d, format).unwrap();
        let files: Vec<std::path::PathBuf> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).collect();
        let originals: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
        for case in 0..cases() / 2 {
            let k = r.below(files.len());
            std::fs::write(&files[k], mutate(&originals[k], &mut r, 0)).unwrap();
            timed("store", case, || {
                if let Ok(s) = EventStore::open(&d, &Parallelism::current()) {
                    assert_eq!(
                        s.events().unwrap(),
                        want,
                        "{format:?} case {case}: a damaged store opened with other events"
                    );
                }
                // The purchase rollup (IPC stores): when it opens, it holds the saved totals.
                if let Ok(Some(r)) = EventStore::open_rollup(&d, &Parallelism::current()) {
                    assert_eq!(
                        r.customers(),
                        want_rollup.customers(),
                        "{format:?} case {case}: a damaged store opened with other purchase totals"
                    );
                }
                // A point lookup reads only some blocks: when it answers, the answer is right.
                let c = r.below(store.num_customers());
                let key = store.customer_keys().get(c).unwrap();
                if let Ok(Some(one)) = EventStore::open_customer(&d, key, None, &Parallelism::current()) {
                    assert_eq!(
                        one.customer_events(0).unwrap(),
                        store.customer_events(c).unwrap(),
                        "{format:?} case {case}: a damaged store answered a lookup with other events"
                    );
                }
            });
            std::fs::write(&files[k], &originals[k]).unwrap();
        }
    }
}
