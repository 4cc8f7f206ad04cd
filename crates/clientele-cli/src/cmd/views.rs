//! `clientele cohorts | channels | attribution | satisfaction | customer | customers360 |
//! campaigns | cross-sell | acquisition`: CRM views over the store.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use clap::Args;
use clientele::exec::Parallelism;
use clientele::pipeline::{
    acquisition_view, attribution_view, campaign_view, channel_view, cohort_view, cross_sell_view, customer_card,
    customer360_view, satisfaction_view,
};
use clientele::schema::output::attribution::ATTRIBUTED_REVENUE;
use clientele::schema::output::common::SEGMENT;
use clientele::views::{
    AttributionModel, AttributionParams, Basket, CampaignParams, ChannelParams, CohortParams, CrossSellParams,
    Customer360Params, Grain, SatisfactionParams, retention_matrix,
};
use std::sync::Arc;

use crate::input::{SourceArgs, warn_rejections, with_source};

type CmdResult = Result<(), Box<dyn std::error::Error>>;

/// Periods shown in the printed retention matrix.
const MATRIX_PERIODS: usize = 24;

/// Arguments of `clientele cohorts`.
#[derive(Debug, Args)]
pub struct CohortsArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Only events strictly before this date's midnight (UTC) count.
    #[arg(long, value_name = "DATE")]
    as_of: NaiveDate,
    /// Cohort and period grain: month or week.
    #[arg(long, value_name = "GRAIN", default_value = "month", value_parser = ["month", "week"])]
    by: String,
    /// Output file (long format, one row per cohort and period): .parquet, .csv, .json or
    /// .arrow (default: a retention matrix on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Arguments of `clientele channels`.
#[derive(Debug, Args)]
pub struct ChannelsArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Only events strictly before this date's midnight (UTC) count (default: every event).
    #[arg(long, value_name = "DATE")]
    as_of: Option<NaiveDate>,
    /// A channel's cost, replacing the cost column: CHANNEL=AMOUNT (repeatable).
    #[arg(long = "channel-cost", value_name = "CHANNEL=AMOUNT")]
    channel_cost: Vec<String>,
    /// Write each customer's preferred channels to this file.
    #[arg(long, value_name = "FILE")]
    preferred_out: Option<PathBuf>,
    /// Output file for the per-channel table (default: a table on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Arguments of `clientele attribution`.
#[derive(Debug, Args)]
pub struct AttributionArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Attribution model.
    #[arg(long, value_name = "MODEL", default_value = "linear", value_parser = ["first", "last", "linear", "decay"])]
    model: String,
    /// Days before a purchase in which touches count.
    #[arg(long, value_name = "N", default_value_t = 30)]
    lookback_days: u32,
    /// Half-life of the decay model, in days.
    #[arg(long, value_name = "H", default_value_t = 7.0)]
    half_life_days: f64,
    /// Attribute to channels only, not to campaigns within them.
    #[arg(long)]
    no_campaigns: bool,
    /// Only events strictly before this date's midnight (UTC) count (default: every event).
    #[arg(long, value_name = "DATE")]
    as_of: Option<NaiveDate>,
    /// Output file (default: a table on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Arguments of `clientele satisfaction`.
#[derive(Debug, Args)]
pub struct SatisfactionArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The event type whose score is a survey answer; `any` uses every scored event.
    #[arg(long, value_name = "TYPE", default_value = "survey")]
    survey_type: String,
    /// Trend grain: month or week.
    #[arg(long, value_name = "GRAIN", default_value = "month", value_parser = ["month", "week"])]
    by: String,
    /// Only events strictly before this date's midnight (UTC) count (default: every event).
    #[arg(long, value_name = "DATE")]
    as_of: Option<NaiveDate>,
    /// A customer table (with `customer_id` and a segment column) for per-segment rows.
    #[arg(long, value_name = "FILE")]
    segments: Option<PathBuf>,
    /// The segment column of --segments.
    #[arg(long, value_name = "COL", default_value = SEGMENT)]
    segment_column: String,
    /// Write the score distribution (counts per integer score) to this file.
    #[arg(long, value_name = "FILE")]
    distribution_out: Option<PathBuf>,
    /// Output file for the summary (default: tables on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

fn write(batch: &RecordBatch, path: &PathBuf, what: &str) -> CmdResult {
    clientele::io::write_batch(batch, path)?;
    eprintln!("{} {what} rows -> {}", batch.num_rows(), path.display());
    Ok(())
}

