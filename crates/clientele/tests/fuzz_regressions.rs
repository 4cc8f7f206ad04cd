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
