//! The customer summary (frequency, recency, T, monetary value) that every lifetime model reads.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

use super::source::{EventSource, load_events};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::ingest::IngestReport;
use crate::kernels::summary::{
    SummaryConfig, summarize, summarize_batches, summarize_batches_all, summarize_parquet, summarize_parquet_all,
    summarize_rollup,
};
use crate::models::DataWindow;
use crate::schema::Role;
use crate::store::EventStore;

/// The roles a summary needs besides the key and the time.
pub const SUMMARY_ROLES: &[Role] = &[Role::EventType, Role::Amount];

/// A customer summary and the data window it was prepared with (period and time unit: a model
/// fitted on it may only score summaries prepared the same way).
#[derive(Debug, Clone)]
pub struct CustomerSummary {
    table: RecordBatch,
    window: DataWindow,
}

impl CustomerSummary {
    /// Wraps a summary table (the output of [`summarize`], or a summary file read back).
    ///
    /// # Errors
    /// [`Error::MissingColumn`] when `customer_id`, `frequency`, `recency` or `T` is absent.
    pub fn new(table: RecordBatch, window: DataWindow) -> Result<Self> {
        use crate::schema::output::{FREQUENCY, RECENCY, T};
        for name in [crate::schema::CUSTOMER_ID, FREQUENCY, RECENCY, T] {
            if table.column_by_name(name).is_none() {
                return Err(missing(&table, name));
            }
        }
        Ok(CustomerSummary { table, window })
    }

    /// Reads a summary written by `clientele summary` (.parquet, .csv, .json or .arrow).
    ///
    /// # Errors
    /// The reader's errors, and as [`CustomerSummary::new`].
    pub fn read(path: &Path, window: DataWindow) -> Result<Self> {
        Self::new(crate::io::read_table(path)?, window)
    }

    /// The summary table, one row per customer.
    pub fn table(&self) -> &RecordBatch {
        &self.table
    }

    /// The data window.
    pub fn window(&self) -> &DataWindow {
        &self.window
    }

    /// The table, consuming the summary.
    pub fn into_table(self) -> RecordBatch {
        self.table
    }

    /// The `customer_id` column (present: [`CustomerSummary::new`] checks it).
    ///
    /// # Errors
    /// [`Error::MissingColumn`] if it is absent (not for a summary built by `new`).
    pub fn keys(&self) -> Result<arrow_array::ArrayRef> {
        self.table
            .column_by_name(crate::schema::CUSTOMER_ID)
            .cloned()
            .ok_or_else(|| missing(&self.table, crate::schema::CUSTOMER_ID))
    }

    /// The number of customers.
    pub fn len(&self) -> usize {
        self.table.num_rows()
    }

    /// True for a summary without customers.
    pub fn is_empty(&self) -> bool {
        self.table.num_rows() == 0
    }

    /// The numeric column `name` as `f64` (integer columns, as a CSV reader may type them, are
    /// converted).
    ///
    /// # Errors
    /// [`Error::MissingColumn`], [`Error::ColumnType`] for a non-numeric column,
    /// [`Error::InvalidModelData`] for a null.
    pub fn column(&self, name: &'static str) -> Result<Vec<f64>> {
        let col = self
            .table
            .column_by_name(name)
            .ok_or_else(|| missing(&self.table, name))?;
        if !col.data_type().is_numeric() {
            return Err(Error::ColumnType {
                source_name: "summary".into(),
                column: name.into(),
                found: col.data_type().to_string(),
                expected: "a number",
            });
        }
        let cast = arrow_cast::cast(col, &DataType::Float64)?;
        let arr = cast.as_primitive::<Float64Type>();
        if let Some(row) = (0..arr.len()).find(|&i| arr.is_null(i)) {
            return Err(Error::InvalidModelData {
                column: name,
                row,
                value: f64::NAN,
                reason: "is null (a customer without a purchase?)",
            });
        }
        Ok(arr.values().to_vec())
    }
}

fn missing(table: &RecordBatch, name: &str) -> Error {
    crate::ingest::missing_column(
        "summary",
        name,
        table.schema().fields().iter().map(|f| f.name().as_str()),
    )
}

/// A summary and how it was computed.
#[derive(Debug, Clone)]
pub struct SummaryRun {
    /// The summary.
    pub summary: CustomerSummary,
    /// The ingest report when files were read into a store (rejected rows are in it); `None`
    /// for a store, or for a Parquet file or batches summarized straight from their columns
    /// (that path is taken only when no row would be rejected).
    pub ingest: Option<IngestReport>,
    /// True when a single Parquet file (or batches in memory) was summarized straight from its
    /// columns.
    pub streamed: bool,
    /// True when a saved store was summarized from the per-customer totals saved with it
    /// ([`summarize_rollup`]: a calibration end after its last event, no holdout, a period of
    /// a day, a week or a month), without reading its events.
    pub from_rollup: bool,
}

