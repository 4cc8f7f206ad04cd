//! A bounded load generator for the scoring service (loopback only; stops by itself).
//!
//! ```text
//! load --base http://127.0.0.1:8787 --route customers|score [--clients 64] [--seconds 10]
//!      [--first-key 1000001] [--keys 1000000] [--batch 1000] [--client raw|ureq]
//! ```
//!
//! `--client raw` (the default) writes each HTTP/1.1 request with one `write` on a kept-alive
//! socket and reads the answer by its `content-length`: the generator shares the machine with
//! the service, and the less CPU it takes the more is left to what is measured. `--client ureq`
//! uses the ureq client crate (URL parsing, header maps, buffered reader), which on the
//! 2-core machine of BENCHMARKS.md took 1.3 of the 2 cores at 64 clients. Both check the status (200) and
//! read the whole body before the clock stops.
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
    let hostport = base.trim_start_matches("http://").trim_end_matches('/');
    if hostport.contains('/') || hostport.rsplit_once(':').is_none_or(|(_, p)| p.parse::<u16>().is_err()) {
        return Err("--base is http://HOST:PORT (with the port, no path)".into());
    }
    let route: String = arg(&args, "--route", "customers".to_string());
    let clients: usize = arg(&args, "--clients", 64);
    let seconds: f64 = arg(&args, "--seconds", 10.0);
    let first: u64 = arg(&args, "--first-key", 1_000_001);
    let keys: u64 = arg(&args, "--keys", 1_000_000);
    let batch: usize = arg(&args, "--batch", 1000);
    let client: String = arg(&args, "--client", "raw".to_string());
    if client != "raw" && client != "ureq" {
        return Err("--client is raw or ureq".into());
    }
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
            let client = client.clone();
            std::thread::spawn(move || -> (Vec<f64>, usize) {
                let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + 1);
                let mut next_key = move || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    first + state % keys
                };
                let job = Job {
                    base: &base,
                    route: &route,
                    body: &body,
                    deadline,
                };
                if client == "ureq" {
                    ureq_client(&job, &mut next_key)
                } else {
                    raw_client(&job, &mut next_key)
                }
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
        "{route} ({client} client): {clients} clients, {elapsed:.1} s, {} ok, {errors} errors, {:.0} req/s, latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
        all.len(),
        all.len() as f64 / elapsed,
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0)
    );
    Ok(())
}

/// What every client does until the deadline.
#[derive(Clone, Copy)]
struct Job<'a> {
    base: &'a str,
    route: &'a str,
    body: &'a str,
    deadline: Instant,
}

/// One client over the ureq crate.
fn ureq_client(job: &Job<'_>, next_key: &mut dyn FnMut() -> u64) -> (Vec<f64>, usize) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut lat = Vec::new();
    let mut errors = 0;
    while Instant::now() < job.deadline {
        let key = next_key();
        let t = Instant::now();
        let result = if job.route == "score" {
            agent
                .post(&format!("{}/score", job.base))
                .header("content-type", "application/json")
                .send(job.body.as_bytes())
        } else {
            agent.get(&format!("{}/customers/{key}", job.base)).call()
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
}

/// One client on a raw kept-alive socket: one `write` per request, the answer read by its
/// `content-length` (the service never answers chunked); reconnects after an error.
fn raw_client(job: &Job<'_>, next_key: &mut dyn FnMut() -> u64) -> (Vec<f64>, usize) {
    use std::io::Write;
    // `--base` is checked in main: http://HOST:PORT with nothing after it
    let addr = job.base.trim_start_matches("http://").trim_end_matches('/').to_string();
    let connect = || -> std::io::Result<std::net::TcpStream> {
        let s = std::net::TcpStream::connect(&addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(s)
    };
    let mut lat = Vec::new();
    let mut errors = 0;
    let mut stream = None;
    let mut request = Vec::with_capacity(256 + job.body.len());
    let mut buf = vec![0u8; 1 << 16];
    while Instant::now() < job.deadline {
        let key = next_key();
        request.clear();
        if job.route == "score" {
            let _ = write!(
                request,
                "POST /score HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
                job.body.len(),
                job.body
            );
        } else {
            let _ = write!(request, "GET /customers/{key} HTTP/1.1\r\nhost: {addr}\r\n\r\n");
        }
        let t = Instant::now();
        let s = match stream.take() {
            Some(s) => s,
            None => match connect() {
                Ok(s) => s,
                Err(_) => {
                    errors += 1;
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        let mut s = s;
        match exchange(&mut s, &request, &mut buf) {
            Ok((status, keep_alive)) => {
                if status == 200 {
                    lat.push(t.elapsed().as_secs_f64());
                } else {
                    errors += 1;
                }
                if keep_alive {
                    stream = Some(s);
                }
            }
            Err(_) => errors += 1, // dropped: reconnect on the next request
        }
    }
    (lat, errors)
}

/// Writes one request and reads one whole answer (which must carry a `content-length`; the
/// service's always do); returns its status and whether the server keeps the connection.
fn exchange(s: &mut std::net::TcpStream, request: &[u8], buf: &mut Vec<u8>) -> std::io::Result<(u16, bool)> {
    use std::io::{Error, ErrorKind, Read, Write};
    s.write_all(request)?;
    let mut filled = 0;
    let head_end = loop {
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = s.read(&mut buf[filled..])?;
        if n == 0 {
            return Err(Error::new(ErrorKind::UnexpectedEof, "closed"));
        }
        filled += n;
        if let Some(p) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|e| Error::new(ErrorKind::InvalidData, e))?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| Error::new(ErrorKind::InvalidData, "no status"))?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .ok_or_else(|| Error::new(ErrorKind::InvalidData, "no content-length"))?;
    let keep_alive = !head.lines().any(|l| {
        l.split_once(':')
            .is_some_and(|(k, v)| k.eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close"))
    });
    let total = head_end + length;
    if buf.len() < total {
        buf.resize(total, 0);
    }
    while filled < total {
        let n = s.read(&mut buf[filled..total])?;
        if n == 0 {
            return Err(Error::new(ErrorKind::UnexpectedEof, "closed mid-body"));
        }
        filled += n;
    }
    Ok((status, keep_alive))
}
