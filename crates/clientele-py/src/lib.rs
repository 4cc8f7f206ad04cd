//! Python bindings of Clientele (the `clientele._native` extension module).
//!
//! The Python package `clientele` (in `python/clientele/`) wraps this module: it turns pandas
//! frames, dates and lists into what these functions take, and rejected input rows into
//! warnings. Everything computed here is a call into `clientele::pipeline` or the models; no
//! model or kernel logic lives in this crate.

mod convert;
mod errors;
mod jobs;
mod model;
mod report;
mod state;

use pyo3::prelude::*;

/// The addresses of the value buffers of each column of an Arrow object, as this module sees
/// them after import (tests compare them with pyarrow's to prove the import copies nothing).
#[pyfunction]
fn buffer_addresses(data: pyo3_arrow::input::AnyRecordBatch) -> PyResult<Vec<(String, Vec<usize>)>> {
    use arrow_array::Array;
    let batch = convert::batch_in(data)?;
    Ok(batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| {
            let addrs = c.to_data().buffers().iter().map(|b| b.as_ptr() as usize).collect();
            (f.name().clone(), addrs)
        })
        .collect())
}

/// Writes a table (every batch) to `path` with the engine's writers: `.parquet` (zstd), `.csv`,
/// `.json` or `.arrow`, under a temporary name renamed into place (an interrupted write leaves
/// the previous file intact). The GIL is released while writing.
#[pyfunction]
#[pyo3(signature = (data, path, threads=None))]
fn write(
    py: Python<'_>,
    data: pyo3_arrow::input::AnyRecordBatch,
    path: std::path::PathBuf,
    threads: Option<usize>,
) -> PyResult<()> {
    use errors::IntoPy;
    let (schema, batches) = convert::batches_in(data)?;
    let par = convert::parallelism(threads)?;
    // the CLI's writer: Parquet column chunks are encoded in parallel in the pool
    py.detach(|| clientele::io::write_batches_in(&schema, &batches, &path, &par))
        .py()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ClienteleError", m.py().get_type::<errors::ClienteleError>())?;
    m.add("WINDOW_KEY", jobs::WINDOW_KEY)?;
    m.add_class::<model::Model>()?;
    m.add_class::<model::Models>()?;
    m.add_class::<jobs::PyChurnModel>()?;
    m.add_class::<state::PySummaryState>()?;
    m.add_function(wrap_pyfunction!(jobs::summary, m)?)?;
    m.add_function(wrap_pyfunction!(report::report_html, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::rfm, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::value_segments, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::fit, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::clv, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::clv_job, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::churn_train, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::churn_score, m)?)?;
    m.add_function(wrap_pyfunction!(jobs::view, m)?)?;
    m.add_function(wrap_pyfunction!(buffer_addresses, m)?)?;
    m.add_function(wrap_pyfunction!(write, m)?)?;
    Ok(())
}
