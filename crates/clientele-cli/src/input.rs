//! Flags shared by every command that reads events, and loading a store from them.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use clientele::exec::Parallelism;
use clientele::ingest::{
    CsvOptions, Delimiter, IngestOptions, IngestReport, Ingestor, KeyType, Progress, ProgressUnit,
};
use clientele::pipeline::{EventSource, FileSource};
use clientele::schema::Role;
use clientele::store::EventStore;
use clientele::time::TimeFormat;
use indicatif::{ProgressBar, ProgressStyle};

/// Column mapping and parsing flags.
#[derive(Debug, Clone, Args)]
pub struct MappingArgs {
    /// Input column holding the customer id.
    #[arg(long, value_name = "COL", default_value = "customer_id")]
    pub customer_col: String,
    /// Input column holding the event time.
    #[arg(long, value_name = "COL", default_value = "event_time")]
    pub time_col: String,
    /// Input column holding the amount.
    #[arg(long, value_name = "COL", default_value = "amount")]
    pub amount_col: String,
    /// Input column holding the event type (absent: every row is a purchase).
    #[arg(long, value_name = "COL", default_value = "event_type")]
    pub type_col: String,
    /// Input column holding the channel.
    #[arg(long, value_name = "COL", default_value = "channel")]
    pub channel_col: String,
    /// Input column holding the product.
    #[arg(long, value_name = "COL", default_value = "product")]
    pub product_col: String,
    /// Input column holding the campaign id.
    #[arg(long, value_name = "COL", default_value = "campaign_id")]
    pub campaign_col: String,
    /// Input column holding the satisfaction score.
    #[arg(long, value_name = "COL", default_value = "score")]
    pub score_col: String,
    /// Input column holding the cost.
    #[arg(long, value_name = "COL", default_value = "cost")]
    pub cost_col: String,
    /// The event type that counts as a purchase.
    #[arg(long, value_name = "TYPE", default_value = "purchase")]
    pub purchase_type: String,
    /// chrono format of string times, e.g. %Y%m%d (default: ISO 8601 / RFC 3339).
    #[arg(long, value_name = "FORMAT")]
    pub time_format: Option<String>,
    /// Field delimiter of text input: one character, `tab`, or `whitespace` (runs of blanks).
    #[arg(long, value_name = "DELIM", default_value = ",")]
    pub delimiter: String,
    /// Text input has no header line; columns are named 1, 2, ... unless --columns names them.
    #[arg(long)]
    pub no_header: bool,
    /// Names for the columns of a headerless text file, comma separated.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Accept negative purchase amounts (refunds) instead of rejecting them.
    #[arg(long)]
    pub allow_refunds: bool,
    /// How customer keys are typed: auto (integers if every key is one; a warning names the
    /// keys that are not), int (other keys are rejected rows), or string. Under auto and int,
    /// null markers (NULL, NA, NaN, None, ...) are missing keys: rejected rows.
    #[arg(long, value_name = "TYPE", default_value = "auto", value_parser = ["auto", "int", "string"])]
    pub key_type: String,
}

impl MappingArgs {
    pub fn ingest_options(&self, strict: bool) -> IngestOptions {
        IngestOptions::default()
            .column(Role::CustomerId, &self.customer_col)
            .column(Role::EventTime, &self.time_col)
            .column(Role::Amount, &self.amount_col)
            .column(Role::EventType, &self.type_col)
            .column(Role::Channel, &self.channel_col)
            .column(Role::Product, &self.product_col)
            .column(Role::CampaignId, &self.campaign_col)
            .column(Role::Score, &self.score_col)
            .column(Role::Cost, &self.cost_col)
            .purchase_type(&self.purchase_type)
            .time_format(self.time_format.clone().map_or(TimeFormat::Auto, TimeFormat::Format))
            .allow_refunds(self.allow_refunds)
            .strict(strict)
            .key_type(match self.key_type.as_str() {
                "int" => KeyType::Int,
                "string" => KeyType::String,
                _ => KeyType::Auto,
            })
    }

    pub fn csv_options(&self) -> clientele::Result<CsvOptions> {
        Ok(CsvOptions {
            delimiter: Delimiter::parse(&self.delimiter)?,
            has_header: !self.no_header,
            column_names: self.columns.clone(),
            ..Default::default()
        })
    }
}

