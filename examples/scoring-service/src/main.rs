//! `scoring-service`: serve customer cards and scores over HTTP.
//!
//! ```text
//! scoring-service --store DIR --models MODELS.json [--calibration-end DATE] [--bind 127.0.0.1:8787]
//!                 [--threads N] [--recent N] [--max-body-bytes N] [--timeout-ms N] [--max-concurrency N]
//!                 [--churn-model FILE] [--event-log FILE] [--warm-report]
//! scoring-service --demo [--customers 20000] [--bind ...]
//! ```
//!
//! `--demo` generates a synthetic customer base (seed 42), ingests it into a store and fits the
//! CLV models (weekly, calibration to 2025-12-31, 1 % a month) under the system's temporary
//! directory, then serves it. `SIGINT`/`SIGTERM` stop the service after the requests in flight;
//! `SIGHUP` reloads the models.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele::chrono::NaiveDate;
use clientele::exec::Parallelism;
use scoring_service::{App, Limits, ServiceConfig};

// Per-request allocations dominate the service's CPU after the network (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn value<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse().map_err(|_| format!("{flag}: cannot read {v:?}"))
}

/// Builds the demo store and models; returns their paths.
fn demo(customers: u64, threads: usize) -> Result<(PathBuf, PathBuf), Box<dyn std::error::Error>> {
    use clientele::ingest::{IngestOptions, Ingestor};
    use clientele::kernels::summary::{SummaryParams, TimeUnit};
    use clientele::pipeline::{ClvParams, Discount, EventSource, clv, customer_summary};

    let dir = std::env::temp_dir().join(format!("clientele-scoring-demo-{customers}"));
    let (store_dir, models) = (dir.join("store"), dir.join("models.json"));
    if store_dir.join("manifest.json").exists() && models.exists() {
        return Ok((store_dir, models));
    }
    let started = Instant::now();
    let par = if threads == 0 {
        Parallelism::current()
    } else {
        Parallelism::threads(threads)?
    };
    let cfg = clientele::synth::GenerateParams::default()
        .customers(customers)
        .seed(42)
        .validate()?;
    let batches = par.install(|| clientele::synth::generate(&cfg))?;
    let mut ing = Ingestor::new(&IngestOptions::default())?.with_parallelism(par.clone());
    ing.read_batches("demo", batches.into_iter().map(Ok))?;
    let (store, _) = ing.finish()?;
    store.save(&store_dir, Default::default())?;
    let end = NaiveDate::from_ymd_opt(2025, 12, 31).ok_or("bad date")?;
    let prep = SummaryParams::new(end).time_unit(TimeUnit::Week).validate()?;
    let summary = customer_summary(&EventSource::Store(&store), &prep, &par)?.summary;
    let valued = clv(
        &summary,
        &ClvParams::new(Discount::Monthly { rate: 0.01 }).validate()?,
        &par,
    )?;
    clientele::io::write_bytes_atomically(&models, valued.models.to_json()?.as_bytes())?;
    eprintln!(
        "demo: {customers} customers, {} events -> {} and {} ({:.1} s)",
        store.num_events(),
        store_dir.display(),
        models.display(),
        started.elapsed().as_secs_f64()
    );
    Ok((store_dir, models))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut store = None;
    let mut models = None;
    let mut calibration_end = None;
    let mut bind: SocketAddr = scoring_service::default_addr();
    let mut threads = 0usize;
    let mut recent = 10usize;
    let mut limits = Limits::default();
    let mut demo_customers = None;
    let mut event_log = None;
    let mut churn_model = None;
    let mut warm_report = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--store" => store = Some(PathBuf::from(value::<String>(&a, args.next())?)),
            "--models" => models = Some(PathBuf::from(value::<String>(&a, args.next())?)),
            "--calibration-end" => calibration_end = Some(value::<NaiveDate>(&a, args.next())?),
            "--bind" => bind = value(&a, args.next())?,
            "--threads" => threads = value(&a, args.next())?,
            "--recent" => recent = value(&a, args.next())?,
            "--max-body-bytes" => limits.max_body_bytes = value(&a, args.next())?,
            "--timeout-ms" => limits.timeout = Duration::from_millis(value(&a, args.next())?),
            "--max-concurrency" => limits.max_concurrency = value(&a, args.next())?,
            "--churn-model" => churn_model = Some(PathBuf::from(value::<String>(&a, args.next())?)),
            "--event-log" => event_log = Some(PathBuf::from(value::<String>(&a, args.next())?)),
            "--warm-report" => warm_report = true,
            "--demo" => demo_customers = Some(demo_customers.unwrap_or(20_000u64)),
            "--customers" => demo_customers = Some(value(&a, args.next())?),
            "-h" | "--help" => {
                println!("{}", include_str!("usage.txt"));
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?} (see --help)").into()),
        }
    }
    if let Some(n) = demo_customers {
        let (s, m) = tokio::task::spawn_blocking(move || demo(n, threads).map_err(|e| e.to_string())).await??;
        store.get_or_insert(s);
        models.get_or_insert(m);
    }
    let config = ServiceConfig {
        store: store.ok_or("--store DIR is required (or --demo)")?,
        models: models.ok_or("--models FILE is required (or --demo)")?,
        calibration_end,
        threads,
        recent,
        event_log,
        churn_model,
    };
    let started = Instant::now();
    let app = Arc::new(tokio::task::spawn_blocking(move || App::load(config)).await??);
    eprintln!(
        "loaded {} customers, {} events, models {} in {:.2} s",
        app.data.store.num_customers(),
        app.data.store.num_events(),
        app.scored().models.kinds(),
        started.elapsed().as_secs_f64()
    );
    let listener = tokio::net::TcpListener::bind(bind).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    if warm_report {
        // the default report, built once in the background so that the first GET /report is served
        let warm = Arc::clone(&app);
        tokio::spawn(async move {
            let started = Instant::now();
            let (as_of, cal) = warm.report_dates(None, None);
            match warm.report_html(as_of, cal).await {
                Ok(_) => eprintln!(
                    "report for {as_of} (calibration end {cal}) ready in {:.1} s",
                    started.elapsed().as_secs_f64()
                ),
                Err(e) => eprintln!("report not built: {e:?}"),
            }
        });
    }
    let reloader = Arc::clone(&app);
    tokio::spawn(async move { reload_on_hangup(reloader).await });
    scoring_service::serve(listener, app, limits, shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn reload_on_hangup(app: Arc<App>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            let a = Arc::clone(&app);
            let result = tokio::task::spawn_blocking(move || a.reload()).await;
            let ok = matches!(result, Ok(Ok(_)));
            app.metrics.reload(ok);
            eprintln!(
                "SIGHUP: models {}",
                if ok {
                    "reloaded"
                } else {
                    "NOT reloaded (kept the old ones)"
                }
            );
        }
    }
    #[cfg(not(unix))]
    let _ = app;
}
