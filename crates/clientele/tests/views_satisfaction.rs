//! Satisfaction scores on a hand-made fixture worked out in the comments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use clientele::exec::Parallelism;
use clientele::ingest::{CsvOptions, IngestOptions, Ingestor};
use clientele::store::EventStore;
use clientele::views::{Grain, SatisfactionParams, satisfaction};
use common::*;

// Survey scores: 1: 4 (web, Jan), 5 (web, Feb); 2: 2 (phone, Jan), 3.5 (no channel, Feb);
// 3: 1 (phone, Mar). Customer 3's web_visit with score 5 is not a survey.
const EVENTS: &str = "customer_id,event_time,event_type,channel,score\n\
    1,2024-01-10,survey,web,4\n\
    1,2024-02-10,survey,web,5\n\
    2,2024-01-15,survey,phone,2\n\
    2,2024-02-01,survey,,3.5\n\
    2,2024-02-02,survey,phone,\n\
    3,2024-01-11,web_visit,web,5\n\
    3,2024-03-20,survey,phone,1\n";

fn store() -> EventStore {
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_csv_reader(EVENTS.as_bytes(), "events.csv", &CsvOptions::default())
        .unwrap();
    ing.finish().unwrap().0
}

#[test]
fn summary_and_trend_by_hand() {
    let store = store();
    let cfg = SatisfactionParams::new().validate().unwrap();
    let v = satisfaction(&store, None, &cfg, &Parallelism::current()).unwrap();
    assert_eq!(
        v,
        satisfaction(&store, None, &cfg, &Parallelism::threads(1).unwrap()).unwrap()
    );
    let s = &v.summary;
    assert_eq!(
        strs(s, "dimension"),
        ["overall", "channel", "channel", "period", "period", "period"]
    );
    assert_eq!(
        strs(s, "group"),
        ["all", "phone", "web", "2024-01-01", "2024-02-01", "2024-03-01"]
    );
    // overall: 4, 5, 2, 3.5, 1 (the null score is skipped) -> 15.5 / 5.
    // phone: 2, 1; web: 4, 5 (3.5 has no channel). Jan: 4, 2; Feb: 5, 3.5; Mar: 1.
    assert_eq!(u64s(s, "responses"), [5, 2, 2, 2, 2, 1]);
    assert_eq!(f64s(s, "mean_score"), [3.1, 1.5, 4.5, 3.0, 4.25, 1.0]);
}

#[test]
fn distribution_by_hand() {
    let v = satisfaction(
        &store(),
        None,
        &SatisfactionParams::new().validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap();
    let d = &v.distribution;
    // overall buckets: 1, 2, 4 (3.5 rounds half away from zero to 4), 4, 5.
    let overall: Vec<usize> = (0..d.num_rows())
        .filter(|&i| strs(d, "dimension")[i] == "overall")
        .collect();
    let score = i64s(d, "score");
    let count = u64s(d, "count");
    let share = f64s(d, "share");
    assert_eq!(overall.iter().map(|&i| score[i]).collect::<Vec<_>>(), [1, 2, 4, 5]);
    assert_eq!(overall.iter().map(|&i| count[i]).collect::<Vec<_>>(), [1, 1, 2, 1]);
    assert_eq!(
        overall.iter().map(|&i| share[i]).collect::<Vec<_>>(),
        [0.2, 0.2, 0.4, 0.2]
    );
    // Every group's counts add up to its responses: 4 + 2 + 2 + 2 + 2 + 1 = 14 rows' worth.
    assert_eq!(count.iter().sum::<u64>(), 5 + 2 + 2 + 2 + 2 + 1);
}

#[test]
fn every_scored_event_weekly_and_as_of() {
    let cfg = SatisfactionParams::new()
        .survey_type(None)
        .by(Grain::Week)
        .as_of(date(2024, 2, 5))
        .validate()
        .unwrap();
    let v = satisfaction(&store(), None, &cfg, &Parallelism::current()).unwrap();
    let s = &v.summary;
    // Before Feb 5, every scored event: 4 (Jan 10), 2 (Jan 15), 3.5 (Feb 1), 5 (visit Jan 11).
    assert_eq!(u64s(s, "responses")[0], 4);
    assert_eq!(f64s(s, "mean_score")[0], 14.5 / 4.0);
    // Weeks (Mondays): Jan 8 (4, 5), Jan 15 (2), Jan 29 (3.5).
    let periods: Vec<String> = strs(s, "group").into_iter().skip(3).collect();
    assert_eq!(periods, ["2024-01-08", "2024-01-15", "2024-01-29"]);
    assert_eq!(f64s(s, "mean_score")[3..], [4.5, 2.0, 3.5]);
}

#[test]
fn segments_from_a_customer_table() {
    let table = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(vec![1, 2, 3])) as _),
        ("tier", Arc::new(StringArray::from(vec!["gold", "basic", "basic"])) as _),
    ])
    .unwrap();
    let cfg = SatisfactionParams::new().segment_column("tier").validate().unwrap();
    let v = satisfaction(&store(), Some(&table), &cfg, &Parallelism::current()).unwrap();
    let s = &v.summary;
    let n = s.num_rows();
    assert_eq!(strs(s, "dimension")[n - 2..], ["segment", "segment"]);
    assert_eq!(strs(s, "group")[n - 2..], ["basic", "gold"]);
    // basic: 2, 3.5, 1 -> 6.5 / 3; gold: 4, 5.
    assert_eq!(u64s(s, "responses")[n - 2..], [3, 2]);
    assert_eq!(f64s(s, "mean_score")[n - 2..], [6.5 / 3.0, 4.5]);
    // A customer the store does not hold, or a missing column, is an error.
    let bad = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(vec![9])) as _),
        ("tier", Arc::new(StringArray::from(vec!["x"])) as _),
    ])
    .unwrap();
    assert!(satisfaction(&store(), Some(&bad), &cfg, &Parallelism::current()).is_err());
    let cfg = SatisfactionParams::new().validate().unwrap();
    assert!(satisfaction(&store(), Some(&table), &cfg, &Parallelism::current()).is_err());
}

#[test]
fn no_scores_gives_an_empty_overall_row() {
    let cfg = SatisfactionParams::new()
        .survey_type(Some("nps".into()))
        .validate()
        .unwrap();
    let v = satisfaction(&store(), None, &cfg, &Parallelism::current()).unwrap();
    assert_eq!(u64s(&v.summary, "responses"), [0]);
    assert_eq!(null_count(&v.summary, "mean_score"), 1);
    assert_eq!(v.distribution.num_rows(), 0);
}
