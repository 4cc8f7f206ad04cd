//! Appending events: validated as `clientele ingest` validates them, made durable in an
//! append-only log (JSON lines, fsync before the answer), replayed at start, and folded into
//! the cards and scores of the customers they concern.
//!
//! The store on disk is never rewritten: a customer with appended events is answered from a
//! small store built on the fly from their stored events plus the appended ones, summarized
//! and scored with the loaded models exactly as the whole base was.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, IngestReport, Ingestor, KeyType};
use clientele::schema;
use clientele::store::EventStore;
use serde_json::Value;

use crate::state::Key;

/// The fields of an appended event (the canonical column names).
const FIELDS: [&str; 9] = [
    schema::CUSTOMER_ID,
    schema::EVENT_TIME,
    schema::EVENT_TYPE,
    schema::AMOUNT,
    schema::CHANNEL,
    schema::PRODUCT,
    schema::CAMPAIGN_ID,
    schema::SCORE,
    schema::COST,
];
const NUMBERS: [&str; 3] = [schema::AMOUNT, schema::SCORE, schema::COST];

/// The log and the appended events by customer.
#[derive(Debug)]
pub struct EventLog {
    path: PathBuf,
    file: Mutex<File>,
    by_customer: Mutex<HashMap<Key, Vec<RecordBatch>>>,
    int_keys: bool,
}

/// What an append did.
#[derive(Debug)]
pub struct Appended {
    /// The validation report (rows read, accepted, rejected with row, column and reason).
    pub report: IngestReport,
    /// The customers whose events were accepted.
    pub customers: Vec<Key>,
}

/// JSON event objects as a record batch of the canonical columns (times as text, parsed by the
/// ingest like any CSV time; numbers as numbers; anything else rejected by the ingest).
///
/// # Errors
/// A message for a body that is not a list of objects.
pub fn batch_of(rows: &[Value], int_keys: bool) -> Result<RecordBatch, String> {
    let mut cols: Vec<(&str, ArrayRef)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if !r.is_object() {
            return Err(format!("events[{i}]: expected an object"));
        }
    }
    for name in FIELDS {
        let values = rows.iter().map(|r| r.get(name).filter(|v| !v.is_null()));
        let col: ArrayRef = if NUMBERS.contains(&name) {
            let mut out = Vec::with_capacity(rows.len());
            for (i, v) in values.enumerate() {
                out.push(match v {
                    None => None,
                    Some(v) => Some(
                        v.as_f64()
                            .ok_or_else(|| format!("events[{i}].{name}: expected a number"))?,
                    ),
                });
            }
            Arc::new(Float64Array::from(out))
        } else if name == "customer_id" && int_keys {
            // integer keys: a key that is not an integer is left null and rejected by the ingest
            Arc::new(Int64Array::from(
                values
                    .map(|v| v.and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))))
                    .collect::<Vec<_>>(),
            ))
        } else {
            Arc::new(StringArray::from(
                values
                    .map(|v| v.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                    .collect::<Vec<_>>(),
            ))
        };
        cols.push((name, col));
    }
    RecordBatch::try_from_iter(cols).map_err(|e| e.to_string())
}

fn key_type(int_keys: bool) -> KeyType {
    if int_keys { KeyType::Int } else { KeyType::String }
}

/// Validates `batch` with the ingest and returns the accepted events as canonical batches by
/// customer, with the report.
fn validate(
    batch: RecordBatch,
    source: &str,
    int_keys: bool,
) -> Result<(HashMap<Key, RecordBatch>, IngestReport), clientele::Error> {
    let mut ing = Ingestor::new(&IngestOptions::default().key_type(key_type(int_keys)))?
        .with_parallelism(Parallelism::threads(1)?);
    ing.read_batches(source, [Ok(batch)])?;
    let (mini, report) = ing.finish()?;
    let mut out = HashMap::with_capacity(mini.num_customers());
    for c in 0..mini.num_customers() {
        let events = mini.customer_events(c)?;
        let keys = events.column(0);
        let key = if let Some(k) = keys.as_primitive_opt::<Int64Type>() {
            Key::Int(k.value(0))
        } else {
            let s = arrow_cast::cast(keys, &arrow_schema::DataType::Utf8)?;
            Key::Str(s.as_string::<i32>().value(0).to_string())
        };
        out.insert(key, events);
    }
    Ok((out, report))
}

