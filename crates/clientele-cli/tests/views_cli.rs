//! The CRM view commands (`cohorts`, `channels`, `attribution`, `satisfaction`), run as a user would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::Path;
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

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

// Customer 1: January cohort; email/A touch Jan 1, purchases 90 (web, Jan 5) and 30 (store, Feb 3).
// Customer 2: January cohort; purchase 50 (store, Jan 20), survey 4 on phone.
// Customer 3: no purchase; survey 2 on web.
const EVENTS: &str = "customer_id,event_time,event_type,amount,channel,campaign_id,score,cost\n\
    1,2024-01-01,email_open,,email,A,,0.10\n\
    1,2024-01-05,purchase,90,web,,,\n\
    1,2024-02-03,purchase,30,store,,,\n\
    2,2024-01-20,purchase,50,store,,,\n\
    2,2024-01-21,survey,,phone,,4,\n\
    3,2024-02-02,survey,,web,,2,\n";

fn fixture(dir: &Path) -> String {
    let p = dir.join("events.csv");
    std::fs::write(&p, EVENTS).unwrap();
    p.display().to_string()
}

#[test]
fn cohorts_prints_a_retention_matrix_and_writes_long_format() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture(dir.path());
    let out = ok(&["cohorts", "--input", &input, "--as-of", "2024-03-01"]);
    // One January cohort of 2: both buy in January, customer 1 again in February.
    assert!(out.contains("2024-01-01          2  100.0%  50.0%"), "{out}");
    let file = dir.path().join("cohorts.json");
    ok(&[
        "cohorts",
        "--input",
        &input,
        "--as-of",
        "2024-03-01",
        "--out",
        file.to_str().unwrap(),
    ]);
    let rows = json(&file);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["revenue"], 140.0);
    assert_eq!(rows[1]["active_customers"], 1);
    assert_eq!(rows[1]["cumulative_revenue_per_customer"], 85.0);
    assert_eq!(rows[1]["repeat_purchase_rate"], 0.5);
    // Weekly cohorts: customer 1 (week of Jan 1) and customer 2 (week of Jan 15) apart.
    let out = ok(&["cohorts", "--input", &input, "--as-of", "2024-01-22", "--by", "week"]);
    assert!(out.contains("2 cohorts"), "{out}");
}

