//! `clientele simulate`: customer histories simulated from a model with static covariates.

use std::path::PathBuf;

use clap::Args;
use clientele::exec::Parallelism;
use clientele::models::ModelKind;
use clientele::models::simulate::{SimulatedModel, simulate};

type CliResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Arguments of `clientele simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The model: pnbd (r, alpha, s, beta) or bgnbd (r, alpha, a, b).
    #[arg(long, value_name = "MODEL")]
    model: ModelKind,
    /// The four base parameters, comma separated (alpha and beta in the time unit of T).
    #[arg(long, value_name = "P1,P2,P3,P4", value_delimiter = ',', required = true)]
    params: Vec<f64>,
    /// Transaction covariates as NAME=COEFFICIENT, comma separated (the first is 0/1, the
    /// others standard normal).
    #[arg(long, value_name = "NAME=G,...", value_delimiter = ',')]
    trans: Vec<String>,
    /// Lifetime covariates as NAME=COEFFICIENT, comma separated (the same draws).
    #[arg(long, value_name = "NAME=G,...", value_delimiter = ',')]
    life: Vec<String>,
    /// Customers.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    customers: usize,
    /// Observation time T is uniform between these two values.
    #[arg(long, value_name = "LOW,HIGH", value_delimiter = ',', default_values_t = [104.0, 156.0])]
    t_range: Vec<f64>,
    /// Seed of the generator (the histories do not depend on the thread count).
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// The customer summary (customer_id, frequency, recency, T): .parquet, .csv, .json, .arrow.
    #[arg(long, value_name = "FILE")]
    summary_out: PathBuf,
    /// The covariate table (customer_id and one column per covariate).
    #[arg(long, value_name = "FILE")]
    covariates_out: PathBuf,
}

fn pairs(list: &[String]) -> CliResult<(Vec<String>, Vec<f64>)> {
    let mut names = Vec::new();
    let mut gammas = Vec::new();
    for item in list {
        let (n, g) = item
            .split_once('=')
            .ok_or_else(|| format!("covariate {item:?}: give NAME=COEFFICIENT"))?;
        names.push(n.trim().to_owned());
        gammas.push(
            g.trim()
                .parse::<f64>()
                .map_err(|e| format!("covariate {item:?}: {e}"))?,
        );
    }
    Ok((names, gammas))
}

pub fn run(a: &SimulateArgs, par: &Parallelism) -> CliResult<()> {
    let [p1, p2, p3, p4] = a.params[..] else {
        return Err("--params needs four values".into());
    };
    let model = match a.model {
        ModelKind::ParetoNbd => SimulatedModel::ParetoNbd {
            r: p1,
            alpha: p2,
            s: p3,
            beta: p4,
        },
        ModelKind::BgNbd => SimulatedModel::BgNbd {
            r: p1,
            alpha: p2,
            a: p3,
            b: p4,
        },
        other => return Err(format!("simulate supports pnbd and bgnbd, not {other}").into()),
    };
    let [lo, hi] = a.t_range[..] else {
        return Err("--t-range needs two values".into());
    };
    let (tn, tg) = pairs(&a.trans)?;
    let (ln, lg) = pairs(&a.life)?;
    let h = par.install(|| simulate(model, &tg, &lg, a.customers, (lo, hi), a.seed))?;
    let tn: Vec<&str> = tn.iter().map(String::as_str).collect();
    let ln: Vec<&str> = ln.iter().map(String::as_str).collect();
    let (summary, covariates) = h.tables(&tn, &ln, 1)?;
    for (table, path) in [(&summary, &a.summary_out), (&covariates, &a.covariates_out)] {
        clientele::io::write_batches_in(&table.schema(), std::slice::from_ref(table), path, par)?;
    }
    eprintln!(
        "{} customers simulated -> {}, {}",
        a.customers,
        a.summary_out.display(),
        a.covariates_out.display()
    );
    Ok(())
}
