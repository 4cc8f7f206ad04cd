//! The page decoder against the Arrow reader: the same purchases, and the same refusals, for
//! files written with every page layout the decoder handles and some it hands back.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampSecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use super::{PurchaseScan, PurchaseSink, pages};
use crate::exec::Parallelism;
use crate::ingest::IngestOptions;

/// Every purchase a worker saw, amounts as bits (NaN-safe equality).
struct Collect(Vec<(u32, i64, u64)>);

impl PurchaseSink for Collect {
    fn push(&mut self, customer: u32, time: i64, amount: f64) {
        self.0.push((customer, time, amount.to_bits()));
    }
}

/// One test event: key, time (µs), type, amount.
type Row = (Option<i64>, Option<i64>, Option<&'static str>, Option<f64>);

const DAY: i64 = 86_400_000_000;
const START: i64 = 1_704_067_200_000_000; // 2024-01-01

/// A deterministic event log of `n` rows: 700 customers, a few event types, amounts with
/// nulls (mostly on non-purchases), times over two years.
fn rows(n: usize) -> Vec<Row> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let types = ["purchase", "visit", "email_open", " purchase", "refund"];
    (0..n)
        .map(|_| {
            let key = 1_000 + (next() % 700) as i64;
            let time = START + (next() % (730 * DAY as u64)) as i64;
            let kind = types[(next() % types.len() as u64) as usize];
            let amount = if next() % 5 == 0 {
                None
            } else {
                Some((next() % 100_000) as f64 / 100.0)
            };
            (Some(key), Some(time), Some(kind), amount)
        })
        .collect()
}

/// Writes `rows` with `props`; key and time are nullable columns when `nullable`.
fn write(dir: &Path, name: &str, rows: &[Row], props: WriterProperties, nullable: bool) -> PathBuf {
    write_in(dir, name, rows, props, nullable, TimeUnit::Microsecond)
}

/// [`write`] with times stored in `unit` (the rows' µs truncated to it).
fn write_in(dir: &Path, name: &str, rows: &[Row], props: WriterProperties, nullable: bool, unit: TimeUnit) -> PathBuf {
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, nullable),
        Field::new("event_time", DataType::Timestamp(unit, Some("UTC".into())), nullable),
        Field::new("event_type", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rows.iter().map(|r| r.0).collect::<Int64Array>()),
        {
            let per = |d: i64| rows.iter().map(move |r| r.1.map(|t| t.div_euclid(d)));
            match unit {
                TimeUnit::Millisecond => {
                    Arc::new(per(1_000).collect::<TimestampMillisecondArray>().with_timezone("UTC"))
                }
                TimeUnit::Second => Arc::new(per(1_000_000).collect::<TimestampSecondArray>().with_timezone("UTC")),
                _ => Arc::new(per(1).collect::<TimestampMicrosecondArray>().with_timezone("UTC")),
            }
        },
        Arc::new(rows.iter().map(|r| r.2).collect::<StringArray>()),
        Arc::new(rows.iter().map(|r| r.3).collect::<Float64Array>()),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let path = dir.join(name);
    let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    path
}

/// The writer settings under test, by name.
fn layouts() -> Vec<(&'static str, WriterProperties)> {
    let small = || {
        WriterProperties::builder()
            .set_max_row_group_row_count(Some(1_500))
            .set_data_page_row_count_limit(97)
            .set_write_batch_size(31)
    };
    let ints = [ColumnPath::from("customer_id"), ColumnPath::from("event_time")];
    let delta = ints.iter().fold(small(), |p, c| {
        p.set_column_dictionary_enabled(c.clone(), false)
            .set_column_encoding(c.clone(), Encoding::DELTA_BINARY_PACKED)
    });
    vec![
        ("default", WriterProperties::builder().build()),
        (
            "small pages, zstd",
            small().set_compression(Compression::ZSTD(Default::default())).build(),
        ),
        // Dictionaries overflow into plain pages part way through each column chunk.
        (
            "dictionary fallback",
            small().set_dictionary_page_size_limit(200).build(),
        ),
        (
            "plain, snappy",
            small()
                .set_dictionary_enabled(false)
                .set_compression(Compression::SNAPPY)
                .build(),
        ),
        (
            "page format v2",
            small().set_writer_version(WriterVersion::PARQUET_2_0).build(),
        ),
        ("delta integers", delta.clone().build()),
        (
            "delta integers, v2",
            delta.set_writer_version(WriterVersion::PARQUET_2_0).build(),
        ),
        // Not decoded by the page path (byte-array deltas): the Arrow reader takes over.
        (
            "delta types",
            small()
                .set_column_dictionary_enabled(ColumnPath::from("event_type"), false)
                .set_column_encoding(ColumnPath::from("event_type"), Encoding::DELTA_BYTE_ARRAY)
                .build(),
        ),
    ]
}

