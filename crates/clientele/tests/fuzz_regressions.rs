//! Inputs the fuzz harness (`fuzz_inputs.rs`) found, kept as regression cases
//! (`testdata/fuzz/README.md` says where each came from).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::Path;

use clientele::Error;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/fuzz")
        .join(name)
}

/// A damaged page header is a format error naming the file (it used to take 14 s of one-byte
/// reads before failing; the fuzz harness's 5 s limit guards the time).
#[test]
fn a_damaged_page_header_is_a_format_error() {
    let path = fixture("damaged-page-header.parquet");
    match clientele::io::read_table(&path) {
        Err(e @ (Error::Format { .. } | Error::Arrow(_) | Error::Parquet(_))) => {
            assert!(!e.to_string().is_empty());
        }
        Err(e) => panic!("unexpected error kind: {e:?}"),
        Ok(t) => panic!("a damaged file read as {} rows", t.num_rows()),
    }
}

/// The same damage in a column the ingest reads: an error (or a report that reconciles), not
/// 30 s of page-header parsing over the file.
#[test]
fn a_damaged_page_header_in_an_ingested_column_is_a_format_error() {
    let path = fixture("damaged-page-header-2.parquet");
    let mut ing = clientele::ingest::Ingestor::new(&Default::default()).unwrap();
    match ing.read_parquet(&path) {
        Err(e) => assert!(e.to_string().contains("damaged-page-header-2.parquet"), "{e}"),
        Ok(()) => assert!(ing.finish().unwrap().1.reconciles()),
    }
}

/// A page header that declares more list elements than the file has bytes is refused before
/// the Parquet crate's parser skips them one by one (2.8 s for this 38 KB file): the error
/// names the file, the row group, the column and the byte.
#[test]
fn a_page_header_with_an_impossible_list_is_refused_at_once() {
    let path = fixture("list-of-billions.parquet");
    let mut ing = clientele::ingest::Ingestor::new(&Default::default()).unwrap();
    let e = ing.read_parquet(&path).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("list-of-billions.parquet")
            && text.contains("row group 0, column")
            && text.contains("is damaged"),
        "{text}"
    );
    let e = clientele::io::read_table(&path).unwrap_err();
    assert!(e.to_string().contains("is damaged"), "{e}");
}

/// Case 150,609 of seed 7: a damaged page header in a column the purchase scan decodes itself.
/// RFM and the summary from the file are errors naming the damage (before the fix the scan's
/// page reader parsed the header for seconds before the error).
#[test]
fn a_damaged_page_header_in_a_scanned_column_is_an_error() {
    let path = fixture("scan-page-header.parquet");
    let par = clientele::exec::Parallelism::threads(2).unwrap();
    let end = clientele::chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let cfg = clientele::kernels::rfm::RfmParams::new(end).validate().unwrap();
    let e = clientele::kernels::rfm::rfm_parquet(&path, &cfg, &Default::default(), &par).unwrap_err();
    assert!(e.to_string().contains("is damaged"), "{e}");
    let cfg = clientele::kernels::summary::SummaryParams::new(end).validate().unwrap();
    let e = clientele::kernels::summary::summarize_parquet(&path, &cfg, &Default::default(), &par).unwrap_err();
    assert!(e.to_string().contains("is damaged"), "{e}");
}

/// A row group too large to read ahead (over 32 MB of projected chunks, as Spark writes) is
/// read through the file; its page headers are walked through the file first, so a header
/// that declares billions of list elements is refused at once there too (before, the Parquet
/// crate skipped them one read at a time). Written here, not kept: the file is 35 MB.
#[test]
fn a_damaged_page_header_in_a_row_group_too_large_to_read_ahead_is_refused() {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;

    let rows = 1_300_000usize;
    let batch = RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(Int64Array::from_iter_values((0..rows as i64).map(|i| i % 5000))) as _,
        ),
        (
            "event_time",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    (0..rows as i64).map(|i| 1_700_000_000_000_000 + i * 7_919),
                )
                .with_timezone("UTC"),
            ) as _,
        ),
        (
            "event_type",
            Arc::new(StringArray::from_iter_values((0..rows).map(|_| "purchase"))) as _,
        ),
        (
            "amount",
            Arc::new(Float64Array::from_iter_values(
                (0..rows).map(|i| (i % 9973) as f64 / 7.0),
            )) as _,
        ),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large-row-group.parquet");
    let props = WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(rows))
        .build();
    let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    let meta = w.close().unwrap();
    assert_eq!(meta.num_row_groups(), 1);
    let group = meta.row_group(0);
    assert!(group.total_byte_size() > 32 << 20, "{} bytes", group.total_byte_size());
    let good = clientele::io::read_table(&path).unwrap();

    // the first page header of the amount column: type DATA_PAGE, then a list of 2^31 i32
    let amount = group.column(3);
    let at = amount.data_page_offset() as usize;
    let mut bytes = std::fs::read(&path).unwrap();
    let damage = [0x15, 0x00, 0x19, 0xf5, 0x80, 0x80, 0x80, 0x80, 0x08];
    bytes[at..at + damage.len()].copy_from_slice(&damage);
    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, &bytes).unwrap();

    let mut ing = clientele::ingest::Ingestor::new(&Default::default()).unwrap();
    let e = ing.read_parquet(&bad).unwrap_err().to_string();
    assert!(
        e.contains("bad.parquet") && e.contains("row group 0, column 3") && e.contains("is damaged"),
        "{e}"
    );
    // the undamaged file reads through the same path
    let mut ing = clientele::ingest::Ingestor::new(&Default::default()).unwrap();
    ing.read_parquet(&path).unwrap();
    let (store, report) = ing.finish().unwrap();
    assert!(report.reconciles());
    assert_eq!(store.num_events(), good.num_rows());
}
