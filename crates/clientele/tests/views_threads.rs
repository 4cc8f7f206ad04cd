//! Every view gives identical results on 1 and 3 threads, on a store of several chunks (on 1
//! thread the cohort matrix is merged in two waves of chunks, on 3 in one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::collections::BTreeMap;

use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::store::EventStore;
use clientele::views::*;
use common::*;

/// 20,000 generated customers: three chunks of 8,192.
fn store() -> EventStore {
    let cfg = clientele::synth::GenerateParams::default()
        .customers(20_000)
        .validate()
        .unwrap();
    let batches = clientele::synth::generate(&cfg).unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("synth", batches.into_iter().map(Ok)).unwrap();
    ing.finish().unwrap().0
}

#[test]
fn one_thread_and_three_agree() {
    let store = store();
    assert!(store.num_customers() > 2 * 8192);
    let (one, three) = (Parallelism::threads(1).unwrap(), Parallelism::threads(3).unwrap());
    let as_of = date(2025, 1, 1);

    let cfg = CohortParams::new(as_of).validate().unwrap();
    let c = cohorts(&store, &cfg, &one).unwrap();
    assert!(c.num_rows() > 0);
    assert_eq!(c, cohorts(&store, &cfg, &three).unwrap());
    let cfg = CohortParams::new(as_of).by(Grain::Week).validate().unwrap();
    assert_eq!(
        cohorts(&store, &cfg, &one).unwrap(),
        cohorts(&store, &cfg, &three).unwrap()
    );

    let cfg = ChannelParams::new().validate().unwrap();
    let ch = channels(&store, &cfg, &one).unwrap();
    assert!(ch.preferred.num_rows() > 10_000);
    assert_eq!(ch, channels(&store, &cfg, &three).unwrap());
    let costs = BTreeMap::from([("web".to_string(), 10.0), ("email".to_string(), 5.0)]);
    let cfg = ChannelParams::new()
        .channel_costs(costs)
        .as_of(as_of)
        .validate()
        .unwrap();
    assert_eq!(
        channels(&store, &cfg, &one).unwrap(),
        channels(&store, &cfg, &three).unwrap()
    );

    for model in [
        AttributionModel::First,
        AttributionModel::Last,
        AttributionModel::Linear,
        AttributionModel::Decay,
    ] {
        let cfg = AttributionParams::new(model).validate().unwrap();
        let a = attribution(&store, &cfg, &one).unwrap();
        assert_eq!(a, attribution(&store, &cfg, &three).unwrap());
        // Conservation on generated data: the rows add up to the total purchase revenue.
        let total: f64 = f64s(&ch.channels, "revenue").iter().sum();
        let attributed: f64 = f64s(&a, "attributed_revenue").iter().sum();
        assert!(
            (attributed - total).abs() < 1e-6 * total.max(1.0),
            "{attributed} vs {total}"
        );
    }

    let cfg = SatisfactionParams::new().validate().unwrap();
    let s = satisfaction(&store, None, &cfg, &one).unwrap();
    assert!(u64s(&s.summary, "responses")[0] > 0);
    assert_eq!(s, satisfaction(&store, None, &cfg, &three).unwrap());
}

#[test]
fn params_deserialize_with_documented_defaults() {
    let c: CohortParams = serde_json::from_str(r#"{"as_of": "2024-03-01"}"#).unwrap();
    assert_eq!(c, CohortParams::new(date(2024, 3, 1)));
    let c: CohortParams = serde_json::from_str(r#"{"as_of": "2024-03-01", "by": "week"}"#).unwrap();
    assert_eq!(c.by, Grain::Week);
    let ch: ChannelParams = serde_json::from_str(r#"{"channel_costs": {"web": 2.5}}"#).unwrap();
    assert_eq!(ch.channel_costs.unwrap()["web"], 2.5);
    let a: AttributionParams = serde_json::from_str(r#"{"model": "decay"}"#).unwrap();
    assert_eq!(a, AttributionParams::new(AttributionModel::Decay));
    assert_eq!((a.lookback_days, a.half_life_days, a.by_campaign), (30, 7.0, true));
    let s: SatisfactionParams = serde_json::from_str("{}").unwrap();
    assert_eq!(s, SatisfactionParams::new());
    assert_eq!(s.survey_type.as_deref(), Some("survey"));
    let s: SatisfactionParams = serde_json::from_str(r#"{"survey_type": null}"#).unwrap();
    assert_eq!(s.survey_type, None);
}
