//! `clientele churn train|score|evaluate` and `clientele triggers`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use clientele::churn::evaluation::ChurnEvaluation;
use clientele::churn::{ChurnModel, DEFAULT_BTYD_WEEKS};
use clientele::exec::Parallelism;
use clientele::pipeline::{churn_evaluate, churn_score, churn_train, fire_triggers, top_by};
use clientele::schema::Role;
use clientele::schema::output::churn::CHURN_PROBABILITY;
use clientele::triggers::TriggerRules;

use crate::input::{SourceArgs, load};

type CliResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Arguments of `clientele churn`.
#[derive(Debug, Args)]
pub struct ChurnArgs {
    #[command(subcommand)]
    step: Step,
}

#[derive(Debug, Subcommand)]
enum Step {
    /// Fit a churn model: features from events before --cutoff, label = no purchase in the
    /// --horizon-days after it.
    Train(TrainArgs),
    /// Score customers with a saved model (features from events before --as-of).
    Score(ScoreArgs),
    /// Evaluate a saved model on a later window: features before --cutoff, labels after it.
    Evaluate(EvaluateArgs),
}

#[derive(Debug, Args)]
struct TrainArgs {
    /// Add BG/NBD features: `p_alive` and `expected_purchases` (over the next --btyd-weeks),
    /// from a BG/NBD model fitted on the weekly summary of the history before the cutoff. The
    /// setting is saved with the model, and scoring and evaluation use it.
    #[arg(long)]
    btyd: bool,
    /// Weeks ahead for the BG/NBD `expected_purchases` feature.
    #[arg(long, value_name = "WEEKS", default_value_t = DEFAULT_BTYD_WEEKS)]
    btyd_weeks: f64,
    #[command(flatten)]
    source: SourceArgs,
    /// The time split: features use events strictly before this date.
    #[arg(long, value_name = "DATE")]
    cutoff: NaiveDate,
    /// Days after the cutoff without a purchase that make a churner.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    horizon_days: u32,
    /// Inverse L2 strength C (scikit-learn's convention).
    #[arg(long, value_name = "C", default_value_t = 1.0)]
    c: f64,
    /// Weight the classes inversely to their frequency (scikit-learn's "balanced").
    #[arg(long)]
    balanced: bool,
    /// Where to save the model (versioned JSON).
    #[arg(long, value_name = "MODEL.json")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ScoreArgs {
    /// Add BG/NBD features. Not needed with a model that records its setting (every model
    /// `churn train` saves): its setting is used, and asking for BG/NBD features it was trained
    /// without is an error. For older model files, as at training.
    #[arg(long)]
    btyd: bool,
    /// Weeks ahead for the BG/NBD `expected_purchases` feature. Defaults to the model's;
    /// a different value than the model was trained with is an error.
    #[arg(long, value_name = "WEEKS")]
    btyd_weeks: Option<f64>,
    #[command(flatten)]
    source: SourceArgs,
    /// A model saved by `clientele churn train`.
    #[arg(long, value_name = "MODEL.json")]
    model: PathBuf,
    /// Features use events strictly before this date.
    #[arg(long, value_name = "DATE")]
    as_of: NaiveDate,
    /// Output file: .parquet, .csv, .json or .arrow (default: the most at-risk customers).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct EvaluateArgs {
    /// Add BG/NBD features. Not needed with a model that records its setting (every model
    /// `churn train` saves): its setting is used, and asking for BG/NBD features it was trained
    /// without is an error. For older model files, as at training.
    #[arg(long)]
    btyd: bool,
    /// Weeks ahead for the BG/NBD `expected_purchases` feature. Defaults to the model's;
    /// a different value than the model was trained with is an error.
    #[arg(long, value_name = "WEEKS")]
    btyd_weeks: Option<f64>,
    #[command(flatten)]
    source: SourceArgs,
    /// A model saved by `clientele churn train`.
    #[arg(long, value_name = "MODEL.json")]
    model: PathBuf,
    /// Held-out split: features before this date, labels from the --horizon-days after it.
    #[arg(long, value_name = "DATE")]
    cutoff: NaiveDate,
    /// Days after the cutoff without a purchase that make a churner.
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    horizon_days: u32,
}

/// Every role the features read.
const ROLES: [Role; 5] = [
    Role::EventType,
    Role::Amount,
    Role::Channel,
    Role::Score,
    Role::CampaignId,
];

fn load_model(path: &PathBuf) -> CliResult<ChurnModel> {
    let text = std::fs::read_to_string(path).map_err(|e| clientele::Error::io(path, e))?;
    Ok(ChurnModel::from_json(&text)?)
}

/// The BG/NBD weeks to score `model` with (`None`: no BG/NBD features): the model's saved
/// setting, checked against the flags; for a model file that predates the saved setting, the
/// flags, as they were at training.
fn model_btyd(model: &ChurnModel, btyd: bool, weeks: Option<f64>) -> CliResult<Option<f64>> {
    let chosen = model.btyd_for_scoring(btyd, weeks).map_err(|e| match e {
        clientele::Error::InvalidParameter { message, .. } => format!("--btyd / --btyd-weeks: {message}"),
        other => other.to_string(),
    })?;
    if model.btyd.is_none()
        && let Some(w) = chosen
    {
        eprintln!("note: the model file does not record its BG/NBD setting; using {w} weeks");
    }
    Ok(chosen)
}

