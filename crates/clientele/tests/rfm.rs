//! The RFM kernel (`orders` convention, NTILE scoring): row for row equal to DuckDB's
//! `NTILE(5) OVER (ORDER BY ...)` on a generated event log, and hand-checkable edge cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, UInt8Type};
use arrow_array::{Array, RecordBatch};
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::kernels::rfm::{RfmParams, rfm, rfm_parquet};
use common::*;

fn ints(b: &RecordBatch, name: &str) -> Vec<i64> {
    let c = b.column_by_name(name).unwrap();
    match c.data_type() {
        arrow_schema::DataType::Int64 => c.as_primitive::<Int64Type>().values().to_vec(),
        arrow_schema::DataType::Int32 => c
            .as_primitive::<Int32Type>()
            .values()
            .iter()
            .map(|&v| i64::from(v))
            .collect(),
        arrow_schema::DataType::UInt8 => c
            .as_primitive::<UInt8Type>()
            .values()
            .iter()
            .map(|&v| i64::from(v))
            .collect(),
        other => panic!("{name}: {other}"),
    }
}

#[test]
fn equals_duckdb_ntile_row_for_row() {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_parquet(testdata("rfm/events.parquet")).unwrap();
    let (store, _) = ing.finish().unwrap();
    let cfg = RfmParams::new(date(2025, 7, 1)).validate().unwrap();
    let ours = rfm(&store, &cfg, &Parallelism::threads(2).unwrap()).unwrap();
    // DuckDB's answer, read with our own CSV reader into typed columns.
    let text = std::fs::read_to_string(testdata("rfm/duckdb_rfm.csv")).unwrap();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for line in text.lines().skip(1) {
        rows.push(line.split(',').map(str::to_string).collect());
    }
    assert_eq!(ours.num_rows(), rows.len());
    let col = |i: usize| -> Vec<i64> { rows.iter().map(|r| r[i].parse().unwrap()).collect() };
    assert_eq!(ints(&ours, "customer_id"), col(0));
    assert_eq!(ints(&ours, "recency_days"), col(1));
    assert_eq!(ints(&ours, "frequency"), col(2));
    let money: Vec<i64> = rows
        .iter()
        .map(|r| (r[3].parse::<f64>().unwrap() * 100.0).round() as i64)
        .collect();
    let ours_money: Vec<i64> = f64s(&ours, "monetary")
        .iter()
        .map(|m| (m * 100.0).round() as i64)
        .collect();
    assert_eq!(ours_money, money);
    assert_eq!(ints(&ours, "t_days"), col(4));
    assert_eq!(ints(&ours, "r_score"), col(5));
    assert_eq!(ints(&ours, "f_score"), col(6));
    assert_eq!(ints(&ours, "m_score"), col(7));
    let code: Vec<i64> = (0..rows.len())
        .map(|i| 100 * col(5)[i] + 10 * col(6)[i] + col(7)[i])
        .collect();
    assert_eq!(ints(&ours, "rfm_code"), code);
    // Whatever the thread count.
    assert_eq!(rfm(&store, &cfg, &Parallelism::threads(1).unwrap()).unwrap(), ours);
}

fn rfm_of(csv: &str, as_of: (i32, u32, u32), bins: u32) -> RecordBatch {
    let mut ing = Ingestor::new(&IngestOptions::default().allow_refunds(true)).unwrap();
    ing.read_csv_reader(csv.as_bytes(), "t.csv", &CsvOptions::default())
        .unwrap();
    let (store, _) = ing.finish().unwrap();
    let cfg = RfmParams::new(date(as_of.0, as_of.1, as_of.2))
        .bins(bins)
        .validate()
        .unwrap();
    rfm(&store, &cfg, &Parallelism::current()).unwrap()
}

