//! The service over real HTTP on a free loopback port, with a real client (ureq): every
//! route, bad requests, Arrow IPC scoring, and a model reload under traffic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use clientele::chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::kernels::summary::{SummaryParams, TimeUnit};
use clientele::models::SavedModels;
use clientele::pipeline::{self, ClvParams, CustomerSummary, Discount, EventSource};
use scoring_service::{App, Limits, ServiceConfig};
use serde_json::{Value, json};

struct Fixture {
    dir: tempfile::TempDir,
    store: PathBuf,
    models: PathBuf,
    /// The summary the models were fitted on (what the service scores).
    summary: CustomerSummary,
    saved: SavedModels,
    /// A churn classifier trained on the store (for the cards' churn probability).
    churn: Option<PathBuf>,
    /// Its scores as of the service's as-of date, for comparison.
    churn_scores: arrow_array::RecordBatch,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let par = Parallelism::threads(2).unwrap();
    let cfg = clientele::synth::GenerateParams::default()
        .customers(3000)
        .seed(9)
        .validate()
        .unwrap();
    let batches = clientele::synth::generate(&cfg).unwrap();
    let mut ing = Ingestor::new(&IngestOptions::default()).unwrap();
    ing.read_batches("synth", batches.into_iter().map(Ok)).unwrap();
    let (store, _) = ing.finish().unwrap();
    let store_dir = dir.path().join("store");
    store.save(&store_dir, Default::default()).unwrap();
    let end = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    let prep = SummaryParams::new(end).time_unit(TimeUnit::Week).validate().unwrap();
    let summary = pipeline::customer_summary(&EventSource::Store(&store), &prep, &par)
        .unwrap()
        .summary;
    let run = pipeline::clv(
        &summary,
        &ClvParams::new(Discount::Monthly { rate: 0.01 }).validate().unwrap(),
        &par,
    )
    .unwrap();
    let models = dir.path().join("models.json");
    std::fs::write(&models, run.models.to_json().unwrap()).unwrap();
    let cutoff = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
    let training = pipeline::churn_train(&store, cutoff, 90, None, 1.0, false, &par).unwrap();
    let churn = dir.path().join("churn.json");
    std::fs::write(&churn, training.model.to_json().unwrap()).unwrap();
    let as_of = end.succ_opt().unwrap();
    let churn_scores = pipeline::churn_score(&store, &training.model, as_of, None, &par).unwrap();
    Fixture {
        dir,
        store: store_dir,
        models,
        summary,
        saved: run.models,
        churn: Some(churn),
        churn_scores,
    }
}

struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start(f: &Fixture, limits: Limits) -> Server {
    let app = Arc::new(
        App::load(ServiceConfig {
            store: f.store.clone(),
            models: f.models.clone(),
            calibration_end: None,
            threads: 2,
            recent: 5,
            event_log: Some(f.dir.path().join("events.jsonl")),
            churn_model: f.churn.clone(),
        })
        .unwrap(),
    );
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            scoring_service::serve(listener, app, limits, async {
                let _ = stop_rx.await;
            })
            .await
            .unwrap();
        });
    });
    let addr = addr_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    Server {
        base: format!("http://{addr}"),
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn get(url: &str) -> (u16, String) {
    let mut r = agent().get(url).call().unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let mut r = agent().post(url).send_json(body).unwrap();
    (r.status().as_u16(), r.body_mut().read_json().unwrap())
}

#[test]
fn every_route_answers() {
    let f = fixture();
    let s = start(&f, Limits::default());

    let (status, body) = get(&format!("{}/healthz", s.base));
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["customers"], 3000);
    assert_eq!(health["models"], f.saved.kinds());

    // a card: profile, scores equal to the library's, recent events newest first
    let key = 1_000_007i64;
    let (status, body) = get(&format!("{}/customers/{key}", s.base));
    assert_eq!(status, 200, "{body}");
    let card: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(card["customer_id"], key);
    assert!(card["recent"].as_array().unwrap().len() <= 5);
    let lib = pipeline::score_clv(
        &f.summary,
        &f.saved,
        &ClvParams::default().validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap()
    .table;
    let rows = clientele::io::json_rows(&lib).unwrap();
    let want = rows.iter().find(|r| r["customer_id"] == key).unwrap();
    assert_eq!(&card["scores"], want);
    // the churn classifier's probability, as pipeline::churn_score gives it
    let churn_rows = clientele::io::json_rows(&f.churn_scores).unwrap();
    let want = churn_rows.iter().find(|r| r["customer_id"] == key).unwrap();
    assert_eq!(card["churn_probability"], want["churn_probability"]);

    // unknown customers and routes: 404 with a JSON error
    let (status, body) = get(&format!("{}/customers/424242", s.base));
    assert_eq!(status, 404);
    assert!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("424242")
    );
    assert_eq!(get(&format!("{}/customers/not-a-number", s.base)).0, 404);
    assert_eq!(get(&format!("{}/nowhere", s.base)).0, 404);

    let (status, body) = get(&format!("{}/segments", s.base));
    assert_eq!(status, 200);
    let seg: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(seg["value_tiers"].as_array().unwrap().len(), 2);
    let risk_total: u64 = seg["risk_tiers"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(risk_total as usize, f.summary.len());

    // the HTML report: explicit dates, defaults, and bad dates
    let (status, page) = get(&format!(
        "{}/report?as_of=2026-01-01&calibration_end=2025-06-30",
        s.base
    ));
    assert_eq!(status, 200, "{page}");
    assert!(page.starts_with("<!DOCTYPE html>"));
    for key in clientele_report::html::SECTION_KEYS {
        assert!(page.contains(&format!("data-section=\"{key}\"")), "{key}");
    }
    let (status, again) = get(&format!(
        "{}/report?as_of=2026-01-01&calibration_end=2025-06-30",
        s.base
    ));
    assert_eq!(
        (status, again.len()),
        (200, page.len()),
        "the same dates give the cached page"
    );
    let (status, page) = get(&format!("{}/report", s.base));
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("data-section=\"churn\""));
    for bad in [
        "as_of=2026-13-01",
        "as_of=2026-01-01&calibration_end=2026-02-01",
        "color=red",
    ] {
        let (status, body) = get(&format!("{}/report?{bad}", s.base));
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
    }

    let (status, text) = get(&format!("{}/metrics", s.base));
    assert_eq!(status, 200);
    assert!(
        text.contains("clientele_requests_total{route=\"/customers/{id}\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("clientele_requests_total{route=\"/customers/{id}\",status=\"404\"} 2"),
        "{text}"
    );
    assert!(text.contains("clientele_store_customers 3000"), "{text}");
}

#[test]
fn score_json_and_arrow_equal_the_library() {
    let f = fixture();
    let s = start(&f, Limits::default());
    let histories = json!({"customers": [
        {"customer_id": 1, "frequency": 0, "recency": 0, "T": 10, "monetary_value": 0},
        {"customer_id": 2, "frequency": 4, "recency": 30, "T": 52, "monetary_value": 35.5},
        {"customer_id": 3, "frequency": 12, "recency": 51, "T": 52, "monetary_value": 80},
    ]});
    let (status, body) = post_json(&format!("{}/score", s.base), &histories);
    assert_eq!(status, 200, "{body}");
    let scores = body["scores"].as_array().unwrap();
    assert_eq!(scores.len(), 3);
    // the library on the same three histories
    let batch = arrow_array::RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(arrow_array::Int64Array::from(vec![1, 2, 3])) as arrow_array::ArrayRef,
        ),
        (
            "frequency",
            Arc::new(arrow_array::Float64Array::from(vec![0.0, 4.0, 12.0])) as _,
        ),
        (
            "recency",
            Arc::new(arrow_array::Float64Array::from(vec![0.0, 30.0, 51.0])) as _,
        ),
        (
            "T",
            Arc::new(arrow_array::Float64Array::from(vec![10.0, 52.0, 52.0])) as _,
        ),
        (
            "monetary_value",
            Arc::new(arrow_array::Float64Array::from(vec![0.0, 35.5, 80.0])) as _,
        ),
    ])
    .unwrap();
    let summary = CustomerSummary::new(batch.clone(), f.saved.window.unwrap()).unwrap();
    let lib = pipeline::score_clv(
        &summary,
        &f.saved,
        &ClvParams::default().validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap()
    .table;
    assert_eq!(scores, &clientele::io::json_rows(&lib).unwrap());

    // the same as an Arrow IPC stream, answered in kind
    let mut ipc = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut ipc, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    }
    let mut r = agent()
        .post(&format!("{}/score", s.base))
        .header("content-type", scoring_service::ARROW_STREAM)
        .send(&ipc[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], scoring_service::ARROW_STREAM);
    let bytes = r.body_mut().read_to_vec().unwrap();
    let back: Vec<_> = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, vec![lib]);
}

