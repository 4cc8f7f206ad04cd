//! Customer keys of every kind stream on the fast paths (`rfm_parquet`, `summarize_parquet`,
//! `rfm_batches`) to exactly the tables the store path gives: Int64 keys dense or sparse, with
//! or without statistics; text keys that all read as integers become those integers (under
//! `KeyType::Auto` and `Int`), other text keys keep their text, in byte order; a key ingestion
//! rejects (null, blank, a null marker unless the keys are
//! declared strings, text under `Int`), or text keys some of which are integers under `Auto`
//! (the store path warns about those), send the caller to the store path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use clientele::chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor, KeyType};
use clientele::kernels::rfm::{RfmConfig, RfmParams, rfm, rfm_batches, rfm_parquet};
use clientele::kernels::summary::{SummaryConfig, SummaryParams, summarize, summarize_parquet};
use clientele::pipeline::RFM_ROLES;
use clientele::synth::{GenerateParams, generate};
use parquet::arrow::ArrowWriter;

/// A key for customer `k` at row `row` of the file.
type Spell = dyn Fn(i64, usize) -> Option<String>;

/// The generated events (1,500 customers) with their keys spelled by `spell`, in the Arrow
/// layout `layout`.
fn batches(spell: &Spell, layout: &DataType) -> Vec<RecordBatch> {
    let generated = generate(&GenerateParams::default().customers(1_500).seed(11).validate().unwrap()).unwrap();
    let mut row = 0usize;
    generated
        .iter()
        .map(|b| {
            let spelled = common::replace_column(b, "customer_id", |col| {
                let keys = col.as_primitive::<Int64Type>();
                let text: StringArray = keys
                    .values()
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| spell(k, row + i))
                    .collect();
                arrow_cast::cast(&text, layout).unwrap()
            });
            row += b.num_rows();
            spelled
        })
        .collect()
}

/// The generated events with Int64 keys `f(k)`.
fn int_batches(f: &dyn Fn(i64) -> i64) -> Vec<RecordBatch> {
    let generated = generate(&GenerateParams::default().customers(1_500).seed(11).validate().unwrap()).unwrap();
    generated
        .iter()
        .map(|b| {
            let keys = b.column(0).as_primitive::<Int64Type>();
            let keys: Int64Array = keys.values().iter().map(|&k| f(k)).collect();
            let mut columns = b.columns().to_vec();
            columns[0] = Arc::new(keys);
            RecordBatch::try_new(b.schema(), columns).unwrap()
        })
        .collect()
}

fn write(dir: &Path, file: &str, batches: &[RecordBatch]) -> PathBuf {
    write_with(dir, file, batches, true)
}

/// `batches` in Parquet, with or without column statistics.
fn write_with(dir: &Path, file: &str, batches: &[RecordBatch], statistics: bool) -> PathBuf {
    use parquet::file::properties::EnabledStatistics;
    let path = dir.join(format!("{file}.parquet"));
    // small row groups: several per worker, keys spread over all of them
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(4_096))
        .set_statistics_enabled(if statistics {
            EnabledStatistics::Page
        } else {
            EnabledStatistics::None
        })
        .build();
    let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), batches[0].schema(), Some(props)).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    path
}

fn configs() -> (RfmConfig, SummaryConfig) {
    let end = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
    (
        RfmParams::new(end).validate().unwrap(),
        SummaryParams::new(end).validate().unwrap(),
    )
}

