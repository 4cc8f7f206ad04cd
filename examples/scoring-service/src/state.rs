//! What the service holds: the opened store (fixed for the process) and the loaded models with
//! every customer's scores (replaced whole on reload).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch};
use chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::kernels::rfm::{RfmParams, Tiers};
use clientele::kernels::summary::{SummaryConfig, SummaryParams};
use clientele::models::SavedModels;
use clientele::pipeline::{self, ClvConfig, ClvParams, CustomerSummary, EventSource};
use clientele::store::{EventStore, KeyIndex};
use clientele::views::{Customer360Config, Customer360Params};

/// How the service starts.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// A store saved by `clientele ingest`.
    pub store: PathBuf,
    /// Models saved by `clientele clv --model-out` (purchase, spend, risk, window, discounting).
    pub models: PathBuf,
    /// Last day of the calibration window the customers are scored at (default: the models').
    pub calibration_end: Option<NaiveDate>,
    /// Worker threads of the engine (0: one per core).
    pub threads: usize,
    /// Recent events on a customer card.
    pub recent: usize,
    /// The append-only log of `POST /events` (default: `<store>.events.jsonl` beside the store).
    pub event_log: Option<PathBuf>,
    /// A churn classifier saved by `clientele churn train` (adds `churn_probability` to cards).
    pub churn_model: Option<PathBuf>,
}

impl ServiceConfig {
    /// The event log's path.
    pub fn event_log_path(&self) -> PathBuf {
        self.event_log
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{}.events.jsonl", self.store.display())))
    }
}

/// A customer key as the store types it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// Integer keys.
    Int(i64),
    /// String keys.
    Str(String),
}

/// The models and what they computed, swapped whole on reload.
#[derive(Debug)]
pub struct Scored {
    /// The models.
    pub models: SavedModels,
    /// Their scoring settings (the saved discounting).
    pub clv: ClvConfig,
    /// Every customer's scores (`pipeline::score_clv`'s table).
    pub table: RecordBatch,
    /// Row of each customer in `table`.
    pub rows: HashMap<Key, usize>,
    /// Customers per risk tier of `table`.
    pub risk_tiers: std::collections::BTreeMap<String, u64>,
}

/// The opened store and its indexes (never reloaded).
#[derive(Debug)]
pub struct Data {
    /// The events.
    pub store: EventStore,
    /// Key → dense customer index.
    pub index: KeyIndex,
    /// The summary the models score (calibration window of the service).
    pub summary: CustomerSummary,
    /// Value tiers: customers and revenue per tier (Pareto 20 %).
    pub segments: RecordBatch,
    /// The customer card settings.
    pub card: Customer360Config,
    /// True when the store's keys are integers.
    pub int_keys: bool,
    /// How the summary is prepared (for customers with appended events).
    pub prep: SummaryConfig,
    /// Churn probabilities from the churn classifier (`pipeline::churn_score` at the as-of
    /// date), by customer, when a churn model was given.
    pub churn: Option<HashMap<Key, f64>>,
}

/// Everything a request needs.
#[derive(Debug)]
pub struct App {
    /// The configuration.
    pub config: ServiceConfig,
    /// The engine's threads.
    pub par: Parallelism,
    /// The store and its indexes.
    pub data: Data,
    /// The models in use; a reload replaces the `Arc`, so a request holds one model set from
    /// start to end.
    pub scored: RwLock<Arc<Scored>>,
    /// Counters for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Events appended through `POST /events` (replayed from the log at start).
    pub log: crate::events::EventLog,
    /// The last HTML report built for `GET /report`.
    pub report: crate::report::ReportCache,
}

fn keys_of(table: &RecordBatch) -> Result<HashMap<Key, usize>, clientele::Error> {
    let col = table
        .column_by_name(clientele::schema::CUSTOMER_ID)
        .ok_or_else(|| clientele::Error::param("scores", "no customer_id column"))?;
    let mut rows = HashMap::with_capacity(col.len());
    if let Some(ints) = col.as_primitive_opt::<Int64Type>() {
        for (i, k) in ints.iter().enumerate() {
            if let Some(k) = k {
                rows.insert(Key::Int(k), i);
            }
        }
    } else if let Some(strs) = col.as_string_opt::<i32>() {
        for (i, k) in strs.iter().enumerate() {
            if let Some(k) = k {
                rows.insert(Key::Str(k.to_string()), i);
            }
        }
    }
    Ok(rows)
}