/// The library's retention matrix with cohorts as dates and shares as percentages, for the
/// terminal.
fn printable_matrix(matrix: &RecordBatch) -> Result<RecordBatch, Box<dyn std::error::Error>> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (f, col) in matrix.schema().fields().iter().zip(matrix.columns()) {
        match col.as_primitive_opt::<Float64Type>() {
            Some(share) => {
                fields.push(Field::new(f.name(), DataType::Utf8, true));
                columns.push(Arc::new(
                    share
                        .iter()
                        .map(|v| v.map(|v| format!("{:.1}%", 100.0 * v)))
                        .collect::<StringArray>(),
                ));
            }
            None => {
                fields.push(f.as_ref().clone());
                columns.push(col.clone());
            }
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

pub fn run_cohorts(a: &CohortsArgs, par: &Parallelism) -> CmdResult {
    let cfg = CohortParams::new(a.as_of).by(Grain::parse(&a.by)?).validate()?;
    let run = with_source(&a.source, |s| cohort_view(s, &cfg, par))?;
    warn_rejections(run.ingest.as_ref());
    let long = run.output;
    match &a.out {
        Some(path) => write(&long, path, "cohort cell"),
        None => {
            let matrix = printable_matrix(&retention_matrix(&long, MATRIX_PERIODS)?)?;
            println!(
                "retention by {} since acquisition, purchases before {} ({} cohorts; first {MATRIX_PERIODS} periods)",
                a.by,
                a.as_of,
                matrix.num_rows()
            );
            println!("{}", clientele::io::format_table(&matrix, 1000));
            Ok(())
        }
    }
}

fn parse_costs(specs: &[String]) -> Result<BTreeMap<String, f64>, Box<dyn std::error::Error>> {
    let mut costs = BTreeMap::new();
    for s in specs {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("--channel-cost {s:?}: expected CHANNEL=AMOUNT"))?;
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|_| format!("--channel-cost {s:?}: {v:?} is not a number"))?;
        costs.insert(k.trim().to_string(), v);
    }
    Ok(costs)
}

pub fn run_channels(a: &ChannelsArgs, par: &Parallelism) -> CmdResult {
    let mut params = ChannelParams::new();
    params.as_of = a.as_of;
    if !a.channel_cost.is_empty() {
        params = params.channel_costs(parse_costs(&a.channel_cost)?);
    }
    let cfg = params.validate()?;
    let run = with_source(&a.source, |s| channel_view(s, &cfg, par))?;
    warn_rejections(run.ingest.as_ref());
    let views = run.output;
    if let Some(path) = &a.preferred_out {
        write(&views.preferred, path, "preferred-channel")?;
    }
    match &a.out {
        Some(path) => write(&views.channels, path, "channel"),
        None => {
            println!("{}", clientele::io::format_table(&views.channels, 100));
            Ok(())
        }
    }
}

pub fn run_attribution(a: &AttributionArgs, par: &Parallelism) -> CmdResult {
    let mut params = AttributionParams::new(AttributionModel::parse(&a.model)?)
        .lookback_days(a.lookback_days)
        .half_life_days(a.half_life_days)
        .by_campaign(!a.no_campaigns);
    params.as_of = a.as_of;
    let cfg = params.validate()?;
    let run = with_source(&a.source, |s| attribution_view(s, &cfg, par))?;
    warn_rejections(run.ingest.as_ref());
    let table = run.output;
    match &a.out {
        Some(path) => write(&table, path, "attribution"),
        None => {
            let total: f64 = table
                .column_by_name(ATTRIBUTED_REVENUE)
                .and_then(|c| c.as_primitive_opt::<Float64Type>())
                .map_or(0.0, |c| c.values().iter().sum());
            println!(
                "{} attribution, {}-day lookback: {:.2} of revenue in {} rows",
                a.model,
                a.lookback_days,
                total,
                table.num_rows()
            );
            println!("{}", clientele::io::format_table(&table, 100));
            Ok(())
        }
    }
}

pub fn run_satisfaction(a: &SatisfactionArgs, par: &Parallelism) -> CmdResult {
    let mut params = SatisfactionParams::new()
        .survey_type((a.survey_type != "any").then(|| a.survey_type.clone()))
        .by(Grain::parse(&a.by)?)
        .segment_column(&a.segment_column);
    params.as_of = a.as_of;
    let cfg = params.validate()?;
    let table = a.segments.as_ref().map(clientele::io::read_table).transpose()?;
    let run = with_source(&a.source, |s| satisfaction_view(s, table.as_ref(), &cfg, par))?;
    warn_rejections(run.ingest.as_ref());
    let views = run.output;
    if let Some(path) = &a.distribution_out {
        write(&views.distribution, path, "distribution")?;
    }
    match &a.out {
        Some(path) => write(&views.summary, path, "satisfaction"),
        None => {
            println!("{}", clientele::io::format_table(&views.summary, 200));
            if a.distribution_out.is_none() {
                println!("{}", clientele::io::format_table(&views.distribution, 200));
            }
            Ok(())
        }
    }
}