#[test]
fn hand_checked_values_ties_and_windows() {
    let csv = "customer_id,event_time,event_type,amount\n\
               1,2024-01-01 10:00:00,purchase,10.004\n\
               1,2024-01-10 23:59:59,purchase,10.004\n\
               2,2024-01-10,purchase,5\n\
               2,2024-01-05,web_visit,\n\
               3,2024-01-31 00:00:00,purchase,99\n\
               4,2024-02-01,purchase,1\n";
    // As of 2024-02-01: customer 3's purchase counts (strictly before midnight of the 1st),
    // customer 4's does not.
    let t = rfm_of(csv, (2024, 2, 1), 3);
    assert_eq!(ints(&t, "customer_id"), [1, 2, 3]);
    // 2024-01-10 23:59:59 to 2024-02-01: 21 days and 1 second -> floor 21.
    assert_eq!(ints(&t, "recency_days"), [21, 22, 1]);
    assert_eq!(ints(&t, "t_days"), [30, 22, 1]);
    assert_eq!(ints(&t, "frequency"), [2, 1, 1]);
    // 10.004 + 10.004 = 20.008 -> 20.01 (the sum is rounded, not each amount).
    assert_eq!(f64s(&t, "monetary"), [20.01, 5.0, 99.0]);
    // Recency descending: 2 (22 days), 1 (21), 3 (1) -> scores 1, 2, 3.
    assert_eq!(ints(&t, "r_score"), [2, 1, 3]);
    // Frequency ties (customers 2 and 3 both 1) are broken by customer id: 2 < 3 < 1.
    assert_eq!(ints(&t, "f_score"), [3, 1, 2]);
    assert_eq!(ints(&t, "m_score"), [2, 1, 3]);
    assert_eq!(ints(&t, "rfm_code"), [232, 111, 323]);
    // The default map (R rfm preset), first match wins: (2,3,2) fails Loyal Customers on M and
    // lands in Need Attention; (1,1,1) is Lost; (3,2,3) is Potential Loyalist.
    assert_eq!(strs(&t, "segment"), ["Need Attention", "Lost", "Potential Loyalist"]);
}

