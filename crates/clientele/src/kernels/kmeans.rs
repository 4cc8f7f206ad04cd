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
//!   for any thread count; the features are kept column-major, and each chunk is one pass
//!   over blocks of 256 points: groups of 8 points are compared with every centroid in
//!   vector registers, by the expanded form `‖c‖² − 2 x·c` in fused multiply-adds, relative
//!   to the features' means (as scikit-learn's Lloyd step does on centred data: without
//!   centring, features far from zero would lose digits; the inertia is computed with the
//!   direct form), then,
//!   if any label of the block changed since the last iteration, the block's per-cluster
//!   partial sums are recomputed while its points are still in cache (one masked pass per
//!   cluster in vector registers up to 12 clusters, point by point beyond); otherwise the
//!   previous iteration's partial is reused, which is the same bits. Partials are kept only
//!   while they take at most 8 bytes per point (`k × (d + 1) ≤ 256`); more than 4 features
//!   use a direct-form kernel without the reuse. The kernels are compiled for AVX2 and
//!   AVX-512 too and the best one the CPU has is chosen at run time (`pulp`), with the same
//!   bits on every path;
//! - an empty cluster takes the point farthest from its centroid (several empty clusters take
//!   the farthest points in turn);
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

/// Column-major standardized features and the (mean, sd) of each feature.
type Prepared = (Vec<Vec<f64>>, Vec<(f64, f64)>);
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
    /// Initial centroids (default none: k-means++). `k` rows of one value per feature, in the
    /// transformed space the algorithm works in (after the optional log and the
    /// standardization). When set, one Lloyd run starts from them and `n_init` is ignored: this
    /// is how results are compared with another implementation from the same start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<Vec<Vec<f64>>>,
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
            init: None,
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
    /// Sets the iteration cap.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }
    /// Sets the convergence tolerance.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    /// Sets the silhouette sample size (0 skips it).
    pub fn silhouette_sample(mut self, n: usize) -> Self {
        self.silhouette_sample = n;
        self
    }
    /// Sets the initial centroids (see [`init`](Self::init)).
    pub fn init(mut self, centroids: Vec<Vec<f64>>) -> Self {
        self.init = Some(centroids);
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
        if let Some(init) = &self.init {
            if init.len() != self.k {
                return Err(Error::param(
                    "init",
                    format!("{} initial centroids for k = {}", init.len(), self.k),
                ));
            }
            let d = init.first().map_or(0, Vec::len);
            if d == 0 || init.iter().any(|c| c.len() != d || c.iter().any(|v| !v.is_finite())) {
                return Err(Error::param(
                    "init",
                    "initial centroids must all have the same, non-zero number of finite values",
                ));
            }
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

/// Prepares column-major features: optional log, then standardization. Also returns the
/// mean variance of the prepared features and their means (about 0 when standardized). Each column is summed in point order, so the
/// result does not depend on the thread count. The columns are processed in lockstep, a few
/// points of each in turn ([`sum_lockstep`]), so that their sequential sums overlap.
fn prepare(columns: &[Vec<f64>], p: &KMeansParams) -> Result<(Prepared, f64, Vec<f64>)> {
    let d = columns.len();
    let n = columns.first().map_or(0, Vec::len);
    let not_finite = |j: usize| {
        Error::param(
            "features",
            format!("feature {j} has a value that is not finite (or <= -1 with log)"),
        )
    };
    let bad = |v: &f64| !v.is_finite() || (p.log && *v <= -1.0);
    // Errors in column order: a column's length, then its values.
    if let Some((j, col)) = columns.iter().enumerate().find(|(_, c)| c.len() != n) {
        if let Some(i) = columns[..j].iter().position(|c| c.iter().any(bad)) {
            return Err(not_finite(i));
        }
        return Err(Error::param(
            "features",
            format!("feature {j} has {} rows, feature 0 has {n}", col.len()),
        ));
    }
    let logged: Vec<Vec<f64>>;
    let raw: Vec<&[f64]> = if p.log {
        if let Some(j) = columns.iter().position(|c| c.iter().any(bad)) {
            return Err(not_finite(j));
        }
        logged = columns
            .par_iter()
            .map(|c| c.iter().map(|x| x.ln_1p()).collect())
            .collect();
        logged.iter().map(Vec::as_slice).collect()
    } else {
        columns.iter().map(Vec::as_slice).collect()
    };
    let nf = n as f64;
    let sums = sum_lockstep(&raw, |_, x| x);
    // A finite sum means finite values (a non-finite value keeps the sum non-finite).
    if !p.log
        && let Some(j) = (0..d).find(|&j| !sums[j].is_finite() && raw[j].iter().any(bad))
    {
        return Err(not_finite(j));
    }
    let scaling: Vec<(f64, f64)> = if p.standardize && n > 0 {
        let means: Vec<f64> = sums.iter().map(|s| s / nf).collect();
        let vars = sum_lockstep(&raw, |j, x| (x - means[j]) * (x - means[j]));
        means
            .iter()
            .zip(&vars)
            .map(|(&mean, &v)| {
                let var = v / nf;
                (mean, if var > 0.0 { var.sqrt() } else { 1.0 })
            })
            .collect()
    } else {
        vec![(0.0, 1.0); d]
    };
    let cols: Vec<Vec<f64>> = raw
        .par_iter()
        .zip(&scaling)
        .map(|(v, &(mean, sd))| v.iter().map(|x| (x - mean) / sd).collect())
        .collect();
    let views: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let ms: Vec<f64> = sum_lockstep(&views, |_, x| x).iter().map(|s| s / nf).collect();
    let vars = sum_lockstep(&views, |j, x| (x - ms[j]) * (x - ms[j]));
    let var_sum = vars.iter().fold(0.0, |acc, v| acc + v / nf);
    Ok(((cols, scaling), var_sum / d as f64, ms))
}

/// Per column `j` of `cols` (equal lengths), the sum in point order of `term(j, x)` over its
/// values `x`. The columns advance together, [`LANES`] points at a time, so the additions of
/// different columns (each a dependency chain) overlap.
#[inline(always)]
fn sum_lockstep(cols: &[&[f64]], term: impl Fn(usize, f64) -> f64) -> Vec<f64> {
    let n = cols.first().map_or(0, |c| c.len());
    // -0.0, as `Iterator::sum` starts from, so that the bits match a plain sum.
    let mut sums = vec![-0.0f64; cols.len()];
    let mut start = 0;
    while start < n {
        let end = (start + LANES).min(n);
        for (j, (s, col)) in sums.iter_mut().zip(cols).enumerate() {
            if let Some(part) = col.get(start..end) {
                let mut acc = *s;
                for &x in part {
                    acc += term(j, x);
                }
                *s = acc;
            }
        }
        start = end;
    }
    sums
}

/// The same features row-major (for k-means++ seeding and the silhouette sample).
fn row_major(cols: &[Vec<f64>], n: usize) -> Vec<f64> {
    let d = cols.len();
    let mut rows = vec![0.0; n * d];
    for (j, col) in cols.iter().enumerate() {
        for (i, x) in col.iter().enumerate() {
            rows[i * d + j] = *x;
        }
    }
    rows
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

/// Points per group of the specialized nearest-centroid kernel: a group's features, best
/// distances and labels stay in vector registers while it is compared with every centroid.
const LANES: usize = 8;

/// Points per block of the general (any feature count) nearest-centroid kernel: a block's
/// columns, distances and labels stay in L1.
const BLOCK: usize = 256;

/// Keeps `t` and `label` where `t < best` (bit-mask select: no branch, so loops vectorize).
#[inline(always)]
fn select(t: f64, c: u64, best: &mut f64, label: &mut f64) {
    let mask = u64::from(t < *best).wrapping_neg();
    *best = f64::from_bits((t.to_bits() & mask) | (best.to_bits() & !mask));
    *label = f64::from_bits((c & mask) | (label.to_bits() & !mask));
}

/// Nearest centroid of a group of [`LANES`] points with `D` features (`x[j][l]` is feature
/// `j` of point `l`): the squared distances and the labels. Ties go to the lower centroid
/// index. Each distance is `(e₀² + e₁²) + ...`, the same bits as the general kernel's
/// `((0 + e₀²) + e₁²) + ...` (`0 + y` is `y` for the `y ≥ 0` a square is).
#[inline(always)]
fn nearest_group<const D: usize>(x: &[[f64; LANES]; D], cen: &[[f64; D]]) -> ([f64; LANES], [u64; LANES]) {
    let mut best = [f64::INFINITY; LANES];
    let mut label = [0u64; LANES];
    for (c, cj) in cen.iter().enumerate() {
        let mut t = [0.0f64; LANES];
        for (j, xj) in x.iter().enumerate() {
            for (t, &v) in t.iter_mut().zip(xj) {
                let e = v - cj[j];
                *t = if j == 0 { e * e } else { *t + e * e };
            }
        }
        let c = c as u64;
        for l in 0..LANES {
            let closer = t[l] < best[l];
            best[l] = if closer { t[l] } else { best[l] };
            label[l] = if closer { c } else { label[l] };
        }
    }
    (best, label)
}

/// Nearest centroid of a group of [`LANES`] points for the Lloyd step, by the expanded
/// form `‖c‖² − 2 x·c` (the point's own `‖x‖²` is the same for every centroid and left out),
/// as fused multiply-adds: `cen[c]` holds `−2c` and `‖c‖²`. Fewer operations than the
/// direct form; a point almost equally far from two centroids may go to either, as in
/// scikit-learn, whose Lloyd step uses the same form. Ties go to the lower centroid index.
/// `mul_add` is exactly rounded on every instruction set (in software where the CPU has
/// no FMA), so every path gives the same labels.
#[inline(always)]
fn nearest_group_expanded<const D: usize>(x: &[[f64; LANES]; D], cen: &[([f64; D], f64)]) -> [u64; LANES] {
    let mut best = [f64::INFINITY; LANES];
    let mut label = [0u64; LANES];
    for (c, (m, cc)) in cen.iter().enumerate() {
        let mut t = [*cc; LANES];
        for (xj, &mj) in x.iter().zip(m) {
            for (t, &v) in t.iter_mut().zip(xj) {
                *t = v.mul_add(mj, *t);
            }
        }
        let c = c as u64;
        for l in 0..LANES {
            let closer = t[l] < best[l];
            best[l] = if closer { t[l] } else { best[l] };
            label[l] = if closer { c } else { label[l] };
        }
    }
    label
}

/// Calls `sink(i, label, distance)` for every point `i` of the `D` columns `xs` (equal
/// lengths), in order: its nearest centroid and the squared distance to it.
#[inline(always)]
fn scan_fixed<const D: usize, F: FnMut(usize, usize, f64)>(xs: [&[f64]; D], centroids: &[f64], mut sink: F) {
    let n = xs.iter().map(|x| x.len()).min().unwrap_or(0);
    let cen: Vec<[f64; D]> = centroids
        .chunks_exact(D)
        .map(|c| std::array::from_fn(|j| c[j]))
        .collect();
    let mut start = 0;
    while start < n {
        let m = (n - start).min(LANES);
        // A short last group is padded with zeros; its padding lanes are not reported.
        // (Plain loops, no closures: everything here must inline into the dispatched kernel.)
        let mut x = [[0.0f64; LANES]; D];
        for (g, col) in x.iter_mut().zip(&xs) {
            if let Some(full) = col.get(start..start + LANES) {
                g.copy_from_slice(full);
            } else if let Some(part) = col.get(start..) {
                for (o, &v) in g.iter_mut().zip(part) {
                    *o = v;
                }
            }
        }
        let (best, label) = nearest_group(&x, &cen);
        for l in 0..m {
            sink(start + l, label[l] as usize, best[l]);
        }
        start += m;
    }
}

/// Calls `sink(i, label, distance)` for every point `i` in `lo..hi` of the column-major
/// `cols` (any number of features), in order; the same distances, to the bit, as
/// [`scan_fixed`].
fn scan_general<F: FnMut(usize, usize, f64)>(cols: &[Vec<f64>], lo: usize, hi: usize, centroids: &[f64], mut sink: F) {
    let d = cols.len();
    let mut dist = [0.0f64; BLOCK];
    let mut best = [0.0f64; BLOCK];
    let mut label = [0.0f64; BLOCK];
    let mut start = lo;
    while start < hi {
        let end = (start + BLOCK).min(hi);
        let m = end - start;
        let bd = &mut best[..m];
        let lab = &mut label[..m];
        bd.fill(f64::INFINITY);
        lab.fill(0.0);
        for (c, cen) in centroids.chunks_exact(d).enumerate() {
            let dist = &mut dist[..m];
            dist.fill(0.0);
            for (col, &cj) in cols.iter().zip(cen) {
                for (t, &v) in dist.iter_mut().zip(&col[start..end]) {
                    let e = v - cj;
                    *t += e * e;
                }
            }
            let c = (c as f64).to_bits();
            for ((l, b), &t) in lab.iter_mut().zip(bd.iter_mut()).zip(dist.iter()) {
                select(t, c, b, l);
            }
        }
        for (i, (&l, &b)) in lab.iter().zip(bd.iter()).enumerate() {
            sink(start - lo + i, l as usize, b);
        }
        start = end;
    }
}

/// Calls `sink(i, label, distance)` for every point `lo..hi` of `cols`, in order
/// (`i` counted from `lo`). Feature counts 1 to 4 run [`scan_fixed`], others [`scan_general`].
#[inline(always)]
fn scan<F: FnMut(usize, usize, f64)>(cols: &[Vec<f64>], lo: usize, hi: usize, centroids: &[f64], mut sink: F) {
    match cols {
        [a] => scan_fixed([&a[lo..hi]], centroids, &mut sink),
        [a, b] => scan_fixed([&a[lo..hi], &b[lo..hi]], centroids, &mut sink),
        [a, b, c] => scan_fixed([&a[lo..hi], &b[lo..hi], &c[lo..hi]], centroids, &mut sink),
        [a, b, c, e] => scan_fixed([&a[lo..hi], &b[lo..hi], &c[lo..hi], &e[lo..hi]], centroids, &mut sink),
        _ => scan_general(cols, lo, hi, centroids, sink),
    }
}

/// The state one Lloyd run keeps between iterations for feature counts 1 to 4: every
/// point's label, and per block of [`BLOCK_POINTS`] points, its partial sums and counts
/// (`k × (d + 1)` values: per cluster, the `d` sums then the count). A block whose labels did
/// not change since the last iteration adds exactly the same points in the same order, so its
/// partial is reused instead of recomputed: the same bits, for a fraction of the work once
/// few points move.
struct Memo<'a> {
    labels: &'a mut [u32],
    partials: &'a mut [f64],
    first: bool,
    /// The features' means: points and centroids are compared relative to them, so that the
    /// expanded form `‖c‖² − 2 x·c` does not lose the digits an offset would take (with
    /// `standardize` off the features need not be centred).
    center: &'a [f64],
}

/// Groups of [`LANES`] points per block of the Lloyd step.
const GROUPS: usize = 32;

/// Points per block of the Lloyd step: a block's labels are found first, then, if any
/// changed, its points are added to the sums while still in L1.
const BLOCK_POINTS: usize = GROUPS * LANES;
const _: () = assert!(CHUNK.is_multiple_of(BLOCK_POINTS), "a chunk is whole blocks");

/// One Lloyd step over the points `lo..hi`: per-cluster sums (`k × d`) and counts. The
/// assignment and the accumulation are one pass over the data (a block is labelled and, if
/// needed, added while it is in cache). Feature counts 1 to 4 run [`step_fixed`] with the run's [`Memo`] (for the points
/// `lo..hi`); others add point `i` into accumulator set `i % 4` (so that runs of points of the
/// same cluster do not wait on one another), and the sets are then added in a fixed order.
#[inline(always)]
fn step(cols: &[Vec<f64>], lo: usize, hi: usize, centroids: &[f64], k: usize, memo: Memo) -> (Vec<f64>, Vec<u64>) {
    match cols {
        [a] => step_fixed::<1>([&a[lo..hi]], centroids, k, memo),
        [a, b] => step_fixed::<2>([&a[lo..hi], &b[lo..hi]], centroids, k, memo),
        [a, b, c] => step_fixed::<3>([&a[lo..hi], &b[lo..hi], &c[lo..hi]], centroids, k, memo),
        [a, b, c, e] => step_fixed::<4>([&a[lo..hi], &b[lo..hi], &c[lo..hi], &e[lo..hi]], centroids, k, memo),
        _ => {
            let d = cols.len();
            let mut sums = vec![0.0; 4 * k * d];
            let mut counts = vec![0u64; 4 * k];
            scan_general(cols, lo, hi, centroids, |i, l, _| {
                let s = (i & 3) * k + l;
                if let (Some(acc), Some(n)) = (sums.get_mut(s * d..s * d + d), counts.get_mut(s)) {
                    for (a, col) in acc.iter_mut().zip(cols) {
                        *a += col[lo + i];
                    }
                    *n += 1;
                }
            });
            merge_sets(sums, counts, k, d)
        }
    }
}

/// Cluster counts up to which [`step_fixed`] adds a changed block's points with
/// [`accumulate`] (one masked pass per cluster); beyond, point by point.
const MASKED_MAX_K: usize = 12;

/// Largest `k × (d + 1)` for which a Lloyd run keeps every block's partial between
/// iterations (8 bytes per point at most); beyond, blocks are recomputed every iteration.
const MEMO_MAX_WIDTH: usize = 256;

/// Per-cluster accumulators of [`step_fixed`]: `D` sums and a count, each kept per lane.
type Lanes<const D: usize> = ([[f64; LANES]; D], [f64; LANES]);

/// Group `g` of `LANES` points of the columns `xs`, borrowed in place (`None` past the
/// last full group).
#[inline(always)]
fn group<'a, const D: usize>(xs: &[&'a [f64]; D], g: usize) -> Option<[&'a [f64; LANES]; D]> {
    let mut out: [&[f64; LANES]; D] = [&[0.0; LANES]; D];
    for (o, col) in out.iter_mut().zip(xs) {
        *o = col.get(g * LANES..g * LANES + LANES)?.try_into().ok()?;
    }
    Some(out)
}

