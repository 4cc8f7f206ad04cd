//! `clientele retention`: the shifted-beta-geometric model of contractual retention.

use std::path::PathBuf;

use clap::Args;
use clientele::exec::Parallelism;
use clientele::models::{Sbg, SbgData, SbgParams};
use clientele::pipeline::retention_data;

type CliResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Arguments of `clientele retention`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("data").required(true).args(["survivors", "input"])))]
pub struct RetentionArgs {
    /// Customers still active at the start of periods 0, 1, ..., n (the first is the cohort
    /// size), comma separated.
    #[arg(long, value_name = "COUNTS", value_delimiter = ',')]
    survivors: Vec<f64>,
    /// Per-customer histories instead: a table (.csv, .parquet, .json, .arrow) with a
    /// `churn_period` column (the period t ≥ 1 in which the customer left; empty or null for a
    /// customer still active after --periods periods).
    #[arg(long, value_name = "FILE", requires = "periods")]
    input: Option<PathBuf>,
    /// Periods observed, for --input.
    #[arg(long, value_name = "N")]
    periods: Option<u32>,
    /// Project the survival curve to this period (default: 5 periods past the data).
    #[arg(long, value_name = "N")]
    horizon: Option<u32>,
    /// Discount rate per period for the discounted expected residual lifetime (DERL) and the
    /// subscription CLV.
    #[arg(long, value_name = "RATE", default_value_t = 0.1)]
    discount: f64,
    /// Margin per period and customer: prints the expected residual value of a customer who
    /// has just renewed (DERL × margin) and of a new customer (margin + that).
    #[arg(long, value_name = "AMOUNT")]
    margin: Option<f64>,
    /// Where to save the fitted model (versioned JSON).
    #[arg(long, value_name = "MODEL.json")]
    out: Option<PathBuf>,
}

pub fn run(a: &RetentionArgs, par: &Parallelism) -> CliResult<()> {
    let data = match (&a.input, a.periods) {
        (Some(path), Some(n)) => retention_data(&clientele::io::read_table(path)?, n)?,
        _ => SbgData::from_survivors(&a.survivors)?,
    };
    let m: Sbg = par.install(|| SbgParams::new().validate()?.fit(&data))?;
    let n = data.periods() as u32;
    println!(
        "shifted-beta-geometric retention: {} customers over {n} periods",
        data.customers()
    );
    let se = |i: usize| {
        m.diagnostics
            .as_ref()
            .and_then(|d| d.standard_errors.get(i).copied().flatten())
            .map_or("n/a".to_string(), |s| format!("{s:.4}"))
    };
    println!("  alpha {:.4} (s.e. {})", m.alpha, se(0));
    println!("  beta  {:.4} (s.e. {})", m.beta, se(1));
    if let Some(d) = &m.diagnostics {
        println!("  {d}");
    }
    let horizon = a.horizon.unwrap_or(n.saturating_add(5)).max(n);
    if horizon > 10_000 {
        return Err(format!("--horizon {horizon}: at most 10,000 periods are projected").into());
    }
    let cohort = m.project(1.0, horizon);
    println!(
        "\n  period  survival  retention rate{}",
        if a.survivors.is_empty() { "" } else { "  actual" }
    );
    for (t, s) in cohort.iter().enumerate() {
        let actual = a
            .survivors
            .get(t)
            .zip(a.survivors.first())
            .map_or(String::new(), |(v, c0)| format!("  {:>6.4}", v / c0));
        let rate = if t == 0 {
            "".to_string()
        } else {
            format!("{:.4}", m.retention_rate(t as u32))
        };
        let mark = if t as u32 > n { " (projected)" } else { "" };
        println!("  {t:>6}  {s:>8.4}  {rate:>14}{actual}{mark}");
    }
    let derl = m.discounted_expected_residual_lifetime(a.discount, 0)?;
    println!(
        "\n  DERL of a customer who has just made the first renewal decision, at {} per period: {derl:.4} periods",
        a.discount
    );
    if let Some(margin) = a.margin {
        println!(
            "  subscription CLV at margin {margin}: new customer {:.2} (margin now + residual {:.2})",
            margin + margin * derl,
            margin * derl
        );
    }
    if let Some(p) = &a.out {
        clientele::io::write_bytes_atomically(p, m.to_json()?.as_bytes())?;
        eprintln!("model saved -> {}", p.display());
    }
    Ok(())
}