#[test]
fn segment_summary_adds_up() {
    use clientele::kernels::rfm::{SegmentMap, segment_summary};
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_parquet(testdata("rfm/events.parquet")).unwrap();
    let (store, _) = ing.finish().unwrap();
    for preset in SegmentMap::PRESETS {
        let map = SegmentMap::preset(preset).unwrap();
        let bins = if preset == "pymc-quartiles" { 4 } else { 5 };
        let cfg = RfmParams::new(date(2025, 7, 1))
            .bins(bins)
            .segments(map.clone())
            .validate()
            .unwrap();
        let table = rfm(&store, &cfg, &Parallelism::current()).unwrap();
        let s = segment_summary(&table, &map).unwrap();
        assert_eq!(u64s(&s, "customers").iter().sum::<u64>(), 1_500, "{preset}");
        assert!((f64s(&s, "share").iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!((f64s(&s, "revenue_share").iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let revenue: f64 = f64s(&table, "monetary").iter().sum();
        assert!((f64s(&s, "revenue").iter().sum::<f64>() - revenue).abs() < 1e-6);
        // Segments in the map's order, the default last.
        let names = strs(&s, "segment");
        let order: Vec<usize> = names
            .iter()
            .map(|n| {
                map.rules
                    .iter()
                    .position(|r| &r.segment == n)
                    .unwrap_or(map.rules.len())
            })
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{preset}: {names:?}");
    }
}

#[test]
fn fewer_customers_than_bins_and_empty_input() {
    let csv = "customer_id,event_time\n7,2024-01-01\n8,2024-01-02\n";
    let t = rfm_of(csv, (2024, 3, 1), 5);
    assert_eq!(ints(&t, "r_score"), [1, 2]);
    assert_eq!(ints(&t, "f_score"), [1, 2]);
    let t = rfm_of("customer_id,event_time\n", (2024, 3, 1), 5);
    assert_eq!(t.num_rows(), 0);
    assert_eq!(t.column_by_name("rfm_code").unwrap().len(), 0);
    let e = RfmParams::new(date(2024, 3, 1)).bins(0).validate().unwrap_err();
    assert!(matches!(e, clientele::Error::InvalidParameter { field: "bins", .. }));
}

const THREE: &str = "customer_id,event_time,event_type,amount\n\
                     1,2024-01-01 10:00:00,purchase,10.004\n\
                     1,2024-01-10 23:59:59,purchase,10.004\n\
                     2,2024-01-10,purchase,5\n\
                     3,2024-01-31 00:00:00,purchase,99\n";

fn rfm_with(csv: &str, scoring: clientele::kernels::rfm::Scoring, bins: u32) -> RecordBatch {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(csv.as_bytes(), "t.csv", &CsvOptions::default())
        .unwrap();
    let (store, _) = ing.finish().unwrap();
    let cfg = RfmParams::new(date(2024, 2, 1))
        .bins(bins)
        .scoring(scoring)
        .validate()
        .unwrap();
    rfm(&store, &cfg, &Parallelism::current()).unwrap()
}

#[test]
fn quantile_scoring_follows_r_rfm() {
    // recency [21, 22, 1], frequency [2, 1, 1], monetary [20.01, 5, 99] (as above).
    // Two bins: thresholds are the type-7 medians plus one: recency 21 + 1 = 22 -> bins
    // [1, 2, 1], reversed -> [2, 1, 2]; frequency 1 + 1 = 2 -> [2, 1, 1]; monetary
    // 20.01 + 1 = 21.01 -> [1, 1, 2].
    let t = rfm_with(THREE, clientele::kernels::rfm::Scoring::Quantile, 2);
    assert_eq!(ints(&t, "r_score"), [2, 1, 2]);
    assert_eq!(ints(&t, "f_score"), [2, 1, 1]);
    assert_eq!(ints(&t, "m_score"), [1, 1, 2]);
    assert_eq!(ints(&t, "rfm_code"), [221, 111, 212]);
}

#[test]
fn custom_breaks() {
    use clientele::kernels::rfm::Scoring;
    let breaks = Scoring::Breaks {
        recency: vec![7.0, 30.0],
        frequency: vec![2.0],
        monetary: vec![10.0, 50.0],
    };
    // recency 21 and 22 fall in [7, 30) -> bin 2 of 3 -> score 2; 1 -> bin 1 -> score 3.
    // frequency 2 -> bin 2; 1 -> bin 1. monetary 20.01 -> 2, 5 -> 1, 99 -> 3.
    let t = rfm_with(THREE, breaks, 5);
    assert_eq!(ints(&t, "r_score"), [2, 2, 3]);
    assert_eq!(ints(&t, "f_score"), [2, 1, 1]);
    assert_eq!(ints(&t, "m_score"), [2, 1, 3]);
    let bad = Scoring::Breaks {
        recency: vec![30.0, 7.0],
        frequency: vec![],
        monetary: vec![],
    };
    let e = RfmParams::new(date(2024, 2, 1)).scoring(bad).validate().unwrap_err();
    assert!(
        matches!(e, clientele::Error::InvalidParameter { field: "breaks", .. }),
        "{e}"
    );
}

#[test]
fn value_tiers_pareto_and_deciles() {
    use clientele::kernels::rfm::{Tiers, value_tiers};
    use std::sync::Arc;
    let table = RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(arrow_array::Int64Array::from(vec![1, 2, 3, 4, 5])) as _,
        ),
        (
            "monetary",
            Arc::new(arrow_array::Float64Array::from(vec![10.0, 50.0, 50.0, 5.0, 100.0])) as _,
        ),
    ])
    .unwrap();
    // Revenue descending, ties by key: 5 (100), 2 (50), 3 (50), 1 (10), 4 (5); total 215.
    let t = value_tiers(&table, Tiers::Pareto { top_share: 0.2 }).unwrap();
    assert_eq!(ints(&t, "customer_id"), [5, 2, 3, 1, 4]);
    assert_eq!(strs(&t, "tier"), ["top", "rest", "rest", "rest", "rest"]);
    let cum = f64s(&t, "cumulative_revenue_share");
    let expected = [100.0 / 215.0, 150.0 / 215.0, 200.0 / 215.0, 210.0 / 215.0, 1.0];
    assert!(cum.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12), "{cum:?}");
    // A share of 0.5 of 5 customers rounds up to 3.
    let t = value_tiers(&table, Tiers::Pareto { top_share: 0.5 }).unwrap();
    assert_eq!(strs(&t, "tier"), ["top", "top", "top", "rest", "rest"]);
    // Deciles of 5 customers: NTILE(10) puts one customer in each of the first five.
    let t = value_tiers(&table, Tiers::Deciles).unwrap();
    assert_eq!(
        strs(&t, "tier"),
        ["decile_1", "decile_2", "decile_3", "decile_4", "decile_5"]
    );
    assert_eq!(value_tiers(&table.slice(0, 0), Tiers::Deciles).unwrap().num_rows(), 0);
    let e = value_tiers(&table, Tiers::Pareto { top_share: 0.0 }).unwrap_err();
    assert!(matches!(
        e,
        clientele::Error::InvalidParameter { field: "top_share", .. }
    ));
}

