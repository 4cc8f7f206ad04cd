//! `clientele`: the command-line front of the Clientele analytical CRM engine.

mod cmd;
mod input;

use clap::{Parser, Subcommand};
use clientele::exec::Parallelism;

/// Clientele: analytical CRM on customer event logs (ingest, summarize, model).
#[derive(Debug, Parser)]
#[command(name = "clientele", version, about, long_about = None)]
struct Cli {
    /// Worker threads (default: one per core).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write deterministic synthetic customer events (.parquet or .csv).
    Generate(cmd::generate::GenerateArgs),
    /// Validate event files into a saved store, with a JSON report of rejected rows.
    Ingest(cmd::ingest::IngestArgs),
    /// Fold a store's appended segments (from `ingest --append`) into a new base.
    Compact(cmd::ingest::CompactArgs),
    /// Per-customer summary (lifetimes-compatible frequency, recency, T, monetary_value, holdout).
    Summary(cmd::summary::SummaryArgs),
    /// Recency, frequency, monetary value and their scores per customer.
    Rfm(cmd::rfm::RfmArgs),
    /// Value tiers (Pareto top group, revenue deciles) or behavioural clusters (k-means).
    Segment(cmd::segment::SegmentArgs),
    /// Fit a lifetime-value model (bgnbd, mbgnbd, pnbd, bgbb, gg) and save it as JSON.
    Fit(cmd::models::FitArgs),
    /// Simulate customer histories (a summary and a covariate table) from a Pareto/NBD or
    /// BG/NBD model with static covariates, to check that `fit --covariates` recovers them.
    Simulate(cmd::simulate::SimulateArgs),
    /// Score a customer summary with a saved model (P(alive), expected purchases or spend).
    Predict(cmd::models::PredictArgs),
    /// Check a saved purchase model against a summary: calibration vs holdout, period
    /// transactions, frequency/recency matrices and tracking, as tables.
    Check(cmd::models::CheckArgs),
    /// Customer lifetime value from events in one command (purchase model + Gamma-Gamma).
    Clv(cmd::models::ClvArgs),
    /// Supervised churn scores: train, score or evaluate an L2 logistic regression.
    Churn(cmd::churn::ChurnArgs),
    /// Fire rule-based triggers (TOML/JSON rules over customer-level columns).
    Triggers(cmd::churn::TriggersArgs),
    /// Contractual retention: fit the shifted-beta-geometric model to cohort survival.
    Retention(cmd::retention::RetentionArgs),
    /// Reports over the store (`report segments`: the segment report).
    Report(cmd::report::ReportArgs),
    /// Acquisition cohorts: retention and revenue by month or week since the first purchase.
    Cohorts(cmd::views::CohortsArgs),
    /// Per channel: reach, events, purchases, revenue, engagement vs cost; preferred channels.
    Channels(cmd::views::ChannelsArgs),
    /// Multi-touch attribution of purchase revenue to channels and campaigns.
    Attribution(cmd::views::AttributionArgs),
    /// Survey scores: mean, count and distribution per channel, period and segment.
    Satisfaction(cmd::views::SatisfactionArgs),
    /// One customer's 360 card (key: value lines) and most recent events, by original key.
    Customer(cmd::views::CustomerArgs),
    /// The customer 360 table: one row per customer, optionally joined with a customer table.
    Customers360(cmd::views::Customers360Args),
    /// Per campaign and segment: sent, responders, response rate, responder revenue, uplift vs control.
    Campaigns(cmd::views::CampaignsArgs),
    /// Product affinity (support, confidence, lift) from baskets; next-best products per customer.
    CrossSell(cmd::views::CrossSellArgs),
    /// Per channel of the first purchase: customers acquired, their revenue and CLV.
    Acquisition(cmd::views::AcquisitionArgs),
    /// Run the main job on bundled data and print a short report.
    Demo(cmd::demo::DemoArgs),
}

/// Output piped into a reader that stops early (`clientele ... | head`) ends the process
/// quietly with the conventional SIGPIPE status, instead of a panic about printing to stdout;
/// a panic inside the library's decoding guard prints nothing (it returns as an error).
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let broken_pipe = info.payload_as_str().is_some_and(|m| m.contains("Broken pipe"));
        if broken_pipe {
            std::process::exit(141);
        }
        // A decoder panic on damaged input becomes an error naming the file: no panic text.
        if clientele::decoding_under_guard() {
            return;
        }
        default(info);
    }));
}