/// `--input FILE | --store DIR` plus the mapping flags.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Event file(s): .csv/.tsv/.txt, .parquet, .arrow (IPC file) or .arrows (IPC stream).
    #[arg(long, value_name = "FILE", required_unless_present = "store", conflicts_with = "store", num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// A store saved by `clientele ingest`.
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    #[command(flatten)]
    pub mapping: MappingArgs,
}

/// A progress bar for long inputs (drawn only on a terminal).
pub fn progress_bar() -> (ProgressBar, clientele::ingest::ProgressFn) {
    let bar = ProgressBar::hidden();
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    let b = bar.clone();
    let f = Arc::new(move |p: &Progress| {
        if let Some(total) = p.total {
            b.set_length(total);
        }
        let style = match p.unit {
            ProgressUnit::Bytes => "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            ProgressUnit::Rows => "{spinner} {msg} [{bar:30}] {pos}/{len} rows ({per_sec}, {eta})",
        };
        if let Ok(s) = ProgressStyle::with_template(style) {
            b.set_style(s.progress_chars("=> "));
        }
        b.set_message(p.source.clone());
        b.set_position(p.done);
    });
    (bar, f)
}

/// Reads `inputs` into a store, with a progress bar.
pub fn ingest_files(
    inputs: &[PathBuf],
    mapping: &MappingArgs,
    strict: bool,
    par: &Parallelism,
    base: Option<&EventStore>,
    roles: Option<&[Role]>,
) -> clientele::Result<(EventStore, IngestReport, Phases)> {
    let mut opts = mapping.ingest_options(strict);
    if let Some(r) = roles {
        opts = opts.only(r);
    }
    let csv = mapping.csv_options()?;
    let (bar, f) = progress_bar();
    let ing = match base {
        Some(store) => Ingestor::appending(store, &opts)?,
        None => Ingestor::new(&opts)?,
    };
    let mut ing = ing.with_parallelism(par.clone()).with_progress(f);
    let started = std::time::Instant::now();
    for path in inputs {
        ing.read_path(path, &csv)?;
    }
    bar.finish_and_clear();
    let read = started.elapsed();
    let (store, report) = ing.finish()?;
    let phases = vec![
        ("read and validate", read),
        ("order into store", started.elapsed() - read),
    ];
    Ok((store, report, phases))
}

/// Phase timings, for commands that report them.
pub type Phases = Vec<(&'static str, std::time::Duration)>;

/// Phases as `name 1.23 s, ...`.
pub fn format_phases(phases: &Phases) -> String {
    phases
        .iter()
        .map(|(n, d)| format!("{n} {:.2} s", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Opens `--store` or ingests `--input` (bad rows are reported on stderr and skipped),
/// loading only `roles` (a saved store reads only those columns' files).
pub fn load(src: &SourceArgs, par: &Parallelism, roles: &[Role]) -> clientele::Result<EventStore> {
    if let Some(dir) = &src.store {
        return EventStore::open_columns(dir, Some(roles), par);
    }
    let (store, report, _) = ingest_files(&src.input, &src.mapping, false, par, None, Some(roles))?;
    warn_rejections(Some(&report));
    Ok(store)
}

/// Runs `job` on the events the flags name: the store opened, or the files (with a progress
/// bar on a terminal while they are read).
pub fn with_source<T>(
    src: &SourceArgs,
    job: impl FnOnce(&EventSource<'_>) -> clientele::Result<T>,
) -> clientele::Result<T> {
    if let Some(dir) = &src.store {
        // The job opens the saved store itself, reading only the columns it needs.
        return job(&EventSource::Saved(dir.clone()));
    }
    let (bar, progress) = progress_bar();
    let files = FileSource::new(src.input.clone())
        .ingest(src.mapping.ingest_options(false))
        .csv(src.mapping.csv_options()?)
        .progress(progress);
    let out = job(&EventSource::Files(files));
    bar.finish_and_clear();
    out
}

/// Rejected rows of an ingest, and keys made strings by a few text keys, on stderr.
pub fn warn_rejections(report: Option<&IngestReport>) {
    if let Some(w) = report.and_then(|r| r.key_typing.as_ref()).and_then(|t| t.warning()) {
        eprintln!("warning: {w}");
    }
    if let Some(r) = report
        && r.rows_rejected > 0
    {
        eprintln!(
            "warning: {} of {} rows rejected ({}); run `clientele ingest --report FILE.json` for the list",
            r.rows_rejected,
            r.rows_read,
            r.rejected_by_reason
                .iter()
                .map(|(k, v)| format!("{}: {v}", k.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