/// The purchases before `until` of the scan of `path`, sorted, by the page decoder
/// (`pages`) or the Arrow reader alone; `None` when the scan refuses.
fn scan(path: &Path, ingest: &IngestOptions, until: i64, pages: bool, threads: usize) -> Option<Vec<(u32, i64, u64)>> {
    let mut scan = PurchaseScan::open(path, ingest, &Parallelism::threads(2).unwrap())
        .unwrap()
        .expect("in scope");
    if !pages {
        scan.layout = None;
    }
    let par = Parallelism::threads(threads).unwrap();
    let sinks = scan.run(until, &par, || Collect(Vec::new())).unwrap()?;
    let mut all: Vec<_> = sinks.into_iter().flat_map(|c| c.0).collect();
    all.sort_unstable();
    Some(all)
}

#[test]
fn page_decoder_gives_the_arrow_readers_purchases_for_every_layout() {
    let dir = tempfile::tempdir().unwrap();
    let rows = rows(5_000);
    let ingest = IngestOptions::default();
    let until = START + 500 * DAY;
    for nullable in [false, true] {
        for (i, (name, props)) in layouts().into_iter().enumerate() {
            let path = write(dir.path(), &format!("{i}-{nullable}.parquet"), &rows, props, nullable);
            // The page decoder takes every row group, but those with byte-array deltas.
            let scan_ = PurchaseScan::open(&path, &ingest, &Parallelism::threads(2).unwrap())
                .unwrap()
                .expect("in scope");
            let layout = scan_.layout.clone().expect("the page path reads this file");
            let mut file = std::fs::File::open(&path).unwrap();
            // Column chunks held in memory, then every chunk read page by page through the
            // file (as chunks past 8 MB are): the same purchases.
            let mut by_hold = Vec::new();
            for hold_max in [None, Some(0)] {
                let mut scratch = pages::Scratch::default();
                scratch.hold_max = hold_max;
                let mut sink = Collect(Vec::new());
                for rg in 0..scan_.groups {
                    let outcome = pages::row_group(&scan_, &layout, &mut file, rg, until, &mut sink, &mut scratch);
                    match outcome {
                        Ok(()) => assert_ne!(name, "delta types"),
                        Err(pages::Stop::Fallback) => assert_eq!(name, "delta types"),
                        Err(pages::Stop::Refuse) => panic!("{name}: refused"),
                    }
                }
                by_hold.push(sink.0);
            }
            assert_eq!(by_hold[0], by_hold[1], "{name}: held and in-file chunks");
            let expected = scan(&path, &ingest, until, false, 1).expect("accepted");
            assert!(expected.len() > 1_000, "{name}: {} purchases", expected.len());
            for threads in [1, 2] {
                let got = scan(&path, &ingest, until, true, threads).expect("accepted");
                assert_eq!(got, expected, "{name}, nullable {nullable}, {threads} threads");
            }
        }
    }
}

