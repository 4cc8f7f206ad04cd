//! `clientele fit`, `clientele predict`, `clientele clv`: lifetime-value models.
//!
//! Each command parses its flags, calls one function of [`clientele::pipeline`] and prints or
//! writes the result; the formulas live in the library.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;
use clientele::churn::risk::RiskTiers;
use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryConfig, SummaryParams, TimeUnit};
use clientele::models::{DataWindow, FitDiagnostics, FittedModel, Horizon, ModelKind, SavedModels};
use clientele::pipeline::{
    ClvParams, CustomerSummary, Discount, EventSource, FileSource, ModelFit, customer_summary, top_by,
};
use clientele::schema::output::tracking::{ACTUAL_CUMULATIVE, EXPECTED_CUMULATIVE, TIME};

use crate::input::{MappingArgs, progress_bar, warn_rejections};

type CliResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Where the customer summary comes from: a summary file, or events summarized here.
#[derive(Debug, Args)]
pub struct SummarySource {
    /// A customer summary written by `clientele summary` (.parquet, .csv, .json or .arrow).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["input", "store"], required_unless_present_any = ["input", "store"])]
    summary: Option<PathBuf>,
    /// Event file(s) to summarize: .csv/.tsv/.txt, .parquet, .arrow or .arrows.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with = "store")]
    input: Vec<PathBuf>,
    /// A store saved by `clientele ingest`.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    #[command(flatten)]
    mapping: MappingArgs,
    /// Last day of the calibration window, inclusive (with --input or --store).
    #[arg(long, value_name = "DATE", required_unless_present = "summary")]
    calibration_end: Option<NaiveDate>,
    /// Last day of the holdout window, inclusive (with --input or --store; adds the holdout
    /// columns `check` compares with).
    #[arg(long, value_name = "DATE")]
    observation_end: Option<NaiveDate>,
    /// Purchase period of the summary: day, week (Monday-Sunday), month, or Nd (default: day;
    /// for a --summary file, the saved model's when a model is given).
    #[arg(long, value_name = "PERIOD")]
    period: Option<String>,
    /// Unit of recency and T, and so of the model's time: period, day, or week (days / 7)
    /// (default: period; for a --summary file, the saved model's when a model is given).
    #[arg(long, value_name = "UNIT")]
    time_unit: Option<String>,
}

impl SummarySource {
    /// The data window the flags describe; `fallback` (a saved model's window) stands in for
    /// flags not given with a --summary file, whose preparation is not recorded in the file.
    fn window(&self, fallback: Option<&DataWindow>) -> CliResult<DataWindow> {
        let period = match (&self.period, fallback, &self.summary) {
            (Some(p), _, _) => Period::parse(p)?,
            (None, Some(w), Some(_)) => w.period,
            _ => Period::Day,
        };
        let unit = match (&self.time_unit, fallback, &self.summary) {
            (Some(u), _, _) => TimeUnit::parse(u)?,
            (None, Some(w), Some(_)) => w.time_unit,
            _ => TimeUnit::Period,
        };
        Ok(DataWindow::new(period, unit))
    }

    /// The summary, summarized here or read from --summary.
    fn load(&self, fallback: Option<&DataWindow>, par: &Parallelism) -> CliResult<CustomerSummary> {
        let window = self.window(fallback)?;
        if let Some(path) = &self.summary {
            return Ok(CustomerSummary::read(path, window)?);
        }
        let cfg = self.config(&window)?;
        let source = match &self.store {
            Some(dir) => EventSource::Saved(dir.clone()),
            None => {
                let (bar, progress) = progress_bar();
                let files = FileSource::new(self.input.clone())
                    .ingest(self.mapping.ingest_options(false))
                    .csv(self.mapping.csv_options()?)
                    .progress(progress);
                let run = customer_summary(&EventSource::Files(files), &cfg, par)?;
                bar.finish_and_clear();
                warn_rejections(run.ingest.as_ref());
                if run.streamed {
                    eprintln!("summary (streamed from Parquet)");
                }
                return Ok(run.summary);
            }
        };
        Ok(customer_summary(&source, &cfg, par)?.summary)
    }