fn rfm_btyd(csv: &str, period: clientele::kernels::summary::Period) -> RecordBatch {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(csv.as_bytes(), "t.csv", &CsvOptions::default())
        .unwrap();
    let (store, _) = ing.finish().unwrap();
    let cfg = RfmParams::new(date(2024, 1, 11))
        .mode(clientele::kernels::rfm::RfmMode::Btyd { period })
        .bins(3)
        .validate()
        .unwrap();
    let t = rfm(&store, &cfg, &Parallelism::current()).unwrap();
    assert_eq!(rfm(&store, &cfg, &Parallelism::threads(1).unwrap()).unwrap(), t);
    t
}

const BTYD: &str = "customer_id,event_time,event_type,amount\n\
                    1,2024-01-01 10:00:00,purchase,10\n\
                    1,2024-01-01 15:00:00,purchase,5\n\
                    1,2024-01-05 09:00:00,purchase,20\n\
                    1,2024-01-10 12:00:00,purchase,30\n\
                    2,2024-01-08 08:00:00,purchase,7\n\
                    3,2024-01-02 08:00:00,purchase,4\n\
                    3,2024-01-11 08:00:00,purchase,400\n";

#[test]
fn btyd_mode_daily_periods_by_hand() {
    use clientele::kernels::summary::Period;
    let t = rfm_btyd(BTYD, Period::Day);
    assert_eq!(ints(&t, "customer_id"), [1, 2, 3]);
    // Customer 1: days 01-01 (10 + 5 merged), 01-05, 01-10; calibration ends 01-10 (the day
    // before as_of): x = 2, t_x = 9, T = 9, m̄ = (20 + 30) / 2.
    // Customer 2: one day, x = 0, T = 2, m̄ = 0. Customer 3: the purchase on as_of is out.
    assert_eq!(ints(&t, "frequency"), [2, 0, 0]);
    assert_eq!(f64s(&t, "monetary"), [25.0, 0.0, 0.0]);
    assert_eq!(ints(&t, "t_days"), [9, 2, 8]);
    assert_eq!(ints(&t, "recency_days"), [0, 2, 8]);
    // NTILE(3): recency descending 3 (8), 2 (2), 1 (0); frequency ascending with ties by id:
    // 2, 3, 1; monetary likewise.
    assert_eq!(ints(&t, "r_score"), [3, 2, 1]);
    assert_eq!(ints(&t, "f_score"), [3, 1, 2]);
    assert_eq!(ints(&t, "m_score"), [3, 1, 2]);
    // For non-midnight purchases, daily btyd recency and T equal the orders values.
    let orders = rfm_of(BTYD, (2024, 1, 11), 3);
    assert_eq!(ints(&orders, "recency_days"), ints(&t, "recency_days"));
    assert_eq!(ints(&orders, "t_days"), ints(&t, "t_days"));
    assert_eq!(ints(&orders, "frequency"), [4, 1, 1]);
}