#[test]
fn bad_requests_get_json_errors() {
    let f = fixture();
    let s = start(
        &f,
        Limits {
            max_body_bytes: 4096,
            ..Limits::default()
        },
    );
    let url = format!("{}/score", s.base);
    let send = |body: &[u8], ctype: &str| {
        let mut r = agent().post(&url).header("content-type", ctype).send(body).unwrap();
        let status = r.status().as_u16();
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        (status, v)
    };
    let (status, v) = send(b"{not json", "application/json");
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("malformed JSON"));
    let (status, v) = send(
        br#"{"customers": [{"customer_id": 1, "frequency": "x"}]}"#,
        "application/json",
    );
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("frequency"), "{v}");
    // an invalid history is the caller's error, in the engine's words
    let (status, v) = send(
        br#"{"customers": [{"customer_id": 1, "frequency": 3, "recency": 60, "T": 52}]}"#,
        "application/json",
    );
    assert_eq!(status, 400, "{v}");
    let (status, v) = send(b"garbage", scoring_service::ARROW_STREAM);
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("Arrow"));
    let big = vec![b' '; 10_000];
    let (status, v) = send(&big, "application/json");
    assert_eq!(status, 413, "{v}");
    assert_eq!(v["status"], 413);
}

#[test]
fn reload_under_traffic_never_fails_a_request() {
    let f = fixture();
    let s = start(&f, Limits::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, bad) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let (stop, ok, bad, base) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&bad), s.base.clone());
            std::thread::spawn(move || {
                let mut k = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = 1_000_001 + (i * 500 + k) % 3000;
                    let (status, body) = get(&format!("{base}/customers/{id}"));
                    let card: Value = serde_json::from_str(&body).unwrap();
                    if status == 200 && (card["scores"].is_object() || card["scores"].is_null()) {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                    k += 1;
                }
            })
        })
        .collect();
    // rewrite the model file with a penalized fit, reload a few times while the clients run
    let par = Parallelism::current();
    let penalized = pipeline::clv(
        &f.summary,
        &ClvParams::new(Discount::Monthly { rate: 0.01 })
            .purchase_penalizer(0.1)
            .validate()
            .unwrap(),
        &par,
    )
    .unwrap();
    for round in 0..4 {
        let json = if round % 2 == 0 {
            penalized.models.to_json().unwrap()
        } else {
            f.saved.to_json().unwrap()
        };
        clientele::io::write_bytes_atomically(&f.models, json.as_bytes()).unwrap();
        let (status, body) = post_json(&format!("{}/admin/reload", s.base), &json!({}));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["reloaded"], true);
    }
    // a broken model file: the reload fails and the old models stay
    std::fs::write(&f.models, "{ broken").unwrap();
    let (status, body) = post_json(&format!("{}/admin/reload", s.base), &json!({}));
    assert_eq!(status, 500, "{body}");
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(bad.load(Ordering::Relaxed), 0);
    assert!(ok.load(Ordering::Relaxed) > 20);
    let (_, text) = get(&format!("{}/metrics", s.base));
    assert!(text.contains("clientele_reloads_total{result=\"ok\"} 4"), "{text}");
    assert!(text.contains("clientele_reloads_total{result=\"failed\"} 1"), "{text}");
    // still serving the last good models
    assert_eq!(get(&format!("{}/healthz", s.base)).0, 200);
}