/// Keys far apart (each × 1,000,003: ranked, not offsets), in small ranking pieces: the page
/// decoder gives the Arrow reader's purchases, ranks included, at every thread count.
#[test]
fn sparse_keys_rank_alike_on_both_paths() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Row> = rows(5_000)
        .into_iter()
        .map(|(k, t, e, a)| (k.map(|k| k * 1_000_003), t, e, a))
        .collect();
    let ingest = IngestOptions::default();
    let until = START + 500 * DAY;
    for (i, (name, props)) in layouts().into_iter().enumerate() {
        if name == "delta types" {
            continue;
        }
        let path = write(dir.path(), &format!("sparse-{i}.parquet"), &rows, props, false);
        let opened = PurchaseScan::open(&path, &ingest, &Parallelism::threads(2).unwrap())
            .unwrap()
            .expect("in scope");
        assert!(matches!(opened.keys, super::keys::KeyMap::Sparse(_)), "{name}");
        assert_eq!(opened.customers, 700, "{name}");
        let expected = scan(&path, &ingest, until, false, 1).expect("accepted");
        assert!(expected.len() > 1_000, "{name}: {} purchases", expected.len());
        assert!(expected.iter().all(|&(c, _, _)| c < 700), "{name}");
        for threads in [1, 2, 3] {
            let got = scan(&path, &ingest, until, true, threads).expect("accepted");
            assert_eq!(got, expected, "{name}, {threads} threads");
        }
    }
}

#[test]
fn millisecond_and_second_times_are_scaled_as_the_arrow_reader_scales_them() {
    let dir = tempfile::tempdir().unwrap();
    let rows = rows(4_000);
    let ingest = IngestOptions::default();
    let until = START + 400 * DAY;
    for unit in [TimeUnit::Millisecond, TimeUnit::Second] {
        for (i, (name, props)) in layouts().into_iter().enumerate() {
            let path = write_in(dir.path(), &format!("{unit:?}-{i}.parquet"), &rows, props, false, unit);
            let expected = scan(&path, &ingest, until, false, 1).expect("accepted");
            assert!(!expected.is_empty());
            assert_eq!(
                scan(&path, &ingest, until, true, 2).expect("accepted"),
                expected,
                "{unit:?} {name}"
            );
        }
    }
}

#[test]
fn page_decoder_refuses_what_the_arrow_reader_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let base = rows(3_000);
    let until = START + 900 * DAY;
    // Each case changes one row of the log (row 2_222, past the first row groups and pages).
    let at = 2_222;
    let kind = base[at].2;
    let cases: Vec<(&str, Row, bool)> = vec![
        (
            "NaN amount on a visit",
            (base[at].0, base[at].1, Some("visit"), Some(f64::NAN)),
            true,
        ),
        ("huge amount", (base[at].0, base[at].1, kind, Some(2e15)), true),
        (
            "negative purchase",
            (base[at].0, base[at].1, Some("purchase"), Some(-3.0)),
            true,
        ),
        (
            "negative visit",
            (base[at].0, base[at].1, Some("visit"), Some(-3.0)),
            false,
        ),
        ("blank type", (base[at].0, base[at].1, Some("  "), Some(1.0)), true),
        ("null type", (base[at].0, base[at].1, None, Some(1.0)), true),
        (
            "time past year 9999",
            (base[at].0, Some(254_000_000_000_000_000), kind, Some(1.0)),
            true,
        ),
        (
            "purchase after until",
            (base[at].0, Some(until + DAY), Some("purchase"), Some(1.0)),
            false,
        ),
        ("null time", (base[at].0, None, kind, Some(1.0)), true),
        ("null key", (None, base[at].1, kind, Some(1.0)), true),
    ];
    let plain = IngestOptions::default();
    let refunds = IngestOptions::default().allow_refunds(true);
    for (c, (case, row, refused)) in cases.into_iter().enumerate() {
        let mut rows = base.clone();
        rows[at] = row;
        let nullable = row.0.is_none() || row.1.is_none();
        for (i, (name, props)) in layouts().into_iter().enumerate() {
            let path = write(dir.path(), &format!("{c}-{i}.parquet"), &rows, props, nullable);
            for ingest in [&plain, &refunds] {
                let expected = scan(&path, ingest, until, false, 1);
                let got = scan(&path, ingest, until, true, 2);
                assert_eq!(got, expected, "{case}, {name}");
                let refunds_allowed = case == "negative purchase" && ingest.allow_refunds;
                assert_eq!(got.is_none(), refused && !refunds_allowed, "{case}, {name}");
            }
        }
    }
}