#[test]
fn btyd_mode_weekly_periods_by_hand() {
    use clientele::kernels::summary::Period;
    // 2024-01-01 is a Monday: weeks start 01-01 and 01-08.
    let t = rfm_btyd(BTYD, Period::Week);
    // Customer 1: week 1 (01-01, 01-05: 35), week 2 (01-10: 30): x = 1, m̄ = 30, T = t_x = 7 days.
    assert_eq!(ints(&t, "frequency"), [1, 0, 0]);
    assert_eq!(f64s(&t, "monetary"), [30.0, 0.0, 0.0]);
    assert_eq!(ints(&t, "t_days"), [7, 0, 7]);
    assert_eq!(ints(&t, "recency_days"), [0, 0, 7]);
}

#[test]
fn streaming_parquet_path_equals_the_store_path() {
    use clientele::kernels::rfm::{Scoring, rfm_parquet};
    let events = testdata("rfm/events.parquet");
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_parquet(&events).unwrap();
    let (store, report) = ing.finish().unwrap();
    assert_eq!(report.rows_rejected, 0);
    for scoring in [Scoring::Ntile, Scoring::Quantile] {
        let case = format!("{scoring:?}");
        let cfg = RfmParams::new(date(2025, 7, 1)).scoring(scoring).validate().unwrap();
        let from_store = rfm(&store, &cfg, &Parallelism::current()).unwrap();
        streamed_equals_on_1_and_3_threads(&events, &cfg, &from_store, &case);
    }
    // Out of scope: btyd mode, and string keys by request.
    let btyd = RfmParams::new(date(2025, 7, 1))
        .mode(clientele::kernels::rfm::RfmMode::Btyd {
            period: clientele::kernels::summary::Period::Day,
        })
        .validate()
        .unwrap();
    assert!(
        rfm_parquet(&events, &btyd, &IngestOptions::default(), &Parallelism::current())
            .unwrap()
            .is_none()
    );
    let cfg = RfmParams::new(date(2025, 7, 1)).validate().unwrap();
    let strings = IngestOptions::default().key_type(clientele::ingest::KeyType::String);
    assert!(
        rfm_parquet(&events, &cfg, &strings, &Parallelism::current())
            .unwrap()
            .is_none()
    );
}