    /// The summary's configuration from the flags (--store or --input).
    fn config(&self, window: &DataWindow) -> CliResult<SummaryConfig> {
        let end = self
            .calibration_end
            .ok_or("--calibration-end is required with --input or --store")?;
        let mut params = SummaryParams::new(end)
            .period(window.period)
            .time_unit(window.time_unit);
        if let Some(o) = self.observation_end {
            params = params.observation_end(o);
        }
        Ok(params.validate()?)
    }

    /// The summary and, when the events are at hand (--store or --input), the observed repeat
    /// purchases per time unit of its cohort
    /// ([`pipeline::actual_tracking`](clientele::pipeline::actual_tracking)), from one read of
    /// the events; a --summary file gives no curve.
    fn load_with_tracking(
        &self,
        fallback: Option<&DataWindow>,
        par: &Parallelism,
    ) -> CliResult<(CustomerSummary, Option<arrow_array::RecordBatch>)> {
        if self.summary.is_some() {
            return Ok((self.load(fallback, par)?, None));
        }
        let cfg = self.config(&self.window(fallback)?)?;
        let source = match &self.store {
            Some(dir) => EventSource::Saved(dir.clone()),
            None => EventSource::Files(
                FileSource::new(self.input.clone())
                    .ingest(self.mapping.ingest_options(false))
                    .csv(self.mapping.csv_options()?),
            ),
        };
        // The summary and the tracking curve read the same columns.
        let roles = Some(clientele::pipeline::SUMMARY_ROLES);
        let (events, ingest) = clientele::pipeline::load_events(&source, roles, par)?;
        warn_rejections(ingest.as_ref());
        let events = EventSource::Store(&events);
        let summary = customer_summary(&events, &cfg, par)?.summary;
        let tracking = clientele::pipeline::actual_tracking(&events, &cfg, par)?;
        Ok((summary, Some(tracking)))
    }
}

/// Arguments of `clientele fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// The model: bgnbd, mbgnbd, pnbd (Pareto/NBD), bgbb (discrete periods) or gg (Gamma-Gamma
    /// spend, fitted on the repeat customers' monetary values).
    #[arg(long, value_name = "MODEL", value_parser = purchase_or_spend)]
    model: ModelKind,
    #[command(flatten)]
    source: SummarySource,
    /// L2 penalty coefficient (0: plain maximum likelihood).
    #[arg(long, value_name = "C", default_value_t = 0.0)]
    penalizer: f64,
    /// Where to save the fitted model (versioned JSON with the data window).
    #[arg(long, value_name = "MODEL.json")]
    out: Option<PathBuf>,
    /// Confidence level of the printed parameter intervals (log-scale Wald intervals from
    /// the Hessian).
    #[arg(long, value_name = "LEVEL", default_value_t = 0.95)]
    level: f64,
    #[command(flatten)]
    covariates: CovariateArgs,
}

/// Static covariates from a per-customer table (Pareto/NBD and BG/NBD).
#[derive(Debug, Args)]
pub struct CovariateArgs {
    /// A per-customer table (.csv, .parquet, .json or .arrow) with a key column and numeric
    /// covariate columns: fits (or scores) the model with static covariates.
    #[arg(long, value_name = "FILE")]
    covariates: Option<PathBuf>,
    /// The covariate table's customer key column.
    #[arg(long, value_name = "COLUMN", default_value = "customer_id", requires = "covariates")]
    covariate_key: String,
    /// Covariate columns that shift the purchase process (comma separated).
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',', requires = "covariates")]
    trans_covariates: Vec<String>,
    /// Covariate columns that shift the dropout process (comma separated).
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',', requires = "covariates")]
    life_covariates: Vec<String>,
}

fn purchase_or_spend(s: &str) -> Result<ModelKind, String> {
    match ModelKind::parse(s) {
        Ok(ModelKind::Sbg) => Err("sbg is fitted on cohort survival counts, not on a customer summary".into()),
        Ok(k) => Ok(k),
        Err(e) => Err(e.to_string()),
    }
}