/// Arguments of `clientele customer`.
#[derive(Debug, Args)]
pub struct CustomerArgs {
    /// The customer's original key.
    #[arg(value_name = "ID")]
    id: String,
    #[command(flatten)]
    source: SourceArgs,
    /// How many of the customer's most recent events to print.
    #[arg(long, value_name = "N", default_value_t = 10)]
    recent: usize,
    /// A customer table (with `customer_id`, e.g. CLV, RFM segment, churn probability) to join.
    #[arg(long, value_name = "FILE")]
    table: Option<PathBuf>,
    /// Only events strictly before this date's midnight (UTC) count (default: every event).
    #[arg(long, value_name = "DATE")]
    as_of: Option<NaiveDate>,
}

/// Arguments of `clientele customers360`.
#[derive(Debug, Args)]
pub struct Customers360Args {
    #[command(flatten)]
    source: SourceArgs,
    /// A customer table (with `customer_id`, e.g. CLV, RFM segment, churn probability) to
    /// left-join.
    #[arg(long, value_name = "FILE")]
    table: Option<PathBuf>,
    /// Only events strictly before this date's midnight (UTC) count (default: every event).
    #[arg(long, value_name = "DATE")]
    as_of: Option<NaiveDate>,
    /// Output file (default: a table on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

fn params_360(as_of: Option<NaiveDate>) -> Customer360Params {
    let mut p = Customer360Params::new();
    p.as_of = as_of;
    p
}

pub fn run_customer(a: &CustomerArgs, par: &Parallelism) -> CmdResult {
    let cfg = params_360(a.as_of).recent(a.recent).validate()?;
    let table = a.table.as_ref().map(clientele::io::read_table).transpose()?;
    let key = match a.id.trim().parse::<i64>() {
        Ok(k) => clientele::store::KeyRef::Int(k),
        Err(_) => clientele::store::KeyRef::Str(a.id.as_str()),
    };
    let run = with_source(&a.source, |s| customer_card(s, key, table.as_ref(), &cfg, par))?;
    warn_rejections(run.ingest.as_ref());
    let card = run
        .output
        .ok_or_else(|| format!("customer {} is not in the store", a.id))?;
    print_card(&card, "")?;
    Ok(())
}

/// Prints a customer card: one `name: value` line per column (`-` for null), then the recent
/// events; every line starts with `indent`.
pub fn print_card(card: &clientele::views::CustomerCard, indent: &str) -> CmdResult {
    let row = &card.row;
    let width = row.schema().fields().iter().map(|f| f.name().len()).max().unwrap_or(0);
    for (f, col) in row.schema().fields().iter().zip(row.columns()) {
        let text = arrow_cast::cast(col, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let value = if text.is_valid(0) { text.value(0) } else { "-" };
        println!("{indent}{:width$}: {value}", f.name());
    }
    println!("\n{indent}most recent {} events:", card.recent.num_rows());
    for line in clientele::io::format_table(&card.recent, card.recent.num_rows().max(1)).lines() {
        println!("{indent}{line}");
    }
    Ok(())
}

pub fn run_customers360(a: &Customers360Args, par: &Parallelism) -> CmdResult {
    let cfg = params_360(a.as_of).validate()?;
    let table = a.table.as_ref().map(clientele::io::read_table).transpose()?;
    let run = with_source(&a.source, |s| customer360_view(s, table.as_ref(), &cfg, par))?;
    warn_rejections(run.ingest.as_ref());
    let t = run.output;
    match &a.out {
        Some(path) => write(&t, path, "customer 360"),
        None => {
            println!("{}", clientele::io::format_table(&t, 100));
            Ok(())
        }
    }
}

/// Arguments of `clientele campaigns`.
#[derive(Debug, Args)]
pub struct CampaignsArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The send event type (a send of `ID:control` marks a held-out control customer of `ID`).
    #[arg(long, value_name = "TYPE", default_value = "campaign_send")]
    send_type: String,
    /// The response event type.
    #[arg(long, value_name = "TYPE", default_value = "campaign_response")]
    response_type: String,
    /// The campaign-id suffix of control sends.
    #[arg(long, value_name = "SUFFIX", default_value = ":control")]
    control_suffix: String,
    /// Days after a responder's first response in which their purchases count.
    #[arg(long, value_name = "N", default_value_t = 30)]
    window_days: u32,
    /// Only events strictly before this date's midnight (UTC) count (default: every event).
    #[arg(long, value_name = "DATE")]
    as_of: Option<NaiveDate>,
    /// A customer table (with `customer_id` and a segment column) for per-segment rows.
    #[arg(long, value_name = "FILE")]
    segments: Option<PathBuf>,
    /// The segment column of --segments.
    #[arg(long, value_name = "COL", default_value = SEGMENT)]
    segment_column: String,
    /// Output file (default: a table on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run_campaigns(a: &CampaignsArgs, par: &Parallelism) -> CmdResult {
    let mut params = CampaignParams::new()
        .send_type(&a.send_type)
        .response_type(&a.response_type)
        .control_suffix(&a.control_suffix)
        .window_days(a.window_days)
        .segment_column(&a.segment_column);
    params.as_of = a.as_of;
    let cfg = params.validate()?;
    let table = a.segments.as_ref().map(clientele::io::read_table).transpose()?;
    let run = with_source(&a.source, |s| campaign_view(s, table.as_ref(), &cfg, par))?;
    warn_rejections(run.ingest.as_ref());
    let t = run.output;
    match &a.out {
        Some(path) => write(&t, path, "campaign"),
        None => {
            println!("{}", clientele::io::format_table(&t, 200));
            Ok(())
        }
    }
}

/// Arguments of `clientele cross-sell`.
#[derive(Debug, Args)]
pub struct CrossSellArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Minimum support of a product and of a pair, in [0, 1].
    #[arg(long, value_name = "S", default_value_t = 0.01)]
    min_support: f64,
    /// What a basket is: a customer's purchases, or a customer's purchases on one day.
    #[arg(long, value_name = "BASKET", default_value = "customer", value_parser = ["customer", "day"])]
    basket: String,
    /// Next-best products per customer.
    #[arg(long, value_name = "K", default_value_t = 3)]
    top_k: usize,
    /// Only purchases strictly before this date's midnight (UTC) count (default: every one).
    #[arg(long, value_name = "DATE")]
    as_of: Option<NaiveDate>,
    /// Write each customer's next-best products to this file.
    #[arg(long, value_name = "FILE")]
    next_best_out: Option<PathBuf>,
    /// Output file for the rules (default: a table on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run_cross_sell(a: &CrossSellArgs, par: &Parallelism) -> CmdResult {
    let mut params = CrossSellParams::new()
        .min_support(a.min_support)
        .basket(Basket::parse(&a.basket)?)
        .top_k(a.top_k);
    params.as_of = a.as_of;
    let cfg = params.validate()?;
    let run = with_source(&a.source, |s| cross_sell_view(s, &cfg, par))?;
    warn_rejections(run.ingest.as_ref());
    let v = run.output;
    if let Some(path) = &a.next_best_out {
        write(&v.next_best, path, "next-best")?;
    }
    match &a.out {
        Some(path) => write(&v.rules, path, "rule"),
        None => {
            println!("{}", clientele::io::format_table(&v.rules, 200));
            Ok(())
        }
    }
}

/// Arguments of `clientele acquisition`.
#[derive(Debug, Args)]
pub struct AcquisitionArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// A CLV table (`customer_id`, `clv`) for the CLV of the acquired customers.
    #[arg(long, value_name = "FILE")]
    clv: Option<PathBuf>,
    /// Only events strictly before this date's midnight (UTC) count (default: every event).
    #[arg(long, value_name = "DATE")]
    as_of: Option<NaiveDate>,
    /// Output file (default: a table on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run_acquisition(a: &AcquisitionArgs, par: &Parallelism) -> CmdResult {
    let mut params = ChannelParams::new();
    params.as_of = a.as_of;
    let cfg = params.validate()?;
    let clv = a.clv.as_ref().map(clientele::io::read_table).transpose()?;
    let run = with_source(&a.source, |s| acquisition_view(s, clv.as_ref(), &cfg, par))?;
    warn_rejections(run.ingest.as_ref());
    let t = run.output;
    match &a.out {
        Some(path) => write(&t, path, "acquisition-channel"),
        None => {
            println!("{}", clientele::io::format_table(&t, 200));
            Ok(())
        }
    }
}
