//! Behavioural clustering: k-means on standardized (optionally log-transformed) features.
//!
//! [`KMeansParams`] (serde, builder) validate into a [`KMeansConfig`]; [`fit`] returns a
//! [`KMeansFit`] with the centroids (in the original units and in standardized units),
//! labels, inertia, iterations and a silhouette score. The algorithm:
//!
//! - features are optionally `ln(1 + x)`-transformed (`log`), then z-scored with the
//!   population standard deviation (`standardize`; a constant feature is left centred);
//! - initialisation is k-means++ (one candidate per step) from a seeded generator;
//! - Lloyd iterations assign points and recompute centroids in parallel over fixed chunks of
//!   4,096 rows whose partial sums are combined in chunk order, so results are identical
//!   for any thread count;
//! - an empty cluster takes the point farthest from its centroid;
//! - convergence when the squared centroid shift is at most `tol` × the mean feature variance
//!   (scikit-learn's convention), or after `max_iter` iterations; the best of `n_init` runs
//!   (lowest inertia) is kept;
//! - the silhouette is computed on a seeded sample of at most `silhouette_sample` rows.
//!
//! Inertia is the sum of squared distances to the nearest centroid in standardized units.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::synth::rng::Rng;

const CHUNK: usize = 4096;

/// Row-major standardized features and the (mean, sd) of each feature.
type Prepared = (Vec<f64>, Vec<(f64, f64)>);
/// One chunk's per-cluster sums, counts, and its point farthest from its centroid.
type ChunkSums = (Vec<f64>, Vec<u64>, (usize, f64));
/// One Lloyd run: labels, centroids, inertia, iterations, converged.
type Run = (Vec<u32>, Vec<f64>, f64, usize, bool);

/// Unchecked k-means parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KMeansParams {
    /// Number of clusters (default 8).
    pub k: usize,
    /// Independent k-means++ starts; the lowest inertia wins (default 4).
    pub n_init: usize,
    /// Lloyd iterations per start at most (default 300).
    pub max_iter: usize,
    /// Relative tolerance on the squared centroid shift (default 1e-4).
    pub tol: f64,
    /// Random seed (default 0).
    pub seed: u64,
    /// Apply `ln(1 + x)` before standardizing (default false; needs x > -1).
    pub log: bool,
    /// Z-score the features (default true).
    pub standardize: bool,
    /// Rows sampled for the silhouette score (default 10,000; 0 skips it).
    pub silhouette_sample: usize,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams {
            k: 8,
            n_init: 4,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            log: false,
            standardize: true,
            silhouette_sample: 10_000,
        }
    }
}

impl KMeansParams {
    /// Sets `k`.
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets `n_init`.
    pub fn n_init(mut self, n: usize) -> Self {
        self.n_init = n;
        self
    }
    /// Sets the log transform.
    pub fn log(mut self, yes: bool) -> Self {
        self.log = yes;
        self
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the field: `k`, `n_init` or `max_iter` of 0, or a
    /// `tol` that is negative or not finite.
    pub fn validate(&self) -> Result<KMeansConfig> {
        if self.k == 0 {
            return Err(Error::param("k", "must be at least 1"));
        }
        if self.n_init == 0 {
            return Err(Error::param("n_init", "must be at least 1"));
        }
        if self.max_iter == 0 {
            return Err(Error::param("max_iter", "must be at least 1"));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(Error::param(
                "tol",
                format!("must be finite and non-negative, got {}", self.tol),
            ));
        }
        Ok(KMeansConfig { params: self.clone() })
    }
}

/// Validated k-means parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansConfig {
    params: KMeansParams,
}

impl KMeansConfig {
    /// The parameters this configuration was validated from.
    pub fn params(&self) -> &KMeansParams {
        &self.params
    }
}

