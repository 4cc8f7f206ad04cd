//! The HTTP face: routes, JSON errors, limits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clientele::pipeline::{self, CustomerSummary};
use clientele::store::KeyRef;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::state::{App, Key};

/// The Arrow IPC stream media type (`POST /score` answers in the format it was sent).
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// Limits of the HTTP face.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body, bytes (413 above).
    pub max_body_bytes: usize,
    /// Longest a request may take (503 after).
    pub timeout: Duration,
    /// Requests served at once; more wait for a slot (within the timeout).
    pub max_concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 << 20,
            timeout: Duration::from_secs(10),
            max_concurrency: 256,
        }
    }
}

/// An error answer: `{"error": message}` with a status.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn bad_request(m: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, m.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            axum::Json(json!({ "error": self.1, "status": self.0.as_u16() })),
        )
            .into_response()
    }
}

impl From<clientele::Error> for ApiError {
    fn from(e: clientele::Error) -> Self {
        // invalid input data is the caller's; everything else is ours
        let status = match e {
            clientele::Error::InvalidParameter { .. }
            | clientele::Error::InvalidModelData { .. }
            | clientele::Error::MissingColumn { .. }
            | clientele::Error::ColumnType { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

type ApiResult = Result<Response, ApiError>;

/// The service's routes over `app`, with `limits`.
pub fn router(app: Arc<App>, limits: Limits) -> Router {
    let slots = Arc::new(Semaphore::new(limits.max_concurrency.max(1)));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/customers/{id}", get(customer))
        .route("/segments", get(segments))
        .route("/report", get(report))
        .route("/score", post(score))
        .route("/events", post(append_events))
        .route("/admin/reload", post(reload))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such route".into()) })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            (Arc::clone(&app), slots, limits.timeout),
            guard,
        ))
        .with_state(app)
}

/// Concurrency slot, timeout, metrics, and JSON for the framework's own rejections.
async fn guard(
    State((app, slots, timeout)): State<(Arc<App>, Arc<Semaphore>, Duration)>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // (a shared string: cloning it does not allocate)
    let route = req.extensions().get::<MatchedPath>().cloned();
    // set once the request holds a slot (a timeout before that never reached the handler)
    let started_work = std::sync::atomic::AtomicBool::new(false);
    let repeatable = req.method() == axum::http::Method::GET || route.as_ref().is_some_and(|r| r.as_str() == "/score");
    let work = async {
        let Ok(_slot) = slots.acquire().await else {
            return ApiError(StatusCode::SERVICE_UNAVAILABLE, "shutting down".into()).into_response();
        };
        started_work.store(true, std::sync::atomic::Ordering::Relaxed);
        next.run(req).await
    };
    let response = match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => {
            let ms = timeout.as_millis();
            let running = started_work.load(std::sync::atomic::Ordering::Relaxed);
            let report = route.as_ref().is_some_and(|r| r.as_str() == "/report");
            let message = if !running {
                format!("no slot freed within {ms} ms (the service is busy)")
            } else if report {
                // a report build goes on after its request times out and is kept (the last one)
                format!("the report is still being built after {ms} ms; it is kept when done: retry shortly")
            } else if repeatable {
                format!("the request took longer than {ms} ms")
            } else {
                // appends and reloads already handed to the engine finish in the background
                format!("the request took longer than {ms} ms; its work may still complete: check before repeating it")
            };
            let mut r = ApiError(StatusCode::SERVICE_UNAVAILABLE, message).into_response();
            // only requests that are safe to repeat are told when to
            if repeatable || !running {
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(if report && running { "10" } else { "1" }),
                );
            }
            r
        }
    };
    let response = json_rejection(response).await;
    app.metrics.request(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Axum answers some bad requests (body too large, wrong content type) in plain text: the
/// same JSON shape as every other error.
async fn json_rejection(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.is_success() || is_json {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    ApiError(status, String::from_utf8_lossy(&body).trim().to_string()).into_response()
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let scored = app.scored();
    axum::Json(json!({
        "status": "ok",
        "customers": app.data.store.num_customers(),
        "events": app.data.store.num_events(),
        "models": scored.models.kinds(),
    }))
    .into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let text = app
        .metrics
        .render(app.data.store.num_customers(), app.data.store.num_events());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Appends row `row` of `table` as a JSON object (`null` past the end).
fn write_row(table: &RecordBatch, row: usize, out: &mut Vec<u8>) -> Result<(), ApiError> {
    clientele::io::JsonRowWriter::try_new(table)?.write_row(row, out);
    Ok(())
}

/// A JSON body written by hand (the card is the hot path: no `Value` tree).
fn json_bytes(body: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

async fn customer(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let (key, owned) = if app.data.int_keys {
        let k: i64 = id
            .trim()
            .parse()
            .map_err(|_| ApiError(StatusCode::NOT_FOUND, format!("no customer {id:?} (keys are integers)")))?;
        (KeyRef::Int(k), Key::Int(k))
    } else {
        (KeyRef::Str(id.as_str()), Key::Str(id.clone()))
    };
    let d = &app.data;
    let appended = app.log.events_of(&owned);
    let scored = app.scored();
    // the card, and the customer's row of scores (none: no purchase in the calibration window)
    let (card, scores) = if appended.is_empty() {
        let card = clientele::views::customer_lookup_indexed(&d.store, &d.index, key, None, &d.card)?
            .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no customer {id:?}")))?;
        let scores = scored.rows.get(&owned).map(|&row| scored.table.slice(row, 1));
        (card, scores)
    } else {
        // stored + appended events, summarized and scored as the whole base was
        let app2 = Arc::clone(&app);
        let scored2 = Arc::clone(&scored);
        let owned_key = owned.clone();
        tokio::task::spawn_blocking(move || with_appended(&app2, &scored2, &owned_key, appended))
            .await
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??
    };
    // the churn classifier's probability (scored at start; none for customers it did not see)
    let churn = app.data.churn.as_ref().and_then(|m| m.get(&owned).copied());
    // keys in sorted order, as every other JSON answer has them
    let mut out = Vec::with_capacity(2048);
    out.extend_from_slice(b"{\"churn_probability\":");
    serde_json::to_writer(&mut out, &churn).map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    out.extend_from_slice(b",\"customer_id\":");
    match &owned {
        Key::Int(k) => out.extend_from_slice(k.to_string().as_bytes()),
        Key::Str(k) => serde_json::to_writer(&mut out, k)
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?,
    }
    out.extend_from_slice(b",\"models\":");
    serde_json::to_writer(&mut out, &scored.models.kinds())
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    out.extend_from_slice(b",\"profile\":");
    write_row(&card.row, 0, &mut out)?;
    out.extend_from_slice(b",\"recent\":");
    clientele::io::JsonRowWriter::try_new(&card.recent)?.write_array(&mut out);
    out.extend_from_slice(b",\"scores\":");
    match &scores {
        Some(t) => write_row(t, 0, &mut out)?,
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    Ok(json_bytes(out))
}

/// The card and scores of a customer with appended events.
fn with_appended(
    app: &App,
    scored: &crate::state::Scored,
    key: &Key,
    appended: Vec<RecordBatch>,
) -> Result<(clientele::views::CustomerCard, Option<RecordBatch>), ApiError> {
    let d = &app.data;
    let key_ref = match key {
        Key::Int(k) => KeyRef::Int(*k),
        Key::Str(s) => KeyRef::Str(s.as_str()),
    };
    let stored = match d.index.position(key_ref) {
        Some(c) => Some(d.store.customer_events(c as usize)?),
        None => None,
    };
    let mini = crate::events::customer_store(stored, appended, d.int_keys)?;
    let card = clientele::views::customer_lookup(&mini, key_ref, None, &d.card)?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, "no such customer".to_string()))?;
    let summary = pipeline::customer_summary(&pipeline::EventSource::Store(&mini), &d.prep, &app.par)?.summary;
    let scores = if summary.is_empty() {
        None
    } else {
        Some(pipeline::score_clv(&summary, &scored.models, &scored.clv, &app.par)?.table)
    };
    Ok((card, scores))
}

async fn append_events(State(app): State<Arc<App>>, body: Bytes) -> ApiResult {
    let doc: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    let rows = doc
        .get("events")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::bad_request("expected {\"events\": [...]}"))?;
    let app2 = Arc::clone(&app);
    let done = tokio::task::spawn_blocking(move || app2.log.append(&rows))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??
        .map_err(ApiError::bad_request)?;
    let r = &done.report;
    app.metrics.events(r.rows_accepted, r.rows_rejected);
    let status = if r.rows_accepted == 0 && r.rows_read > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let customers: Vec<Value> = done
        .customers
        .iter()
        .map(|k| match k {
            Key::Int(i) => Value::from(*i),
            Key::Str(s) => Value::from(s.clone()),
        })
        .collect();
    Ok((
        status,
        axum::Json(json!({
            "rows_read": r.rows_read,
            "rows_accepted": r.rows_accepted,
            "rows_rejected": r.rows_rejected,
            "rejected_by_reason": r.rejected_by_reason,
            "rejections": r.rejections,
            "customers": customers,
            "durable": true,
        })),
    )
        .into_response())
}

/// `GET /report?as_of=YYYY-MM-DD&calibration_end=YYYY-MM-DD`: the HTML report (both dates
/// optional; see [`App::report_dates`]).
async fn report(State(app): State<Arc<App>>, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    let date = |name: &str| -> Result<Option<chrono::NaiveDate>, ApiError> {
        q.get(name)
            .map(|v| {
                chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|e| ApiError::bad_request(format!("{name}: expected YYYY-MM-DD, got {v:?} ({e})")))
            })
            .transpose()
    };
    if let Some(k) = q.keys().find(|k| !matches!(k.as_str(), "as_of" | "calibration_end")) {
        return Err(ApiError::bad_request(format!(
            "unknown parameter {k:?} (as_of, calibration_end)"
        )));
    }
    let (as_of, cal) = app.report_dates(date("as_of")?, date("calibration_end")?);
    let html = app.report_html(as_of, cal).await.map_err(|e| match e {
        crate::report::ReportFailure::BadRequest(m) => ApiError::bad_request(m),
        crate::report::ReportFailure::Internal(m) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, m),
    })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html.as_str().to_owned(),
    )
        .into_response())
}

