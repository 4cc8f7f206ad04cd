//! A bounded load generator for the scoring service (loopback only; stops by itself).
//!
//! ```text
//! load --base http://127.0.0.1:8787 --route customers|score [--clients 64] [--seconds 10]
//!      [--first-key 1000001] [--keys 1000000] [--batch 1000]
//! ```
//!
//! `customers`: each client loops `GET /customers/{id}` over keys drawn from
//! `first-key .. first-key + keys` (a fixed pseudo-random sequence per client). `score`: each
//! client loops `POST /score` with `--batch` synthetic histories (JSON). Prints requests, errors,
//! throughput and the p50 / p90 / p99 / max latency.

use std::time::{Duration, Instant};

fn arg<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> T {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let base: String = arg(&args, "--base", "http://127.0.0.1:8787".to_string());
    if !(base.starts_with("http://127.") || base.starts_with("http://localhost")) {
        return Err("the load generator talks to loopback addresses only".into());
    }
    let route: String = arg(&args, "--route", "customers".to_string());
    let clients: usize = arg(&args, "--clients", 64);
    let seconds: f64 = arg(&args, "--seconds", 10.0);
    let first: u64 = arg(&args, "--first-key", 1_000_001);
    let keys: u64 = arg(&args, "--keys", 1_000_000);
    let batch: usize = arg(&args, "--batch", 1000);
    let body = {
        let rows: Vec<String> = (0..batch)
            .map(|i| {
                let x = i % 9;
                let t = 20 + i % 80;
                let tx = if x == 0 { 0 } else { (i * 7) % t };
                format!(
                    r#"{{"customer_id":{i},"frequency":{x},"recency":{tx},"T":{t},"monetary_value":{}}}"#,
                    if x == 0 { 0 } else { 10 + i % 90 }
                )
            })
            .collect();
        format!(r#"{{"customers":[{}]}}"#, rows.join(","))
    };
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let (base, route, body) = (base.clone(), route.clone(), body.clone());
            std::thread::spawn(move || -> (Vec<f64>, usize) {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(30)))
                    .build()
                    .into();
                let mut lat = Vec::new();
                let mut errors = 0;
                let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + 1);
                while Instant::now() < deadline {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let t = Instant::now();
                    let result = if route == "score" {
                        agent
                            .post(&format!("{base}/score"))
                            .header("content-type", "application/json")
                            .send(body.as_bytes())
                    } else {
                        agent.get(&format!("{base}/customers/{}", first + state % keys)).call()
                    };
                    match result {
                        Ok(mut r) if r.status().as_u16() == 200 => {
                            let _ = r.body_mut().read_to_vec();
                            lat.push(t.elapsed().as_secs_f64());
                        }
                        _ => errors += 1,
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in threads {
        let (l, e) = t.join().map_err(|_| "a client thread panicked")?;
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let q = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
            * 1e3
    };
    println!(
        "{route}: {clients} clients, {elapsed:.1} s, {} ok, {errors} errors, {:.0} req/s, latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
        all.len(),
        all.len() as f64 / elapsed,
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0)
    );
    Ok(())
}