/// A fitted clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansFit {
    /// Cluster of each row (0-based).
    pub labels: Vec<u32>,
    /// Centroids in standardized units, `k` rows of `d` values.
    pub centroids: Vec<Vec<f64>>,
    /// Centroids in the original units (before log and standardization).
    pub centroids_original: Vec<Vec<f64>>,
    /// Rows per cluster.
    pub sizes: Vec<u64>,
    /// Sum of squared distances to the nearest centroid (standardized units).
    pub inertia: f64,
    /// Lloyd iterations of the winning start.
    pub iterations: usize,
    /// Whether the winning start converged within `max_iter`.
    pub converged: bool,
    /// Mean silhouette on the sample (`None` when skipped or undefined).
    pub silhouette: Option<f64>,
    /// Per feature: the mean and standard deviation used to standardize.
    pub scaling: Vec<(f64, f64)>,
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index and squared distance of the centroid nearest to `p`.
fn nearest(p: &[f64], centroids: &[f64], d: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, cen) in centroids.chunks_exact(d).enumerate() {
        let dd = dist2(p, cen);
        if dd < best.1 {
            best = (c, dd);
        }
    }
    best
}

/// Prepares row-major features: optional log, then standardization.
fn prepare(columns: &[Vec<f64>], p: &KMeansParams) -> Result<Prepared> {
    let d = columns.len();
    let n = columns.first().map_or(0, Vec::len);
    let mut scaling = Vec::with_capacity(d);
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(d);
    for (j, col) in columns.iter().enumerate() {
        if col.len() != n {
            return Err(Error::param(
                "features",
                format!("feature {j} has {} rows, feature 0 has {n}", col.len()),
            ));
        }
        if col.iter().any(|v| !v.is_finite() || (p.log && *v <= -1.0)) {
            return Err(Error::param(
                "features",
                format!("feature {j} has a value that is not finite (or <= -1 with log)"),
            ));
        }
        let v: Vec<f64> = if p.log {
            col.iter().map(|x| x.ln_1p()).collect()
        } else {
            col.clone()
        };
        let (mean, sd) = if p.standardize && n > 0 {
            let mean = v.iter().sum::<f64>() / n as f64;
            let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
            (mean, if var > 0.0 { var.sqrt() } else { 1.0 })
        } else {
            (0.0, 1.0)
        };
        scaling.push((mean, sd));
        cols.push(v.into_iter().map(|x| (x - mean) / sd).collect());
    }
    let mut rows = vec![0.0; n * d];
    for (j, col) in cols.iter().enumerate() {
        for (i, x) in col.iter().enumerate() {
            rows[i * d + j] = *x;
        }
    }
    Ok((rows, scaling))
}

/// k-means++ seeding.
fn seed_centroids(x: &[f64], n: usize, d: usize, k: usize, rng: &mut Rng) -> Vec<f64> {
    let mut centroids = Vec::with_capacity(k * d);
    let first = rng.below(n as u64) as usize;
    centroids.extend_from_slice(&x[first * d..first * d + d]);
    let mut d2: Vec<f64> = x.chunks_exact(d).map(|p| dist2(p, &centroids[..d])).collect();
    for _ in 1..k {
        let total: f64 = d2.iter().sum();
        let pick = if total > 0.0 {
            let target = rng.next_f64() * total;
            let mut acc = 0.0;
            d2.iter()
                .position(|w| {
                    acc += w;
                    acc > target
                })
                .unwrap_or(n - 1)
        } else {
            rng.below(n as u64) as usize
        };
        let c = centroids.len() / d;
        centroids.extend_from_slice(&x[pick * d..pick * d + d]);
        let new = &centroids[c * d..c * d + d];
        for (w, p) in d2.iter_mut().zip(x.chunks_exact(d)) {
            *w = w.min(dist2(p, new));
        }
    }
    centroids
}

