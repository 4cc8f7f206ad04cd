//! `clientele fit`, `clientele predict`, `clientele clv`: lifetime-value models.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use clap::Args;
use clientele::churn::risk::{RiskTiers, churn_risk, risk_tier_codes};
use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize, summarize_parquet};
use clientele::models::clv::{DAYS_PER_MONTH, Discounting, PurchaseModel, WEEKS_PER_MONTH};
use clientele::models::scores::{conditional_expected_purchases_batch, probability_alive_batch, score_customers};
use clientele::models::{
    BgBb, BgBbData, BgBbParams, BgNbd, BgNbdParams, FitDiagnostics, GammaGamma, GammaGammaParams, MbgNbd, MbgNbdParams,
    ParetoNbd, ParetoNbdParams, RfmData, SpendData,
};
use clientele::schema::Role;

use crate::input::{MappingArgs, SourceArgs, load};

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
    /// Purchase period of the summary: day, week (Monday-Sunday), month, or Nd.
    #[arg(long, value_name = "PERIOD", default_value = "day")]
    period: String,
    /// Unit of recency and T, and so of the model's time: period, day, or week (days / 7).
    #[arg(long, value_name = "UNIT", default_value = "period")]
    time_unit: String,
}

/// The roles a summary needs besides the key and the time (both paths load only these).
const ROLES: &[Role] = &[Role::EventType, Role::Amount];

impl SummarySource {
    /// The summary table, and the number of model time units per month (for the discrete CLV
    /// convention: 4.345 for weeks, 30 for days, 1 for months).
    fn load(&self, par: &Parallelism) -> CliResult<(RecordBatch, f64)> {
        let (period, unit) = (Period::parse(&self.period)?, TimeUnit::parse(&self.time_unit)?);
        let per_month = match (unit, period) {
            (TimeUnit::Week, _) | (TimeUnit::Period, Period::Week) => WEEKS_PER_MONTH,
            (TimeUnit::Day, _) | (TimeUnit::Period, Period::Day) => DAYS_PER_MONTH,
            (TimeUnit::Period, Period::Month) => 1.0,
            (TimeUnit::Period, Period::Days(n)) => DAYS_PER_MONTH / f64::from(n),
        };
        if let Some(path) = &self.summary {
            return Ok((clientele::io::read_table(path)?, per_month));
        }
        let end = self
            .calibration_end
            .ok_or("--calibration-end is required with --input or --store")?;
        let cfg = SummaryParams::new(end).period(period).time_unit(unit).validate()?;
        // One Parquet file: the purchase columns straight from the file, when it is in the
        // streaming path's scope (the store path reports any row it would reject).
        if let [input] = self.input.as_slice()
            && self.store.is_none()
            && input
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
            && let Some(table) = summarize_parquet(input, &cfg, &self.mapping.ingest_options(false).only(ROLES), par)?
        {
            return Ok((table, per_month));
        }
        let source = SourceArgs {
            input: self.input.clone(),
            store: self.store.clone(),
            mapping: self.mapping.clone(),
        };
        let store = load(&source, par, ROLES)?;
        Ok((summarize(&store, &cfg, par)?, per_month))
    }
}

/// Arguments of `clientele fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// The model: bgnbd, mbgnbd, pnbd (Pareto/NBD), bgbb (discrete periods) or gg (Gamma-Gamma
    /// spend, fitted on the repeat customers' monetary values).
    #[arg(long, value_name = "MODEL", value_parser = ["bgnbd", "mbgnbd", "pnbd", "bgbb", "gg"])]
    model: String,
    #[command(flatten)]
    source: SummarySource,
    /// L2 penalty coefficient (0: plain maximum likelihood).
    #[arg(long, value_name = "C", default_value_t = 0.0)]
    penalizer: f64,
    /// Where to save the fitted model (versioned JSON).
    #[arg(long, value_name = "MODEL.json")]
    out: Option<PathBuf>,
}

