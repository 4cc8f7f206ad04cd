//! The `clientele` binary, run as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clientele"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "clientele {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The generated RFM test events (testdata/rfm/events.parquet), as a string argument.
fn rfm_events() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/rfm/events.parquet")
        .display()
        .to_string()
}

fn cdnow() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/cdnow/CDNOW_sample.txt")
}

const CDNOW_FLAGS: [&str; 12] = [
    "--no-header",
    "--delimiter",
    "whitespace",
    "--columns",
    "masterid,sampleid,date,cds,dollars",
    "--customer-col",
    "masterid",
    "--time-col",
    "date",
    "--amount-col",
    "dollars",
    "--time-format=%Y%m%d",
];

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn demo_needs_no_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("demo.html");
    let out = ok(&["demo", "--customers", "300", "--report", report.to_str().unwrap()]);
    assert!(
        out.contains("charts, ") && out.contains(report.to_str().unwrap()),
        "{out}"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("data-section=\"churn\""),
        "the demo's report has every section"
    );
    assert!(
        out.contains("6919 rows read, 6919 accepted, 0 rejected -> 2357 customers"),
        "{out}"
    );
    assert!(
        out.contains("2457 in calibration by 946 repeat buyers; 1882 in the 39-week holdout"),
        "{out}"
    );
    assert!(out.contains("$35.08"), "{out}");
}

#[test]
fn generate_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["parquet", "csv"] {
        let a = dir.path().join(format!("a.{ext}"));
        let b = dir.path().join(format!("b.{ext}"));
        let c = dir.path().join(format!("c.{ext}"));
        ok(&[
            "generate",
            "--customers",
            "500",
            "--seed",
            "7",
            "--out",
            a.to_str().unwrap(),
        ]);
        ok(&[
            "--threads",
            "1",
            "generate",
            "--customers",
            "500",
            "--seed",
            "7",
            "--out",
            b.to_str().unwrap(),
        ]);
        ok(&[
            "generate",
            "--customers",
            "500",
            "--seed",
            "8",
            "--out",
            c.to_str().unwrap(),
        ]);
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "{ext}");
        assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap(), "{ext}");
    }
}