/// One Lloyd run from `centroids`: (labels, centroids, inertia, iterations, converged).
fn lloyd(x: &[f64], n: usize, d: usize, k: usize, mut centroids: Vec<f64>, max_iter: usize, tol: f64) -> Run {
    let mut labels = vec![0u32; n];
    for it in 1..=max_iter {
        // Assign and accumulate per fixed chunk; combine in chunk order.
        let parts: Vec<ChunkSums> = labels
            .par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(ci, lab)| {
                let mut sums = vec![0.0; k * d];
                let mut counts = vec![0u64; k];
                let mut far = (0usize, -1.0f64);
                for (o, l) in lab.iter_mut().enumerate() {
                    let i = ci * CHUNK + o;
                    let p = &x[i * d..i * d + d];
                    let (c, dd) = nearest(p, &centroids, d);
                    *l = c as u32;
                    counts[c] += 1;
                    for (s, v) in sums[c * d..c * d + d].iter_mut().zip(p) {
                        *s += v;
                    }
                    if dd > far.1 {
                        far = (i, dd);
                    }
                }
                (sums, counts, far)
            })
            .collect();
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0u64; k];
        let mut far = (0usize, -1.0f64);
        for (s, c, f) in parts {
            sums.iter_mut().zip(&s).for_each(|(a, b)| *a += b);
            counts.iter_mut().zip(&c).for_each(|(a, b)| *a += b);
            if f.1 > far.1 {
                far = f;
            }
        }
        let mut next = vec![0.0; k * d];
        for c in 0..k {
            if counts[c] == 0 {
                // Empty cluster: the point farthest from its centroid.
                next[c * d..c * d + d].copy_from_slice(&x[far.0 * d..far.0 * d + d]);
            } else {
                for j in 0..d {
                    next[c * d + j] = sums[c * d + j] / counts[c] as f64;
                }
            }
        }
        let shift: f64 = dist2(&next, &centroids);
        centroids = next;
        if shift <= tol {
            // Final assignment to the converged centroids.
            let (lab, sse) = assign(x, n, d, &centroids);
            return (lab, centroids, sse, it, true);
        }
    }
    let (lab, sse) = assign(x, n, d, &centroids);
    (lab, centroids, sse, max_iter, false)
}

/// Labels and inertia for fixed centroids (chunked, deterministic).
fn assign(x: &[f64], n: usize, d: usize, centroids: &[f64]) -> (Vec<u32>, f64) {
    let mut labels = vec![0u32; n];
    let sse: Vec<f64> = labels
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(ci, lab)| {
            let mut e = 0.0;
            for (o, l) in lab.iter_mut().enumerate() {
                let i = ci * CHUNK + o;
                let (c, dd) = nearest(&x[i * d..i * d + d], centroids, d);
                *l = c as u32;
                e += dd;
            }
            e
        })
        .collect();
    (labels, sse.iter().sum())
}