/// Summarizes the events of `source` per customer (see [`summarize`] for the columns).
///
/// One Parquet file is summarized straight from its purchase columns when it is in the
/// streaming path's scope ([`summarize_parquet`]), and so are record batches in memory
/// ([`summarize_batches`]); any other source is ingested (loading only
/// the key, time, type and amount) and summarized from the store. Both give the same purchase
/// columns (`customer_id`, `first_purchase`, `last_purchase`, `purchase_count`, `frequency`,
/// `recency`, `T`, `monetary_value`, `total_spend` and the holdout columns), which is all the
/// models read; the store path adds the activity columns (`first_event`, `last_event`, one
/// `count_<type>` per event type). [`customer_summary_all`] always gives those.
///
/// # Errors
/// The ingest's and the kernel's errors.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::kernels::summary::SummaryParams;
/// use clientele::pipeline::{EventSource, customer_summary};
/// use clientele::synth::{GenerateParams, generate};
/// let events = generate(&GenerateParams::default().customers(200).seed(7).validate()?)?;
/// let end = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default();
/// let cfg = SummaryParams::new(end).validate()?;
/// let run = customer_summary(&EventSource::batches("synth", events), &cfg, &Parallelism::current())?;
/// assert!(run.summary.len() > 0);
/// # Ok(()) }
/// ```
pub fn customer_summary(source: &EventSource<'_>, cfg: &SummaryConfig, par: &Parallelism) -> Result<SummaryRun> {
    let p = cfg.params();
    let window = DataWindow::new(p.period, p.time_unit).calibration_end(p.calibration_end);
    if let EventSource::Files(f) = source
        && let Some(path) = f.single_parquet()
        && let Some(table) = summarize_parquet(path, cfg, &f.ingest.clone().only(SUMMARY_ROLES), par)?
    {
        return Ok(SummaryRun {
            summary: CustomerSummary::new(table, window)?,
            ingest: None,
            streamed: true,
            from_rollup: false,
        });
    }
    if let EventSource::Batches { batches, ingest, .. } = source
        && let Some(table) = summarize_batches(batches, cfg, &ingest.clone().only(SUMMARY_ROLES), par)?
    {
        return Ok(SummaryRun {
            summary: CustomerSummary::new(table, window)?,
            ingest: None,
            streamed: true,
            from_rollup: false,
        });
    }
    customer_summary_all(source, cfg, par)
}

/// Like [`customer_summary`], with every column of [`summarize`]: besides the purchase
/// columns, `first_event`, `last_event` and one `count_<type>` per event type. These need
/// every event, not only purchases: one Parquet file in the scan's scope, or record batches in
/// memory, are read whole, row by row, without a store ([`summarize_parquet_all`],
/// [`summarize_batches_all`]); any other source is ingested and summarized from the store.
///
/// # Errors
/// The ingest's and the kernel's errors.
pub fn customer_summary_all(source: &EventSource<'_>, cfg: &SummaryConfig, par: &Parallelism) -> Result<SummaryRun> {
    let p = cfg.params();
    let window = DataWindow::new(p.period, p.time_unit).calibration_end(p.calibration_end);
    let streamed = match source {
        EventSource::Files(f) => match f.single_parquet() {
            Some(path) => summarize_parquet_all(path, cfg, &f.ingest.clone().only(SUMMARY_ROLES), par)?,
            None => None,
        },
        EventSource::Batches { batches, ingest, .. } => {
            summarize_batches_all(batches, cfg, &ingest.clone().only(SUMMARY_ROLES), par)?
        }
        _ => None,
    };
    if let Some(table) = streamed {
        return Ok(SummaryRun {
            summary: CustomerSummary::new(table, window)?,
            ingest: None,
            streamed: true,
            from_rollup: false,
        });
    }
    if let EventSource::Saved(dir) = source
        && let Some((purchases, activity)) = EventStore::open_activity(dir, par)?
        && let Some(table) = summarize_rollup(&purchases, &activity, cfg, par)?
    {
        return Ok(SummaryRun {
            summary: CustomerSummary::new(table, window)?,
            ingest: None,
            streamed: false,
            from_rollup: true,
        });
    }
    let (events, ingest) = load_events(source, Some(SUMMARY_ROLES), par)?;
    let table = summarize(&events, cfg, par)?;
    Ok(SummaryRun {
        summary: CustomerSummary::new(table, window)?,
        ingest,
        streamed: false,
        from_rollup: false,
    })
}