#[test]
fn appended_events_are_durable_validated_and_counted() {
    let f = fixture();
    let key = 1_000_011i64;
    let card_of = |base: &str, id: i64| -> (u16, Value) {
        let (status, body) = get(&format!("{base}/customers/{id}"));
        (status, serde_json::from_str(&body).unwrap())
    };
    let before;
    {
        let s = start(&f, Limits::default());
        let (status, card) = card_of(&s.base, key);
        assert_eq!(status, 200);
        before = card.clone();
        assert_eq!(card_of(&s.base, 5_000_000).0, 404);
        let body = json!({"events": [
            {"customer_id": key, "event_time": "2025-06-01T12:00:00Z", "event_type": "purchase", "amount": 99.5, "channel": "web"},
            {"customer_id": 5_000_000, "event_time": "2025-03-01", "event_type": "purchase", "amount": 10},
            {"customer_id": key, "event_time": "not a time", "event_type": "purchase", "amount": 1},
            {"customer_id": null, "event_time": "2025-03-01", "event_type": "purchase", "amount": 1},
        ]});
        let (status, report) = post_json(&format!("{}/events", s.base), &body);
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["rows_read"], 4);
        assert_eq!(report["rows_accepted"], 2);
        assert_eq!(report["rows_rejected"], 2);
        let rejections = report["rejections"].as_array().unwrap();
        assert_eq!(rejections.len(), 2);
        assert_eq!(rejections[0]["row"], 3);
        assert_eq!(rejections[0]["column"], "event_time");
        assert_eq!(rejections[1]["column"], "customer_id");
        // the card and the scores include the new purchase
        let (status, card) = card_of(&s.base, key);
        assert_eq!(status, 200);
        assert_eq!(
            card["profile"]["orders"].as_u64().unwrap(),
            before["profile"]["orders"].as_u64().unwrap() + 1
        );
        let revenue = |c: &Value| c["profile"]["revenue"].as_f64().unwrap();
        assert!((revenue(&card) - revenue(&before) - 99.5).abs() < 1e-6);
        assert_ne!(card["scores"], before["scores"]);
        let (status, newcomer) = card_of(&s.base, 5_000_000);
        assert_eq!(status, 200);
        assert_eq!(newcomer["profile"]["orders"], 1);
        // every row rejected: 422 with the report
        let (status, report) = post_json(
            &format!("{}/events", s.base),
            &json!({"events": [{"customer_id": key, "event_time": "never"}]}),
        );
        assert_eq!(status, 422, "{report}");
        let (status, _) = post_json(&format!("{}/events", s.base), &json!({"rows": []}));
        assert_eq!(status, 400);
        let (_, text) = get(&format!("{}/metrics", s.base));
        assert!(text.contains("clientele_events_total{result=\"accepted\"} 2"), "{text}");
        assert!(text.contains("clientele_events_total{result=\"rejected\"} 3"), "{text}");
    }
    // a restart replays the log: the same card
    let s = start(&f, Limits::default());
    let (status, card) = card_of(&s.base, key);
    assert_eq!(status, 200);
    assert_eq!(
        card["profile"]["orders"].as_u64().unwrap(),
        before["profile"]["orders"].as_u64().unwrap() + 1
    );
    assert_eq!(card_of(&s.base, 5_000_000).0, 200);
    let log = std::fs::read_to_string(f.dir.path().join("events.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 2);
}

#[test]
fn slow_requests_time_out_with_a_json_503() {
    let f = fixture();
    // a 1 ms budget: a reload (read the model file, rescore 3,000 customers) takes longer and
    // is answered 503 (its work finishes in the background), while an answer ready at once
    // (health) still gets through
    let s = start(
        &f,
        Limits {
            timeout: Duration::from_millis(1),
            ..Limits::default()
        },
    );
    let (status, v) = post_json(&format!("{}/admin/reload", s.base), &json!({}));
    assert_eq!(status, 503, "{v}");
    assert!(v["error"].as_str().unwrap().contains("longer than 1 ms"));
    assert_eq!(get(&format!("{}/healthz", s.base)).0, 200);
    // a report takes longer than 1 ms: 503 with when to retry; the build goes on and is kept,
    // so a later request for the same dates is served from it
    let url = format!("{}/report?as_of=2026-01-01&calibration_end=2025-06-30", s.base);
    let mut r = agent().get(&url).call().unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers().get("retry-after").unwrap(), "10");
    let body: Value = r.body_mut().read_json().unwrap();
    assert!(body["error"].as_str().unwrap().contains("still being built"), "{body}");
    let mut served = false;
    for _ in 0..600 {
        std::thread::sleep(Duration::from_millis(100));
        let (status, html) = get(&url);
        if status == 200 {
            assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..80.min(html.len())]);
            served = true;
            break;
        }
        assert_eq!(status, 503, "{html}");
    }
    assert!(served, "the report built after a timed-out request was never served");
}
