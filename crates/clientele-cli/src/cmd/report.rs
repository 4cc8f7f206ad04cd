//! `clientele report`: business reports over the store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

use clap::{Args, Subcommand};
use clientele::exec::Parallelism;
use clientele::kernels::rfm::{Tiers, rfm, value_tiers};
use clientele::report::{SegmentReportParams, segment_report};
use clientele::schema::Role;

use super::rfm::RfmOptions;
use crate::input::{SourceArgs, load};

/// Arguments of `clientele report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    report: Report,
}

#[derive(Debug, Subcommand)]
enum Report {
    /// Per segment: customers, share, revenue, share of revenue, orders, mean R/F/M, average
    /// satisfaction, complaint rate, campaign response rate, dominant channel.
    Segments(SegmentsArgs),
}

/// Arguments of `clientele report segments`.
#[derive(Debug, Args)]
struct SegmentsArgs {
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    rfm: RfmOptions,
    /// What the segments are: rfm (the --segments map over RFM scores), pareto (top
    /// --top-share of customers by revenue vs the rest) or deciles (revenue deciles).
    #[arg(long, value_name = "BY", default_value = "rfm", value_parser = ["rfm", "pareto", "deciles"])]
    by: String,
    /// Share of customers in the Pareto top tier, in (0, 1] (--by pareto).
    #[arg(long, value_name = "SHARE", default_value_t = 0.2)]
    top_share: f64,
    /// The event type whose score is a satisfaction answer; `any` averages every scored event.
    #[arg(long, value_name = "TYPE", default_value = "survey")]
    survey_type: String,
    /// The event type of complaints.
    #[arg(long, value_name = "TYPE", default_value = "complaint")]
    complaint_type: String,
    /// Output file: .parquet, .csv, .json or .arrow (default: a table on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// The RFM table with a `tier` column appended (tiers come in rank order; put them back in
/// the table's row order through the customer key), so the report keeps the mean R/F/M.
fn with_tiers(table: &RecordBatch, tiers: Tiers) -> Result<RecordBatch, Box<dyn std::error::Error>> {
    let ranked = value_tiers(table, tiers)?;
    let as_text = |t: &RecordBatch, name: &str| -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let c = t.column_by_name(name).ok_or_else(|| format!("no `{name}` column"))?;
        let c = arrow_cast::cast(c, &DataType::Utf8)?;
        let c = c.as_string_opt::<i32>().ok_or("not text")?;
        Ok((0..c.len()).map(|i| c.value(i).to_string()).collect())
    };
    let tier_of: HashMap<String, String> = as_text(&ranked, "customer_id")?
        .into_iter()
        .zip(as_text(&ranked, "tier")?)
        .collect();
    let tiers: StringArray = as_text(table, "customer_id")?
        .iter()
        .map(|k| tier_of.get(k).cloned())
        .collect();
    let mut fields: Vec<Field> = table.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("tier", DataType::Utf8, true));
    let mut columns = table.columns().to_vec();
    columns.push(Arc::new(tiers));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

pub fn run(a: &ReportArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    match &a.report {
        Report::Segments(s) => segments(s, par),
    }
}

fn segments(a: &SegmentsArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    let cfg = a.rfm.config()?;
    let store = load(
        &a.source,
        par,
        &[Role::EventType, Role::Amount, Role::Channel, Role::Score],
    )?;
    let started = std::time::Instant::now();
    let table = rfm(&store, &cfg, par)?;
    let mut params = SegmentReportParams::new(a.rfm.as_of);
    params.complaint_type = a.complaint_type.clone();
    let params = params.survey_type((a.survey_type != "any").then(|| a.survey_type.clone()));
    let (table, params) = match a.by.as_str() {
        "pareto" => (
            with_tiers(&table, Tiers::Pareto { top_share: a.top_share })?,
            params
                .segment_column("tier")
                .segment_order(vec!["top".into(), "rest".into()]),
        ),
        "deciles" => (
            with_tiers(&table, Tiers::Deciles)?,
            params
                .segment_column("tier")
                .segment_order((1..=10).map(|d| format!("decile_{d}")).collect()),
        ),
        _ => {
            let order = cfg.params().segments.rules.iter().map(|r| r.segment.clone()).collect();
            (table, params.segment_order(order))
        }
    };
    let report = segment_report(&store, &table, &params.validate()?, par)?;
    let took = started.elapsed();
    match &a.out {
        Some(path) => {
            clientele::io::write_batch(&report, path)?;
            eprintln!(
                "{} segments of {} customers in {:.3} s -> {}",
                report.num_rows(),
                table.num_rows(),
                took.as_secs_f64(),
                path.display()
            );
        }
        None => {
            println!(
                "{} customers with purchases before {}, segments by {}{}",
                table.num_rows(),
                a.rfm.as_of,
                a.by,
                if a.by == "rfm" {
                    format!(" ({} map)", cfg.params().segments.name)
                } else {
                    String::new()
                }
            );
            println!("{}", clientele::io::format_table(&report, 50));
        }
    }
    Ok(())
}
