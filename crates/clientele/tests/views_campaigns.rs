//! Campaign performance and uplift on a hand-made fixture worked out in the comments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::store::EventStore;
use clientele::views::{CampaignParams, campaigns};
use common::*;

// Campaign A: treatment sends to 1, 2, 3, 4; control sends (A:control) to 5, 6, 8.
//   Responders: 1 (Jan 10), 2 (Jan 5 and Jan 20: first Jan 5); control responder 5; 7 responds
//   without any send (other). 4 has both a control and a treatment send: treated.
//   Revenue in the 30-day window: 1: Jan 12 30 (Feb 15 100 is after Jan 10 + 30 = Feb 9);
//   2: Jan 5 12.345 and Feb 3 7.66 (before Jan 5 + 30 = Feb 4): 30 + 20.005 = 50.005 -> 50.01.
// Campaign B: treatment send to 3, who responds; 3 buys 40 on Mar 1 (after the 30 days) -> 0.
const EVENTS: &str = "customer_id,event_time,event_type,amount,campaign_id\n\
    1,2024-01-01,campaign_send,,A\n\
    1,2024-01-10,campaign_response,,A\n\
    1,2024-01-12,purchase,30,\n\
    1,2024-02-15,purchase,100,\n\
    2,2024-01-01,campaign_send,,A\n\
    2,2024-01-05,campaign_response,,A\n\
    2,2024-01-05,purchase,12.345,\n\
    2,2024-01-20,campaign_response,,A\n\
    2,2024-02-03,purchase,7.66,\n\
    3,2024-01-01,campaign_send,,A\n\
    3,2024-01-02,campaign_send,,B\n\
    3,2024-01-03,campaign_response,,B\n\
    3,2024-03-01,purchase,40,\n\
    4,2024-01-01,campaign_send,,A:control\n\
    4,2024-01-01,campaign_send,,A\n\
    5,2024-01-01,campaign_send,,A:control\n\
    5,2024-01-09,campaign_response,,A\n\
    6,2024-01-01,campaign_send,,A:control\n\
    7,2024-01-09,campaign_response,,A\n\
    8,2024-01-01,campaign_send,,A:control\n";

fn store() -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(EVENTS.as_bytes(), "events.csv", &CsvOptions::default())
        .unwrap();
    ing.finish().unwrap().0
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} vs {b}");
}

