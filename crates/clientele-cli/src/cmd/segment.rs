//! `clientele segment`: value tiers (Pareto top group or revenue deciles) or behavioural
//! clusters (k-means on RFM features).

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use chrono::NaiveDate;
use clap::Args;
use clientele::exec::Parallelism;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use clientele::kernels::kmeans::{KMeansParams, fit as kmeans_fit};
use clientele::kernels::rfm::{RfmParams, Tiers, rfm, value_tiers};
use clientele::schema::Role;

use crate::input::{SourceArgs, load};

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
    let store = load(&a.source, par, &[Role::EventType, Role::Amount])?;
    let rfm_table = rfm(&store, &cfg, par)?;
    if let Some(k) = a.kmeans {
        return kmeans(a, k, &rfm_table, par);
    }
    let tiers = match a.tiers.as_deref() {
        Some("deciles") => Tiers::Deciles,
        _ => Tiers::Pareto { top_share: a.top_share },
    };
    let table = value_tiers(&rfm_table, tiers)?;
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
        a.tiers.as_deref().unwrap_or_default()
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

/// The numeric column `name` of `t` as f64.
fn feature(t: &RecordBatch, name: &str) -> Result<Vec<f64>, Box<dyn std::error::Error>> {
    let c = t.column_by_name(name).ok_or_else(|| {
        format!("no feature column `{name}` (RFM columns: recency_days, frequency, monetary, t_days)")
    })?;
    let c = arrow_cast::cast(c, &arrow_schema::DataType::Float64)?;
    Ok(c.as_primitive::<Float64Type>()
        .iter()
        .map(|v| v.unwrap_or(0.0))
        .collect())
}

fn kmeans(a: &SegmentArgs, k: usize, t: &RecordBatch, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    let columns = a
        .features
        .iter()
        .map(|f| feature(t, f))
        .collect::<Result<Vec<_>, _>>()?;
    let params = KMeansParams::default().k(k).seed(a.seed).log(a.log);
    let started = std::time::Instant::now();
    let fit = kmeans_fit(&columns, &params.validate()?, par)?;
    let took = started.elapsed();
    let labels: ArrayRef = Arc::new(UInt32Array::from(fit.labels.clone()));
    let mut fields = vec![
        Field::new("customer_id", t.schema().field(0).data_type().clone(), false),
        Field::new("cluster", DataType::UInt32, false),
    ];
    let mut cols: Vec<ArrayRef> = vec![t.column(0).clone(), labels];
    for (name, col) in a.features.iter().zip(&columns) {
        fields.push(Field::new(name, DataType::Float64, false));
        cols.push(Arc::new(Float64Array::from(col.clone())));
    }
    let table = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?;
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
