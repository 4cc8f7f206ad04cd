//! An HTTP scoring service that links the Clientele library.
//!
//! At start it opens a saved store and saved models (`clientele ingest`, `clientele clv
//! --model-out`), values every customer once with the models (`pipeline::score_clv`) and the
//! store's value tiers (`pipeline::value_segments`), then answers:
//!
//! | route | answer |
//! |---|---|
//! | `GET /customers/{id}` | the 360 card (`views::customer_lookup_indexed`), the customer's scores (P(alive), expected purchases, CLV, churn risk and tier) and recent events |
//! | `POST /events` | appends events: validated as `clientele ingest` validates them (the answer is the ingest report: rows read, accepted, rejected with row, column and reason), written to an append-only log and synced to disk before the answer, replayed at start; the customer's card and scores include them from then on |
//! | `POST /score` | histories (`customer_id, frequency, recency, T, monetary_value`) scored with the loaded models: JSON in, JSON out, or an Arrow IPC stream in and out (`application/vnd.apache.arrow.stream`) |
//! | `GET /segments` | value tiers and risk tiers |
//! | `GET /healthz` | status, store size, models |
//! | `GET /metrics` | Prometheus text: requests and latency by route and status, scored customers, reloads, store size |
//! | `POST /admin/reload` | reads the model file again and rescores everyone; the new models replace the old only when ready |
//!
//! Every error is JSON (`{"error": ..., "status": ...}`): unknown customer 404, malformed body
//! 400, oversized body 413, timeout or overload 503. A request past its time budget is answered
//! 503 at once; work it already handed to the engine (scoring, a reload) finishes in the
//! background, so a timed-out reload may still replace the models. Request bodies, time and concurrency are
//! bounded ([`Limits`]); the service binds to 127.0.0.1 unless told otherwise.
//!
//! Every number it serves comes from a library call; this crate only moves them over HTTP.

pub mod events;
pub mod http;
pub mod metrics;
pub mod report;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;

pub use http::{ARROW_STREAM, Limits, router};
pub use state::{App, ServiceConfig};

/// Serves `app` on `listener` until `shutdown` resolves.
///
/// # Errors
/// The listener's errors.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app, limits).into_make_service())
        .with_graceful_shutdown(shutdown)
        .await
}

/// The default address: loopback only.
pub fn default_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8787))
}