/// Adds each point of `groups` to the per-lane accumulators of its cluster (`labels`, as
/// `f64`; a label no cluster has adds nothing), cluster by cluster, so that one cluster's
/// lanes stay in vector registers over all the groups. A point of another cluster adds
/// `+0.0`, which leaves a sum that started at `+0.0` unchanged.
#[inline(always)]
fn accumulate<const D: usize>(acc: &mut [Lanes<D>], groups: &[[&[f64; LANES]; D]], labels: &[[f64; LANES]]) {
    for (c, (sums, count)) in acc.iter_mut().enumerate() {
        let c = c as f64;
        let (mut s, mut m) = (*sums, *count);
        for (xg, lg) in groups.iter().zip(labels) {
            let mut hit = [false; LANES];
            for (h, &v) in hit.iter_mut().zip(lg) {
                *h = v == c;
            }
            for (sj, xj) in s.iter_mut().zip(xg) {
                for ((a, &v), &h) in sj.iter_mut().zip(xj.iter()).zip(&hit) {
                    *a += if h { v } else { 0.0 };
                }
            }
            for (a, &h) in m.iter_mut().zip(&hit) {
                *a += if h { 1.0 } else { 0.0 };
            }
        }
        *sums = s;
        *count = m;
    }
}

/// [`step`] for exactly `D` features, block by block ([`BLOCK_POINTS`] points): the block's
/// groups of 8 points are labelled (features read in place, in vector registers) and the
/// labels compared with the [`Memo`]'s; if any changed (or on the first iteration), the
/// block's partial is recomputed. Up to [`MASKED_MAX_K`] clusters, point `i` of the block is
/// added to lane `i % 8` of its cluster's accumulators, in point order ([`accumulate`]), and
/// the 8 lanes are added in lane order; beyond, each point is added to its cluster's sums in
/// point order, feature by feature. The chunk's sums are its blocks' partials added in block
/// order. Points and centroids are compared relative to the [`Memo`]'s `center`.
#[inline(always)]
fn step_fixed<const D: usize>(xs: [&[f64]; D], centroids: &[f64], k: usize, memo: Memo) -> (Vec<f64>, Vec<u64>) {
    let n = xs.iter().map(|x| x.len()).min().unwrap_or(0);
    let mu: [f64; D] = std::array::from_fn(|j| memo.center.get(j).copied().unwrap_or(0.0));
    let cen: Vec<([f64; D], f64)> = centroids
        .chunks_exact(D)
        .map(|c| {
            let c: [f64; D] = std::array::from_fn(|j| c[j] - mu[j]);
            (
                std::array::from_fn(|j| -2.0 * c[j]),
                c.iter().fold(0.0, |s, v| s + v * v),
            )
        })
        .collect();
    let width = k * (D + 1);
    let mut total = vec![0.0; width];
    let mut acc: Vec<Lanes<D>> = vec![([[0.0; LANES]; D], [0.0; LANES]); k];
    let mut refs: Vec<[&[f64; LANES]; D]> = Vec::with_capacity(GROUPS);
    let mut lab = [[0.0f64; LANES]; GROUPS];
    let blocks = memo
        .labels
        .chunks_mut(BLOCK_POINTS)
        .zip(memo.partials.chunks_exact_mut(width.max(1)));
    for (b, (old, part)) in blocks.enumerate() {
        let g0 = b * GROUPS;
        let m = old.len().min(n.saturating_sub(b * BLOCK_POINTS));
        let mut changed = memo.first;
        refs.clear();
        refs.extend((g0..g0 + m / LANES).map_while(|g| group(&xs, g)));
        for (gi, (xg, lg)) in refs.iter().zip(lab.iter_mut()).enumerate() {
            let mut x = [[0.0f64; LANES]; D];
            for ((o, r), m) in x.iter_mut().zip(xg).zip(&mu) {
                for (o, v) in o.iter_mut().zip(r.iter()) {
                    *o = v - m;
                }
            }
            let label = nearest_group_expanded(&x, &cen);
            for (o, &c) in lg.iter_mut().zip(&label) {
                *o = c as f64;
            }
            if let Some(o) = old.get_mut(gi * LANES..gi * LANES + LANES) {
                for (o, &c) in o.iter_mut().zip(&label) {
                    changed |= *o != c as u32;
                    *o = c as u32;
                }
            }
        }
        // The last, short group of the data: padded with zeros and a label no cluster has.
        let full = refs.len() * LANES;
        let mut tail = None;
        if m > full {
            let at = b * BLOCK_POINTS + full;
            let mut x = [[0.0f64; LANES]; D];
            for (o, col) in x.iter_mut().zip(&xs) {
                for (o, &v) in o.iter_mut().zip(col.get(at..at + (m - full)).unwrap_or_default()) {
                    *o = v;
                }
            }
            let mut centred = x;
            for (o, m) in centred.iter_mut().zip(&mu) {
                o.iter_mut().for_each(|v| *v -= m);
            }
            let label = nearest_group_expanded(&centred, &cen);
            let mut lg = [-1.0f64; LANES];
            for (o, &c) in lg.iter_mut().zip(&label).take(m - full) {
                *o = c as f64;
            }
            for (o, &c) in old.iter_mut().skip(full).zip(&label) {
                changed |= *o != c as u32;
                *o = c as u32;
            }
            tail = Some((x, lg));
        }
        if changed && k <= MASKED_MAX_K {
            acc.iter_mut().for_each(|a| *a = ([[0.0; LANES]; D], [0.0; LANES]));
            accumulate(&mut acc, &refs, &lab);
            if let Some((x, lg)) = &tail {
                let xg: [&[f64; LANES]; D] = std::array::from_fn(|j| &x[j]);
                accumulate(&mut acc, &[xg], &[*lg]);
            }
            for (out, (s, c)) in part.chunks_exact_mut(D + 1).zip(&acc) {
                for (o, lanes) in out.iter_mut().zip(s.iter().chain([c])) {
                    *o = lanes.iter().fold(0.0, |a, &v| a + v);
                }
            }
        } else if changed {
            // Many clusters: a masked pass per cluster would cost more than adding each point
            // to its own cluster's sums, feature by feature, in point order.
            part.fill(0.0);
            let base = b * BLOCK_POINTS;
            let labels = old.get(..m).unwrap_or_default();
            for (j, col) in xs.iter().enumerate() {
                for (&l, &v) in labels.iter().zip(col.get(base..base + m).unwrap_or_default()) {
                    if let Some(a) = part.get_mut(l as usize * (D + 1) + j) {
                        *a += v;
                    }
                }
            }
            for &l in labels {
                if let Some(a) = part.get_mut(l as usize * (D + 1) + D) {
                    *a += 1.0;
                }
            }
        }
        total.iter_mut().zip(part.iter()).for_each(|(t, &p)| *t += p);
    }
    let mut sums = Vec::with_capacity(k * D);
    let mut counts = Vec::with_capacity(k);
    for c in total.chunks_exact(D + 1) {
        sums.extend_from_slice(c.get(..D).unwrap_or_default());
        counts.push(c.get(D).copied().unwrap_or(0.0) as u64);
    }
    (sums, counts)
}