async fn segments(State(app): State<Arc<App>>) -> ApiResult {
    let tiers = clientele::io::json_rows(&app.data.segments)?;
    let scored = app.scored();
    Ok(axum::Json(json!({ "value_tiers": tiers, "risk_tiers": scored.risk_tiers })).into_response())
}

/// A JSON `{"customers": [{customer_id, frequency, recency, T, monetary_value}, ...]}` as a
/// summary batch.
fn summary_from_json(body: &[u8]) -> Result<RecordBatch, ApiError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
    let rows = doc
        .get("customers")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::bad_request("expected {\"customers\": [...]}"))?;
    let num = |r: &Value, i: usize, name: &str| -> Result<f64, ApiError> {
        r.get(name)
            .and_then(Value::as_f64)
            .ok_or_else(|| ApiError::bad_request(format!("customers[{i}].{name}: expected a number")))
    };
    let (mut x, mut tx, mut t, mut m) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut int_ids = Vec::new();
    let mut str_ids = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        match r.get(clientele::schema::CUSTOMER_ID) {
            Some(Value::Number(n)) if n.is_i64() => {
                int_ids.push(n.as_i64().unwrap_or_default());
                str_ids.push(n.to_string());
            }
            Some(Value::String(s)) => str_ids.push(s.clone()),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "customers[{i}].customer_id: expected an integer or a string"
                )));
            }
        }
        x.push(num(r, i, clientele::schema::output::FREQUENCY)?);
        tx.push(num(r, i, clientele::schema::output::RECENCY)?);
        t.push(num(r, i, clientele::schema::output::T)?);
        m.push(
            r.get(clientele::schema::output::MONETARY_VALUE)
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
        );
    }
    let ids: ArrayRef = if int_ids.len() == rows.len() {
        Arc::new(Int64Array::from(int_ids))
    } else {
        Arc::new(StringArray::from(str_ids))
    };
    RecordBatch::try_from_iter([
        (clientele::schema::CUSTOMER_ID, ids),
        (
            clientele::schema::output::FREQUENCY,
            Arc::new(Float64Array::from(x)) as ArrayRef,
        ),
        (
            clientele::schema::output::RECENCY,
            Arc::new(Float64Array::from(tx)) as ArrayRef,
        ),
        (
            clientele::schema::output::T,
            Arc::new(Float64Array::from(t)) as ArrayRef,
        ),
        (
            clientele::schema::output::MONETARY_VALUE,
            Arc::new(Float64Array::from(m)) as ArrayRef,
        ),
    ])
    .map_err(|e| ApiError::from(clientele::Error::from(e)))
}