/// Prints parameters, standard errors, intervals at `level` and diagnostics.
fn report(title: &str, model: &FittedModel, level: f64) -> CliResult<()> {
    let rows = clientele::models::uncertainty::parameter_intervals(model, level)?;
    print_estimates(title, &rows, model.diagnostics(), level);
    Ok(())
}

/// The table of [`report`], for any model's estimates.
fn print_estimates(
    title: &str,
    rows: &[clientele::models::uncertainty::ParameterEstimate],
    diag: Option<&FitDiagnostics>,
    level: f64,
) {
    let fmt = |v: Option<f64>| v.map_or("n/a".to_string(), |s| format!("{s:.6}"));
    let pct = format!("{}%", (level * 100.0 * 1e6).round() / 1e6);
    println!("{title}");
    println!(
        "  {:<14} {:>14} {:>14} {:>14} {:>14}",
        "parameter",
        "estimate",
        "std. error",
        format!("{pct} lower"),
        format!("{pct} upper")
    );
    for p in rows {
        println!(
            "  {:<14} {:>14.6} {:>14} {:>14} {:>14}",
            p.name,
            p.estimate,
            fmt(p.standard_error),
            fmt(p.lower),
            fmt(p.upper)
        );
    }
    if let Some(d) = diag {
        println!("  log-likelihood {:.4}", d.log_likelihood);
        println!(
            "  {} ({} iterations, {} evaluations, gradient norm {:.2e}, Hessian condition {}, {} customers in {} distinct rows, penalizer {})",
            d.status(),
            d.iterations,
            d.evaluations,
            d.gradient_norm,
            d.hessian_condition.map_or("n/a".to_string(), |c| format!("{c:.2e}")),
            d.customers,
            d.rows,
            d.penalizer
        );
    }
}

fn save(path: &PathBuf, json: &str, what: &str) -> CliResult<()> {
    clientele::io::write_bytes_atomically(path, json.as_bytes())?;
    eprintln!("{what} saved -> {}", path.display());
    Ok(())
}

fn fit_title(f: &ModelFit) -> String {
    match f.model {
        FittedModel::GammaGamma(_) => format!(
            "Gamma-Gamma spend model ({} repeat customers; {} one-time buyers and {} with a mean spend ≤ 0 left out; frequency-spend correlation {:.4})",
            f.customers,
            f.one_time_buyers_excluded,
            f.non_positive_spend_excluded,
            f.frequency_spend_correlation.unwrap_or(f64::NAN)
        ),
        FittedModel::BgBb(_) => "BG/BB (discrete periods: frequency, recency and T in whole periods)".into(),
        ref m => m.kind().title().into(),
    }
}