/// Adds the four accumulator sets of [`step`] in order: set 0, then 1, 2 and 3.
fn merge_sets(mut sums: Vec<f64>, counts: Vec<u64>, k: usize, d: usize) -> (Vec<f64>, Vec<u64>) {
    let kd = (k * d).min(sums.len());
    let (first, rest) = sums.split_at_mut(kd);
    for set in rest.chunks_exact(kd.max(1)) {
        first.iter_mut().zip(set).for_each(|(a, b)| *a += b);
    }
    sums.truncate(kd);
    let mut total = vec![0u64; k];
    for set in counts.chunks_exact(k.max(1)) {
        total.iter_mut().zip(set).for_each(|(a, b)| *a += b);
    }
    (sums, total)
}

/// Runs `op` compiled for the best instruction set this CPU has (see [`pulp::Arch`]): `op`
/// and everything it inlines are compiled once per instruction set. The direct-form kernels
/// never fuse a multiply and an add, and the expanded-form one fuses them explicitly
/// (`mul_add`, exactly rounded everywhere), so every instruction set gives the same bits.
#[inline(always)]
fn dispatch<R>(op: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(op)
}

/// One Lloyd run from `centroids`: (labels, centroids, inertia, iterations, converged).
/// `cols` are the features column-major. Work is split into fixed chunks whose partial sums
/// are combined in chunk order, so the result does not depend on the thread count.
fn lloyd(
    cols: &[Vec<f64>],
    center: &[f64],
    n: usize,
    k: usize,
    mut centroids: Vec<f64>,
    max_iter: usize,
    tol: f64,
) -> Run {
    let d = cols.len();
    let chunks = n.div_ceil(CHUNK);
    // The Memo of step_fixed (feature counts 1 to 4): labels and per-block partials, kept
    // between iterations when they are small enough.
    let fixed = d <= 4;
    let width = k * (d + 1);
    let keep = fixed && width <= MEMO_MAX_WIDTH;
    let mut labels = vec![0u32; if keep { n } else { 0 }];
    let mut partials = vec![0.0f64; if keep { n.div_ceil(BLOCK_POINTS) * width } else { 0 }];
    for it in 1..=max_iter {
        let first = it == 1;
        let parts: Vec<(Vec<f64>, Vec<u64>)> = if keep {
            labels
                .par_chunks_mut(CHUNK)
                .zip(partials.par_chunks_mut(CHUNK / BLOCK_POINTS * width))
                .enumerate()
                .map(|(ci, (labels, partials))| {
                    let lo = ci * CHUNK;
                    let hi = lo + labels.len();
                    let memo = Memo {
                        labels,
                        partials,
                        first,
                        center,
                    };
                    dispatch(
                        #[inline(always)]
                        || step(cols, lo, hi, &centroids, k, memo),
                    )
                })
                .collect()
        } else {
            (0..chunks)
                .into_par_iter()
                .map(|ci| {
                    let (lo, hi) = (ci * CHUNK, ((ci + 1) * CHUNK).min(n));
                    // A memo for this chunk and iteration only (every block computed).
                    let (mut labels, mut partials) = if fixed {
                        (vec![0u32; hi - lo], vec![0.0; (hi - lo).div_ceil(BLOCK_POINTS) * width])
                    } else {
                        (Vec::new(), Vec::new())
                    };
                    let memo = Memo {
                        labels: &mut labels,
                        partials: &mut partials,
                        first: true,
                        center,
                    };
                    dispatch(
                        #[inline(always)]
                        || step(cols, lo, hi, &centroids, k, memo),
                    )
                })
                .collect()
        };
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0u64; k];
        for (s, c) in parts {
            sums.iter_mut().zip(&s).for_each(|(a, b)| *a += b);
            counts.iter_mut().zip(&c).for_each(|(a, b)| *a += b);
        }
        // Each empty cluster takes a point far from its centroid: the farthest point, then the
        // next farthest for the next empty cluster, and so on (ties: the first point), so that
        // several clusters emptied at once do not all land on the same point.
        let empty = counts.iter().filter(|&&n| n == 0).count();
        let mut far: Vec<usize> = Vec::with_capacity(empty);
        if empty > 0 {
            let dists = distances(cols, n, &centroids);
            for _ in 0..empty {
                let pick = dists
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !far.contains(i))
                    .fold(
                        (usize::MAX, f64::NEG_INFINITY),
                        |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                    )
                    .0;
                if pick == usize::MAX {
                    break;
                }
                far.push(pick);
            }
        }
        let mut next = vec![0.0; k * d];
        let mut spare = far.into_iter();
        for c in 0..k {
            let donor = if counts[c] == 0 { spare.next() } else { None };
            for j in 0..d {
                next[c * d + j] = match donor {
                    Some(p) => cols[j][p],
                    None if counts[c] == 0 => centroids[c * d + j],
                    None => sums[c * d + j] / counts[c] as f64,
                };
            }
        }
        let shift: f64 = dist2(&next, &centroids);
        centroids = next;
        if shift <= tol {
            // Final assignment to the converged centroids.
            let (lab, sse) = assign(cols, n, &centroids);
            return (lab, centroids, sse, it, true);
        }
    }
    let (lab, sse) = assign(cols, n, &centroids);
    (lab, centroids, sse, max_iter, false)
}