/// The `Float64` column `name` of a summary (integers are converted).
fn column(t: &RecordBatch, name: &str) -> CliResult<Vec<f64>> {
    let c = t
        .column_by_name(name)
        .ok_or_else(|| format!("the summary has no `{name}` column"))?;
    let c = arrow_cast::cast(c, &DataType::Float64)?;
    let c = c.as_primitive::<Float64Type>();
    if c.null_count() > 0 {
        return Err(format!(
            "`{name}` has {} null values (customers without a purchase?)",
            c.null_count()
        )
        .into());
    }
    Ok(c.values().to_vec())
}

/// Prints parameters, standard errors and diagnostics.
fn report(title: &str, names: &[&str], values: &[f64], diag: Option<&FitDiagnostics>) {
    println!("{title}");
    println!("  {:<10} {:>14} {:>14}", "parameter", "estimate", "std. error");
    for (i, (n, v)) in names.iter().zip(values).enumerate() {
        let se = diag
            .and_then(|d| d.standard_errors.get(i).copied().flatten())
            .map_or("n/a".to_string(), |s| format!("{s:.6}"));
        println!("  {n:<10} {v:>14.6} {se:>14}");
    }
    if let Some(d) = diag {
        println!("  log-likelihood {:.4}", d.log_likelihood);
        println!(
            "  {} ({} iterations, {} evaluations, gradient norm {:.2e}, {} customers in {} distinct rows, penalizer {})",
            if d.converged { "converged" } else { "NOT converged" },
            d.iterations,
            d.evaluations,
            d.gradient_norm,
            d.customers,
            d.rows,
            d.penalizer
        );
    }
}

fn save(path: Option<&PathBuf>, json: &str) -> CliResult<()> {
    if let Some(p) = path {
        std::fs::write(p, json).map_err(|e| clientele::Error::io(p, e))?;
        eprintln!("model saved -> {}", p.display());
    }
    Ok(())
}