/// Streams `path` (and `batches`) with `opts` on 1 and 3 threads and checks every table
/// against the store path's; returns the RFM table.
fn same_as_store(name: &str, path: &Path, batches: &[RecordBatch], opts: &IngestOptions) -> RecordBatch {
    let (rfm_cfg, summary_cfg) = configs();
    let par = Parallelism::threads(2).unwrap();
    let mut ing = Ingestor::new(opts).unwrap().with_parallelism(par.clone());
    ing.read_path(path, &CsvOptions::default()).unwrap();
    let (store, report) = ing.finish().unwrap();
    assert!(report.reconciles() && report.rows_rejected == 0, "{name}: {report:?}");
    let want = rfm(&store, &rfm_cfg, &par).unwrap();
    let full = summarize(&store, &summary_cfg, &par).unwrap();
    for threads in [1, 3] {
        let par = Parallelism::threads(threads).unwrap();
        let streamed = rfm_parquet(path, &rfm_cfg, opts, &par).unwrap();
        let streamed = streamed.unwrap_or_else(|| panic!("{name}: rfm left the fast path"));
        assert_eq!(streamed, want, "{name}: rfm, {threads} threads");
        let from_memory = rfm_batches(batches, &rfm_cfg, &opts.clone().only(RFM_ROLES), &par).unwrap();
        let from_memory = from_memory.unwrap_or_else(|| panic!("{name}: rfm of batches left the fast path"));
        assert_eq!(from_memory, want, "{name}: rfm of batches, {threads} threads");
        let streamed = summarize_parquet(path, &summary_cfg, opts, &par).unwrap();
        let streamed = streamed.unwrap_or_else(|| panic!("{name}: summary left the fast path"));
        assert!(streamed.num_rows() > 0);
        for (i, field) in streamed.schema().fields().iter().enumerate() {
            assert_eq!(
                streamed.column(i),
                full.column_by_name(field.name()).unwrap(),
                "{name}: summary column {}, {threads} threads",
                field.name()
            );
        }
    }
    want
}

/// The streaming paths refuse (the store path reports the rejected rows).
fn refused(name: &str, path: &Path, batches: &[RecordBatch], opts: &IngestOptions) {
    let (rfm_cfg, summary_cfg) = configs();
    let par = Parallelism::threads(2).unwrap();
    assert!(
        rfm_parquet(path, &rfm_cfg, opts, &par).unwrap().is_none(),
        "{name}: rfm"
    );
    assert!(
        summarize_parquet(path, &summary_cfg, opts, &par).unwrap().is_none(),
        "{name}: summary"
    );
    let in_memory = rfm_batches(batches, &rfm_cfg, &opts.clone().only(RFM_ROLES), &par).unwrap();
    assert!(in_memory.is_none(), "{name}: rfm of batches");
}

fn layouts() -> Vec<DataType> {
    vec![
        DataType::Utf8,
        DataType::LargeUtf8,
        DataType::Utf8View,
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::LargeUtf8)),
    ]
}

#[test]
fn integer_text_keys_stream_as_the_integers_they_read_as() {
    let dir = tempfile::tempdir().unwrap();
    // "7", " 7", "007" and "+7" are one customer, 7, as the store reads them
    let spellings: &Spell = &|k, row| {
        Some(match row % 4 {
            0 => k.to_string(),
            1 => format!("  {k}\t"),
            2 => format!("00{k}"),
            _ => format!("+{k}"),
        })
    };
    for (i, layout) in layouts().into_iter().enumerate() {
        let b = batches(spellings, &layout);
        let path = write(dir.path(), &format!("ints-{i}"), &b);
        for key_type in [KeyType::Auto, KeyType::Int] {
            let opts = IngestOptions::default().key_type(key_type);
            let table = same_as_store(&format!("{layout} {key_type:?}"), &path, &b, &opts);
            assert_eq!(table.column(0).data_type(), &DataType::Int64);
        }
    }
}

#[test]
fn other_text_keys_stream_in_byte_order() {
    let dir = tempfile::tempdir().unwrap();
    // not zero-padded, so byte order is not numeric order; some keys beyond ASCII; padding
    // trimmed
    let text: &Spell = &|k, row| {
        Some(match (k % 3, row % 2) {
            (0, 0) => format!("cust-{k}"),
            (0, _) => format!(" cust-{k} "),
            (1, _) => format!("клиент-{k}"),
            _ => format!("Ü{k}"),
        })
    };
    for (i, layout) in layouts().into_iter().enumerate() {
        let b = batches(text, &layout);
        let path = write(dir.path(), &format!("text-{i}"), &b);
        for key_type in [KeyType::Auto, KeyType::String] {
            let opts = IngestOptions::default().key_type(key_type);
            let table = same_as_store(&format!("{layout} {key_type:?}"), &path, &b, &opts);
            let keys = table.column(0).as_string::<i32>();
            let keys: Vec<&str> = keys.iter().map(Option::unwrap).collect();
            assert!(
                keys.windows(2).all(|w| w[0] < w[1]),
                "{layout}: keys in byte order, once each"
            );
        }
        // under Int, text keys are rejected rows: the store path reports them
        refused(
            &format!("{layout} Int"),
            &path,
            &b,
            &IngestOptions::default().key_type(KeyType::Int),
        );
    }
}