fn print_evaluation(e: &ChurnEvaluation) {
    println!(
        "  {} customers, churn rate {:.4}: ROC AUC {:.4}, PR AUC {:.4}, Brier {:.4}",
        e.rows, e.churn_rate, e.roc_auc, e.average_precision, e.brier_score
    );
    println!(
        "  top decile ({} customers): lift {:.3}, capture rate {:.4}",
        e.top_decile.rows, e.top_decile.lift, e.top_decile.capture_rate
    );
    println!("  calibration (equal-count bins, lowest scores first):");
    println!("    {:>8} {:>14} {:>13}", "rows", "mean predicted", "observed rate");
    for b in &e.calibration {
        println!("    {:>8} {:>14.4} {:>13.4}", b.rows, b.mean_predicted, b.observed_rate);
    }
}

pub fn run(a: &ChurnArgs, par: &Parallelism) -> CliResult<()> {
    match &a.step {
        Step::Train(t) => {
            let store = load(&t.source, par, &ROLES)?;
            let started = std::time::Instant::now();
            let btyd = t.btyd.then_some(t.btyd_weeks);
            let trained = churn_train(&store, t.cutoff, t.horizon_days, btyd, t.c, t.balanced, par)?;
            let (model, labels) = (&trained.model, &trained.labels);
            let took = started.elapsed();
            let d = &model.diagnostics;
            println!(
                "churn model: {} customers active before {}, {} churned within {} days; {} features",
                labels.num_rows(),
                t.cutoff,
                d.positives,
                t.horizon_days,
                model.coefficients.len()
            );
            println!(
                "  Newton: {} iterations, gradient norm {:.2e}, log-loss {:.5}, C {}, class weights {:?}; {:.3} s",
                d.iterations,
                d.gradient_norm,
                d.log_loss,
                t.c,
                model.class_weights,
                took.as_secs_f64()
            );
            println!("  feature importance (log-odds per standard deviation):");
            println!("    {:<28} {:>10}", "intercept", format!("{:+.4}", model.intercept));
            for (name, coef) in model.feature_importance() {
                println!("    {name:<28} {coef:>+10.4}");
            }
            println!("  on the training window:");
            print_evaluation(&trained.training_fit);
            if let Some(p) = &t.out {
                clientele::io::write_bytes_atomically(p, model.to_json()?.as_bytes())?;
                eprintln!("model saved -> {}", p.display());
            }
        }
        Step::Score(s) => {
            let model = load_model(&s.model)?;
            let store = load(&s.source, par, &ROLES)?;
            let btyd = model_btyd(&model, s.btyd, s.btyd_weeks)?;
            let scores = churn_score(&store, &model, s.as_of, btyd, par)?;
            match &s.out {
                Some(path) => {
                    clientele::io::write_batch(&scores, path)?;
                    eprintln!("{} customers scored -> {}", scores.num_rows(), path.display());
                }
                None => {
                    let top = top_by(&scores, CHURN_PROBABILITY, 20)?;
                    println!("most at risk as of {}:", s.as_of);
                    print!("{}", clientele::io::format_table(&top, 20));
                }
            }
        }
        Step::Evaluate(e) => {
            let model = load_model(&e.model)?;
            let store = load(&e.source, par, &ROLES)?;
            let btyd = model_btyd(&model, e.btyd, e.btyd_weeks)?;
            let evaluation = churn_evaluate(&store, &model, e.cutoff, e.horizon_days, btyd, par)?;
            println!(
                "held-out evaluation: features before {}, churn = no purchase in the next {} days",
                e.cutoff, e.horizon_days
            );
            print_evaluation(&evaluation);
        }
    }
    Ok(())
}

/// Arguments of `clientele triggers`.
#[derive(Debug, Args)]
pub struct TriggersArgs {
    /// Rule file: TOML (`[[rules]]` with name, when, action) or JSON.
    #[arg(long, value_name = "FILE")]
    rules: PathBuf,
    /// The customer table the rules read (any table with `customer_id`, e.g. the output of
    /// `clientele clv`, `rfm` or `churn score`): .parquet, .csv, .json or .arrow.
    #[arg(long, value_name = "FILE")]
    table: PathBuf,
    /// Output file: .parquet, .csv, .json or .arrow (default: the fired rules on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn triggers(a: &TriggersArgs) -> CliResult<()> {
    let rules = TriggerRules::from_path(&a.rules)?;
    let table = clientele::io::read_table(&a.table)?;
    let run = fire_triggers(&rules, &table)?;
    let fired = run.fired;
    match &a.out {
        Some(path) => {
            clientele::io::write_batch(&fired, path)?;
            eprintln!(
                "{} rules over {} customers: {} fired -> {}",
                run.rules,
                run.customers,
                fired.num_rows(),
                path.display()
            );
        }
        None => {
            println!(
                "{} rules over {} customers: {} fired",
                run.rules,
                run.customers,
                fired.num_rows()
            );
            print!("{}", clientele::io::format_table(&fired, 50));
        }
    }
    Ok(())
}