/// Flags whose values are files or stores a command reads.
const INPUT_FLAGS: &[&str] = &[
    "--input",
    "--store",
    "--summary",
    "--models",
    "--model",
    "--table",
    "--segments",
    "--clv",
    "--rules",
    "--covariates",
];

/// Flags whose values are files or directories a command writes.
const OUTPUT_FLAGS: &[&str] = &[
    "--out",
    "--preferred-out",
    "--distribution-out",
    "--next-best-out",
    "--model-out",
    "--out-dir",
    "--report",
    "--summary-out",
    "--covariates-out",
];

/// The input and output paths of the command line, from its flags (`--flag value...` and
/// `--flag=value`); `ingest`'s `--store` is an output.
fn paths_of(args: &[String]) -> (Vec<std::path::PathBuf>, Vec<std::path::PathBuf>) {
    let ingest = args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .is_some_and(|c| c == "ingest");
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    let mut current: Option<bool> = None; // Some(true) while reading an output flag's values
    let mut many = false; // --input takes several files, the others one
    for a in args.iter().skip(1) {
        if a.starts_with("--") {
            let (flag, value) = match a.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (a.as_str(), None),
            };
            let output = OUTPUT_FLAGS.contains(&flag) || (ingest && flag == "--store");
            many = flag == "--input";
            current = if output {
                Some(true)
            } else if INPUT_FLAGS.contains(&flag) {
                Some(false)
            } else {
                None
            };
            if let (Some(out), Some(v)) = (current, value) {
                if out {
                    outputs.push(v.into())
                } else {
                    inputs.push(v.into())
                }
                current = None;
            }
            continue;
        }
        match current {
            Some(true) => {
                outputs.push(a.into());
                current = None;
            }
            Some(false) => {
                inputs.push(a.into());
                if !many {
                    current = None;
                }
            }
            None => {}
        }
    }
    (inputs, outputs)
}

fn main() -> std::process::ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    // No output may overwrite an input (or a file of an input store): refused before any work.
    let (inputs, outputs) = paths_of(&std::env::args().collect::<Vec<_>>());
    if let Err(e) = clientele::io::check_outputs(&inputs, &outputs) {
        eprintln!("error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let par = match cli.threads {
        Some(n) => match Parallelism::threads(n) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return std::process::ExitCode::FAILURE;
            }
        },
        None => Parallelism::current(),
    };
    let result = match &cli.command {
        Command::Generate(a) => cmd::generate::run(a, &par),
        Command::Ingest(a) => cmd::ingest::run(a, &par),
        Command::Compact(a) => cmd::ingest::compact(a, &par),
        Command::Summary(a) => cmd::summary::run(a, &par),
        Command::Rfm(a) => cmd::rfm::run(a, &par),
        Command::Segment(a) => cmd::segment::run(a, &par),
        Command::Fit(a) => cmd::models::fit(a, &par).map_err(|e| e as Box<dyn std::error::Error>),
        Command::Simulate(a) => cmd::simulate::run(a, &par).map_err(|e| e as Box<dyn std::error::Error>),
        Command::Predict(a) => cmd::models::predict(a, &par).map_err(|e| e as Box<dyn std::error::Error>),
        Command::Check(a) => cmd::models::check(a, &par).map_err(|e| e as Box<dyn std::error::Error>),
        Command::Clv(a) => cmd::models::clv(a, &par).map_err(|e| e as Box<dyn std::error::Error>),
        Command::Churn(a) => cmd::churn::run(a, &par).map_err(|e| e as Box<dyn std::error::Error>),
        Command::Triggers(a) => cmd::churn::triggers(a).map_err(|e| e as Box<dyn std::error::Error>),
        Command::Retention(a) => cmd::retention::run(a, &par).map_err(|e| e as Box<dyn std::error::Error>),
        Command::Report(a) => cmd::report::run(a, &par),
        Command::Cohorts(a) => cmd::views::run_cohorts(a, &par),
        Command::Channels(a) => cmd::views::run_channels(a, &par),
        Command::Attribution(a) => cmd::views::run_attribution(a, &par),
        Command::Satisfaction(a) => cmd::views::run_satisfaction(a, &par),
        Command::Customer(a) => cmd::views::run_customer(a, &par),
        Command::Customers360(a) => cmd::views::run_customers360(a, &par),
        Command::Campaigns(a) => cmd::views::run_campaigns(a, &par),
        Command::CrossSell(a) => cmd::views::run_cross_sell(a, &par),
        Command::Acquisition(a) => cmd::views::run_acquisition(a, &par),
        Command::Demo(a) => cmd::demo::run(a, &par),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
