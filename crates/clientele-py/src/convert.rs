//! Arrow in and out, dates, thread pools and ingest settings.
//!
//! Input tables arrive through the Arrow PyCapsule interface (`__arrow_c_stream__` or
//! `__arrow_c_array__`): pyarrow tables and batches, polars data frames, DuckDB results and any
//! other producer. The batches are imported without copying their buffers; output tables leave
//! the same way, as `pyarrow.Table`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema};
use chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::IngestOptions;
use clientele::pipeline::{EventSource, FileSource};
use clientele::schema::Role;
use pyo3::prelude::*;
use pyo3_arrow::PyTable;
use pyo3_arrow::input::AnyRecordBatch;

use crate::errors::{IntoPy, invalid};

/// The batches of an Arrow object (one stream read to its end), without copying buffers.
pub fn batches_in(data: AnyRecordBatch) -> PyResult<(Arc<Schema>, Vec<RecordBatch>)> {
    let reader = data.into_reader()?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, ArrowError>>()
        .map_err(|e| crate::errors::to_py(e.into()))?;
    Ok((schema, batches))
}

/// One batch holding every row of an Arrow object (the batches concatenated when there are
/// several).
pub fn batch_in(data: AnyRecordBatch) -> PyResult<RecordBatch> {
    let (schema, batches) = batches_in(data)?;
    match batches.len() {
        1 => Ok(batches
            .into_iter()
            .next()
            .unwrap_or_else(|| RecordBatch::new_empty(schema))),
        _ => arrow_select::concat::concat_batches(&schema, &batches).map_err(|e| crate::errors::to_py(e.into())),
    }
}

/// A batch as a `pyarrow.Table`, imported by pyarrow through the C stream interface without a
/// copy. (`pyarrow.RecordBatchReader.from_stream` rather than `pyarrow.table`, which imports
/// pandas on first use to test whether its argument is a data frame: 0.16 s on the first call
/// of a session.)
pub fn table_out(py: Python<'_>, batch: RecordBatch) -> PyResult<Py<PyAny>> {
    let schema = batch.schema();
    let table = PyTable::try_new(vec![batch], schema)?.into_pyobject(py)?;
    let reader = py
        .import(pyo3::intern!(py, "pyarrow"))?
        .getattr(pyo3::intern!(py, "RecordBatchReader"))?
        .call_method1(pyo3::intern!(py, "from_stream"), (table,))?;
    Ok(reader.call_method0(pyo3::intern!(py, "read_all"))?.unbind())
}

/// An ISO date (`YYYY-MM-DD`; the Python layer turns `datetime.date` into this form).
pub fn date(field: &'static str, text: &str) -> PyResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| invalid(field, format!("{text:?} is not a date (YYYY-MM-DD): {e}")))
}

/// `threads` workers (the engine's default pool when `None`).
pub fn parallelism(threads: Option<usize>) -> PyResult<Parallelism> {
    match threads {
        Some(n) => Parallelism::threads(n).py(),
        None => Ok(Parallelism::current()),
    }
}

/// Ingest settings: `columns` maps a role (`customer_id`, `event_time`, `event_type`, `amount`,
/// `channel`, `product`, `campaign_id`, `score`, `cost`) to the input's column name.
pub fn ingest_options(
    columns: Option<HashMap<String, String>>,
    purchase_type: Option<String>,
) -> PyResult<IngestOptions> {
    let mut options = IngestOptions::default();
    for (role_name, column) in columns.unwrap_or_default() {
        let role = Role::ALL
            .into_iter()
            .find(|r| r.canonical_name() == role_name)
            .ok_or_else(|| {
                invalid(
                    "columns",
                    format!(
                        "unknown role {role_name:?}: expected one of {}",
                        Role::ALL.map(Role::canonical_name).join(", ")
                    ),
                )
            })?;
        options = options.column(role, column);
    }
    if let Some(t) = purchase_type {
        options = options.purchase_type(t);
    }
    Ok(options)
}

/// Events as Python gives them: a file path (Parquet, CSV, Arrow IPC, read by the engine as
/// the CLI reads it) or an Arrow object.
#[derive(FromPyObject)]
pub enum EventsArg {
    /// A path (`str` or `os.PathLike`).
    Path(PathBuf),
    /// Anything with `__arrow_c_stream__` / `__arrow_c_array__`.
    Arrow(AnyRecordBatch),
}

/// Events from a path or an Arrow object, with the ingest settings.
pub fn events(data: EventsArg, ingest: IngestOptions) -> PyResult<EventSource<'static>> {
    match data {
        EventsArg::Path(p) => Ok(FileSource::new([p]).ingest(ingest).into()),
        EventsArg::Arrow(data) => {
            let (_, batches) = batches_in(data)?;
            Ok(EventSource::Batches {
                name: "events".into(),
                batches,
                ingest,
            })
        }
    }
}