#[test]
fn streaming_parquet_path_refuses_files_with_rows_ingestion_rejects() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let write = |amounts: Vec<Option<f64>>| {
        purchases_parquet(dir.path(), &format!("e{}.parquet", amounts.len()), amounts, vec![])
    };
    let cfg = RfmParams::new(date(2024, 1, 1)).bins(2).validate().unwrap();
    let par = Parallelism::current();
    let ok = write(vec![Some(10.0), None, Some(5.5)]);
    let t = rfm_parquet(&ok, &cfg, &IngestOptions::default(), &par)
        .unwrap()
        .unwrap();
    assert_eq!(f64s(&t, "monetary"), [10.0, 0.0, 5.5]);
    // A negative purchase is a rejected row in ingestion: the streaming path steps aside.
    let bad = write(vec![Some(10.0), Some(-1.0), Some(5.5), Some(1.0)]);
    assert!(
        rfm_parquet(&bad, &cfg, &IngestOptions::default(), &par)
            .unwrap()
            .is_none()
    );
    // ... unless refunds are allowed, as in ingestion.
    let refunds = IngestOptions::default().allow_refunds(true);
    assert!(rfm_parquet(&bad, &cfg, &refunds, &par).unwrap().is_some());
    // Event types are trimmed as ingestion trims them; a blank type is a rejected row.
    let typed = |types: Vec<&str>| {
        let n = types.len();
        let batch = RecordBatch::try_from_iter([
            (
                "customer_id",
                Arc::new(arrow_array::Int64Array::from((1..=n as i64).collect::<Vec<_>>())) as _,
            ),
            (
                "event_time",
                Arc::new(
                    arrow_array::TimestampMicrosecondArray::from(vec![1_700_000_000_000_000i64; n])
                        .with_timezone("UTC"),
                ) as _,
            ),
            ("event_type", Arc::new(arrow_array::StringArray::from(types)) as _),
            ("amount", Arc::new(arrow_array::Float64Array::from(vec![1.0; n])) as _),
        ])
        .unwrap();
        let path = dir.path().join(format!("types{n}.parquet"));
        clientele::io::write_batch(&batch, &path).unwrap();
        path
    };
    let padded = typed(vec![" purchase", "purchase ", "visit"]);
    let t = rfm_parquet(&padded, &cfg, &IngestOptions::default(), &par)
        .unwrap()
        .unwrap();
    assert_eq!(ints(&t, "customer_id"), [1, 2]);
    let blank = typed(vec!["purchase", " ", "visit", "purchase"]);
    assert!(
        rfm_parquet(&blank, &cfg, &IngestOptions::default(), &par)
            .unwrap()
            .is_none()
    );
}

#[test]
fn streaming_parquet_path_refuses_out_of_bound_scores_and_costs() {
    use clientele::ingest::RejectReason;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, costs: Vec<Option<f64>>| {
        let n = costs.len();
        let cost: arrow_array::ArrayRef = Arc::new(arrow_array::Float64Array::from(costs));
        purchases_parquet(dir.path(), name, vec![Some(2.5); n], vec![("cost", cost)])
    };
    let cfg = RfmParams::new(date(2024, 1, 1)).bins(2).validate().unwrap();
    let par = Parallelism::current();
    let store_path = |path: &std::path::Path| {
        let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
        ing.read_parquet(path).unwrap();
        let (store, report) = ing.finish().unwrap();
        (rfm(&store, &cfg, &par).unwrap(), report)
    };
    // Costs within the bound: the stream takes the file and agrees with the store path.
    let ok = write("ok.parquet", vec![Some(0.25), None, Some(-1.0)]);
    let streamed = rfm_parquet(&ok, &cfg, &IngestOptions::default(), &par)
        .unwrap()
        .expect("in scope");
    assert_eq!(streamed, store_path(&ok).0);
    // An out-of-bound cost on row 2: ingestion rejects that row, so the stream steps aside and
    // the store path (what the CLI falls back to) reports it and scores the other customers.
    let bad = write("bad.parquet", vec![Some(0.25), Some(1e20), Some(-1.0)]);
    assert!(
        rfm_parquet(&bad, &cfg, &IngestOptions::default(), &par)
            .unwrap()
            .is_none()
    );
    let (table, report) = store_path(&bad);
    assert!(report.reconciles());
    let got: Vec<(u64, &str, RejectReason)> = report
        .rejections
        .iter()
        .map(|r| (r.row, r.column.as_str(), r.reason))
        .collect();
    assert_eq!(got, [(2, "cost", RejectReason::CostOutOfRange)]);
    assert_eq!(ints(&table, "customer_id"), [1, 3]);
    // When costs are not loaded, ingestion does not validate them and neither does the stream.
    let no_cost = IngestOptions::default().only(&[clientele::schema::Role::EventType, clientele::schema::Role::Amount]);
    assert!(rfm_parquet(&bad, &cfg, &no_cost, &par).unwrap().is_some());
}

