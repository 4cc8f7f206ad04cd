//! Files that appear whole or not at all, and outputs that cannot overwrite their inputs.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Distinguishes the temporary names of one process.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A temporary name beside `path` (same directory, so the rename cannot cross file systems).
fn temporary_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tag = format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    path.with_file_name(tag)
}

/// Removes the temporary file unless it was renamed into place.
struct Pending {
    tmp: PathBuf,
    done: bool,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `path` atomically: `write` fills a new temporary file in the same directory, which
/// is then renamed over `path`. A process killed at any point leaves the previous file (or
/// none) at `path`, never a part; a failed `write` leaves `path` untouched and removes the
/// temporary file. With `durable`, the file is also flushed to disk (`fsync`) before the
/// rename and the directory synced after it, so that a power loss too leaves the old file or
/// the new one (this costs the time to write the file to disk).
///
/// # Errors
/// [`Error::Io`] naming `path` for a failure to create, sync or rename; `write`'s errors.
pub fn write_atomically(path: impl AsRef<Path>, durable: bool, write: impl FnOnce(File) -> Result<()>) -> Result<()> {
    let path = path.as_ref();
    let mut pending = Pending {
        tmp: temporary_beside(path),
        done: false,
    };
    let file = File::create(&pending.tmp).map_err(|e| Error::io(path, e))?;
    write(file)?;
    if durable {
        File::open(&pending.tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(path, e))?;
    }
    std::fs::rename(&pending.tmp, path).map_err(|e| Error::io(path, e))?;
    pending.done = true;
    if durable {
        sync_parent(path);
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically ([`write_atomically`] without `fsync`): a killed
/// process leaves the previous file.
///
/// # Errors
/// [`Error::Io`] naming `path`.
pub fn write_bytes_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    write_atomically(path, false, |mut f| {
        std::io::Write::write_all(&mut f, bytes).map_err(|e| Error::io(path, e))
    })
}

/// Makes a rename in `path`'s directory durable (a no-op where directories cannot be opened).
pub(crate) fn sync_parent(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// `path` made absolute and resolved as far as it exists (a file not yet written resolves
/// through its directory).
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let absolute = std::env::current_dir().map_or_else(|_| path.to_path_buf(), |d| d.join(path));
    match (
        absolute.parent().and_then(|d| d.canonicalize().ok()),
        absolute.file_name(),
    ) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => absolute,
    }
}

/// Refuses outputs that would destroy inputs: an output equal to an input, inside an input
/// directory (a store), or a directory holding an input; and two outputs at one path.
///
/// # Errors
/// [`Error::InvalidParameter`] (field `output`) naming both paths.
///
/// # Example
/// ```
/// use std::path::PathBuf;
/// use clientele::io::check_outputs;
/// let inputs = [PathBuf::from("events.parquet"), PathBuf::from("store")];
/// assert!(check_outputs(&inputs, &[PathBuf::from("rfm.parquet")]).is_ok());
/// assert!(check_outputs(&inputs, &[PathBuf::from("./events.parquet")]).is_err());
/// assert!(check_outputs(&inputs, &[PathBuf::from("store/events.arrow")]).is_err());
/// ```
pub fn check_outputs(inputs: &[PathBuf], outputs: &[PathBuf]) -> Result<()> {
    let ins: Vec<(PathBuf, &PathBuf)> = inputs.iter().map(|p| (resolved(p), p)).collect();
    let outs: Vec<(PathBuf, &PathBuf)> = outputs.iter().map(|p| (resolved(p), p)).collect();
    for (k, (o, shown)) in outs.iter().enumerate() {
        for (i, input) in &ins {
            let why = if o == i {
                "is the input"
            } else if o.starts_with(i) {
                "is inside the input"
            } else if i.starts_with(o) {
                "is a directory holding the input"
            } else {
                continue;
            };
            return Err(Error::param(
                "output",
                format!("{} {why} {}; nothing was written", shown.display(), input.display()),
            ));
        }
        if let Some((_, other)) = outs.get(k + 1..).and_then(|rest| rest.iter().find(|(p, _)| p == o)) {
            return Err(Error::param(
                "output",
                format!("{} and {} are the same file", shown.display(), other.display()),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;
    use std::io::Write;

    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        let err = write_atomically(&path, false, |mut f| {
            f.write_all(b"half").unwrap();
            Err(Error::param("x", "stopped"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary left");
        write_atomically(&path, true, |mut f| {
            f.write_all(b"new").map_err(|e| Error::io(&path, e))
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn outputs_may_not_touch_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        std::fs::create_dir(&store).unwrap();
        let input = dir.path().join("in.parquet");
        std::fs::write(&input, "x").unwrap();
        let ins = [input.clone(), store.clone()];
        assert!(check_outputs(&ins, &[dir.path().join("out.parquet")]).is_ok());
        let same = check_outputs(&ins, &[dir.path().join(".").join("in.parquet")]).unwrap_err();
        assert!(same.to_string().contains("is the input"), "{same}");
        let inside = check_outputs(&ins, &[store.join("events.arrow")]).unwrap_err();
        assert!(inside.to_string().contains("inside the input"), "{inside}");
        let holding = check_outputs(&[store.join("events.arrow")], std::slice::from_ref(&store)).unwrap_err();
        assert!(holding.to_string().contains("holding the input"), "{holding}");
        let twice = check_outputs(&[], &[dir.path().join("a.csv"), dir.path().join("a.csv")]).unwrap_err();
        assert!(twice.to_string().contains("same file"), "{twice}");
    }
}