impl App {
    /// Opens the store, loads the models and scores every customer.
    ///
    /// # Errors
    /// The store's, the models' and the scoring's errors.
    pub fn load(config: ServiceConfig) -> Result<App, clientele::Error> {
        let par = if config.threads == 0 {
            Parallelism::current()
        } else {
            Parallelism::threads(config.threads)?
        };
        let store = EventStore::open(&config.store, &par)?;
        let index = store.customer_keys().hash_index();
        let int_keys = store.customer_keys().data_type() == arrow_schema::DataType::Int64;
        let models = SavedModels::read(&config.models)?;
        let window = models.window.ok_or_else(|| {
            clientele::Error::param(
                "models",
                "the model file has no data window: refit with `clientele clv --model-out`",
            )
        })?;
        let end = config.calibration_end.or(window.calibration_end).ok_or_else(|| {
            clientele::Error::param("calibration_end", "give --calibration-end (the models do not say)")
        })?;
        let prep = SummaryParams::new(end)
            .period(window.period)
            .time_unit(window.time_unit)
            .validate()?;
        let source = EventSource::Store(&store);
        let summary = pipeline::customer_summary(&source, &prep, &par)?.summary;
        let as_of = end.succ_opt().unwrap_or(end);
        let segments = pipeline::value_segments(
            &source,
            &RfmParams::new(as_of).validate()?,
            Tiers::Pareto { top_share: 0.2 },
            &par,
        )?
        .summary;
        let card = Customer360Params::new().as_of(as_of).recent(config.recent).validate()?;
        let scored = score(&summary, models, &par)?;
        let log = crate::events::EventLog::open(&config.event_log_path(), int_keys)?;
        let churn = match &config.churn_model {
            Some(path) => Some(churn_probabilities(&store, path, as_of, &par)?),
            None => None,
        };
        Ok(App {
            config,
            par,
            data: Data {
                store,
                index,
                summary,
                segments,
                card,
                int_keys,
                prep,
                churn,
            },
            scored: RwLock::new(Arc::new(scored)),
            metrics: crate::metrics::Metrics::default(),
            log,
            report: crate::report::ReportCache::default(),
        })
    }

    /// The models in use.
    pub fn scored(&self) -> Arc<Scored> {
        match self.scored.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Reads the model file again and rescores every customer; the new set replaces the old
    /// one only when all of it is ready (a failed reload keeps the old models).
    ///
    /// # Errors
    /// The model file's and the scoring's errors.
    pub fn reload(&self) -> Result<Arc<Scored>, clientele::Error> {
        let models = SavedModels::read(&self.config.models)?;
        let fresh = Arc::new(score(&self.data.summary, models, &self.par)?);
        match self.scored.write() {
            Ok(mut g) => *g = Arc::clone(&fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::clone(&fresh),
        }
        Ok(fresh)
    }
}

/// Every customer's churn probability under the classifier saved at `path`, scored as of
/// `as_of` with the features it was trained on.
fn churn_probabilities(
    store: &EventStore,
    path: &std::path::Path,
    as_of: NaiveDate,
    par: &Parallelism,
) -> Result<HashMap<Key, f64>, clientele::Error> {
    use clientele::churn::{BtydFeatures, ChurnModel};
    let json = std::fs::read_to_string(path).map_err(|e| clientele::Error::io(path, e))?;
    let model = ChurnModel::from_json(&json)?;
    let weeks = match model.btyd {
        Some(BtydFeatures::Used { weeks }) => Some(weeks),
        _ => None,
    };
    let table = pipeline::churn_score(store, &model, as_of, weeks, par)?;
    let rows = keys_of(&table)?;
    let p = table
        .column_by_name(clientele::schema::output::churn::CHURN_PROBABILITY)
        .and_then(|c| c.as_primitive_opt::<arrow_array::types::Float64Type>().cloned())
        .ok_or_else(|| clientele::Error::param("churn_model", "the churn scores have no churn_probability"))?;
    Ok(rows
        .into_iter()
        .filter_map(|(k, i)| p.is_valid(i).then(|| (k, p.value(i))))
        .collect())
}

/// Scores `summary` with `models` (their saved discounting) and indexes the rows.
pub fn score(summary: &CustomerSummary, models: SavedModels, par: &Parallelism) -> Result<Scored, clientele::Error> {
    let clv = ClvParams::default().validate()?;
    let table = pipeline::score_clv(summary, &models, &clv, par)?.table;
    let rows = keys_of(&table)?;
    let mut risk_tiers = std::collections::BTreeMap::new();
    if let Some(col) = table.column_by_name(clientele::schema::output::RISK_TIER) {
        let text = arrow_cast::cast(col, &arrow_schema::DataType::Utf8)?;
        for t in text.as_string::<i32>().iter().flatten() {
            *risk_tiers.entry(t.to_string()).or_default() += 1;
        }
    }
    Ok(Scored {
        models,
        clv,
        table,
        rows,
        risk_tiers,
    })
}
