//! Ingestion: Parquet and CSV files into a store (validation, ordering, dictionaries).
//!
//! `cargo bench -p clientele-benches --bench ingest`

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark harness

use std::time::Duration;

use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele_benches::events_file;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn ingest(c: &mut Criterion) {
    let par = Parallelism::threads(2).unwrap();
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for (customers, ext) in [(100_000u64, "parquet"), (100_000, "csv"), (1_000_000, "parquet")] {
        let path = events_file(customers, ext).unwrap();
        let events = {
            let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
            ing.read_path(&path, &CsvOptions::default()).unwrap();
            ing.report().rows_read
        };
        g.throughput(Throughput::Elements(events));
        g.bench_function(format!("{ext}/{customers}"), |b| {
            b.iter(|| {
                let mut ing = Ingestor::new(&IngestOptions::default())
                    .unwrap()
                    .with_parallelism(par.clone());
                ing.read_path(&path, &CsvOptions::default()).unwrap();
                ing.finish().unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
