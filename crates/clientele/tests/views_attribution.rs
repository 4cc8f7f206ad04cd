//! Multi-touch attribution on a hand-made fixture worked out in the comments, and a proptest
//! that every model attributes each purchase's revenue exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::store::EventStore;
use clientele::views::{AttributionModel, AttributionParams, attribution};
use common::*;
use proptest::prelude::*;

// Touches are non-purchase events with a channel. Lookback 10 days in the tests below.
// Customer 1: purchase 90 on Jan 9 <- email/A (Jan 1, age 8 d) and web (Jan 5, age 4 d);
//             purchase 30 on Jan 20 <- web (Jan 10, age 10 d: on the window's edge).
// Customer 2: purchases 50 (Jan 1) and 10 (Jan 10); the email of Dec 1 is 40 days before:
//             both unattributed.
// Customer 3: purchase 20 on Jan 4 <- email/A (Jan 2, age 2 d) and app (Jan 4, the purchase's
//             own instant: counts).
// Total revenue 200, of which 60 (2 purchases) unattributed.
const EVENTS: &str = "customer_id,event_time,event_type,amount,channel,campaign_id\n\
    1,2024-01-01,email_open,,email,A\n\
    1,2024-01-05,web_visit,,web,\n\
    1,2024-01-09,purchase,90,web,\n\
    1,2024-01-10,web_visit,,web,\n\
    1,2024-01-20,purchase,30,store,\n\
    2,2023-12-01,email_open,,email,B\n\
    2,2024-01-01,purchase,50,store,\n\
    2,2024-01-10,purchase,10,store,\n\
    3,2024-01-02,campaign_send,,email,A\n\
    3,2024-01-04,purchase,20,app,\n\
    3,2024-01-04,web_visit,,app,\n";

fn store_of(csv: &str) -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(csv.as_bytes(), "events.csv", &CsvOptions::default())
        .unwrap();
    ing.finish().unwrap().0
}

fn run(model: AttributionModel, f: impl Fn(AttributionParams) -> AttributionParams) -> arrow_array::RecordBatch {
    let store = store_of(EVENTS);
    let cfg = f(AttributionParams::new(model).lookback_days(10)).validate().unwrap();
    let t = attribution(&store, &cfg, &Parallelism::current()).unwrap();
    assert_eq!(t, attribution(&store, &cfg, &Parallelism::threads(1).unwrap()).unwrap());
    t
}

#[test]
fn linear_by_hand() {
    let t = run(AttributionModel::Linear, |p| p);
    // email/A: 90/2 + 20/2 = 55 (1 purchase); web: 90/2 + 30 = 75 (1.5); app: 20/2 = 10 (0.5).
    assert_eq!(strs(&t, "channel"), ["app", "email", "web", "(unattributed)"]);
    assert_eq!(strs(&t, "campaign_id"), ["", "A", "", ""]);
    assert_eq!(null_count(&t, "campaign_id"), 3);
    assert_eq!(f64s(&t, "attributed_revenue"), [10.0, 55.0, 75.0, 60.0]);
    assert_eq!(f64s(&t, "attributed_purchases"), [0.5, 1.0, 1.5, 2.0]);
    assert_eq!(f64s(&t, "revenue_share"), [0.05, 0.275, 0.375, 0.3]);
}

#[test]
fn first_and_last_by_hand() {
    let t = run(AttributionModel::First, |p| p);
    // First: 90 -> email/A, 30 -> web, 20 -> email/A. app gets nothing: no row.
    assert_eq!(strs(&t, "channel"), ["email", "web", "(unattributed)"]);
    assert_eq!(f64s(&t, "attributed_revenue"), [110.0, 30.0, 60.0]);
    assert_eq!(f64s(&t, "attributed_purchases"), [2.0, 1.0, 2.0]);
    let t = run(AttributionModel::Last, |p| p);
    // Last: 90 -> web, 30 -> web, 20 -> app (the touch at the purchase's instant).
    assert_eq!(strs(&t, "channel"), ["app", "web", "(unattributed)"]);
    assert_eq!(f64s(&t, "attributed_revenue"), [20.0, 120.0, 60.0]);
    assert_eq!(f64s(&t, "attributed_purchases"), [1.0, 2.0, 2.0]);
}