#[test]
fn response_revenue_and_uplift_by_hand() {
    let store = store();
    let cfg = CampaignParams::new().validate().unwrap();
    let t = campaigns(&store, None, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
    assert_eq!(
        t,
        campaigns(&store, None, &cfg, &Parallelism::threads(3).unwrap()).unwrap()
    );
    assert_eq!(strs(&t, "campaign_id"), ["A", "B"]);
    assert_eq!(t.column_by_name("segment").unwrap().null_count(), 2);
    assert_eq!(u64s(&t, "sent"), [4, 1]);
    assert_eq!(u64s(&t, "responders"), [2, 1]);
    assert_eq!(f64s(&t, "response_rate"), [0.5, 1.0]);
    assert_eq!(f64s(&t, "responder_revenue"), [50.01, 0.0]);
    assert_eq!(f64s(&t, "revenue_per_responder"), [25.005, 0.0]);
    assert_eq!(u64s(&t, "other_responders"), [1, 0]);
    assert_eq!(u64s(&t, "control"), [3, 0]);
    assert_eq!(u64s(&t, "control_responders"), [1, 0]);
    // A: p1 = 2/4 = 0.5, p0 = 1/3; uplift = 1/6 = 0.166667.
    // se = sqrt(0.5 * 0.5 / 4 + (1/3)(2/3) / 3) = sqrt(0.0625 + 0.0740741) = sqrt(0.1365741)
    //    = 0.3695593; half-width 1.959964 * 0.3695593 = 0.7243229.
    // CI = [0.1666667 - 0.7243229, 0.1666667 + 0.7243229] = [-0.5576562, 0.8909896].
    let cr = f64s(&t, "control_response_rate");
    close(cr[0], 1.0 / 3.0);
    assert!(cr[1].is_nan());
    let (up, lo, hi) = (
        f64s(&t, "uplift"),
        f64s(&t, "uplift_ci_low"),
        f64s(&t, "uplift_ci_high"),
    );
    close(up[0], 1.0 / 6.0);
    assert!((lo[0] - -0.557_656_2).abs() < 1e-6, "{}", lo[0]);
    assert!((hi[0] - 0.890_989_6).abs() < 1e-6, "{}", hi[0]);
    // B has no control: no uplift.
    assert!(up[1].is_nan() && lo[1].is_nan() && hi[1].is_nan());
}

#[test]
fn per_segment_rows_and_window() {
    // 1, 2, 5: gold; 3: basic; 4, 6, 7, 8 not in the table (only in the all-customers rows).
    let table = RecordBatch::try_from_iter(vec![
        ("customer_id", Arc::new(Int64Array::from(vec![1, 2, 3, 5])) as _),
        (
            "tier",
            Arc::new(StringArray::from(vec!["gold", "gold", "basic", "gold"])) as _,
        ),
    ])
    .unwrap();
    let cfg = CampaignParams::new()
        .segment_column("tier")
        .window_days(60)
        .validate()
        .unwrap();
    let t = campaigns(&store(), Some(&table), &cfg, &Parallelism::current()).unwrap();
    assert_eq!(strs(&t, "campaign_id"), ["A", "A", "A", "B", "B"]);
    assert_eq!(strs(&t, "segment"), ["", "basic", "gold", "", "basic"]);
    assert_eq!(u64s(&t, "sent"), [4, 1, 2, 1, 1]);
    assert_eq!(u64s(&t, "control"), [3, 0, 1, 0, 0]);
    // 60 days: 1 also gets Feb 15 (before Mar 10): 130; 2: 20.005; A = 150.005 -> 150.01.
    // B: 3 responds Jan 3, buys Mar 1 (before Mar 3): 40.
    assert_eq!(f64s(&t, "responder_revenue"), [150.01, 0.0, 150.01, 40.0, 40.0]);
    // A/gold: p1 = 2/2, p0 = 1/1: uplift 0 and a zero-width interval.
    let (up, lo, hi) = (
        f64s(&t, "uplift"),
        f64s(&t, "uplift_ci_low"),
        f64s(&t, "uplift_ci_high"),
    );
    assert_eq!((up[2], lo[2], hi[2]), (0.0, 0.0, 0.0));
    assert!(up[1].is_nan());
}

#[test]
fn as_of_and_parameter_errors() {
    let cfg = CampaignParams::new().as_of(date(2024, 1, 6)).validate().unwrap();
    let t = campaigns(&store(), None, &cfg, &Parallelism::current()).unwrap();
    // Before Jan 6 only 2's response (Jan 5) and the B response (Jan 3) have happened; 2's
    // window is cut at as_of: 12.345 -> 12.35.
    assert_eq!(u64s(&t, "responders"), [1, 1]);
    assert_eq!(f64s(&t, "responder_revenue"), [12.35, 0.0]);
    assert!(CampaignParams::new().window_days(0).validate().is_err());
    assert!(CampaignParams::new().control_suffix("").validate().is_err());
    assert!(CampaignParams::new().response_type("campaign_send").validate().is_err());
}

#[test]
fn one_thread_and_three_agree_on_several_chunks() {
    let cfg = clientele::synth::GenerateParams::default()
        .customers(20_000)
        .validate()
        .unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("synth", clientele::synth::generate(&cfg).unwrap().into_iter().map(Ok))
        .unwrap();
    let store = ing.finish().unwrap().0;
    let cfg = CampaignParams::new().as_of(date(2025, 1, 1)).validate().unwrap();
    let one = campaigns(&store, None, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
    assert!(u64s(&one, "sent").iter().sum::<u64>() > 1000);
    assert_eq!(
        one,
        campaigns(&store, None, &cfg, &Parallelism::threads(3).unwrap()).unwrap()
    );
}