/// Mean silhouette of a seeded sample of rows (`None` if fewer than 2 clusters are present).
fn silhouette(x: &[f64], n: usize, d: usize, k: usize, labels: &[u32], sample: usize, seed: u64) -> Option<f64> {
    if sample == 0 || n < 2 {
        return None;
    }
    let rows: Vec<usize> = if n <= sample {
        (0..n).collect()
    } else {
        // Seeded partial Fisher-Yates.
        let mut idx: Vec<usize> = (0..n).collect();
        let mut rng = Rng::from_seed(seed ^ 0x5111_7E77);
        for i in 0..sample {
            let j = i + rng.below((n - i) as u64) as usize;
            idx.swap(i, j);
        }
        idx.truncate(sample);
        idx.sort_unstable();
        idx
    };
    let present = rows
        .iter()
        .map(|&i| labels[i])
        .collect::<std::collections::BTreeSet<_>>();
    if present.len() < 2 {
        return None;
    }
    let scores: Vec<f64> = rows
        .par_iter()
        .map(|&i| {
            let mut sum = vec![0.0; k];
            let mut cnt = vec![0usize; k];
            for &j in &rows {
                if j != i {
                    let c = labels[j] as usize;
                    sum[c] += dist2(&x[i * d..i * d + d], &x[j * d..j * d + d]).sqrt();
                    cnt[c] += 1;
                }
            }
            let own = labels[i] as usize;
            if cnt[own] == 0 {
                return 0.0;
            }
            let a = sum[own] / cnt[own] as f64;
            let b = (0..k)
                .filter(|&c| c != own && cnt[c] > 0)
                .map(|c| sum[c] / cnt[c] as f64)
                .fold(f64::INFINITY, f64::min);
            if !b.is_finite() {
                0.0
            } else {
                (b - a) / a.max(b).max(f64::MIN_POSITIVE)
            }
        })
        .collect();
    Some(scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Clusters rows described by `columns` (one `Vec` per feature, all of the same length).
///
/// # Errors
/// [`Error::InvalidParameter`]: `features` when there are none, lengths differ, or a value is
/// not finite; `k` when it exceeds the number of rows.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::exec::Parallelism;
/// use clientele::kernels::kmeans::{KMeansParams, fit};
/// let x = vec![vec![0.0, 0.1, 0.2, 10.0, 10.1, 10.2]];
/// let fit = fit(&x, &KMeansParams::default().k(2).validate()?, &Parallelism::current())?;
/// assert_eq!(fit.sizes, [3, 3]);
/// assert_ne!(fit.labels[0], fit.labels[5]);
/// # Ok(()) }
/// ```
pub fn fit(columns: &[Vec<f64>], cfg: &KMeansConfig, par: &Parallelism) -> Result<KMeansFit> {
    let p = &cfg.params;
    let d = columns.len();
    if d == 0 {
        return Err(Error::param("features", "no features"));
    }
    let n = columns.first().map_or(0, Vec::len);
    if p.k > n {
        return Err(Error::param("k", format!("{} clusters for {n} rows", p.k)));
    }
    let (x, scaling) = prepare(columns, p)?;
    let mean_var = {
        let mut v = 0.0;
        for j in 0..d {
            let m = (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64;
            v += (0..n).map(|i| (x[i * d + j] - m).powi(2)).sum::<f64>() / n as f64;
        }
        v / d as f64
    };
    let tol = p.tol * mean_var;
    let best = par.install(|| {
        let mut best: Option<Run> = None;
        for run in 0..p.n_init {
            let mut rng = Rng::for_stream(p.seed, run as u64);
            let init = seed_centroids(&x, n, d, p.k, &mut rng);
            let r = lloyd(&x, n, d, p.k, init, p.max_iter, tol);
            if best.as_ref().is_none_or(|b| r.2 < b.2) {
                best = Some(r);
            }
        }
        best
    });
    let Some((labels, centroids, inertia, iterations, converged)) = best else {
        return Err(Error::param("n_init", "no run"));
    };
    let mut sizes = vec![0u64; p.k];
    for &l in &labels {
        sizes[l as usize] += 1;
    }
    let silhouette = par.install(|| silhouette(&x, n, d, p.k, &labels, p.silhouette_sample, p.seed));
    let centroids: Vec<Vec<f64>> = centroids.chunks_exact(d).map(<[f64]>::to_vec).collect();
    let centroids_original = centroids
        .iter()
        .map(|c| {
            c.iter()
                .zip(&scaling)
                .map(|(z, (m, s))| {
                    let v = z * s + m;
                    if p.log { v.exp_m1() } else { v }
                })
                .collect()
        })
        .collect();
    Ok(KMeansFit {
        labels,
        centroids,
        centroids_original,
        sizes,
        inertia,
        iterations,
        converged,
        silhouette,
        scaling,
    })
}

/// The elbow helper: inertia for each `k` in `ks`, and the suggested `k` (the point of the
/// inertia curve farthest from the straight line between its ends, after scaling both axes
/// to [0, 1]).
///
/// # Errors
/// As [`fit`]; [`Error::InvalidParameter`] (`k`) for an empty range.
pub fn choose_k(
    columns: &[Vec<f64>],
    ks: std::ops::RangeInclusive<usize>,
    base: &KMeansParams,
    par: &Parallelism,
) -> Result<(Vec<(usize, f64)>, usize)> {
    let mut curve = Vec::new();
    for k in ks {
        let mut p = base.clone().k(k);
        p.silhouette_sample = 0;
        curve.push((k, fit(columns, &p.validate()?, par)?.inertia));
    }
    let (Some(&(k0, i0)), Some(&(k1, i1))) = (curve.first(), curve.last()) else {
        return Err(Error::param("k", "empty range"));
    };
    let span_k = (k1 - k0).max(1) as f64;
    let span_i = (i0 - i1).abs().max(f64::MIN_POSITIVE);
    let suggested = curve
        .iter()
        .map(|&(k, i)| {
            let (xk, yi) = ((k - k0) as f64 / span_k, (i - i1) / span_i);
            (k, (1.0 - xk) - yi) // distance below the chord from (0, 1) to (1, 0), up to a constant
        })
        .fold(
            (k0, f64::NEG_INFINITY),
            |best, (k, dist)| if dist > best.1 { (k, dist) } else { best },
        )
        .0;
    Ok((curve, suggested))
}
