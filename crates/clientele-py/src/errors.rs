//! Library errors as Python exceptions.
//!
//! Every [`clientele::Error`] becomes a `clientele.ClienteleError` (a `ValueError`) whose message
//! is the library's own `Display` text, so a Python user reads exactly what the CLI prints. The
//! exception carries `kind`, the name of the error variant (`InvalidParameter`, `MissingColumn`,
//! ...), for code that wants to tell errors apart without parsing messages.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

pyo3::create_exception!(
    _native,
    ClienteleError,
    PyValueError,
    "An error from the Clientele engine; `kind` names the variant, the message is the engine's."
);

/// The variant name of an error (`InvalidParameter` for `Error::InvalidParameter { .. }`).
fn kind(e: &clientele::Error) -> String {
    let debug = format!("{e:?}");
    debug
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The Python exception for a library error.
pub fn to_py(e: clientele::Error) -> PyErr {
    let kind = kind(&e);
    let err = ClienteleError::new_err(e.to_string());
    Python::attach(|py| {
        // attaching the attribute cannot fail on a fresh exception object; if it did, the
        // exception without `kind` is still the right one to raise
        let _ = err.value(py).setattr("kind", kind);
    });
    err
}

/// `Result<T, clientele::Error>` to `PyResult<T>`.
pub trait IntoPy<T> {
    /// Converts the error side.
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, clientele::Error> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// An invalid argument detected in the bindings themselves (same exception class).
pub fn invalid(field: &'static str, message: impl std::fmt::Display) -> PyErr {
    to_py(clientele::Error::param(field, message.to_string()))
}