pub fn fit(a: &FitArgs, par: &Parallelism) -> CliResult<()> {
    let (summary, _) = a.source.load(par)?;
    let started = std::time::Instant::now();
    par.install(|| -> CliResult<()> {
        match a.model.as_str() {
            "gg" => {
                let data = SpendData::from_summary(&summary)?;
                let m = GammaGammaParams::new().penalizer(a.penalizer).validate()?.fit(&data)?;
                report(
                    &format!(
                        "Gamma-Gamma spend model ({} repeat customers; {} skipped; frequency-spend correlation {:.4})",
                        data.customers(),
                        data.skipped(),
                        data.frequency_spend_correlation()
                    ),
                    &["p", "q", "gamma"],
                    &[m.p, m.q, m.gamma],
                    m.diagnostics.as_ref(),
                );
                save(a.out.as_ref(), &m.to_json()?)
            }
            "bgbb" => {
                let data = BgBbData::from_slices(
                    &column(&summary, "frequency")?,
                    &column(&summary, "recency")?,
                    &column(&summary, "T")?,
                    None,
                )?;
                let m = BgBbParams::new().penalizer(a.penalizer).validate()?.fit(&data)?;
                report(
                    "BG/BB (discrete periods: frequency, recency and T in whole periods)",
                    &["alpha", "beta", "gamma", "delta"],
                    &[m.alpha, m.beta, m.gamma, m.delta],
                    m.diagnostics.as_ref(),
                );
                save(a.out.as_ref(), &m.to_json()?)
            }
            model => {
                let data = RfmData::from_summary(&summary)?;
                match model {
                    "mbgnbd" => {
                        let m = MbgNbdParams::new().penalizer(a.penalizer).validate()?.fit(&data)?;
                        report(
                            "MBG/NBD",
                            &["r", "alpha", "a", "b"],
                            &[m.r, m.alpha, m.a, m.b],
                            m.diagnostics.as_ref(),
                        );
                        save(a.out.as_ref(), &m.to_json()?)
                    }
                    "pnbd" => {
                        let m = ParetoNbdParams::new().penalizer(a.penalizer).validate()?.fit(&data)?;
                        report(
                            "Pareto/NBD",
                            &["r", "alpha", "s", "beta"],
                            &[m.r, m.alpha, m.s, m.beta],
                            m.diagnostics.as_ref(),
                        );
                        save(a.out.as_ref(), &m.to_json()?)
                    }
                    _ => {
                        let m = BgNbdParams::new().penalizer(a.penalizer).validate()?.fit(&data)?;
                        report(
                            "BG/NBD",
                            &["r", "alpha", "a", "b"],
                            &[m.r, m.alpha, m.a, m.b],
                            m.diagnostics.as_ref(),
                        );
                        save(a.out.as_ref(), &m.to_json()?)
                    }
                }
            }
        }
    })?;
    eprintln!("fitted in {:.3} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Arguments of `clientele predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A model saved by `clientele fit` (or `clientele clv --model-out`'s purchase model).
    #[arg(long, value_name = "MODEL.json")]
    model: PathBuf,
    /// The customer summary to score (.parquet, .csv, .json or .arrow).
    #[arg(long, value_name = "FILE")]
    summary: PathBuf,
    /// Prediction horizon in the model's time unit (periods for bgbb).
    #[arg(long, value_name = "T")]
    horizon: f64,
    /// Output file: .parquet, .csv, .json or .arrow (default: a table on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// A purchase model loaded from its JSON.
enum Loaded {
    Purchase(Box<dyn Scorer>),
    BgBb(BgBb),
    Spend(GammaGamma),
}

/// Batch scoring of the (x, t_x, T) models.
trait Scorer: Sync {
    fn p_alive(&self, x: &[f64], tx: &[f64], t: &[f64]) -> clientele::Result<Vec<f64>>;
    fn expected(&self, h: f64, x: &[f64], tx: &[f64], t: &[f64]) -> clientele::Result<Vec<f64>>;
}

impl<M: PurchaseModel> Scorer for M {
    fn p_alive(&self, x: &[f64], tx: &[f64], t: &[f64]) -> clientele::Result<Vec<f64>> {
        probability_alive_batch(self, x, tx, t)
    }
    fn expected(&self, h: f64, x: &[f64], tx: &[f64], t: &[f64]) -> clientele::Result<Vec<f64>> {
        conditional_expected_purchases_batch(self, h, x, tx, t)
    }
}

fn load_model(path: &PathBuf) -> CliResult<Loaded> {
    let text = std::fs::read_to_string(path).map_err(|e| clientele::Error::io(path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    Ok(match v.get("model").and_then(|m| m.as_str()).unwrap_or_default() {
        "bgnbd" => Loaded::Purchase(Box::new(BgNbd::from_json(&text)?)),
        "mbgnbd" => Loaded::Purchase(Box::new(MbgNbd::from_json(&text)?)),
        "pareto_nbd" => Loaded::Purchase(Box::new(ParetoNbd::from_json(&text)?)),
        "bgbb" => Loaded::BgBb(BgBb::from_json(&text)?),
        "gamma_gamma" => Loaded::Spend(GammaGamma::from_json(&text)?),
        other => return Err(format!("{}: unknown model {other:?}", path.display()).into()),
    })
}

pub fn predict(a: &PredictArgs, par: &Parallelism) -> CliResult<()> {
    let model = load_model(&a.model)?;
    let summary = clientele::io::read_table(&a.summary)?;
    let keys = summary
        .column_by_name(clientele::schema::CUSTOMER_ID)
        .cloned()
        .ok_or("the summary has no customer_id column")?;
    let x = column(&summary, "frequency")?;
    let mut fields = vec![Field::new("customer_id", keys.data_type().clone(), false)];
    let mut cols: Vec<ArrayRef> = vec![keys];
    let mut push = |name: &str, v: Vec<f64>| {
        fields.push(Field::new(name, DataType::Float64, false));
        cols.push(Arc::new(Float64Array::from(v)));
    };
    par.install(|| -> CliResult<()> {
        match &model {
            Loaded::Spend(gg) => {
                let m = column(&summary, "monetary_value")?;
                push("frequency", x.clone());
                push("monetary_value", m.clone());
                // One-time buyers get the population mean spend (as lifetimes does).
                let e = x
                    .iter()
                    .zip(&m)
                    .map(|(x, m)| gg.conditional_expected_average_spend(*x, *m))
                    .collect::<clientele::Result<Vec<_>>>()?;
                push("expected_spend", e);
            }
            Loaded::Purchase(p) => {
                let (tx, t) = (column(&summary, "recency")?, column(&summary, "T")?);
                let alive = p.p_alive(&x, &tx, &t)?;
                let e = p.expected(a.horizon, &x, &tx, &t)?;
                push("frequency", x.clone());
                push("recency", tx);
                push("T", t);
                push("p_alive", alive);
                push("expected_purchases", e);
            }
            Loaded::BgBb(m) => {
                let (tx, n) = (column(&summary, "recency")?, column(&summary, "T")?);
                // The same checks as fitting: whole periods, 0 <= x <= t_x <= n <= 10^6.
                BgBbData::from_slices(&x, &tx, &n, None)?;
                let alive = x
                    .iter()
                    .zip(&tx)
                    .zip(&n)
                    .map(|((x, tx), n)| m.p_alive(*x, *tx, *n))
                    .collect();
                let e = x
                    .iter()
                    .zip(&tx)
                    .zip(&n)
                    .map(|((x, tx), n)| m.conditional_expected_purchases(a.horizon, *x, *tx, *n))
                    .collect();
                push("frequency", x.clone());
                push("recency", tx);
                push("T", n);
                push("p_alive", alive);
                push("expected_purchases", e);
            }
        }
        Ok(())
    })?;
    let table = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?;
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
#[command(group(clap::ArgGroup::new("discount").required(true).args(["discount_monthly", "discount_continuous"])))]
pub struct ClvArgs {
    #[command(flatten)]
    source: SummarySource,
    /// Purchase model: bgnbd, mbgnbd or pnbd (Pareto/NBD; needed for --discount-continuous).
    #[arg(long, value_name = "MODEL", default_value = "bgnbd", value_parser = ["bgnbd", "mbgnbd", "pnbd"])]
    model: String,
    /// Horizon in months (discrete convention) and of `expected_purchases`.
    #[arg(long, value_name = "MONTHS", default_value_t = 12)]
    horizon_months: u32,
    /// Discrete monthly discounting (lifetimes / pymc-marketing): rate per month, e.g. 0.01.
    #[arg(long, value_name = "RATE")]
    discount_monthly: Option<f64>,
    /// Continuous discounting per model time unit over an infinite horizon (CLVTools / BTYD
    /// DERT; Pareto/NBD only), e.g. 0.0027 per week for 15 % a year.
    #[arg(long, value_name = "RATE")]
    discount_continuous: Option<f64>,
    /// Risk tier cut points on churn risk = 1 − P(alive), ascending in (0, 1).
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
    /// L2 penalty coefficient of both fits.
    #[arg(long, value_name = "C", default_value_t = 0.0)]
    penalizer: f64,
    /// Output file: .parquet, .csv, .json or .arrow (default: the top customers on stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also save the fitted purchase and spend models (one JSON document).
    #[arg(long, value_name = "MODELS.json")]
    model_out: Option<PathBuf>,
}

/// Per customer: P(alive), expected purchases, expected spend, gross CLV, net CLV.
type Valued = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Option<Vec<f64>>);

/// The fitted models of a CLV run and the per-customer table.
pub struct ClvRun {
    /// `customer_id, frequency, recency, T, monetary_value, p_alive, expected_purchases,
    /// expected_spend, clv` (+ `net_clv`), `churn_risk`, `risk_tier`.
    pub table: RecordBatch,
    /// The purchase model's name, parameter names and values, and diagnostics.
    pub purchase: (&'static str, Vec<(&'static str, f64)>, Option<FitDiagnostics>),
    /// The spend model.
    pub spend: GammaGamma,
    /// `{"purchase": ..., "spend": ...}`.
    pub models_json: String,
    /// The discounting convention applied.
    pub discounting: Discounting,
}

/// Fits the purchase model and Gamma-Gamma on `summary` and computes CLV per customer.
#[allow(clippy::too_many_arguments)]
pub fn clv_table(
    summary: &RecordBatch,
    model: &str,
    per_month: f64,
    months: u32,
    discounting: Discounting,
    cost_rate: Option<f64>,
    penalizer: f64,
    tiers: &RiskTiers,
    par: &Parallelism,
) -> CliResult<ClvRun> {
    let keys = summary
        .column_by_name(clientele::schema::CUSTOMER_ID)
        .cloned()
        .ok_or("the summary has no customer_id column")?;
    let (x, tx, t, m) = (
        column(summary, "frequency")?,
        column(summary, "recency")?,
        column(summary, "T")?,
        column(summary, "monetary_value")?,
    );
    let data = RfmData::from_slices(&x, &tx, &t, None)?;
    let spend_data = SpendData::from_slices(&x, &m, None)?;
    par.install(|| -> CliResult<ClvRun> {
        let spend = GammaGammaParams::new()
            .penalizer(penalizer)
            .validate()?
            .fit(&spend_data)?;
        let horizon = f64::from(months) * per_month;
        fn run<P: PurchaseModel>(
            p: &P,
            spend: &GammaGamma,
            cols: (&[f64], &[f64], &[f64], &[f64]),
            horizon: f64,
            discounting: &Discounting,
            cost_rate: Option<f64>,
        ) -> CliResult<Valued> {
            let (x, tx, t, m) = cols;
            let s = score_customers(p, spend, x, tx, t, m, horizon, discounting)?;
            let net = cost_rate.map(|r| s.clv.iter().map(|g| g * (1.0 - r)).collect());
            Ok((s.p_alive, s.expected_purchases, s.expected_spend, s.clv, net))
        }
        let cols = (&x[..], &tx[..], &t[..], &m[..]);
        let (purchase, json, (alive, expected, spend_e, gross, net)) = match model {
            "pnbd" => {
                let p = ParetoNbdParams::new().penalizer(penalizer).validate()?.fit(&data)?;
                let r = run(&p, &spend, cols, horizon, &discounting, cost_rate)?;
                let params = vec![("r", p.r), ("alpha", p.alpha), ("s", p.s), ("beta", p.beta)];
                (("Pareto/NBD", params, p.diagnostics.clone()), p.to_json()?, r)
            }
            "mbgnbd" => {
                let p = MbgNbdParams::new().penalizer(penalizer).validate()?.fit(&data)?;
                let r = run(&p, &spend, cols, horizon, &discounting, cost_rate)?;
                let params = vec![("r", p.r), ("alpha", p.alpha), ("a", p.a), ("b", p.b)];
                (("MBG/NBD", params, p.diagnostics.clone()), p.to_json()?, r)
            }
            _ => {
                let p = BgNbdParams::new().penalizer(penalizer).validate()?.fit(&data)?;
                let r = run(&p, &spend, cols, horizon, &discounting, cost_rate)?;
                let params = vec![("r", p.r), ("alpha", p.alpha), ("a", p.a), ("b", p.b)];
                (("BG/NBD", params, p.diagnostics.clone()), p.to_json()?, r)
            }
        };
        let models_json = format!(
            "{{\n\"discounting\": {},\n\"purchase\": {json},\n\"spend\": {}\n}}\n",
            serde_json::to_string(&discounting)?,
            spend.to_json()?
        );
        let mut fields = vec![Field::new("customer_id", keys.data_type().clone(), false)];
        let mut columns: Vec<ArrayRef> = vec![keys.clone()];
        let mut cols_out = vec![
            ("frequency", x.clone()),
            ("recency", tx.clone()),
            ("T", t.clone()),
            ("monetary_value", m.clone()),
            ("p_alive", alive),
            ("expected_purchases", expected),
            ("expected_spend", spend_e),
            ("clv", gross),
        ];
        let risk = churn_risk(&cols_out[4].1)?;
        let (labels, codes) = risk_tier_codes(&risk, tiers)?;
        if let Some(n) = net {
            cols_out.push(("net_clv", n));
        }
        cols_out.push(("churn_risk", risk));
        for (name, v) in cols_out {
            fields.push(Field::new(name, DataType::Float64, false));
            columns.push(Arc::new(Float64Array::from(v)));
        }
        fields.push(Field::new("risk_tier", DataType::Utf8, false));
        columns.push(Arc::new(arrow_array::StringArray::from_iter_values(
            codes.iter().map(|&c| labels.get(c as usize).map_or("", String::as_str)),
        )));
        Ok(ClvRun {
            table: RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?,
            purchase,
            spend,
            models_json,
            discounting,
        })
    })
}

/// The discounting convention of the flags.
fn discounting(a: &ClvArgs, per_month: f64) -> CliResult<Discounting> {
    Ok(match (a.discount_monthly, a.discount_continuous) {
        (Some(d), _) => Discounting::DiscreteMonthly {
            months: a.horizon_months,
            monthly_rate: d,
            time_units_per_month: per_month,
        },
        (None, Some(r)) => Discounting::Continuous { rate_per_time_unit: r },
        (None, None) => return Err("give --discount-monthly RATE or --discount-continuous RATE".into()),
    })
}

pub fn clv(a: &ClvArgs, par: &Parallelism) -> CliResult<()> {
    if let Some(r) = a.cost_rate
        && !(0.0..=1.0).contains(&r)
    {
        return Err(format!("--cost-rate must be a share in [0, 1], got {r}").into());
    }
    let started = std::time::Instant::now();
    let (summary, per_month) = a.source.load(par)?;
    let loaded = started.elapsed();
    let run = clv_table(
        &summary,
        &a.model,
        per_month,
        a.horizon_months,
        discounting(a, per_month)?,
        a.cost_rate,
        a.penalizer,
        &match a.risk_quantiles {
            Some(n) => RiskTiers::Quantiles { n },
            None => RiskTiers::Cuts {
                cuts: a.risk_cuts.clone(),
                labels: a.risk_labels.clone(),
            },
        },
        par,
    )?;
    let (name, params, diag) = &run.purchase;
    let names: Vec<&str> = params.iter().map(|p| p.0).collect();
    let values: Vec<f64> = params.iter().map(|p| p.1).collect();
    report(name, &names, &values, diag.as_ref());
    report(
        "Gamma-Gamma",
        &["p", "q", "gamma"],
        &[run.spend.p, run.spend.q, run.spend.gamma],
        run.spend.diagnostics.as_ref(),
    );
    if let Some(p) = &a.model_out {
        std::fs::write(p, &run.models_json).map_err(|e| clientele::Error::io(p, e))?;
        eprintln!("models saved -> {}", p.display());
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
            println!("\ntop customers by CLV ({:?}):", run.discounting);
            print!("{}", clientele::io::format_table(&top_by_clv(&run.table, 10)?, 10));
        }
    }
    Ok(())
}

/// The `n` rows with the highest `clv`, highest first (ties: input order).
pub fn top_by_clv(table: &RecordBatch, n: usize) -> CliResult<RecordBatch> {
    let clv = column(table, "clv")?;
    let mut idx: Vec<u32> = (0..clv.len() as u32).collect();
    idx.sort_by(|&a, &b| clv[b as usize].total_cmp(&clv[a as usize]).then(a.cmp(&b)));
    idx.truncate(n);
    let take = arrow_array::UInt32Array::from(idx);
    let cols = table
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &take, None))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(table.schema(), cols)?)
}