/// Squared distance of every point to its nearest centroid (chunked, deterministic).
fn distances(cols: &[Vec<f64>], n: usize, centroids: &[f64]) -> Vec<f64> {
    let mut dists = vec![0.0f64; n];
    dists.par_chunks_mut(CHUNK).enumerate().for_each(|(ci, dd)| {
        let lo = ci * CHUNK;
        dispatch(
            #[inline(always)]
            || {
                scan(cols, lo, lo + dd.len(), centroids, |i, _, t| {
                    if let Some(o) = dd.get_mut(i) {
                        *o = t;
                    }
                });
            },
        );
    });
    dists
}

/// Labels and inertia for fixed centroids (chunked, deterministic: each chunk's distances
/// are summed in point order, then the chunks in chunk order).
fn assign(cols: &[Vec<f64>], n: usize, centroids: &[f64]) -> (Vec<u32>, f64) {
    let mut labels = vec![0u32; n];
    let sse: Vec<f64> = labels
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(ci, lab)| {
            let lo = ci * CHUNK;
            let hi = lo + lab.len();
            dispatch(
                #[inline(always)]
                || {
                    let mut sse = 0.0;
                    scan(cols, lo, hi, centroids, |i, l, t| {
                        if let Some(o) = lab.get_mut(i) {
                            *o = l as u32;
                        }
                        sse += t;
                    });
                    sse
                },
            )
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
    if let Some(init) = &p.init
        && init.first().map_or(0, Vec::len) != d
    {
        return Err(Error::param(
            "init",
            format!(
                "initial centroids have {} values, there are {d} features",
                init.first().map_or(0, Vec::len)
            ),
        ));
    }
    let ((cols, scaling), mean_var, center) = par.install(|| prepare(columns, p))?;
    // Row-major copy only when seeding or the silhouette needs it.
    let needs_rows = p.init.is_none() || p.silhouette_sample > 0;
    let x = if needs_rows { row_major(&cols, n) } else { Vec::new() };
    let tol = p.tol * mean_var;
    let best = par.install(|| {
        if let Some(init) = &p.init {
            return Some(lloyd(&cols, &center, n, p.k, init.concat(), p.max_iter, tol));
        }
        let mut best: Option<Run> = None;
        for run in 0..p.n_init {
            let mut rng = Rng::for_stream(p.seed, run as u64);
            let init = seed_centroids(&x, n, d, p.k, &mut rng);
            let r = lloyd(&cols, &center, n, p.k, init, p.max_iter, tol);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic, awkward data: duplicates (ties between centroids), negatives, a count
    /// that is not a multiple of the group or block sizes.
    fn data(d: usize, n: usize) -> Vec<Vec<f64>> {
        (0..d)
            .map(|j| (0..n).map(|i| (((i * 37 + j * 11) % 23) as f64 - 11.0) * 0.5).collect())
            .collect()
    }

    fn scan_all(cols: &[Vec<f64>], n: usize, cen: &[f64], general: bool, dispatched: bool) -> Vec<(usize, u64)> {
        let mut out = Vec::new();
        let mut sink = |_: usize, l: usize, t: f64| out.push((l, t.to_bits()));
        match (general, dispatched) {
            (true, _) => scan_general(cols, 0, n, cen, &mut sink),
            (false, false) => scan(cols, 0, n, cen, &mut sink),
            (false, true) => dispatch(|| scan(cols, 0, n, cen, &mut sink)),
        }
        out
    }

    #[test]
    fn specialized_dispatched_and_general_kernels_agree_to_the_bit() {
        for d in 1..=5 {
            let n = 2 * BLOCK + 13;
            let cols = data(d, n);
            // Centroids on data points (exact ties) and off them.
            let cen: Vec<f64> = (0..5)
                .flat_map(|c| {
                    (0..d).map(move |j| {
                        if c < 3 {
                            ((c * 3 + j) % 5) as f64 - 2.0
                        } else {
                            0.25 * c as f64
                        }
                    })
                })
                .collect();
            let general = scan_all(&cols, n, &cen, true, false);
            assert_eq!(general.len(), n);
            assert_eq!(scan_all(&cols, n, &cen, false, false), general, "d = {d}");
            assert_eq!(scan_all(&cols, n, &cen, false, true), general, "d = {d}");
            // Against a plain reference: nearest centroid, lowest index on ties.
            for (i, &(l, t)) in general.iter().enumerate() {
                let dist = |c: usize| (0..d).fold(0.0, |s, j| s + (cols[j][i] - cen[c * d + j]).powi(2));
                let best = (0..5).fold(0, |b, c| if dist(c) < dist(b) { c } else { b });
                assert_eq!((l, t), (best, dist(best).to_bits()), "d = {d}, point {i}");
            }
        }
    }

    /// One Lloyd step over all of `cols` with a memo (labels, partials) of its own.
    fn step_with(
        cols: &[Vec<f64>],
        cen: &[f64],
        k: usize,
        memo: &mut (Vec<u32>, Vec<f64>),
        first: bool,
        dispatched: bool,
    ) -> (Vec<f64>, Vec<u64>) {
        let n = cols[0].len();
        let (labels, partials) = memo;
        let mut run = || {
            step(
                cols,
                0,
                n,
                cen,
                k,
                Memo {
                    labels,
                    partials,
                    first,
                    center: &[],
                },
            )
        };
        if dispatched { dispatch(run) } else { run() }
    }

    fn fresh_memo(n: usize, k: usize, d: usize) -> (Vec<u32>, Vec<f64>) {
        (vec![0; n], vec![0.0; n.div_ceil(BLOCK_POINTS) * k * (d + 1)])
    }

    /// Both ways of adding a block's points: a masked pass per cluster, and point by point.
    const KS: [usize; 2] = [4, MASKED_MAX_K + 3];

    #[test]
    fn one_pass_step_gives_the_sums_and_counts_of_the_nearest_centroids() {
        for (d, k) in (1..=5).flat_map(|d| KS.map(|k| (d, k))) {
            let n = 3 * BLOCK_POINTS + 13;
            let cols = data(d, n);
            let cen: Vec<f64> = (0..k * d).map(|v| (v % 7) as f64 - 2.5).collect();
            let (sums, counts) = step_with(&cols, &cen, k, &mut fresh_memo(n, k, d), true, false);
            // Reference: the nearest centroid of every point, its sums in any order.
            let dist = |i: usize, c: usize| (0..d).fold(0.0, |s, j| s + (cols[j][i] - cen[c * d + j]).powi(2));
            let mut want = vec![0.0; k * d];
            let mut want_n = vec![0u64; k];
            (0..n).for_each(|i| {
                let l = (0..k).fold(0, |b, c| if dist(i, c) < dist(i, b) { c } else { b });
                for j in 0..d {
                    want[l * d + j] += cols[j][i];
                }
                want_n[l] += 1;
            });
            assert_eq!(counts, want_n, "d = {d}, k = {k}");
            for (a, b) in sums.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "d = {d}, k = {k}: {a} vs {b}");
            }
            // Every instruction set gives the same bits.
            let again = step_with(&cols, &cen, k, &mut fresh_memo(n, k, d), true, true);
            assert_eq!(again, (sums, counts), "d = {d}, k = {k}");
        }
    }

    #[test]
    fn reused_block_partials_give_the_bits_of_a_fresh_step() {
        for (d, k) in (1..=4).flat_map(|d| KS.map(|k| (d, k))) {
            let n = 5 * BLOCK_POINTS + 7;
            // Blocks further along lie further out on feature 0, so a centroid that moves
            // out there changes the labels of some blocks and not of the first one.
            let mut cols = data(d, n);
            for (i, v) in cols[0].iter_mut().enumerate() {
                *v += (i / BLOCK_POINTS) as f64 * 4.0;
            }
            let at = |far: f64| -> Vec<f64> {
                let c0 = |c: usize| if c == 2 { far } else { 8.0 * c as f64 };
                (0..k)
                    .flat_map(|c| (0..d).map(move |j| if j > 0 { 0.0 } else { c0(c) }))
                    .collect()
            };
            let mut memo = fresh_memo(n, k, d);
            let first = step_with(&cols, &at(16.0), k, &mut memo, true, true);
            let before = memo.0.clone();
            // Same centroids: every block is reused.
            assert_eq!(
                step_with(&cols, &at(16.0), k, &mut memo, false, true),
                first,
                "d = {d}, k = {k}"
            );
            // One centroid moved: the result and labels must be those of a fresh step.
            let reused = step_with(&cols, &at(13.0), k, &mut memo, false, true);
            let mut fresh = fresh_memo(n, k, d);
            let want = step_with(&cols, &at(13.0), k, &mut fresh, true, true);
            assert_eq!(reused, want, "d = {d}, k = {k}");
            assert_eq!(memo.0, fresh.0, "d = {d}, k = {k}");
            assert_ne!(memo.0, before, "d = {d}, k = {k}: some points should move");
            assert_eq!(
                memo.0[..BLOCK_POINTS],
                before[..BLOCK_POINTS],
                "d = {d}, k = {k}: the first block should not"
            );
        }
    }

    #[test]
    fn runs_that_keep_no_partials_give_the_means_of_fresh_steps() {
        // k × (d + 1) above MEMO_MAX_WIDTH: every block is recomputed in every iteration.
        let d = 3;
        let k = MEMO_MAX_WIDTH / (d + 1) + 1;
        let n = 3 * CHUNK + 77;
        let cols = data(d, n);
        let cen: Vec<f64> = (0..k * d).map(|v| ((v * 7) % 23) as f64 * 0.5 - 5.5).collect();
        let one = lloyd(&cols, &[0.0; 3], n, k, cen.clone(), 1, 0.0);
        let (sums, counts) = step_with(&cols, &cen, k, &mut fresh_memo(n, k, d), true, false);
        let mut compared = 0;
        for c in (0..k).filter(|&c| counts[c] > 0) {
            for j in 0..d {
                let want = sums[c * d + j] / counts[c] as f64;
                let got = one.1[c * d + j];
                assert!(
                    (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                    "cluster {c}: {got} vs {want}"
                );
                compared += 1;
            }
        }
        assert!(compared > 0);
        // And the same run twice gives the same bits.
        let twice = (
            lloyd(&cols, &[0.0; 3], n, k, cen.clone(), 5, 0.0),
            lloyd(&cols, &[0.0; 3], n, k, cen, 5, 0.0),
        );
        assert_eq!((&twice.0.0, &twice.0.1), (&twice.1.0, &twice.1.1));
    }
}
