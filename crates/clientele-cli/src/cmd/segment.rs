//! `clientele segment`: value tiers (Pareto top group or revenue deciles).

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use chrono::NaiveDate;
use clap::Args;
use clientele::exec::Parallelism;
use clientele::kernels::rfm::{RfmParams, Tiers, rfm, value_tiers};
use clientele::schema::Role;

use crate::input::{SourceArgs, load};

/// Arguments of `clientele segment`.
#[derive(Debug, Args)]
pub struct SegmentArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Revenue counts purchases strictly before this date's midnight (UTC).
    #[arg(long, value_name = "DATE")]
    as_of: NaiveDate,
    /// Value tiers: pareto (top share of customers by revenue) or deciles.
    #[arg(long, value_name = "METHOD", value_parser = ["pareto", "deciles"])]
    tiers: String,
    /// Share of customers in the Pareto top tier, in (0, 1].
    #[arg(long, value_name = "SHARE", default_value_t = 0.2)]
    top_share: f64,
    /// Output file: .parquet, .csv, .json or .arrow (default: a table of tiers on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(a: &SegmentArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    let tiers = if a.tiers == "deciles" {
        Tiers::Deciles
    } else {
        Tiers::Pareto { top_share: a.top_share }
    };
    let cfg = RfmParams::new(a.as_of).validate()?;
    let store = load(&a.source, par, &[Role::EventType, Role::Amount])?;
    let table = value_tiers(&rfm(&store, &cfg, par)?, tiers)?;
    if let Some(path) = &a.out {
        clientele::io::write_batch(&table, path)?;
        eprintln!("{} customers tiered -> {}", table.num_rows(), path.display());
        return Ok(());
    }
    let labels = table
        .column_by_name("tier")
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or("no tier column")?;
    let revenue = table
        .column_by_name("revenue")
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .ok_or("no revenue column")?;
    let mut per: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    for i in 0..table.num_rows() {
        let e = per.entry(labels.value(i).to_string()).or_default();
        e.0 += 1;
        e.1 += revenue.value(i);
    }
    let total: f64 = per.values().map(|v| v.1).sum();
    let mut names: Vec<&String> = per.keys().collect();
    // Deciles in numeric order; Pareto's top before rest.
    names.sort_by_key(|n| {
        (
            n.as_str() != "top",
            n.trim_start_matches("decile_").parse::<u32>().unwrap_or(0),
            n.to_string(),
        )
    });
    println!(
        "{} customers with purchases before {}, {} tiers",
        table.num_rows(),
        a.as_of,
        a.tiers
    );
    println!(
        "{:<12} {:>10} {:>16} {:>14}",
        "tier", "customers", "revenue", "revenue_share"
    );
    for n in names {
        let (c, r) = per.get(n).copied().unwrap_or_default();
        println!(
            "{n:<12} {c:>10} {r:>16.2} {:>14.4}",
            if total > 0.0 { r / total } else { 0.0 }
        );
    }
    Ok(())
}