#[test]
fn time_decay_by_hand() {
    let t = run(AttributionModel::Decay, |p| p.half_life_days(4.0));
    // Purchase 90: weights 2^(-8/4) = 0.25 (email) and 2^(-4/4) = 0.5 (web): 1/3 and 2/3.
    // Purchase 30: web only. Purchase 20: 2^(-2/4) = 0.7071 (email) and 2^0 = 1 (app).
    let r = 2f64.powf(-0.5);
    let (email3, app3) = (r / (1.0 + r), 1.0 / (1.0 + r));
    let expect_rev = [20.0 * app3, 30.0 + 20.0 * email3, 60.0 + 30.0, 60.0];
    let expect_n = [app3, 1.0 / 3.0 + email3, 2.0 / 3.0 + 1.0, 2.0];
    assert_eq!(strs(&t, "channel"), ["app", "email", "web", "(unattributed)"]);
    for (got, want) in f64s(&t, "attributed_revenue").iter().zip(expect_rev) {
        assert!((got - want).abs() < 1e-8, "{got} vs {want}");
    }
    for (got, want) in f64s(&t, "attributed_purchases").iter().zip(expect_n) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    // Exactly 200 in nano-units.
    assert!((f64s(&t, "attributed_revenue").iter().sum::<f64>() - 200.0).abs() < 1e-9);
}

#[test]
fn campaigns_can_be_merged_and_as_of_cuts() {
    let t = run(AttributionModel::Linear, |p| p.by_campaign(false));
    assert_eq!(null_count(&t, "campaign_id"), 4);
    assert_eq!(f64s(&t, "attributed_revenue"), [10.0, 55.0, 75.0, 60.0]);
    // Before Jan 15: customer 1's purchase of Jan 20 is out; web keeps 45.
    let t = run(AttributionModel::Linear, |p| p.as_of(date(2024, 1, 15)));
    assert_eq!(f64s(&t, "attributed_revenue"), [10.0, 55.0, 45.0, 60.0]);
}

#[test]
fn zero_lookback_keeps_only_same_instant_touches_and_bad_half_life_is_rejected() {
    let t = run(AttributionModel::Linear, |p| p.lookback_days(0));
    assert_eq!(strs(&t, "channel"), ["app", "(unattributed)"]);
    assert_eq!(f64s(&t, "attributed_revenue"), [20.0, 180.0]);
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = AttributionParams::new(AttributionModel::Decay)
            .half_life_days(bad)
            .validate()
            .unwrap_err();
        assert!(
            matches!(
                err,
                clientele::Error::InvalidParameter {
                    field: "half_life_days",
                    ..
                }
            ),
            "{err}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn attribution_conserves_revenue(
        rows in proptest::collection::vec((0u8..6, 0u32..2_000, 0u8..4, 0u8..4, 0u8..3, 0u32..1_000_000), 1..60),
        model in 0u8..4,
        lookback in 0u32..20,
        half_life in 0.1f64..30.0,
        by_campaign in any::<bool>(),
    ) {
        let mut csv = String::from("customer_id,event_time,event_type,amount,channel,campaign_id\n");
        let mut total_cents: i64 = 0;
        let mut purchases = 0usize;
        for (c, hours, kind, ch, camp, cents) in &rows {
            let t = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
                + chrono::Duration::hours(i64::from(*hours));
            let ty = ["purchase", "web_visit", "email_open", "purchase"][*kind as usize];
            let ch = ["", "web", "email", "app"][*ch as usize];
            let camp = ["", "A", "B"][*camp as usize];
            let amount = if ty == "purchase" {
                total_cents += i64::from(*cents);
                purchases += 1;
                format!("{}.{:02}", cents / 100, cents % 100)
            } else {
                String::new()
            };
            csv.push_str(&format!("{c},{},{ty},{amount},{ch},{camp}\n", t.format("%Y-%m-%d %H:%M:%S")));
        }
        let store = store_of(&csv);
        let model = [AttributionModel::First, AttributionModel::Last, AttributionModel::Linear, AttributionModel::Decay][model as usize];
        let cfg = AttributionParams::new(model)
            .lookback_days(lookback)
            .half_life_days(half_life)
            .by_campaign(by_campaign)
            .validate()
            .unwrap();
        let t = attribution(&store, &cfg, &Parallelism::current()).unwrap();
        prop_assert_eq!(&t, &attribution(&store, &cfg, &Parallelism::threads(3).unwrap()).unwrap());
        let revenue: f64 = f64s(&t, "attributed_revenue").iter().sum();
        let total = total_cents as f64 / 100.0;
        prop_assert!((revenue - total).abs() <= 1e-9 * total.max(1.0), "{} vs {}", revenue, total);
        let n: f64 = f64s(&t, "attributed_purchases").iter().sum();
        prop_assert!((n - purchases as f64).abs() < 1e-9, "{} vs {}", n, purchases);
        if total_cents > 0 {
            let share: f64 = f64s(&t, "revenue_share").iter().sum();
            prop_assert!((share - 1.0).abs() < 1e-9);
        }
    }
}