/// Keys spread over many buckets with gaps (keys without events, keys with only visits, whole
/// empty buckets): the streamed table closes the gaps exactly as the store path orders
/// customers, on 1 and 3 threads, for a mostly filled key range (`step` 1: columns with a
/// slot per key, closed up) and a sparse one (`step` 3: more than twice as many keys as
/// purchases, per-bucket parts; the scan takes ranges up to 4 × the rows). Purchases in
/// compact records and in wide ones (sub-cent and huge amounts, dates in 1800) mix.
#[test]
fn streaming_parquet_path_equals_the_store_path_on_sparse_keys() {
    for step in [1, 3] {
        sparse_keys_case(step);
    }
}

fn sparse_keys_case(step: i64) {
    use std::sync::Arc;
    let (mut keys, mut times, mut types, mut amounts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // 40,000 keys, `step` apart from 5,000,000: a range of ten or more 4,096-key buckets; the
    // keys 12,000-20,000 without events at all.
    for key in (0..40_000)
        .filter(|k| !(12_000..20_000).contains(k))
        .map(|k| 5_000_000 + k * step)
    {
        for _ in 0..next() % 4 {
            let r = next();
            keys.push(key);
            // Some events in 1800, over 65,535 days before `as_of` (kept apart from the
            // compact purchase records, which hold 16-bit days), some in 1900 (all 16 bits).
            let day0 = match r % 17 {
                0 => -5_364_662_400_000_000,
                1 => -2_208_988_800_000_000,
                _ => 1_690_000_000_000_000,
            };
            times.push(day0 + (r % 400) as i64 * 86_400_000_000 + (r % 86_400) as i64 * 1_000_000);
            // Every seventh key only ever visits.
            let buy = key % 7 != 0 && r % 3 != 0;
            types.push(if buy { "purchase" } else { "visit" });
            // Whole cents mostly; some amounts in tenths of a cent, and some over 2^31 cents
            // (neither fits a compact record).
            let amount = match r % 13 {
                0 => (r % 100_000) as f64 / 1000.0,
                1 => 30_000_000.0 + (r % 100) as f64 / 100.0,
                _ => (r % 100_000) as f64 / 100.0,
            };
            amounts.push(buy.then_some(amount));
        }
    }
    let batch = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(arrow_array::Int64Array::from(keys)) as _),
        (
            "event_time",
            Arc::new(arrow_array::TimestampMicrosecondArray::from(times).with_timezone("UTC")) as _,
        ),
        ("event_type", Arc::new(arrow_array::StringArray::from(types)) as _),
        ("amount", Arc::new(arrow_array::Float64Array::from(amounts)) as _),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("sparse{step}.parquet"));
    clientele::io::write_batch(&batch, &path).unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_parquet(&path).unwrap();
    let (store, report) = ing.finish().unwrap();
    assert_eq!(report.rows_rejected, 0);
    let cfg = RfmParams::new(date(2024, 6, 1)).validate().unwrap();
    let from_store = rfm(&store, &cfg, &Parallelism::current()).unwrap();
    assert!(from_store.num_rows() > 10_000, "{} customers", from_store.num_rows());
    streamed_equals_on_1_and_3_threads(&path, &cfg, &from_store, &format!("step {step}"));
}

/// The streamed RFM of the Parquet file at `path` (default mapping) equals `want` in pools of
/// 1 and 3 threads.
fn streamed_equals_on_1_and_3_threads(
    path: &std::path::Path,
    cfg: &clientele::kernels::rfm::RfmConfig,
    want: &RecordBatch,
    case: &str,
) {
    for threads in [1, 3] {
        let streamed = rfm_parquet(
            path,
            cfg,
            &IngestOptions::default(),
            &Parallelism::threads(threads).unwrap(),
        )
        .unwrap()
        .expect("in scope");
        assert_eq!(&streamed, want, "{case}, {threads} threads");
    }
}