pub fn fit(a: &FitArgs, par: &Parallelism) -> CliResult<()> {
    // a bad level is an error before any work, not after the fit
    clientele::models::uncertainty::z_of_level(a.level)?;
    if let Some(table) = &a.covariates.covariates {
        return fit_covariates(a, table, par);
    }
    let summary = a.source.load(None, par)?;
    let started = std::time::Instant::now();
    let fitted = clientele::pipeline::fit(&summary, a.model, a.penalizer, par)?;
    report(&fit_title(&fitted), &fitted.model, a.level)?;
    if let Some(p) = &a.out {
        save(p, &fitted.saved(&summary).to_json()?, "model")?;
    }
    eprintln!("fitted in {:.3} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `fit --covariates`: the model with static covariates.
fn fit_covariates(a: &FitArgs, table: &std::path::Path, par: &Parallelism) -> CliResult<()> {
    use clientele::models::covariates::CovariateParams;
    use clientele::pipeline::CovariateColumns;
    let c = &a.covariates;
    if c.trans_covariates.is_empty() && c.life_covariates.is_empty() {
        return Err("--covariates needs --trans-covariates and/or --life-covariates: the columns to use".into());
    }
    let cfg = CovariateParams::new(a.model).penalizer(a.penalizer).validate()?;
    let covariates = clientele::io::read_table(table)?;
    let summary = a.source.load(None, par)?;
    let started = std::time::Instant::now();
    let columns =
        CovariateColumns::new(c.trans_covariates.clone(), c.life_covariates.clone()).key(c.covariate_key.clone());
    let model = clientele::pipeline::fit_with_covariates(&summary, &covariates, &columns, &cfg, par)?;
    let title = format!(
        "{} with static covariates (transaction: {}; lifetime: {})",
        a.model.title(),
        if c.trans_covariates.is_empty() {
            "none".into()
        } else {
            c.trans_covariates.join(", ")
        },
        if c.life_covariates.is_empty() {
            "none".into()
        } else {
            c.life_covariates.join(", ")
        },
    );
    print_estimates(
        &title,
        &model.parameter_intervals(a.level)?,
        model.diagnostics.as_ref(),
        a.level,
    );
    if let Some(p) = &a.out {
        save(p, &model.to_json()?, "model")?;
    }
    eprintln!("fitted in {:.3} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Arguments of `clientele predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A model file written by `clientele fit --out` or `clientele clv --model-out`.
    #[arg(long, value_name = "MODEL.json")]
    model: PathBuf,
    #[command(flatten)]
    source: SummarySource,
    /// Horizon of `expected_purchases`, with its unit: 12m, 26w, 90d; a bare number is in the
    /// model's time unit (periods for bgbb).
    #[arg(long, value_name = "H", value_parser = parse_horizon)]
    horizon: Horizon,
    /// Output file: .parquet, .csv, .json or .arrow (default: a table on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Adds delta-method intervals of `expected_purchases` at this confidence level (0.95):
    /// columns `expected_purchases_lower` and `expected_purchases_upper`.
    #[arg(long, value_name = "LEVEL")]
    intervals: Option<f64>,
    /// The per-customer covariate table of a model fitted with `fit --covariates`.
    #[arg(long, value_name = "FILE")]
    covariates: Option<PathBuf>,
    /// The covariate table's customer key column.
    #[arg(long, value_name = "COLUMN", default_value = "customer_id")]
    covariate_key: String,
}

fn parse_horizon(s: &str) -> Result<Horizon, String> {
    Horizon::parse(s).map_err(|e| e.to_string())
}

pub fn predict(a: &PredictArgs, par: &Parallelism) -> CliResult<()> {
    let json = std::fs::read_to_string(&a.model).map_err(|e| format!("{}: {e}", a.model.display()))?;
    let table = if clientele::models::covariates::is_covariate_model(&json).is_some() {
        let model = clientele::models::covariates::CovariateModel::from_json(&json)?;
        let Some(path) = &a.covariates else {
            return Err(format!(
                "{} is a model with static covariates: give their table with --covariates",
                a.model.display()
            )
            .into());
        };
        let covariates = clientele::io::read_table(path)?;
        let summary = a.source.load(model.window.as_ref(), par)?;
        clientele::pipeline::predict_with_covariates(
            &summary,
            &model,
            &covariates,
            &a.covariate_key,
            a.horizon,
            a.intervals,
            par,
        )?
    } else {
        if a.covariates.is_some() {
            return Err(format!(
                "{} is a model without covariates: leave out --covariates",
                a.model.display()
            )
            .into());
        }
        let models = SavedModels::read(&a.model)?;
        let summary = a.source.load(models.window.as_ref(), par)?;
        clientele::pipeline::predict_with_intervals(&summary, &models, a.horizon, a.intervals, par)?
    };
    match &a.out {
        Some(path) => {
            clientele::io::write_batches_in(&table.schema(), std::slice::from_ref(&table), path, par)?;
            eprintln!("{} customers scored -> {}", table.num_rows(), path.display());
        }
        None => print!("{}", clientele::io::format_table(&table, 20)),
    }
    Ok(())
}

/// Arguments of `clientele clv`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("discount").required(false).args(["discount_monthly", "discount_continuous"])))]
pub struct ClvArgs {
    #[command(flatten)]
    source: SummarySource,
    /// Purchase model: bgnbd, mbgnbd or pnbd (Pareto/NBD; needed for --discount-continuous).
    #[arg(long, value_name = "MODEL", default_value = "bgnbd", value_parser = purchase_model, conflicts_with = "models")]
    model: ModelKind,
    /// Score with models saved by `clv --model-out` instead of fitting (their discounting
    /// applies unless a --discount flag is given).
    #[arg(long, value_name = "MODELS.json")]
    models: Option<PathBuf>,
    /// Horizon with its unit (12m, 26w, 90d) of `expected_purchases` and of monthly discounting,
    /// which needs whole months.
    #[arg(long, value_name = "H", value_parser = parse_horizon, conflicts_with = "horizon_months")]
    horizon: Option<Horizon>,
    /// Horizon in months (the same as --horizon Nm).
    #[arg(long, value_name = "MONTHS")]
    horizon_months: Option<u32>,
    /// Discrete monthly discounting (lifetimes / pymc-marketing): rate per month, e.g. 0.01.
    #[arg(long, value_name = "RATE", required_unless_present_any = ["discount_continuous", "models"])]
    discount_monthly: Option<f64>,
    /// Continuous discounting per model time unit over an infinite horizon (CLVTools / BTYD
    /// DERT; Pareto/NBD only), e.g. 0.0027 per week for 15 % a year.
    #[arg(long, value_name = "RATE")]
    discount_continuous: Option<f64>,
    /// The model behind churn_risk = 1 − P(alive): bgnbd, mbgnbd or pnbd. Default: the
    /// purchase model, except BG/NBD (P(alive) = 1 for every one-time buyer), for which MBG/NBD
    /// is fitted as well.
    #[arg(long, value_name = "MODEL", value_parser = purchase_model)]
    risk_model: Option<ModelKind>,
    /// Risk tier cut points on churn risk, ascending in (0, 1).
    #[arg(long, value_name = "CUTS", value_delimiter = ',', default_value = "0.5,0.8")]
    risk_cuts: Vec<f64>,
    /// Tier names, lowest risk first (one more than the cut points).
    #[arg(long, value_name = "NAMES", value_delimiter = ',', default_value = "low,medium,high")]
    risk_labels: Vec<String>,
    /// Equal-count risk tiers q1..qN instead of cut points.
    #[arg(long, value_name = "N", conflicts_with_all = ["risk_cuts", "risk_labels"])]
    risk_quantiles: Option<u32>,
    /// Cost as a share of gross CLV (adds `net_clv` = clv × (1 − rate)).
    #[arg(long, value_name = "RATE")]
    cost_rate: Option<f64>,
    /// L2 penalty of both fits (the same as --purchase-penalizer C --spend-penalizer C).
    #[arg(long, value_name = "C", conflicts_with_all = ["purchase_penalizer", "spend_penalizer"])]
    penalizer: Option<f64>,
    /// L2 penalty of the purchase (and risk) model fit.
    #[arg(long, value_name = "C")]
    purchase_penalizer: Option<f64>,
    /// L2 penalty of the Gamma-Gamma fit.
    #[arg(long, value_name = "C")]
    spend_penalizer: Option<f64>,
    /// Output file: .parquet, .csv, .json or .arrow (default: the top customers on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also save the models (purchase, spend, risk, data window and discounting; one JSON
    /// document that `clv --models` and `predict --model` read).
    #[arg(long, value_name = "MODELS.json")]
    model_out: Option<PathBuf>,
    /// Adds delta-method intervals at this confidence level (0.95) of `expected_purchases`
    /// and `clv`: columns `expected_purchases_lower/upper` and `clv_lower/upper`; also the
    /// level of the printed parameter intervals (default 0.95).
    #[arg(long, value_name = "LEVEL")]
    intervals: Option<f64>,
}

fn purchase_model(s: &str) -> Result<ModelKind, String> {
    match ModelKind::parse(s) {
        Ok(k) if k.is_purchase_model() => Ok(k),
        Ok(k) => Err(format!("{k} is not a purchase model: use bgnbd, mbgnbd or pnbd")),
        Err(e) => Err(e.to_string()),
    }
}

impl ClvArgs {
    fn params(&self, saved: Option<&SavedModels>) -> ClvParams {
        let model = saved
            .and_then(|m| m.purchase.as_ref())
            .map_or(self.model, FittedModel::kind);
        let mut p = ClvParams {
            model,
            horizon: match (self.horizon, self.horizon_months) {
                (Some(h), _) => h,
                (None, Some(m)) => Horizon::months(f64::from(m)),
                (None, None) => Horizon::months(12.0),
            },
            discount: match (self.discount_monthly, self.discount_continuous) {
                (Some(rate), _) => Some(Discount::Monthly { rate }),
                (None, Some(r)) => Some(Discount::Continuous { rate_per_time_unit: r }),
                (None, None) => None,
            },
            cost_rate: self.cost_rate,
            risk_model: self.risk_model,
            risk_tiers: match self.risk_quantiles {
                Some(n) => RiskTiers::Quantiles { n },
                None => RiskTiers::Cuts {
                    cuts: self.risk_cuts.clone(),
                    labels: self.risk_labels.clone(),
                },
            },
            intervals: self.intervals,
            ..ClvParams::default()
        };
        p.purchase_penalizer = self.purchase_penalizer.or(self.penalizer).unwrap_or(0.0);
        p.spend_penalizer = self.spend_penalizer.or(self.penalizer).unwrap_or(0.0);
        p
    }
}

pub fn clv(a: &ClvArgs, par: &Parallelism) -> CliResult<()> {
    let saved = a.models.as_deref().map(SavedModels::read).transpose()?;
    let cfg = a.params(saved.as_ref()).validate()?;
    let started = std::time::Instant::now();
    let summary = a.source.load(saved.as_ref().and_then(|m| m.window.as_ref()), par)?;
    let loaded = started.elapsed();
    let run = match &saved {
        Some(models) => clientele::pipeline::score_clv(&summary, models, &cfg, par)?,
        None => clientele::pipeline::clv(&summary, &cfg, par)?,
    };
    let verb = if run.report.fitted { "" } else { " (saved)" };
    for m in [
        run.models.purchase.clone(),
        run.models.spend.clone().map(FittedModel::GammaGamma),
    ]
    .into_iter()
    .flatten()
    {
        report(&format!("{}{verb}", m.kind().title()), &m, a.intervals.unwrap_or(0.95))?;
    }
    if let Some(r) = &run.models.risk {
        report(
            &format!("{}{verb}, for churn risk", r.kind().title()),
            r,
            a.intervals.unwrap_or(0.95),
        )?;
    }
    let rep = &run.report;
    if rep.spend_non_positive_excluded + rep.negative_spend_valued_as_zero > 0 {
        eprintln!(
            "note: {} repeat customers with a mean spend ≤ 0 left out of the spend fit; {} negative mean spends valued as 0",
            rep.spend_non_positive_excluded, rep.negative_spend_valued_as_zero
        );
    }
    for w in &rep.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(p) = &a.model_out {
        save(p, &run.models.to_json()?, "models")?;
    }
    match &a.out {
        Some(path) => {
            clientele::io::write_batches_in(&run.table.schema(), std::slice::from_ref(&run.table), path, par)?;
            eprintln!(
                "{} customers valued in {:.3} s (summary {:.3} s) -> {}",
                run.table.num_rows(),
                started.elapsed().as_secs_f64(),
                loaded.as_secs_f64(),
                path.display()
            );
        }
        None => {
            println!(
                "\ntop customers by CLV ({:?}; churn risk from {}):",
                rep.discounting, rep.risk_model
            );
            print!(
                "{}",
                clientele::io::format_table(&top_by(&run.table, clientele::schema::output::CLV, 10)?, 10)
            );
        }
    }
    Ok(())
}

/// Arguments of `clientele check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A model file with a purchase model (bgnbd, mbgnbd, pnbd): `fit --out` or `clv --model-out`.
    #[arg(long, value_name = "MODEL.json")]
    model: PathBuf,
    #[command(flatten)]
    source: SummarySource,
    /// Highest calibration frequency with its own holdout bucket (the last is "N or more").
    #[arg(long, value_name = "N", default_value_t = 6)]
    holdout_max_frequency: u32,
    /// Highest repeat-purchase count with its own period-transactions row ("N or more").
    #[arg(long, value_name = "N", default_value_t = 7)]
    period_max: u32,
    /// Horizon of the matrix's expected purchases (12m, 26w, 90d; a bare number: model units).
    #[arg(long, value_name = "H", value_parser = parse_horizon, default_value = "1")]
    matrix_horizon: Horizon,
    /// Write calibration_vs_holdout, period_transactions, frequency_recency and tracking
    /// tables into this directory (tracking: expected, and with --store or --input the observed
    /// `actual_incremental` and `actual_cumulative` beside it, from the same read of the events).
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Format of the tables in --out-dir: csv, parquet, json or arrow.
    #[arg(long, value_name = "FORMAT", default_value = "csv", value_parser = ["csv", "parquet", "json", "arrow"])]
    format: String,
}

pub fn check(a: &CheckArgs, par: &Parallelism) -> CliResult<()> {
    let models = SavedModels::read(&a.model)?;
    let (summary, actual) = a.source.load_with_tracking(models.window.as_ref(), par)?;
    let params = clientele::pipeline::CheckParams {
        holdout_max_frequency: a.holdout_max_frequency,
        period_max: a.period_max,
        matrix_horizon: a.matrix_horizon,
        ..Default::default()
    };
    let t = clientele::pipeline::check_model(&summary, &models, &params, par)?;
    match &t.calibration_vs_holdout {
        Some(h) => {
            println!("calibration vs holdout purchases (mean per customer, by calibration frequency):");
            print!("{}", clientele::io::format_table(h, 50));
        }
        None => println!("no holdout columns: give --observation-end to compare with a holdout period"),
    }
    println!("\nperiod transactions (customers by repeat purchases in their calibration time):");
    print!("{}", clientele::io::format_table(&t.period_transactions, 50));
    // the tracking table: expected, and observed beside it when the events are at hand
    let mut tracking = t.tracking.clone();
    if let Some(actual) = actual {
        let n = tracking.num_rows().min(actual.num_rows());
        let (e, o) = (tracking.slice(0, n), actual.slice(0, n));
        let mut columns = e.columns().to_vec();
        columns.extend([o.column(1).clone(), o.column(2).clone()]);
        let mut fields: Vec<_> = e.schema().fields().iter().cloned().collect();
        fields.extend([o.schema().field(1).clone().into(), o.schema().field(2).clone().into()]);
        tracking = arrow_array::RecordBatch::try_new(std::sync::Arc::new(arrow_schema::Schema::new(fields)), columns)?;
        let last = |b: &arrow_array::RecordBatch, c: &str| -> Option<f64> {
            let col = arrow_cast::cast(b.column_by_name(c)?, &arrow_schema::DataType::Float64).ok()?;
            let col = col.as_any().downcast_ref::<arrow_array::Float64Array>()?.clone();
            (!col.is_empty()).then(|| col.value(col.len() - 1))
        };
        if let (Some(time), Some(actual), Some(expected)) = (
            last(&tracking, TIME),
            last(&tracking, ACTUAL_CUMULATIVE),
            last(&tracking, EXPECTED_CUMULATIVE),
        ) {
            println!(
                "\ntracking: after {time} time units the cohort made {actual} repeat purchases; the model expected {expected:.1}"
            );
        }
    }
    if let Some(dir) = &a.out_dir {
        std::fs::create_dir_all(dir).map_err(|e| clientele::Error::io(dir, e))?;
        let mut written = Vec::new();
        for (name, table) in [
            ("calibration_vs_holdout", t.calibration_vs_holdout.as_ref()),
            ("period_transactions", Some(&t.period_transactions)),
            ("frequency_recency", Some(&t.frequency_recency)),
            ("tracking", Some(&tracking)),
        ] {
            if let Some(table) = table {
                let path = dir.join(format!("{name}.{}", a.format));
                clientele::io::write_batch(table, &path)?;
                written.push(path.display().to_string());
            }
        }
        eprintln!("tables -> {}", written.join(", "));
    }
    Ok(())
}
