//! Times Clientele's k-means on a feature matrix written by `benches/compare/kmeans_compare.py`,
//! from the same initial centroids scikit-learn starts from, and prints one JSON line:
//! `{"seconds": [...], "iterations": N, "inertia": X, "converged": B}`.
//!
//! ```text
//! kmeans_compare FEATURES.f64 ROWS COLS INIT(k*d comma-separated, standardized) MAX_ITER TOL THREADS RUNS
//! ```
//! FEATURES.f64 holds `COLS` columns of `ROWS` little-endian f64 values each, one column after
//! the other. The timed call is the whole `fit` (standardization, Lloyd iterations, final
//! assignment), without the silhouette.

use std::time::Instant;

use clientele::exec::Parallelism;
use clientele::kernels::kmeans::{KMeansParams, fit};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, rows, cols, init, max_iter, tol, threads, runs] = args.as_slice() else {
        return Err("usage: kmeans_compare FEATURES.f64 ROWS COLS INIT MAX_ITER TOL THREADS RUNS".into());
    };
    let (rows, cols): (usize, usize) = (rows.parse()?, cols.parse()?);
    let bytes = std::fs::read(path)?;
    if bytes.len() != rows * cols * 8 {
        return Err(format!("{path}: {} bytes, expected {}", bytes.len(), rows * cols * 8).into());
    }
    let values: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(<[u8; 8]>::try_from(b).unwrap_or_default()))
        .collect();
    let columns: Vec<Vec<f64>> = values.chunks_exact(rows).map(<[f64]>::to_vec).collect();
    let flat: Vec<f64> = init.split(',').map(str::parse).collect::<Result<_, _>>()?;
    let centroids: Vec<Vec<f64>> = flat.chunks_exact(cols).map(<[f64]>::to_vec).collect();
    let params = KMeansParams::default()
        .k(centroids.len())
        .init(centroids)
        .max_iter(max_iter.parse()?)
        .tol(tol.parse()?)
        .silhouette_sample(0);
    let cfg = params.validate()?;
    let par = Parallelism::threads(threads.parse()?)?;
    let mut seconds = Vec::new();
    let mut last = None;
    for _ in 0..runs.parse::<usize>()? {
        let t = Instant::now();
        let f = fit(&columns, &cfg, &par)?;
        seconds.push(t.elapsed().as_secs_f64());
        last = Some(f);
    }
    let f = last.ok_or("RUNS must be at least 1")?;
    println!(
        "{{\"seconds\": {seconds:?}, \"iterations\": {}, \"inertia\": {}, \"converged\": {}}}",
        f.iterations, f.inertia, f.converged
    );
    Ok(())
}