fn read_ipc(body: &[u8]) -> Result<RecordBatch, ApiError> {
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(body), None)
        .map_err(|e| ApiError::bad_request(format!("malformed Arrow IPC stream: {e}")))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::bad_request(format!("malformed Arrow IPC stream: {e}")))?;
    arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| ApiError::from(clientele::Error::from(e)))
}

fn write_ipc(batch: &RecordBatch) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let result = (|| -> Result<(), arrow_schema::ArrowError> {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut out, &batch.schema())?;
        w.write(batch)?;
        w.finish()
    })();
    result.map_err(|e| ApiError::from(clientele::Error::from(e)))?;
    Ok(out)
}

async fn score(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let arrow = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(ARROW_STREAM.as_bytes()));
    let batch = if arrow {
        read_ipc(&body)?
    } else {
        summary_from_json(&body)?
    };
    let scored = app.scored();
    let window = scored.models.window.ok_or_else(|| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the models have no data window".into(),
        )
    })?;
    let rows = batch.num_rows();
    let app2 = Arc::clone(&app);
    let table = tokio::task::spawn_blocking(move || -> Result<RecordBatch, clientele::Error> {
        let summary = CustomerSummary::new(batch, window)?;
        Ok(pipeline::score_clv(&summary, &scored.models, &scored.clv, &app2.par)?.table)
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    app.metrics.scored(rows);
    if arrow {
        let mut r = Body::from(write_ipc(&table)?).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ARROW_STREAM));
        return Ok(r);
    }
    let mut out = Vec::with_capacity(64 + 200 * table.num_rows());
    out.extend_from_slice(b"{\"scores\":");
    clientele::io::JsonRowWriter::try_new(&table)?.write_array(&mut out);
    out.push(b'}');
    Ok(json_bytes(out))
}

async fn reload(State(app): State<Arc<App>>) -> ApiResult {
    let app2 = Arc::clone(&app);
    let result = tokio::task::spawn_blocking(move || app2.reload())
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    app.metrics.reload(result.is_ok());
    let fresh = result?;
    Ok(
        axum::Json(json!({ "reloaded": true, "models": fresh.models.kinds(), "customers": fresh.table.num_rows() }))
            .into_response(),
    )
}