#[test]
fn summary_of_cdnow_from_a_file_and_from_a_store_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("summary.json");
    let cdnow = cdnow();
    let mut args = vec!["summary", "--input", cdnow.to_str().unwrap()];
    args.extend(CDNOW_FLAGS);
    args.extend([
        "--calibration-end",
        "1997-09-30",
        "--observation-end",
        "1998-06-30",
        "--period",
        "day",
        "--time-unit",
        "week",
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&args);
    let rows = json(&out);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2_357);
    let sum = |k: &str| rows.iter().map(|r| r[k].as_f64().unwrap()).sum::<f64>();
    assert_eq!(sum("frequency"), 2_457.0);
    assert_eq!(sum("frequency_holdout"), 1_882.0);
    assert_eq!(rows[0]["customer_id"], 4);

    let store = dir.path().join("store");
    let report = dir.path().join("report.json");
    let mut args = vec![
        "ingest",
        "--input",
        cdnow.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    args.extend(CDNOW_FLAGS);
    let printed = ok(&args);
    assert!(
        printed.contains("rows read 6919, accepted 6919, rejected 0"),
        "{printed}"
    );
    let r = json(&report);
    assert_eq!(
        (
            r["rows_read"].as_u64(),
            r["rows_accepted"].as_u64(),
            r["rows_rejected"].as_u64()
        ),
        (Some(6_919), Some(6_919), Some(0))
    );
    let out2 = dir.path().join("summary2.json");
    ok(&[
        "summary",
        "--store",
        store.to_str().unwrap(),
        "--calibration-end",
        "1997-09-30",
        "--observation-end",
        "1998-06-30",
        "--time-unit",
        "week",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(&out2).unwrap()
    );
    // Without --out: a table on stdout.
    let table = ok(&[
        "summary",
        "--store",
        store.to_str().unwrap(),
        "--calibration-end",
        "1997-09-30",
        "--rows",
        "3",
    ]);
    assert!(table.starts_with("customer_id"), "{table}");
    assert!(table.contains("... 2354 more rows"), "{table}");
    // Parquet and CSV outputs.
    for ext in ["parquet", "csv"] {
        let p = dir.path().join(format!("s.{ext}"));
        ok(&[
            "summary",
            "--store",
            store.to_str().unwrap(),
            "--calibration-end",
            "1997-09-30",
            "--out",
            p.to_str().unwrap(),
        ]);
        assert!(std::fs::metadata(&p).unwrap().len() > 10_000);
    }
    let csv = std::fs::read_to_string(dir.path().join("s.csv")).unwrap();
    assert!(csv.starts_with("customer_id,first_event,last_event,first_purchase,last_purchase,purchase_count,frequency,recency,T,monetary_value,total_spend,count_purchase\n"), "{}", &csv[..200]);
}

#[test]
fn ingest_reports_and_strict_mode() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.csv");
    std::fs::write(&input, "customer_id,event_time,event_type,amount\n1,2024-01-01,purchase,5\n,2024-01-02,purchase,5\n2,2024-13-01,purchase,5\n3,2024-01-03,web_visit,\n").unwrap();
    let store = dir.path().join("store");
    let report = dir.path().join("report.json");
    let printed = ok(&[
        "ingest",
        "--input",
        input.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(printed.contains("rows read 4, accepted 2, rejected 2"), "{printed}");
    let r = json(&report);
    assert_eq!(r["rejected_by_reason"]["empty_customer_id"], 1);
    assert_eq!(r["rejected_by_reason"]["unparseable_event_time"], 1);
    assert_eq!(r["rejections"][1]["row"], 3);
    assert_eq!(r["rejections"][1]["column"], "event_time");
    let out = run(&[
        "ingest",
        "--strict",
        "--input",
        input.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("row 2, column `customer_id`: customer id is empty"),
        "{err}"
    );
    // Appending the same file again is refused, and nothing is written.
    let append = |file: &Path| {
        run(&[
            "ingest",
            "--append",
            "--input",
            file.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
    };
    let out = append(&input);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("has the same bytes as")
            && err.contains("2 rows accepted from it")
            && err.contains("nothing appended"),
        "{err}"
    );
    // New events (one new customer) become a segment; the store then holds both.
    let later = dir.path().join("later.csv");
    std::fs::write(
        &later,
        "customer_id,event_time,event_type,amount\n1,2024-02-01,purchase,7\n9,2024-02-02,purchase,3\n",
    )
    .unwrap();
    let out = append(&later);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        printed.contains("appended 2 events of 2 customers (1 new) as segment a1")
            && printed.contains("the store holds 3 customers, 4 events, 1 segment(s)"),
        "{printed}"
    );
    let r = json(&report);
    assert_eq!(r["append"]["segment"], "a1");
    assert_eq!(r["append"]["new_customers"], 1);
    assert_eq!(r["rows_accepted"], 2);
    assert!(!append(&later).status.success());
    let summary = |name: &str| {
        let out = dir.path().join(name);
        ok(&[
            "summary",
            "--store",
            store.to_str().unwrap(),
            "--calibration-end",
            "2024-03-01",
            "--out",
            out.to_str().unwrap(),
        ]);
        std::fs::read_to_string(out).unwrap()
    };
    let appended = summary("appended.csv");
    // customers 1 and 9 (3 has no purchase)
    assert_eq!(appended.lines().count(), 3, "{appended}");
    assert!(appended.contains("\n9,2024-02-02"), "{appended}");
    let printed = ok(&["compact", "--store", store.to_str().unwrap()]);
    assert!(
        printed.contains("folded 1 segment(s)") && printed.contains("3 customers, 4 events"),
        "{printed}"
    );
    assert_eq!(summary("compacted.csv"), appended);
    assert!(ok(&["compact", "--store", store.to_str().unwrap()]).contains("nothing to do"));
}

#[test]
fn a_parquet_store_takes_appends_as_segments_unless_another_format_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let first = write(
        "first.csv",
        "customer_id,event_time,event_type,amount\n1,2024-01-05,purchase,10\n2,2024-01-06,purchase,4\n",
    );
    let later = write(
        "later.csv",
        "customer_id,event_time,event_type,amount\n2,2024-02-01,purchase,7\n",
    );
    let last = write(
        "last.csv",
        "customer_id,event_time,event_type,amount\n5,2024-02-03,purchase,1\n",
    );
    ok(&[
        "ingest",
        "--input",
        first.to_str().unwrap(),
        "--store",
        s,
        "--store-format",
        "parquet",
    ]);
    let storage = || json(&store.join("manifest.json"))["storage"].clone();
    assert_eq!(storage(), "parquet");
    // Left out, --store-format keeps the store's format: the new events become a segment.
    let printed = ok(&["ingest", "--append", "--input", later.to_str().unwrap(), "--store", s]);
    assert!(
        printed.contains("as segment a1") && printed.contains("the store holds 2 customers, 3 events"),
        "{printed}"
    );
    assert_eq!(storage(), "parquet");
    assert!(store.join("appends").join("a1").join("manifest.json").exists());
    // Another format asked for: the store is rebuilt in it, segments folded in.
    let printed = ok(&[
        "ingest",
        "--append",
        "--input",
        last.to_str().unwrap(),
        "--store",
        s,
        "--store-format",
        "ipc",
    ]);
    assert!(printed.contains("saved"), "{printed}");
    assert_eq!(storage(), "ipc");
    assert!(!store.join("appends").exists());
    let out = dir.path().join("s.csv");
    ok(&[
        "summary",
        "--store",
        s,
        "--calibration-end",
        "2024-03-01",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(out).unwrap().lines().count(), 4);
}

#[test]
fn errors_are_clear() {
    let out = run(&["summary", "--input", "events.xlsx", "--calibration-end", "2024-01-01"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown extension"));
    let out = run(&["summary", "--store", "/nonexistent", "--calibration-end", "2024-01-01"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/manifest.json"));
    let out = run(&[
        "summary",
        "--store",
        "x",
        "--calibration-end",
        "2024-01-01",
        "--period",
        "fortnight",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid parameter `period`"));
}

#[test]
fn rfm_command_matches_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rfm.csv");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/rfm");
    let events = root.join("events.parquet");
    ok(&[
        "rfm",
        "--input",
        events.to_str().unwrap(),
        "--as-of",
        "2025-07-01",
        "--bins",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    let ours = std::fs::read_to_string(&out).unwrap();
    let golden = std::fs::read_to_string(root.join("duckdb_rfm.csv")).unwrap();
    assert!(
        ours.starts_with(
            "customer_id,recency_days,frequency,monetary,t_days,r_score,f_score,m_score,rfm_code,segment\n"
        )
    );
    let (ours, golden): (Vec<&str>, Vec<&str>) = (ours.lines().skip(1).collect(), golden.lines().skip(1).collect());
    assert_eq!(ours.len(), golden.len());
    for (a, b) in ours.iter().zip(&golden) {
        let a: Vec<f64> = a.split(',').take(9).map(|v| v.parse().unwrap()).collect();
        let b: Vec<f64> = b.split(',').map(|v| v.parse().unwrap()).collect();
        assert_eq!(&a[..8], &b[..], "{a:?} vs {b:?}");
        assert_eq!(a[8], 100.0 * a[5] + 10.0 * a[6] + a[7]);
    }
    // Without --out: the score distribution and the segment table.
    let printed = ok(&["rfm", "--input", events.to_str().unwrap(), "--as-of", "2025-07-01"]);
    assert!(
        printed.contains("recency                 300      300      300      300      300"),
        "{printed}"
    );
    assert!(printed.contains("Champions"), "{printed}");
    // A custom segment file; a bad one names the rule and field.
    let rules = dir.path().join("rules.json");
    std::fs::write(
        &rules,
        r#"{"name": "two", "default": "rest", "rules": [{"segment": "best", "codes": ["555"]}]}"#,
    )
    .unwrap();
    let printed = ok(&[
        "rfm",
        "--input",
        events.to_str().unwrap(),
        "--as-of",
        "2025-07-01",
        "--segments",
        rules.to_str().unwrap(),
    ]);
    assert!(printed.contains("best") && printed.contains("rest"), "{printed}");
    std::fs::write(
        &rules,
        r#"{"name": "two", "default": "rest", "rules": [{"segment": "best", "recency": [5, 1]}]}"#,
    )
    .unwrap();
    let out = run(&[
        "rfm",
        "--input",
        events.to_str().unwrap(),
        "--as-of",
        "2025-07-01",
        "--segments",
        rules.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("segment rule 1 (\"best\"), field `recency`"), "{err}");
}

#[test]
fn rfm_quantile_and_breaks_scoring() {
    let events = rfm_events();
    let ev = events.as_str();
    let q = ok(&["rfm", "--input", ev, "--as-of", "2025-07-01", "--scoring", "quantile"]);
    assert!(q.contains("(orders mode, quantile scoring)"), "{q}");
    // btyd mode with weekly periods and a TOML rule file.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "name = \"repeaters\"\ndefault = \"one-off\"\n[[rules]]\nsegment = \"frequent\"\nfrequency = [4, 5]\n",
    )
    .unwrap();
    let out = dir.path().join("btyd.json");
    let printed = ok(&[
        "rfm",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--mode",
        "btyd",
        "--period",
        "week",
        "--segments",
        rules.to_str().unwrap(),
    ]);
    assert!(printed.contains("(btyd mode, ntile scoring)"), "{printed}");
    assert!(printed.contains("frequent") && printed.contains("one-off"), "{printed}");
    ok(&[
        "rfm",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--mode",
        "btyd",
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1_500);
    let orders_out = dir.path().join("orders.json");
    ok(&[
        "rfm",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--out",
        orders_out.to_str().unwrap(),
    ]);
    let orders: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&orders_out).unwrap()).unwrap();
    // Same customers; btyd frequency counts repeat purchase days, so it is below the orders
    // count, and recency agrees (the generated purchases are not at midnight).
    for (b, o) in rows.iter().zip(orders.as_array().unwrap()) {
        assert_eq!(b["customer_id"], o["customer_id"]);
        assert!(b["frequency"].as_i64().unwrap() < o["frequency"].as_i64().unwrap());
        assert_eq!(b["recency_days"], o["recency_days"]);
    }
    std::fs::write(
        &rules,
        "name = \"r\"\ndefault = \"d\"\n[[rules]]\nsegment = \"x\"\nfrequncy = [1, 2]\n",
    )
    .unwrap();
    let bad = run(&[
        "rfm",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--segments",
        rules.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("toml:") && err.contains("frequncy"), "{err}");
    let b = ok(&[
        "rfm",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--scoring",
        "breaks",
        "--recency-breaks",
        "30,90,180,365",
        "--frequency-breaks",
        "2,3,5,8",
        "--monetary-breaks",
        "50,100,250,500",
    ]);
    // Every customer gets exactly one score per axis: each row of counts sums to 1,500.
    for axis in ["recency", "frequency", "monetary"] {
        let line = b.lines().find(|l| l.trim_start().starts_with(axis)).unwrap();
        let total: u64 = line.split_whitespace().skip(1).map(|n| n.parse::<u64>().unwrap()).sum();
        assert_eq!(total, 1_500, "{line}");
    }
    let out = run(&["rfm", "--input", ev, "--as-of", "2025-07-01", "--scoring", "breaks"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--recency-breaks"));
    let out = run(&[
        "rfm",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--scoring",
        "breaks",
        "--recency-breaks",
        "9,1",
        "--frequency-breaks",
        "1",
        "--monetary-breaks",
        "1",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid parameter `breaks`"));
}

#[test]
fn report_segments() {
    let dir = tempfile::tempdir().unwrap();
    let events = rfm_events();
    let ev = events.as_str();
    let printed = ok(&["report", "segments", "--input", ev, "--as-of", "2025-07-01"]);
    for column in [
        "customers",
        "revenue_share",
        "orders",
        "mean_recency_days",
        "avg_satisfaction",
        "complaint_rate",
        "campaign_response_rate",
        "dominant_channel",
    ] {
        assert!(printed.contains(column), "{column}: {printed}");
    }
    assert!(printed.lines().nth(3).unwrap().starts_with("Champions"), "{printed}");
    let out = dir.path().join("deciles.json");
    ok(&[
        "report",
        "segments",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--by",
        "deciles",
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0]["segment"], "decile_1");
    assert_eq!(
        rows.iter().map(|r| r["customers"].as_u64().unwrap()).sum::<u64>(),
        1_500
    );
    let share: f64 = rows.iter().map(|r| r["revenue_share"].as_f64().unwrap()).sum();
    assert!((share - 1.0).abs() < 1e-9);
    // Deciles by revenue: mean monetary falls from the first decile to the last.
    let m: Vec<f64> = rows.iter().map(|r| r["mean_monetary"].as_f64().unwrap()).collect();
    assert!(m.windows(2).all(|w| w[0] >= w[1]), "{m:?}");
    // The report's orders equal the RFM table's purchase counts.
    let rfm_out = dir.path().join("rfm.json");
    ok(&[
        "rfm",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--out",
        rfm_out.to_str().unwrap(),
    ]);
    let rfm: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&rfm_out).unwrap()).unwrap();
    let orders: i64 = rfm
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["frequency"].as_i64().unwrap())
        .sum();
    assert_eq!(rows.iter().map(|r| r["orders"].as_i64().unwrap()).sum::<i64>(), orders);
}

#[test]
fn segment_tiers() {
    let dir = tempfile::tempdir().unwrap();
    let events = rfm_events();
    let ev = events.as_str();
    let printed = ok(&[
        "segment",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--tiers",
        "pareto",
        "--top-share",
        "0.2",
    ]);
    assert!(printed.contains("top                 300"), "{printed}");
    assert!(printed.contains("rest               1200"), "{printed}");
    let out = dir.path().join("tiers.json");
    ok(&[
        "segment",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--tiers",
        "deciles",
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1_500);
    assert_eq!(rows[0]["tier"], "decile_1");
    assert_eq!(rows[0]["revenue_rank"], 1);
    assert_eq!(rows[1_499]["tier"], "decile_10");
    assert!((rows[1_499]["cumulative_revenue_share"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    let bad = run(&[
        "segment",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--tiers",
        "pareto",
        "--top-share",
        "1.5",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid parameter `top_share`"));
}

#[test]
fn segment_kmeans_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let events = rfm_events();
    let ev = events.as_str();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    ok(&[
        "segment",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--kmeans",
        "5",
        "--seed",
        "9",
        "--log",
        "--out",
        a.to_str().unwrap(),
    ]);
    ok(&[
        "--threads",
        "1",
        "segment",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--kmeans",
        "5",
        "--seed",
        "9",
        "--log",
        "--out",
        b.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&a).unwrap();
    assert_eq!(text, std::fs::read_to_string(&b).unwrap());
    assert!(text.starts_with("customer_id,cluster,recency_days,frequency,monetary\n"));
    assert_eq!(text.lines().count(), 1_501);
    let printed = ok(&[
        "segment",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--kmeans",
        "3",
        "--features",
        "frequency,monetary",
    ]);
    let sizes: u64 = printed
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(sizes, 1_500, "{printed}");
    let bad = run(&[
        "segment",
        "--input",
        ev,
        "--as-of",
        "2025-07-01",
        "--kmeans",
        "3",
        "--features",
        "nope",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no column `nope` in the RFM table"));
}

/// The CDNOW flags plus the published weekly calibration.
fn cdnow_model_args<'a>(cdnow: &'a str, command: &'a str) -> Vec<&'a str> {
    let mut args = vec![command, "--input", cdnow];
    args.extend(CDNOW_FLAGS);
    args.extend(["--calibration-end", "1997-09-30", "--time-unit", "week"]);
    args
}

#[test]
fn fit_predict_and_clv_reproduce_the_published_cdnow_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let cdnow = cdnow();
    let cd = cdnow.to_str().unwrap();
    // BG/NBD (Fader, Hardie & Lee 2005): r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4.
    let model = dir.path().join("bgnbd.json");
    let mut args = cdnow_model_args(cd, "fit");
    args.extend(["--model", "bgnbd", "--out", model.to_str().unwrap()]);
    let printed = ok(&args);
    assert!(printed.contains("log-likelihood -9582.429"), "{printed}");
    let saved = json(&model);
    assert_eq!(saved["model"], "bgnbd");
    for (name, published) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        let v = saved["params"][name].as_f64().unwrap();
        assert!((v - published).abs() < 5e-4, "{name} {v}");
    }
    // Gamma-Gamma on the 946 repeat buyers (Fader & Hardie 2013): p 6.25, q 3.74, gamma 15.44.
    let mut args = cdnow_model_args(cd, "fit");
    args.extend(["--model", "gg"]);
    let printed = ok(&args);
    assert!(
        printed.contains("946 repeat customers") && printed.contains("log-likelihood -4055.9177"),
        "{printed}"
    );
    // check: calibration vs holdout, period transactions, matrices and tracking as tables
    let checks = dir.path().join("checks");
    let mut args = cdnow_model_args(cd, "check");
    args.extend([
        "--model",
        model.to_str().unwrap(),
        "--observation-end",
        "1998-06-30",
        "--out-dir",
        checks.to_str().unwrap(),
    ]);
    let printed = ok(&args);
    assert!(
        printed.contains("calibration vs holdout") && printed.contains("period transactions"),
        "{printed}"
    );
    for name in [
        "calibration_vs_holdout",
        "period_transactions",
        "frequency_recency",
        "tracking",
    ] {
        let text = std::fs::read_to_string(checks.join(format!("{name}.csv"))).unwrap();
        assert!(text.lines().count() > 1, "{name}: {text}");
    }
    // the observed tracking curve beside the expected one: CDNOW's 2,457 calibration and 1,882
    // holdout repeat purchases, less those of the window's last, partial week
    assert!(printed.contains("tracking: after 77 time units"), "{printed}");
    let tracking = std::fs::read_to_string(checks.join("tracking.csv")).unwrap();
    let header: Vec<&str> = tracking.lines().next().unwrap().split(',').collect();
    assert_eq!(
        header,
        [
            "time",
            "expected_cumulative",
            "expected_incremental",
            "actual_incremental",
            "actual_cumulative"
        ]
    );
    let last: f64 = tracking
        .lines()
        .last()
        .unwrap()
        .split(',')
        .nth(4)
        .unwrap()
        .parse()
        .unwrap();
    assert!((4_200.0..=4_339.0).contains(&last), "{last}");
    // predict from a summary file: E[Y(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226 for customer 4.
    let summary = dir.path().join("summary.csv");
    let mut args = cdnow_model_args(cd, "summary");
    args.extend(["--out", summary.to_str().unwrap()]);
    ok(&args);
    let scored = dir.path().join("scored.json");
    ok(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
        "--horizon",
        "39",
        "--out",
        scored.to_str().unwrap(),
    ]);
    let rows = json(&scored);
    let first = &rows.as_array().unwrap()[0];
    assert_eq!(first["customer_id"], 4);
    assert!(
        (first["expected_purchases"].as_f64().unwrap() - 1.226).abs() < 1e-3,
        "{first}"
    );
    // clv: the table and both fitted models.
    let (out, models) = (dir.path().join("clv.csv"), dir.path().join("models.json"));
    let mut args = cdnow_model_args(cd, "clv");
    args.extend([
        "--horizon-months",
        "12",
        "--discount-monthly",
        "0.01",
        "--out",
        out.to_str().unwrap(),
        "--model-out",
        models.to_str().unwrap(),
    ]);
    ok(&args);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with(
        "customer_id,frequency,recency,T,monetary_value,p_alive,expected_purchases,expected_spend,clv,churn_risk,risk_tier\n"
    ));
    assert_eq!(text.lines().count(), 2_358);
    // Churn risk = 1 - P(alive) under MBG/NBD (BG/NBD's P(alive) is 1 for every one-time
    // buyer), tiered at 0.5 and 0.8 by default.
    let mut one_time_risks = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (x, t, p_alive, risk): (f64, f64, f64, f64) = (
            f[1].parse().unwrap(),
            f[3].parse().unwrap(),
            f[5].parse().unwrap(),
            f[9].parse().unwrap(),
        );
        assert!((0.0..=1.0).contains(&risk), "{line}");
        let tier = if risk < 0.5 {
            "low"
        } else if risk < 0.8 {
            "medium"
        } else {
            "high"
        };
        assert_eq!(f[10], tier, "{line}");
        if x == 0.0 {
            assert_eq!(p_alive, 1.0, "BG/NBD: {line}");
            one_time_risks.push((t, risk));
        }
    }
    // One-time buyers: the longer ago the first purchase, the higher the risk, and never 0.
    one_time_risks.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(one_time_risks.windows(2).all(|w| w[0].1 <= w[1].1 + 1e-12));
    assert!(one_time_risks.iter().all(|r| r.1 > 0.0));
    let m = json(&models);
    assert_eq!(m["format"], "clientele-models");
    assert_eq!(m["window"]["time_unit"], "week");
    assert_eq!(m["risk"]["model"], "mbgnbd");
    assert_eq!(m["discounting"]["convention"], "discrete_monthly");
    assert!((m["purchase"]["params"]["r"].as_f64().unwrap() - 0.243).abs() < 5e-4);
    assert!((m["spend"]["params"]["q"].as_f64().unwrap() - 3.74).abs() < 5e-3);
    // Fit once, score many: the saved models give the same table without refitting.
    let again = dir.path().join("clv-again.csv");
    let mut args = cdnow_model_args(cd, "clv");
    args.extend(["--models", models.to_str().unwrap(), "--out", again.to_str().unwrap()]);
    ok(&args);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), text);
    // predict reads the model set clv writes, with the horizon's unit.
    let scored = dir.path().join("scored-set.json");
    ok(&[
        "predict",
        "--model",
        models.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
        "--horizon",
        "39w",
        "--out",
        scored.to_str().unwrap(),
    ]);
    let set_rows = json(&scored);
    let first = &set_rows.as_array().unwrap()[0];
    assert!(
        (first["expected_purchases"].as_f64().unwrap() - 1.226).abs() < 1e-3,
        "{first}"
    );
    assert!(first["expected_spend"].as_f64().unwrap() > 0.0, "{first}");
    // A summary prepared with another time unit is refused.
    let bad = run(&[
        "predict",
        "--model",
        models.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
        "--time-unit",
        "day",
        "--horizon",
        "12m",
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("prepare it the same way"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // Continuous discounting needs a model with a DERT: BG/NBD is refused with a clear error.
    let mut args = cdnow_model_args(cd, "clv");
    args.extend(["--discount-continuous", "0.0027"]);
    let bad = run(&args);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("needs the Pareto/NBD model"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let mut args = cdnow_model_args(cd, "clv");
    args.extend(["--model", "pnbd", "--discount-continuous", "0.0027"]);
    let printed = ok(&args);
    assert!(
        printed.contains("Pareto/NBD") && printed.contains("Continuous"),
        "{printed}"
    );
}

#[test]
fn retention_reproduces_fader_hardie_2007() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("sbg.json");
    // The "regular" cohort, years 0-7 (Fader & Hardie 2007): alpha 0.704, beta 1.182.
    let printed = ok(&[
        "retention",
        "--survivors",
        "1000,631,468,382,326,289,262,241",
        "--horizon",
        "12",
        "--margin",
        "100",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(
        printed.contains("alpha 0.704") && printed.contains("beta  1.182"),
        "{printed}"
    );
    assert!(
        printed.contains("(projected)") && printed.contains("subscription CLV"),
        "{printed}"
    );
    let saved = json(&model);
    assert_eq!(saved["model"], "sbg");
    assert!((saved["params"]["alpha"].as_f64().unwrap() - 0.704).abs() < 1e-3);
    // The same cohort as per-customer churn periods: 369 left in year 1, 163 in year 2, ...
    let counts = [1000, 631, 468, 382, 326, 289, 262, 241];
    let mut csv = String::from("customer,churn_period\n");
    let mut id = 0;
    for t in 1..counts.len() {
        for _ in 0..counts[t - 1] - counts[t] {
            id += 1;
            csv.push_str(&format!("{id},{t}\n"));
        }
    }
    for _ in 0..counts[7] {
        id += 1;
        csv.push_str(&format!("{id},\n"));
    }
    let input = dir.path().join("churn.csv");
    std::fs::write(&input, csv).unwrap();
    let printed = ok(&["retention", "--input", input.to_str().unwrap(), "--periods", "7"]);
    assert!(
        printed.contains("alpha 0.704") && printed.contains("beta  1.182"),
        "{printed}"
    );
    let bad = run(&["retention", "--survivors", "1000"]);
    assert!(!bad.status.success());
}

#[test]
fn churn_train_score_evaluate_and_triggers() {
    let dir = tempfile::tempdir().unwrap();
    let events = rfm_events();
    let ev = events.as_str();
    let model = dir.path().join("churn.json");
    let printed = ok(&[
        "churn",
        "train",
        "--input",
        ev,
        "--cutoff",
        "2025-07-01",
        "--horizon-days",
        "90",
        "--balanced",
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(
        printed.contains("feature importance") && printed.contains("recency_days"),
        "{printed}"
    );
    assert!(
        printed.contains("ROC AUC") && printed.contains("top decile"),
        "{printed}"
    );
    assert_eq!(json(&model)["model"], "churn_logistic");
    // BG/NBD features join the others; a model trained with them needs them when evaluated.
    let with_btyd = dir.path().join("churn-btyd.json");
    let printed = ok(&[
        "churn",
        "train",
        "--input",
        ev,
        "--cutoff",
        "2025-07-01",
        "--btyd",
        "--out",
        with_btyd.to_str().unwrap(),
    ]);
    assert!(
        printed.contains("p_alive") && printed.contains("expected_purchases"),
        "{printed}"
    );
    // The model records its BG/NBD setting, so evaluating it needs no flag.
    assert_eq!(json(&with_btyd)["params"]["btyd"]["used"]["weeks"], 13.0);
    let evaluated = ok(&[
        "churn",
        "evaluate",
        "--input",
        ev,
        "--model",
        with_btyd.to_str().unwrap(),
        "--cutoff",
        "2025-09-01",
    ]);
    assert!(evaluated.contains("held-out evaluation"), "{evaluated}");
    let evaluated = ok(&[
        "churn",
        "evaluate",
        "--input",
        ev,
        "--model",
        model.to_str().unwrap(),
        "--cutoff",
        "2025-09-01",
    ]);
    assert!(
        evaluated.contains("held-out evaluation") && evaluated.contains("calibration"),
        "{evaluated}"
    );
    let scores = dir.path().join("scores.csv");
    ok(&[
        "churn",
        "score",
        "--input",
        ev,
        "--model",
        model.to_str().unwrap(),
        "--as-of",
        "2025-12-01",
        "--out",
        scores.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&scores).unwrap();
    assert!(text.starts_with("customer_id,churn_probability\n"), "{text}");
    let probabilities: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(!probabilities.is_empty() && probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
    // Triggers over the scores: every customer at or above 0.5 fires "at-risk" exactly once.
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\nname = \"at-risk\"\nwhen = \"churn_probability >= 0.5\"\naction = \"call\"\n",
    )
    .unwrap();
    let fired = dir.path().join("fired.json");
    ok(&[
        "triggers",
        "--rules",
        rules.to_str().unwrap(),
        "--table",
        scores.to_str().unwrap(),
        "--out",
        fired.to_str().unwrap(),
    ]);
    let fired = json(&fired);
    let expected = probabilities.iter().filter(|p| **p >= 0.5).count();
    assert_eq!(fired.as_array().unwrap().len(), expected);
    if expected > 0 {
        assert_eq!(fired[0]["action"], "call");
    }
    // An unknown column is refused with the rule's name.
    std::fs::write(
        &rules,
        "[[rules]]\nname = \"typo\"\nwhen = \"churn_prob >= 0.5\"\naction = \"call\"\n",
    )
    .unwrap();
    let bad = run(&[
        "triggers",
        "--rules",
        rules.to_str().unwrap(),
        "--table",
        scores.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("trigger rule \"typo\"") && err.contains("unknown column `churn_prob`"),
        "{err}"
    );
}

#[test]
fn churn_score_uses_the_btyd_weeks_saved_with_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let events = rfm_events();
    let ev = events.as_str();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let model = path("btyd26.json");
    ok(&[
        "churn",
        "train",
        "--input",
        ev,
        "--cutoff",
        "2025-07-01",
        "--btyd",
        "--btyd-weeks",
        "26",
        "--out",
        &model,
    ]);
    assert_eq!(json(Path::new(&model))["params"]["btyd"]["used"]["weeks"], 26.0);
    let score = |model: &str, out: &str, extra: &[&str]| {
        let mut args = vec![
            "churn",
            "score",
            "--input",
            ev,
            "--model",
            model,
            "--as-of",
            "2025-12-01",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let read = |p: &str| std::fs::read_to_string(p).unwrap();
    // No flags: the saved 26 weeks are used, exactly as when they are given again.
    assert!(score(&model, &path("plain.csv"), &[]).status.success());
    assert!(
        score(&model, &path("same.csv"), &["--btyd", "--btyd-weeks", "26"])
            .status
            .success()
    );
    assert_eq!(read(&path("plain.csv")), read(&path("same.csv")));
    // Other weeks than the model was trained with: a clear error, no output.
    let bad = score(&model, &path("bad.csv"), &["--btyd-weeks", "13"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("trained with BG/NBD expected purchases over 26 weeks, not 13"),
        "{err}"
    );
    assert!(!dir.path().join("bad.csv").exists());
    // The 13-week features give other scores than the 26-week ones the model was trained on
    // (what scoring used to do silently): an older model file without the setting, scored
    // with --btyd alone, takes the 13-week default.
    let mut old = json(Path::new(&model));
    old["params"].as_object_mut().unwrap().remove("btyd");
    let old_model = path("old.json");
    std::fs::write(&old_model, serde_json::to_string(&old).unwrap()).unwrap();
    let legacy = score(&old_model, &path("legacy13.csv"), &["--btyd"]);
    assert!(legacy.status.success());
    assert!(String::from_utf8_lossy(&legacy.stderr).contains("does not record its BG/NBD setting; using 13 weeks"));
    assert_ne!(read(&path("legacy13.csv")), read(&path("plain.csv")));
    assert!(
        score(&old_model, &path("legacy26.csv"), &["--btyd-weeks", "26"])
            .status
            .success()
    );
    assert_eq!(read(&path("legacy26.csv")), read(&path("plain.csv")));
    // A model trained without BG/NBD features refuses them.
    let off = path("off.json");
    ok(&["churn", "train", "--input", ev, "--cutoff", "2025-07-01", "--out", &off]);
    assert_eq!(json(Path::new(&off))["params"]["btyd"], "off");
    let bad = score(&off, &path("off.csv"), &["--btyd"]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("trained without BG/NBD features"),
        "{err}"
    );
}

#[test]
fn ingest_fails_when_rows_are_mostly_rejected_and_threads_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "customer_id,event_time,event_type,amount\n1,never,purchase,1\n2,,purchase,2\n",
    )
    .unwrap();
    let store = dir.path().join("store");
    let report = dir.path().join("report.json");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "ingest",
            "--input",
            bad.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let all = args(&["--report", report.to_str().unwrap()]);
    let out = run(&all.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success(), "every row rejected must fail");
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of 2 rows rejected"));
    assert!(report.exists(), "the report is written before failing");
    assert!(!store.join("manifest.json").exists(), "nothing is saved");
    // one good row of three: passes by default, fails with a 10% limit
    std::fs::write(
        &bad,
        "customer_id,event_time,event_type,amount\n1,never,purchase,1\n2,2024-01-01,purchase,2\n3,,x,1\n",
    )
    .unwrap();
    ok(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    let limited = args(&["--max-reject-share", "0.1"]);
    let out = run(&limited.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("more than the 0.1 allowed"));
    let out = run(&["--threads", "20000", "generate", "--customers", "10", "--out", "x.csv"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid parameter `threads`"));
}

#[test]
fn outputs_never_overwrite_inputs() {
    let dir = tempfile::tempdir().unwrap();
    // a copy: the check under test guards the file
    let copy = dir.path().join("events.parquet");
    std::fs::copy(rfm_events(), &copy).unwrap();
    let events = copy.display().to_string();
    let before = std::fs::read(&events).unwrap();
    let out = run(&["rfm", "--input", &events, "--as-of", "2025-07-01", "--out", &events]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is the input"));
    assert_eq!(std::fs::read(&events).unwrap(), before, "the input is untouched");
    let store = dir.path().join("store");
    ok(&["ingest", "--input", &events, "--store", store.to_str().unwrap()]);
    let inside = format!("--out={}", store.join("events.arrow").display());
    let out = run(&[
        "rfm",
        "--store",
        store.to_str().unwrap(),
        "--as-of",
        "2025-07-01",
        &inside,
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is inside the input"));
    // a good output leaves no temporary file beside it
    let good = dir.path().join("rfm.csv");
    ok(&[
        "rfm",
        "--store",
        store.to_str().unwrap(),
        "--as-of",
        "2025-07-01",
        "--out",
        good.to_str().unwrap(),
    ]);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
}

#[test]
fn report_html_writes_one_page_and_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.parquet");
    ok(&[
        "generate",
        "--customers",
        "1500",
        "--seed",
        "5",
        "--out",
        events.to_str().unwrap(),
    ]);
    let html = dir.path().join("report.html");
    let data = dir.path().join("data");
    let args = [
        "report",
        "html",
        "--input",
        events.to_str().unwrap(),
        "--as-of",
        "2026-01-01",
        "--calibration-end",
        "2025-06-30",
        "--out",
        html.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let out = run(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("12 sections"), "{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("data-section=\"segments\""));
    assert!(data.join("segment-shares.csv").exists() && data.join("churn-calibration.csv").exists());
    // the calibration end must come before the report date; the page must not overwrite the input
    let mut bad = args;
    bad[7] = "2026-02-01";
    let out = run(&bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("calibration_end"));
    let mut same = args;
    same[9] = events.to_str().unwrap();
    let out = run(&same);
    assert!(!out.status.success(), "--out equal to the input is refused");
    assert!(std::fs::metadata(&events).unwrap().len() > 0);
}

#[test]
fn intervals_and_covariates_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    // fit prints parameter intervals at the level asked for
    let cd = cdnow();
    let mut args = vec!["fit", "--model", "bgnbd", "--input", cd.to_str().unwrap()];
    args.extend(CDNOW_FLAGS);
    args.extend([
        "--calibration-end",
        "1997-09-30",
        "--time-unit",
        "week",
        "--level",
        "0.9",
    ]);
    let printed = ok(&args);
    assert!(
        printed.contains("90% lower") && printed.contains("90% upper"),
        "{printed}"
    );
    // clv --intervals adds the interval columns beside their values
    let (clv, models) = (p("clv.csv"), p("models.json"));
    let mut args = vec!["clv", "--input", cd.to_str().unwrap()];
    args.extend(CDNOW_FLAGS);
    args.extend([
        "--calibration-end",
        "1997-09-30",
        "--time-unit",
        "week",
        "--discount-monthly",
        "0.01",
        "--intervals",
        "0.95",
        "--out",
        &clv,
        "--model-out",
        &models,
    ]);
    ok(&args);
    let text = std::fs::read_to_string(&clv).unwrap();
    assert!(text.starts_with(
        "customer_id,frequency,recency,T,monetary_value,p_alive,expected_purchases,expected_purchases_lower,\
         expected_purchases_upper,expected_spend,clv,clv_lower,clv_upper,churn_risk,risk_tier\n"
    ));
    for line in text.lines().skip(1) {
        let f: Vec<f64> = line.split(',').take(13).map(|v| v.parse().unwrap()).collect();
        assert!(
            f[7] <= f[6] && f[6] <= f[8] && f[11] <= f[10] && f[10] <= f[12],
            "{line}"
        );
    }
    // the saved models keep their covariance, so predict can add intervals later
    let scored = p("scored.csv");
    let mut args = vec!["predict", "--model", &models, "--input", cd.to_str().unwrap()];
    args.extend(CDNOW_FLAGS);
    args.extend([
        "--calibration-end",
        "1997-09-30",
        "--time-unit",
        "week",
        "--horizon",
        "39w",
        "--intervals",
        "0.95",
        "--out",
        &scored,
    ]);
    ok(&args);
    let scored_text = std::fs::read_to_string(&scored).unwrap();
    assert!(
        scored_text
            .lines()
            .next()
            .unwrap()
            .contains("expected_purchases_lower,expected_purchases_upper")
    );
    let bad = run(&[
        "clv",
        "--summary",
        &scored,
        "--discount-monthly",
        "0.01",
        "--intervals",
        "1.5",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("intervals"), "{bad:?}");

    // covariates: simulate, fit, save, score
    let (summary, covariates, model) = (p("s.parquet"), p("c.csv"), p("m.json"));
    ok(&[
        "simulate",
        "--model",
        "pnbd",
        "--params",
        "1.5,10,1,30",
        "--trans",
        "vip=0.5,age=-0.3",
        "--life",
        "vip_life=0.4",
        "--customers",
        "20000",
        "--seed",
        "3",
        "--summary-out",
        &summary,
        "--covariates-out",
        &covariates,
    ]);
    let printed = ok(&[
        "fit",
        "--model",
        "pnbd",
        "--summary",
        &summary,
        "--covariates",
        &covariates,
        "--trans-covariates",
        "vip,age",
        "--life-covariates",
        "vip_life",
        "--out",
        &model,
    ]);
    assert!(
        printed.contains("trans.vip") && printed.contains("life.vip_life"),
        "{printed}"
    );
    let saved = json(Path::new(&model));
    assert_eq!(saved["model"], "pnbd_static_cov");
    let coef = |list: &str, i: usize| saved["params"][list][i]["coefficient"].as_f64().unwrap();
    assert!((coef("trans", 0) - 0.5).abs() < 0.05 && (coef("trans", 1) + 0.3).abs() < 0.05);
    assert!((coef("life", 0) - 0.4).abs() < 0.1, "{saved}");
    let out = p("cov-scored.csv");
    ok(&[
        "predict",
        "--model",
        &model,
        "--summary",
        &summary,
        "--covariates",
        &covariates,
        "--horizon",
        "52",
        "--out",
        &out,
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("customer_id,frequency,recency,T,p_alive,expected_purchases\n"));
    assert_eq!(text.lines().count(), 20_001);
    // with intervals (the saved model keeps its covariance)
    ok(&[
        "predict",
        "--model",
        &model,
        "--summary",
        &summary,
        "--covariates",
        &covariates,
        "--horizon",
        "52",
        "--intervals",
        "0.9",
        "--out",
        &out,
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with(
        "customer_id,frequency,recency,T,p_alive,expected_purchases,expected_purchases_lower,expected_purchases_upper\n"
    ));
    for line in text.lines().skip(1).take(2000) {
        let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        assert!(f[6] <= f[5] && f[5] <= f[7], "{line}");
    }
    // no output over an input: the covariate table, or one file for both simulated tables
    let e = run(&[
        "predict",
        "--model",
        &model,
        "--summary",
        &summary,
        "--covariates",
        &covariates,
        "--horizon",
        "52",
        "--out",
        &covariates,
    ]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("is the input"), "{e:?}");
    let same = p("same.parquet");
    let e = run(&[
        "simulate",
        "--model",
        "pnbd",
        "--params",
        "1,10,1,30",
        "--summary-out",
        &same,
        "--covariates-out",
        &same,
    ]);
    assert!(
        String::from_utf8_lossy(&e.stderr).contains("are the same file"),
        "{e:?}"
    );
    // a bad confidence level is refused before the fit
    let e = run(&["fit", "--model", "pnbd", "--summary", &summary, "--level", "2"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("level"), "{e:?}");
    // without the table, or with a column missing, a clear error
    let e = run(&["predict", "--model", &model, "--summary", &summary, "--horizon", "52"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("give their table with --covariates"));
    let e = run(&[
        "fit",
        "--model",
        "pnbd",
        "--summary",
        &summary,
        "--covariates",
        &covariates,
        "--trans-covariates",
        "height",
    ]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("`height`"), "{e:?}");
    let e = run(&[
        "fit",
        "--model",
        "gg",
        "--summary",
        &summary,
        "--covariates",
        &covariates,
        "--trans-covariates",
        "vip",
    ]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("bgnbd and pnbd"), "{e:?}");
}
