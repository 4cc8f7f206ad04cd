//! A quote that is never closed costs one line, not the rest of the file: the line is rejected
//! with its number and every later line is read again as its own row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use clientele::ingest::{CsvOptions, IngestOptions, IngestReport, Ingestor, MAX_RECORD_BYTES, RejectReason};

fn ingest(text: &str, batch_rows: usize) -> (clientele::store::EventStore, IngestReport) {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    let csv = CsvOptions {
        batch_rows,
        ..Default::default()
    };
    ing.read_csv_reader(text.as_bytes(), "events.csv", &csv).unwrap();
    ing.finish().unwrap()
}

fn rows(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{},2024-01-{:02},purchase,{}.50", 1 + i % 997, 1 + i % 28, i % 90))
        .collect()
}

fn file(lines: &[String]) -> String {
    let mut s = String::from("customer_id,event_time,event_type,amount\n");
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s
}

fn unterminated(r: &IngestReport) -> Vec<String> {
    r.rejections
        .iter()
        .filter(|x| x.reason == RejectReason::UnterminatedQuote)
        .map(|x| x.value.clone().unwrap_or_default())
        .collect()
}

#[test]
fn one_unbalanced_quote_in_200000_rows_rejects_one_line() {
    let mut lines = rows(200_000);
    lines[4] = "5,2024-01-05,\"purchase,10.00".to_string(); // data line 5 = physical line 6
    for batch in [1 << 18, 1_000, 7] {
        let (store, r) = ingest(&file(&lines), batch);
        assert_eq!(r.rows_read, 200_000, "batch {batch}");
        assert_eq!((r.rows_accepted, r.rows_rejected), (199_999, 1), "batch {batch}");
        assert!(r.reconciles());
        assert_eq!(store.num_events(), 199_999);
        let bad = unterminated(&r);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].starts_with("line 6: 5,2024-01-05,\"purchase"), "{bad:?}");
        assert_eq!(r.rejections[0].row, 5);
    }
}

#[test]
fn a_quote_closed_lines_later_costs_only_its_first_line() {
    let mut lines = rows(50);
    lines[10] = "11,2024-01-11,\"purchase,1.00".to_string();
    lines[13] = "14,2024-01-14,purchase\",1.00".to_string(); // the stray closing quote
    let (_, r) = ingest(&file(&lines), 1 << 18);
    assert_eq!(r.rows_read, 50);
    assert!(r.reconciles());
    // line 11 is the runaway; line 14 on its own has a quote inside an unquoted field (read
    // as text: "purchase\"" is a valid, non-purchase event type)
    assert_eq!(unterminated(&r).len(), 1, "{:?}", r.rejections);
    assert_eq!(r.rows_rejected, 1);
}

#[test]
fn a_quote_open_at_the_end_of_the_file_rejects_the_last_line_only() {
    let mut lines = rows(20);
    lines[19] = "3,2024-01-03,\"purchase,1.00".to_string();
    let (_, r) = ingest(&file(&lines), 1 << 18);
    assert_eq!((r.rows_read, r.rows_accepted, r.rows_rejected), (20, 19, 1));
    lines[18] = "3,2024-01-03,\"purchase,1.00".to_string();
    lines[19] = "4,2024-01-04,purchase,2.00".to_string();
    let (_, r) = ingest(&file(&lines), 1 << 18);
    assert_eq!((r.rows_read, r.rows_accepted, r.rows_rejected), (20, 19, 1));
}

#[test]
fn quoted_line_breaks_within_the_limits_are_kept() {
    let text = "customer_id,event_time,event_type,amount,note\n\
                1,2024-01-01,purchase,1.00,\"two\nlines\"\n\
                2,2024-01-02,purchase,2.00,plain\n";
    let (store, r) = ingest(text, 1 << 18);
    assert_eq!((r.rows_read, r.rows_accepted), (2, 2));
    assert_eq!(store.num_events(), 2);
}

#[test]
fn an_over_long_field_is_rejected_and_reading_goes_on() {
    let huge = "x".repeat(usize::try_from(MAX_RECORD_BYTES).unwrap() + 10);
    let mut lines = rows(10);
    lines[3] = format!("4,2024-01-04,\"{huge}\",1.00");
    let (_, r) = ingest(&file(&lines), 1 << 18);
    assert_eq!((r.rows_read, r.rows_accepted, r.rows_rejected), (10, 9, 1));
    assert_eq!(unterminated(&r).len(), 1);
    let shown = &unterminated(&r)[0];
    assert!(shown.len() < 300, "the report keeps a prefix of the line");
}

#[test]
fn a_header_naming_a_read_column_twice_is_an_error() {
    let text = "customer_id,event_time,amount,event_type,amount\n1,2024-01-01,1.0,purchase,2.0\n";
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    let err = ing
        .read_csv_reader(text.as_bytes(), "dup.csv", &CsvOptions::default())
        .unwrap_err();
    assert!(
        err.to_string().contains("column `amount` twice (columns 3 and 5)"),
        "{err}"
    );
    // a repeated column nobody reads is fine
    let text = "customer_id,event_time,note,note\n1,2024-01-01,a,b\n";
    let (_, r) = ingest(text, 1 << 18);
    assert_eq!(r.rows_accepted, 1);
}

#[test]
fn the_reject_share_limit() {
    let (_, r) = ingest(
        &file(&["1,2024-01-01,purchase,1.0".into(), "x,,purchase,2".into()]),
        1 << 18,
    );
    assert_eq!(r.rows_rejected, 1);
    assert!(r.check_reject_share(0.5).is_ok());
    let err = r.check_reject_share(0.25).unwrap_err();
    assert!(
        matches!(
            err,
            clientele::Error::TooManyRejections {
                rejected: 1,
                read: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(r.check_reject_share(1.5).is_err(), "the limit is a share");
    let (_, all) = ingest(&file(&["x,,purchase,2".into()]), 1 << 18);
    assert!(
        all.check_reject_share(1.0).is_err(),
        "every row rejected fails whatever the limit"
    );
}
