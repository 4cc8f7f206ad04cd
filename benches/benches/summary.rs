//! The customer summary: over a store in memory, from a saved store on disk (open of the columns
//! it needs + summary; and the open of every column alone), and from a Parquet file (ingest +
//! summary), on 100k and 1M generated customers (~1.9M and ~19M events).
//!
//! `cargo bench -p clientele-benches --bench summary`

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark harness

use std::time::Duration;

use clientele::chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::kernels::summary::{Period, SummaryParams, summarize};
use clientele::schema::Role;
use clientele::store::EventStore;
use clientele_benches::{events_file, saved_store, store};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn summary(c: &mut Criterion) {
    let par = Parallelism::threads(2).unwrap();
    let cfg = SummaryParams::new(NaiveDate::from_ymd_opt(2025, 6, 30).unwrap())
        .observation_end(NaiveDate::from_ymd_opt(2025, 12, 31).unwrap())
        .period(Period::Week)
        .validate()
        .unwrap();
    let mut g = c.benchmark_group("summary");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    for customers in [100_000u64, 1_000_000] {
        let s = store(customers, &par).unwrap();
        g.throughput(Throughput::Elements(s.num_events() as u64));
        g.bench_function(format!("store-in-memory/{customers}"), |b| {
            b.iter(|| summarize(&s, &cfg, &par).unwrap())
        });
        let dir = saved_store(customers, &par).unwrap();
        // As `clientele summary --store`: only the columns the summary needs are opened.
        let roles = [Role::EventType, Role::Amount];
        g.bench_function(format!("saved-store/{customers}"), |b| {
            b.iter(|| {
                let opened = EventStore::open_columns(&dir, Some(&roles), &par).unwrap();
                summarize(&opened, &cfg, &par).unwrap()
            })
        });
        // Every column (what the report and the scoring service open).
        g.bench_function(format!("saved-store-all-columns/{customers}"), |b| {
            b.iter(|| EventStore::open(&dir, &par).unwrap())
        });
        let path = events_file(customers, "parquet").unwrap();
        // As `clientele summary --input`: only the columns the summary needs are loaded.
        let opts = IngestOptions::default().only(&[Role::EventType, Role::Amount]);
        g.bench_function(format!("parquet-file/{customers}"), |b| {
            b.iter(|| {
                let mut ing = Ingestor::new(&opts).unwrap().with_parallelism(par.clone());
                ing.read_path(&path, &CsvOptions::default()).unwrap();
                summarize(&ing.finish().unwrap().0, &cfg, &par).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, summary);
criterion_main!(benches);
