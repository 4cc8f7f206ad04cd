//! Request counters and latencies, printed in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Requests and the sum of their latencies (seconds), by status.
type ByStatus = BTreeMap<u16, (u64, f64)>;

/// Per route and status: requests and the sum of their latencies.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<String, ByStatus>>,
    scored_rows: Mutex<u64>,
    reloads: Mutex<(u64, u64)>,
    events: Mutex<(u64, u64)>,
}

impl Metrics {
    /// Counts one request.
    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        if let Ok(mut m) = self.requests.lock() {
            // the route's name is allocated once, on its first request
            let by_status = match m.get_mut(route) {
                Some(by_status) => by_status,
                None => m.entry(route.to_string()).or_default(),
            };
            let e = by_status.entry(status).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += seconds;
        }
    }

    /// Counts customers scored by `POST /score`.
    pub fn scored(&self, rows: usize) {
        if let Ok(mut n) = self.scored_rows.lock() {
            *n += rows as u64;
        }
    }

    /// Counts appended events: accepted and rejected rows.
    pub fn events(&self, accepted: u64, rejected: u64) {
        if let Ok(mut e) = self.events.lock() {
            e.0 += accepted;
            e.1 += rejected;
        }
    }

    /// Counts a reload (and whether it failed).
    pub fn reload(&self, ok: bool) {
        if let Ok(mut r) = self.reloads.lock() {
            if ok {
                r.0 += 1;
            } else {
                r.1 += 1;
            }
        }
    }

    /// The Prometheus text exposition, with the store's gauges.
    pub fn render(&self, customers: usize, events: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP clientele_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE clientele_requests_total counter");
        let snapshot: Vec<((String, u16), (u64, f64))> = self
            .requests
            .lock()
            .map(|m| {
                m.iter()
                    .flat_map(|(route, by_status)| by_status.iter().map(|(s, v)| ((route.clone(), *s), *v)))
                    .collect()
            })
            .unwrap_or_default();
        for ((route, status), (n, _)) in &snapshot {
            let _ = writeln!(
                out,
                "clientele_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP clientele_request_seconds Time spent answering, by route and status."
        );
        let _ = writeln!(out, "# TYPE clientele_request_seconds summary");
        for ((route, status), (n, sum)) in &snapshot {
            let _ = writeln!(
                out,
                "clientele_request_seconds_sum{{route=\"{route}\",status=\"{status}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "clientele_request_seconds_count{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let scored = self.scored_rows.lock().map(|n| *n).unwrap_or(0);
        let (reloads, failed) = self.reloads.lock().map(|r| *r).unwrap_or((0, 0));
        let _ = writeln!(out, "# TYPE clientele_scored_customers_total counter");
        let _ = writeln!(out, "clientele_scored_customers_total {scored}");
        let _ = writeln!(out, "# TYPE clientele_reloads_total counter");
        let _ = writeln!(out, "clientele_reloads_total{{result=\"ok\"}} {reloads}");
        let _ = writeln!(out, "clientele_reloads_total{{result=\"failed\"}} {failed}");
        let (accepted, rejected) = self.events.lock().map(|e| *e).unwrap_or((0, 0));
        let _ = writeln!(out, "# HELP clientele_events_total Rows of POST /events, by outcome.");
        let _ = writeln!(out, "# TYPE clientele_events_total counter");
        let _ = writeln!(out, "clientele_events_total{{result=\"accepted\"}} {accepted}");
        let _ = writeln!(out, "clientele_events_total{{result=\"rejected\"}} {rejected}");
        let _ = writeln!(out, "# HELP clientele_store_customers Customers in the store.");
        let _ = writeln!(out, "# TYPE clientele_store_customers gauge");
        let _ = writeln!(out, "clientele_store_customers {customers}");
        let _ = writeln!(out, "# HELP clientele_store_events Events in the store.");
        let _ = writeln!(out, "# TYPE clientele_store_events gauge");
        let _ = writeln!(out, "clientele_store_events {events}");
        out
    }
}