#[test]
fn integer_text_declared_as_strings_keeps_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let b = batches(&|k, _| Some(k.to_string()), &DataType::Utf8);
    let path = write(dir.path(), "declared", &b);
    let table = same_as_store(
        "declared strings",
        &path,
        &b,
        &IngestOptions::default().key_type(KeyType::String),
    );
    let keys = table.column(0).as_string::<i32>();
    // "10" sorts before "9"
    let keys: Vec<&str> = keys.iter().map(Option::unwrap).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    assert!(keys.iter().any(|k| k.len() > 1) && keys.first().unwrap().starts_with('1'));
}

#[test]
fn a_key_ingestion_rejects_refuses_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let last_row = |spell: &'static str| -> Box<Spell> {
        Box::new(move |k, row| {
            if row == 1_000 {
                (!spell.is_empty()).then(|| spell.to_string())
            } else {
                Some(k.to_string())
            }
        })
    };
    // a null key, a blank key: rejected under every key type
    for (name, spell) in [("null", last_row("")), ("blank", last_row("   "))] {
        let b = batches(spell.as_ref(), &DataType::Utf8);
        let path = write(dir.path(), name, &b);
        for key_type in [KeyType::Auto, KeyType::Int, KeyType::String] {
            refused(
                &format!("{name} {key_type:?}"),
                &path,
                &b,
                &IngestOptions::default().key_type(key_type),
            );
        }
    }
    // a null marker is a missing key under Auto and Int, a key like any other under String
    let b = batches(last_row("NA").as_ref(), &DataType::Utf8);
    let path = write(dir.path(), "marker", &b);
    refused("NA Auto", &path, &b, &IngestOptions::default());
    refused("NA Int", &path, &b, &IngestOptions::default().key_type(KeyType::Int));
    let table = same_as_store(
        "NA String",
        &path,
        &b,
        &IngestOptions::default().key_type(KeyType::String),
    );
    assert_eq!(table.column(0).data_type(), &DataType::Utf8);
    // one key that is not an integer makes every key text under Auto, and the store path says
    // so (a warning from the ingest report), so the stream leaves it to the store path; keys
    // declared strings stream
    let b = batches(last_row("x-1").as_ref(), &DataType::Utf8);
    let path = write(dir.path(), "one-text-key", &b);
    refused("one text key, Auto", &path, &b, &IngestOptions::default());
    let opts = IngestOptions::default().key_type(KeyType::String);
    let table = same_as_store("one text key, String", &path, &b, &opts);
    assert_eq!(table.column(0).data_type(), &DataType::Utf8);
}

#[test]
fn sparse_integer_keys_stream_ranked() {
    let dir = tempfile::tempdir().unwrap();
    // The purchase roles only, as the CLI loads them: a loaded score or cost column needs
    // statistics to stream (the scan does not decode it; `ingest::bounds`).
    let opts = IngestOptions::default().only(RFM_ROLES);
    // keys a trillion apart, far too sparse for offsets: as text and as Int64 (with and without
    // statistics), and negative ones
    let spread = |k: i64| (k - 1_000_700) * 1_000_000_000_007;
    let b = batches(&move |k, _| Some(spread(k).to_string()), &DataType::Utf8);
    let path = write(dir.path(), "sparse-text", &b);
    let table = same_as_store("sparse text", &path, &b, &opts);
    assert_eq!(table.column(0).data_type(), &DataType::Int64);
    let b = int_batches(&spread);
    for (name, stats) in [("sparse-int64", true), ("sparse-int64-no-stats", false)] {
        let path = write_with(dir.path(), name, &b, stats);
        let table = same_as_store(name, &path, &b, &opts);
        let keys = table.column(0).as_primitive::<Int64Type>().values().to_vec();
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]) && keys[0] < 0,
            "{name}: keys in order, once each"
        );
    }
    // dense Int64 keys without statistics: the range comes from a pass over the keys
    let b = int_batches(&|k| k);
    let path = write_with(dir.path(), "dense-no-stats", &b, false);
    same_as_store("dense, no statistics", &path, &b, &opts);
    // with every role loaded, the score and cost columns' missing statistics send the file
    // to the store path
    let (rfm_cfg, _) = configs();
    let par = Parallelism::threads(2).unwrap();
    let all_roles = IngestOptions::default();
    assert!(rfm_parquet(&path, &rfm_cfg, &all_roles, &par).unwrap().is_none());
}
