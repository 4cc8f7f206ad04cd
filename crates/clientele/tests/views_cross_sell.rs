//! Cross-sell rules and next-best products on hand-made baskets worked out in the comments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::store::EventStore;
use clientele::views::{Basket, CrossSellParams, cross_sell};
use common::*;

// Customer baskets (N = 5): 1 {bread, milk}; 2 {bread, butter, milk}; 3 {bread, butter};
// 4 {beer}; 5 {milk}. The web_visit with a product is not a purchase; 2 buys bread twice.
// n: bread 3, milk 3, butter 2, beer 1. min_support 0.3 drops beer (0.2).
// Pairs: bread+milk 2 (0.4), bread+butter 2 (0.4), butter+milk 1 (0.2: dropped).
// bread→butter: conf 2/3, lift 5·2/(3·2) = 5/3;   bread→milk: conf 2/3, lift 5·2/(3·3) = 10/9;
// butter→bread: conf 1,   lift 5/3;               milk→bread: conf 2/3, lift 10/9.
const EVENTS: &str = "customer_id,event_time,event_type,amount,product\n\
    1,2024-01-01,purchase,3,bread\n\
    1,2024-01-02,purchase,1,milk\n\
    2,2024-01-01,purchase,3,bread\n\
    2,2024-01-01,purchase,2,butter\n\
    2,2024-01-03,purchase,1,milk\n\
    2,2024-01-04,purchase,3,bread\n\
    3,2024-01-01,purchase,3,bread\n\
    3,2024-01-01,purchase,2,butter\n\
    3,2024-01-02,web_visit,,milk\n\
    4,2024-01-01,purchase,5,beer\n\
    5,2024-01-01,purchase,1,milk\n";

fn store(csv: &str) -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(csv.as_bytes(), "events.csv", &CsvOptions::default())
        .unwrap();
    ing.finish().unwrap().0
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
    }
}

#[test]
fn rules_by_hand() {
    let store = store(EVENTS);
    let cfg = CrossSellParams::new().min_support(0.3).top_k(2).validate().unwrap();
    let v = cross_sell(&store, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
    assert_eq!(v, cross_sell(&store, &cfg, &Parallelism::threads(3).unwrap()).unwrap());
    let r = &v.rules;
    assert_eq!(strs(r, "antecedent"), ["bread", "bread", "butter", "milk"]);
    assert_eq!(strs(r, "consequent"), ["butter", "milk", "bread", "bread"]);
    assert_eq!(u64s(r, "baskets"), [2, 2, 2, 2]);
    assert_eq!(u64s(r, "baskets_total"), [5, 5, 5, 5]);
    close(&f64s(r, "support"), &[0.4, 0.4, 0.4, 0.4]);
    close(&f64s(r, "confidence"), &[2.0 / 3.0, 2.0 / 3.0, 1.0, 2.0 / 3.0]);
    close(&f64s(r, "lift"), &[5.0 / 3.0, 10.0 / 9.0, 5.0 / 3.0, 10.0 / 9.0]);
    // Next best: 1 {bread, milk}: butter (bread→butter, 5/3); 2 holds all: none;
    // 3 {bread, butter}: milk (bread→milk, 10/9; the web visit is no purchase); 4: none (beer
    // is pruned); 5 {milk}: bread (milk→bread, 10/9).
    let n = &v.next_best;
    assert_eq!(i64s(n, "customer_id"), [1, 3, 5]);
    assert_eq!(strs(n, "product"), ["butter", "milk", "bread"]);
    assert_eq!(strs(n, "antecedent"), ["bread", "bread", "milk"]);
    close(&f64s(n, "lift"), &[5.0 / 3.0, 10.0 / 9.0, 10.0 / 9.0]);
}

#[test]
fn no_pruning_keeps_every_pair_and_ranks_next_best() {
    // min_support 0: butter+milk (1 basket) is kept: butter→milk conf 1/2, lift 5·1/(2·3) = 5/6;
    // milk→butter conf 1/3, lift 5/6.
    let cfg = CrossSellParams::new().min_support(0.0).top_k(5).validate().unwrap();
    let v = cross_sell(&store(EVENTS), &cfg, &Parallelism::current()).unwrap();
    assert_eq!(v.rules.num_rows(), 6);
    // Customer 5 {milk}: bread (10/9) first, then butter (5/6).
    let n = &v.next_best;
    let rows: Vec<usize> = (0..n.num_rows()).filter(|&i| i64s(n, "customer_id")[i] == 5).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(strs(n, "product")[rows[0]], "bread");
    assert_eq!(strs(n, "product")[rows[1]], "butter");
    close(&[f64s(n, "lift")[rows[1]]], &[5.0 / 6.0]);
    assert!(CrossSellParams::new().min_support(1.5).validate().is_err());
}

#[test]
fn day_baskets_by_hand() {
    // Baskets per customer-day (N = 3): 1/Jan 1 {bread, milk}, 1/Jan 2 {bread}, 2/Jan 1 {milk}.
    // n: bread 2, milk 2, pair 1: support 1/3, conf 1/2, lift 3·1/(2·2) = 0.75.
    let csv = "customer_id,event_time,event_type,amount,product\n\
        1,2024-01-01 09:00:00,purchase,3,bread\n\
        1,2024-01-01 18:00:00,purchase,1,milk\n\
        1,2024-01-02,purchase,3,bread\n\
        2,2024-01-01,purchase,1,milk\n";
    let cfg = CrossSellParams::new()
        .basket(Basket::parse("day").unwrap())
        .min_support(0.3)
        .validate()
        .unwrap();
    let v = cross_sell(&store(csv), &cfg, &Parallelism::current()).unwrap();
    assert_eq!(u64s(&v.rules, "baskets_total"), [3, 3]);
    close(&f64s(&v.rules, "support"), &[1.0 / 3.0, 1.0 / 3.0]);
    close(&f64s(&v.rules, "confidence"), &[0.5, 0.5]);
    close(&f64s(&v.rules, "lift"), &[0.75, 0.75]);
    // Customer baskets instead (N = 2): {bread, milk}, {milk}: lift 2·1/(1·2) = 1.
    let cfg = CrossSellParams::new().min_support(0.3).validate().unwrap();
    let v = cross_sell(&store(csv), &cfg, &Parallelism::current()).unwrap();
    close(&f64s(&v.rules, "lift"), &[1.0, 1.0]);
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
    for basket in [Basket::Customer, Basket::Day] {
        let cfg = CrossSellParams::new()
            .basket(basket)
            .min_support(0.0005)
            .validate()
            .unwrap();
        let one = cross_sell(&store, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
        assert!(one.rules.num_rows() > 0);
        assert_eq!(
            one,
            cross_sell(&store, &cfg, &Parallelism::threads(3).unwrap()).unwrap()
        );
    }
}