impl EventLog {
    /// Opens (creating) the log at `path` and replays it.
    ///
    /// # Errors
    /// I/O errors, and a log line that is not an event object (the log is ours: a damaged
    /// line stops the start rather than drop events).
    pub fn open(path: &Path, int_keys: bool) -> Result<EventLog, clientele::Error> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| clientele::Error::io(path, e))?;
        let log = EventLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            by_customer: Mutex::new(HashMap::new()),
            int_keys,
        };
        let reader = BufReader::new(File::open(path).map_err(|e| clientele::Error::io(path, e))?);
        let mut rows = Vec::new();
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| clientele::Error::io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&line).map_err(|e| clientele::Error::Format {
                source_name: path.display().to_string(),
                format: "event log (JSON lines)",
                message: format!("line {}: {e}", n + 1),
            })?;
            rows.push(v);
        }
        if !rows.is_empty() {
            let batch = batch_of(&rows, int_keys).map_err(|m| clientele::Error::Format {
                source_name: path.display().to_string(),
                format: "event log (JSON lines)",
                message: m,
            })?;
            let (accepted, _) = validate(batch, &path.display().to_string(), int_keys)?;
            log.add(accepted);
        }
        Ok(log)
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn add(&self, accepted: HashMap<Key, RecordBatch>) {
        if let Ok(mut m) = self.by_customer.lock() {
            for (k, b) in accepted {
                m.entry(k).or_default().push(b);
            }
        }
    }

    /// Validates `rows`, writes the accepted events to the log and syncs it to disk, then makes
    /// them visible. Nothing is visible (or answered) before it is durable.
    ///
    /// # Errors
    /// A message for a malformed body; the ingest's and the file's errors.
    pub fn append(&self, rows: &[Value]) -> Result<Result<Appended, String>, clientele::Error> {
        let batch = match batch_of(rows, self.int_keys) {
            Ok(b) => b,
            Err(m) => return Ok(Err(m)),
        };
        let (accepted, report) = validate(batch, "POST /events", self.int_keys)?;
        let mut lines = Vec::new();
        for b in accepted.values() {
            for row in clientele::io::json_rows(b)? {
                serde_json::to_writer(&mut lines, &row)?;
                lines.push(b'\n');
            }
        }
        if !lines.is_empty() {
            let file = self
                .file
                .lock()
                .map_err(|_| clientele::Error::param("event_log", "the log writer panicked earlier"))?;
            let io = |e| clientele::Error::io(&self.path, e);
            (&*file).write_all(&lines).map_err(io)?;
            file.sync_data().map_err(io)?;
        }
        let customers = accepted.keys().cloned().collect();
        self.add(accepted);
        Ok(Ok(Appended { report, customers }))
    }

    /// The appended events of `key` (empty when none).
    pub fn events_of(&self, key: &Key) -> Vec<RecordBatch> {
        self.by_customer
            .lock()
            .map(|m| m.get(key).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Events appended since start (or replayed).
    pub fn len(&self) -> usize {
        self.by_customer
            .lock()
            .map(|m| m.values().flatten().map(RecordBatch::num_rows).sum())
            .unwrap_or(0)
    }

    /// True when nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A small store of one customer's stored and appended events.
///
/// # Errors
/// The ingest's errors.
pub fn customer_store(
    stored: Option<RecordBatch>,
    appended: Vec<RecordBatch>,
    int_keys: bool,
) -> Result<EventStore, clientele::Error> {
    let mut ing = Ingestor::new(&IngestOptions::default().key_type(key_type(int_keys)))?
        .with_parallelism(Parallelism::threads(1)?);
    if let Some(s) = stored {
        ing.read_batches("store", [Ok(s)])?;
    }
    ing.read_batches("appended", appended.into_iter().map(Ok))?;
    Ok(ing.finish()?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_become_canonical_batches() {
        let rows: Vec<Value> = serde_json::from_str(
            r#"[{"customer_id": 7, "event_time": "2025-01-02T10:00:00Z", "event_type": "purchase", "amount": 12.5},
                {"customer_id": "8", "event_time": "2025-01-03", "event_type": "web_visit"}]"#,
        )
        .unwrap_or_default();
        let b =
            batch_of(&rows, true).unwrap_or_else(|_| RecordBatch::new_empty(Arc::new(arrow_schema::Schema::empty())));
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.num_columns(), FIELDS.len());
        assert!(batch_of(&[Value::from(3)], true).is_err());
        let bad: Vec<Value> = serde_json::from_str(r#"[{"customer_id": 7, "amount": "x"}]"#).unwrap_or_default();
        assert!(batch_of(&bad, true).is_err());
    }
}
