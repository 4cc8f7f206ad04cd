//! `clientele segment`: value tiers (Pareto top group or revenue deciles) or behavioural
//! clusters (k-means on RFM features).

use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use chrono::NaiveDate;
use clap::Args;
use clientele::exec::Parallelism;
use clientele::kernels::kmeans::KMeansParams;
use clientele::kernels::rfm::{RfmParams, Tiers};
use clientele::pipeline::{cluster_segments, value_segments};
use clientele::schema::output::common::{CUSTOMERS, REVENUE, REVENUE_SHARE};
use clientele::schema::output::tiers::TIER;

use crate::input::{SourceArgs, warn_rejections, with_source};

/// Arguments of `clientele segment`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("method").required(true).args(["tiers", "kmeans"])))]
pub struct SegmentArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Revenue counts purchases strictly before this date's midnight (UTC).
    #[arg(long, value_name = "DATE")]
    as_of: NaiveDate,
    /// Value tiers: pareto (top share of customers by revenue) or deciles.
    #[arg(long, value_name = "METHOD", value_parser = ["pareto", "deciles"])]
    tiers: Option<String>,
    /// Behavioural clusters: k-means with K clusters on the --features of the RFM table.
    #[arg(long, value_name = "K")]
    kmeans: Option<usize>,
    /// Features for --kmeans (columns of the RFM table), comma separated.
    #[arg(
        long,
        value_name = "COLS",
        value_delimiter = ',',
        default_value = "recency_days,frequency,monetary"
    )]
    features: Vec<String>,
    /// Seed for --kmeans.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Apply ln(1 + x) to the features before standardizing (--kmeans).
    #[arg(long)]
    log: bool,
    /// Share of customers in the Pareto top tier, in (0, 1].
    #[arg(long, value_name = "SHARE", default_value_t = 0.2)]
    top_share: f64,
    /// Output file: .parquet, .csv, .json or .arrow (default: a table of tiers on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(a: &SegmentArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    let cfg = RfmParams::new(a.as_of).validate()?;
    if let Some(k) = a.kmeans {
        return kmeans(a, k, &cfg, par);
    }
    let tiers = match a.tiers.as_deref() {
        Some("deciles") => Tiers::Deciles,
        _ => Tiers::Pareto { top_share: a.top_share },
    };
    let run = with_source(&a.source, |s| value_segments(s, &cfg, tiers, par))?;
    warn_rejections(run.ingest.as_ref());
    let table = run.table;
    if let Some(path) = &a.out {
        clientele::io::write_batch(&table, path)?;
        eprintln!("{} customers tiered -> {}", table.num_rows(), path.display());
        return Ok(());
    }
    println!(
        "{} customers with purchases before {}, {} tiers",
        table.num_rows(),
        a.as_of,
        a.tiers.as_deref().unwrap_or_default()
    );
    println!(
        "{:<12} {:>10} {:>16} {:>14}",
        "tier", "customers", "revenue", "revenue_share"
    );
    let t = &run.summary;
    let tier = t.column_by_name(TIER).and_then(|c| c.as_string_opt::<i32>());
    let customers = t
        .column_by_name(CUSTOMERS)
        .and_then(|c| c.as_primitive_opt::<UInt64Type>());
    let revenue = t
        .column_by_name(REVENUE)
        .and_then(|c| c.as_primitive_opt::<Float64Type>());
    let share = t
        .column_by_name(REVENUE_SHARE)
        .and_then(|c| c.as_primitive_opt::<Float64Type>());
    let (Some(tier), Some(customers), Some(revenue), Some(share)) = (tier, customers, revenue, share) else {
        return Err("the tier summary lacks a column".into());
    };
    for i in 0..t.num_rows() {
        println!(
            "{:<12} {:>10} {:>16.2} {:>14.4}",
            tier.value(i),
            customers.value(i),
            revenue.value(i),
            share.value(i)
        );
    }
    Ok(())
}

fn kmeans(
    a: &SegmentArgs,
    k: usize,
    cfg: &clientele::kernels::rfm::RfmConfig,
    par: &Parallelism,
) -> Result<(), Box<dyn std::error::Error>> {
    let kcfg = KMeansParams::default().k(k).seed(a.seed).log(a.log).validate()?;
    let started = std::time::Instant::now();
    let run = with_source(&a.source, |s| cluster_segments(s, cfg, &a.features, &kcfg, par))?;
    let took = started.elapsed();
    warn_rejections(run.ingest.as_ref());
    let (table, fit) = (run.table, run.fit);
    if let Some(path) = &a.out {
        clientele::io::write_batch(&table, path)?;
        eprintln!(
            "{} customers clustered in {:.3} s -> {}",
            table.num_rows(),
            took.as_secs_f64(),
            path.display()
        );
        return Ok(());
    }
    println!(
        "k-means: k={k}, features {}, inertia {:.4}, {} iterations{}, silhouette {}, {:.3} s",
        a.features.join(","),
        fit.inertia,
        fit.iterations,
        if fit.converged { "" } else { " (not converged)" },
        fit.silhouette.map_or("n/a".into(), |s| format!("{s:.4}")),
        took.as_secs_f64()
    );
    println!(
        "{:<8} {:>10} {}",
        "cluster",
        "customers",
        a.features.iter().map(|f| format!("{f:>16}")).collect::<String>()
    );
    for (c, (size, centre)) in fit.sizes.iter().zip(&fit.centroids_original).enumerate() {
        println!(
            "{c:<8} {size:>10} {}",
            centre.iter().map(|v| format!("{v:>16.2}")).collect::<String>()
        );
    }
    Ok(())
}