#[test]
fn channels_with_a_cost_table_and_preferred_channels() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture(dir.path());
    let (out, pref) = (dir.path().join("ch.json"), dir.path().join("pref.json"));
    ok(&[
        "channels",
        "--input",
        &input,
        "--channel-cost",
        "web=3",
        "--channel-cost",
        "email=1",
        "--preferred-out",
        pref.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let ch = json(&out);
    let ch = ch.as_array().unwrap();
    let names: Vec<&str> = ch.iter().map(|r| r["channel"].as_str().unwrap()).collect();
    assert_eq!(names, ["email", "phone", "store", "web"]);
    // Costs 1 + 3: email 0.25, web 0.75; web has 2 of 6 events: mismatch 1/3 - 3/4.
    assert_eq!(ch[0]["cost_share"], 0.25);
    assert_eq!(ch[3]["cost_share"], 0.75);
    assert_eq!(ch[3]["mismatch"], 2.0 / 6.0 - 0.75);
    assert_eq!(ch[2]["revenue"], 80.0);
    let p = json(&pref);
    let p = p.as_array().unwrap();
    // Customer 1: one event each on email, web, store: email (name order).
    assert_eq!(p[0]["preferred_by_engagement"], "email");
    assert_eq!(p[0]["preferred_by_purchases"], "store");
    assert!(p[2]["preferred_by_purchases"].is_null());
    // A malformed cost is an error with the flag named.
    let bad = run(&["channels", "--input", &input, "--channel-cost", "web"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--channel-cost"));
    let bad = run(&["channels", "--input", &input, "--channel-cost", "web=-2"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("channel_costs"));
}

#[test]
fn attribution_models_conserve_revenue() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture(dir.path());
    for model in ["first", "last", "linear", "decay"] {
        let out = ok(&[
            "attribution",
            "--input",
            &input,
            "--model",
            model,
            "--lookback-days",
            "10",
        ]);
        // Every model: 170 in all; the 90 purchase goes to email/A, the others are unattributed.
        assert!(out.contains("170.00 of revenue"), "{model}: {out}");
        assert!(out.contains("(unattributed)"), "{out}");
    }
    let file = dir.path().join("attr.json");
    ok(&[
        "attribution",
        "--input",
        &input,
        "--model",
        "decay",
        "--half-life-days",
        "3",
        "--no-campaigns",
        "--out",
        file.to_str().unwrap(),
    ]);
    let rows = json(&file);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows[0]["channel"], "email");
    assert!(rows[0]["campaign_id"].is_null());
    assert_eq!(rows[0]["attributed_revenue"], 90.0);
    assert_eq!(rows[1]["attributed_revenue"], 80.0);
    let bad = run(&[
        "attribution",
        "--input",
        &input,
        "--model",
        "decay",
        "--half-life-days",
        "0",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("half_life_days"));
}

#[test]
fn satisfaction_per_channel_period_and_segment() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture(dir.path());
    let out = ok(&["satisfaction", "--input", &input]);
    // Scores 4 (phone, Jan) and 2 (web, Feb): mean 3.
    assert!(out.contains("overall    all                 2           3"), "{out}");
    assert!(out.contains("period     2024-02-01          1           2"), "{out}");
    let seg = dir.path().join("segments.csv");
    std::fs::write(&seg, "customer_id,tier\n2,gold\n3,basic\n").unwrap();
    let (sum, dist) = (dir.path().join("sat.json"), dir.path().join("dist.json"));
    ok(&[
        "satisfaction",
        "--input",
        &input,
        "--segments",
        seg.to_str().unwrap(),
        "--segment-column",
        "tier",
        "--distribution-out",
        dist.to_str().unwrap(),
        "--out",
        sum.to_str().unwrap(),
    ]);
    let rows = json(&sum);
    let rows = rows.as_array().unwrap();
    let last = &rows[rows.len() - 1];
    assert_eq!(last["dimension"], "segment");
    assert_eq!(last["group"], "gold");
    assert_eq!(last["mean_score"], 4.0);
    let d = json(&dist);
    assert_eq!(d.as_array().unwrap()[0]["score"], 2);
}

#[test]
fn customer_card_and_customers360_table() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture(dir.path());
    let table = dir.path().join("clv.csv");
    std::fs::write(&table, "customer_id,clv\n1,250.5\n").unwrap();
    let out = ok(&[
        "customer",
        "1",
        "--input",
        &input,
        "--recent",
        "2",
        "--table",
        table.to_str().unwrap(),
    ]);
    // Customer 1: purchases 90 + 30, first Jan 5, last Feb 3; tenure to the store's last event
    // (Feb 3): 29 days; the newest two events are the purchases of Feb 3 and Jan 5.
    assert!(out.contains("revenue           : 120"), "{out}");
    assert!(out.contains("orders            : 2"), "{out}");
    assert!(out.contains("tenure_days       : 29"), "{out}");
    assert!(out.contains("last_email        : 2024-01-01"), "{out}");
    assert!(out.contains("avg_satisfaction  : -"), "{out}");
    assert!(out.contains("clv               : 250.5"), "{out}");
    assert!(out.contains("most recent 2 events"), "{out}");
    let feb = out.find("2024-02-03").unwrap();
    let jan = out.rfind("2024-01-05").unwrap();
    assert!(feb < jan, "{out}");
    let bad = run(&["customer", "42", "--input", &input]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("42"));
    let file = dir.path().join("c360.json");
    ok(&[
        "customers360",
        "--input",
        &input,
        "--table",
        table.to_str().unwrap(),
        "--as-of",
        "2024-02-01",
        "--out",
        file.to_str().unwrap(),
    ]);
    let rows = json(&file);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    // Before Feb 1: customer 1 bought 90, customer 2 50 and scored 4, customer 3 nothing yet.
    assert_eq!(rows[0]["revenue"], 90.0);
    assert_eq!(rows[0]["clv"], 250.5);
    assert!(rows[1]["clv"].is_null());
    assert_eq!(rows[1]["avg_satisfaction"], 4.0);
    assert_eq!(rows[2]["orders"], 0);
}

#[test]
fn campaigns_with_a_control_group_and_segments() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("camp.csv");
    // Treated 1, 2 (1 responds Jan 3 and buys 25 on Jan 4); control 3 (responds), 4.
    std::fs::write(
        &input,
        "customer_id,event_time,event_type,amount,campaign_id\n\
         1,2024-01-01,campaign_send,,C1\n\
         1,2024-01-03,campaign_response,,C1\n\
         1,2024-01-04,purchase,25,\n\
         2,2024-01-01,campaign_send,,C1\n\
         3,2024-01-01,campaign_send,,C1:control\n\
         3,2024-01-02,campaign_response,,C1\n\
         4,2024-01-01,campaign_send,,C1:control\n",
    )
    .unwrap();
    let input = input.to_str().unwrap();
    let out = ok(&["campaigns", "--input", input]);
    assert!(out.contains("C1"), "{out}");
    let seg = dir.path().join("seg.csv");
    std::fs::write(&seg, "customer_id,segment\n1,a\n2,a\n3,a\n4,b\n").unwrap();
    let file = dir.path().join("camp.json");
    ok(&[
        "campaigns",
        "--input",
        input,
        "--segments",
        seg.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    let rows = json(&file);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3); // all, a, b
    // p1 = 1/2, p0 = 1/2: uplift 0, half-width 1.959964 * sqrt(0.125 + 0.125) = 0.979982.
    assert!(rows[0]["segment"].is_null());
    assert_eq!(rows[0]["response_rate"], 0.5);
    assert_eq!(rows[0]["responder_revenue"], 25.0);
    assert_eq!(rows[0]["uplift"], 0.0);
    assert!((rows[0]["uplift_ci_high"].as_f64().unwrap() - 0.979_982).abs() < 1e-6);
    // Segment b holds only control customer 4: no treated customers, no uplift.
    assert_eq!(rows[2]["segment"], "b");
    assert!(rows[2]["response_rate"].is_null());
    assert!(rows[2]["uplift"].is_null());
    let bad = run(&["campaigns", "--input", input, "--window-days", "0"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("window_days"));
}

#[test]
fn cross_sell_rules_and_next_best() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("baskets.csv");
    // Baskets: 1 {bread, milk}, 2 {bread, butter}, 3 {bread}. N = 3, bread 3, milk 1, butter 1.
    // bread→milk: conf 1/3, lift 3·1/(3·1) = 1; milk→bread: conf 1, lift 1.
    std::fs::write(
        &input,
        "customer_id,event_time,event_type,amount,product\n\
         1,2024-01-01,purchase,3,bread\n\
         1,2024-01-01,purchase,1,milk\n\
         2,2024-01-01,purchase,3,bread\n\
         2,2024-01-02,purchase,2,butter\n\
         3,2024-01-05,purchase,3,bread\n",
    )
    .unwrap();
    let input = input.to_str().unwrap();
    let out = ok(&["cross-sell", "--input", input, "--min-support", "0.3"]);
    assert!(out.contains("bread"), "{out}");
    let (rules, nb) = (dir.path().join("rules.json"), dir.path().join("nb.json"));
    ok(&[
        "cross-sell",
        "--input",
        input,
        "--min-support",
        "0.25",
        "--basket",
        "day",
        "--next-best-out",
        nb.to_str().unwrap(),
        "--out",
        rules.to_str().unwrap(),
    ]);
    // Day baskets (N = 4): 1/Jan 1 {bread, milk}, 2/Jan 1 {bread}, 2/Jan 2 {butter}, 3 {bread}:
    // every product has support ≥ 0.25; only bread+milk occurs together (1/4, kept):
    // bread→milk conf 1/3, lift 4·1/(3·1) = 4/3.
    let r = json(&rules);
    let r = r.as_array().unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["antecedent"], "bread");
    assert_eq!(r[0]["consequent"], "milk");
    assert_eq!(r[0]["baskets_total"], 4);
    assert!((r[0]["lift"].as_f64().unwrap() - 4.0 / 3.0).abs() < 1e-12);
    // Next best: 2 and 3 hold bread, not milk.
    let n = json(&nb);
    let n = n.as_array().unwrap();
    assert_eq!(n.len(), 2);
    assert_eq!(n[0]["customer_id"], 2);
    assert_eq!(n[0]["product"], "milk");
    assert_eq!(n[1]["rank"], 1);
    let bad = run(&["cross-sell", "--input", input, "--min-support", "2"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("min_support"));
}

#[test]
fn acquisition_channels_with_clv() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture(dir.path());
    let out = ok(&["acquisition", "--input", &input]);
    assert!(out.contains("store"), "{out}");
    let clv = dir.path().join("clv.csv");
    std::fs::write(&clv, "customer_id,clv\n1,200\n2,80\n").unwrap();
    let file = dir.path().join("acq.json");
    ok(&[
        "acquisition",
        "--input",
        &input,
        "--clv",
        clv.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    // First purchases: 1 on web (90 + 30 = 120), 2 in store (50); 3 never buys.
    let rows = json(&file);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["acquisition_channel"], "store");
    assert_eq!(rows[0]["revenue"], 50.0);
    assert_eq!(rows[0]["mean_clv"], 80.0);
    assert_eq!(rows[1]["acquisition_channel"], "web");
    assert_eq!(rows[1]["revenue_per_customer"], 120.0);
    assert_eq!(rows[1]["total_clv"], 200.0);
}
