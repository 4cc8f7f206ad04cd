//! Parquet files compressed with every codec other tools write (gzip, lz4, lz4_raw, brotli,
//! snappy, zstd) read to the same results as an uncompressed file, on the streamed paths
//! (`rfm_parquet`, `summarize_parquet`) and through ingest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::fs::File;
use std::path::{Path, PathBuf};

use clientele::chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::kernels::rfm::{RfmParams, rfm, rfm_parquet};
use clientele::kernels::summary::{SummaryParams, summarize, summarize_parquet};
use clientele::synth::{GenerateParams, event_schema, generate};
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;

fn write(dir: &Path, name: &str, codec: Compression) -> PathBuf {
    let batches = generate(&GenerateParams::default().customers(3_000).seed(5).validate().unwrap()).unwrap();
    let path = dir.join(format!("{name}.parquet"));
    let props = WriterProperties::builder()
        .set_compression(codec)
        .set_max_row_group_row_count(Some(20_000))
        .build();
    let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), event_schema(), Some(props)).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    path
}

#[test]
fn every_common_codec_reads_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let par = Parallelism::threads(2).unwrap();
    let end = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
    let summary_cfg = SummaryParams::new(end).validate().unwrap();
    let rfm_cfg = RfmParams::new(end).validate().unwrap();
    let opts = IngestOptions::default();
    let plain = write(dir.path(), "plain", Compression::UNCOMPRESSED);
    let want_rfm = rfm_parquet(&plain, &rfm_cfg, &opts, &par).unwrap().unwrap();
    let want_summary = summarize_parquet(&plain, &summary_cfg, &opts, &par).unwrap().unwrap();
    let store_of = |path: &Path| {
        let mut ing = Ingestor::new(&opts).unwrap().with_parallelism(par.clone());
        ing.read_path(path, &CsvOptions::default()).unwrap();
        ing.finish().unwrap()
    };
    // the store summary has every column (first/last event, counts per type), the streamed one
    // the purchase columns
    let want_store_summary = summarize(&store_of(&plain).0, &summary_cfg, &par).unwrap();
    for (name, codec) in [
        ("gzip", Compression::GZIP(GzipLevel::default())),
        ("lz4", Compression::LZ4),
        ("lz4_raw", Compression::LZ4_RAW),
        ("brotli", Compression::BROTLI(BrotliLevel::default())),
        ("snappy", Compression::SNAPPY),
        ("zstd", Compression::ZSTD(ZstdLevel::default())),
    ] {
        let path = write(dir.path(), name, codec);
        let got = rfm_parquet(&path, &rfm_cfg, &opts, &par).unwrap().unwrap();
        assert_eq!(got, want_rfm, "{name}: rfm");
        let got = summarize_parquet(&path, &summary_cfg, &opts, &par).unwrap().unwrap();
        assert_eq!(got, want_summary, "{name}: summary");
        let (store, report) = store_of(&path);
        assert!(report.reconciles() && report.rows_rejected == 0, "{name}");
        assert_eq!(rfm(&store, &rfm_cfg, &par).unwrap(), want_rfm, "{name}: store rfm");
        assert_eq!(
            summarize(&store, &summary_cfg, &par).unwrap(),
            want_store_summary,
            "{name}: store summary"
        );
    }
}
