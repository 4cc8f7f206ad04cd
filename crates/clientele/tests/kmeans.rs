//! k-means: recovers separated clusters, is deterministic for a seed whatever the thread
//! count, reports the inertia it computes, and suggests k by the elbow.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use clientele::exec::Parallelism;
use clientele::kernels::kmeans::{KMeansParams, choose_k, fit};

/// Three blobs in 2-D around (0, 0), (10, 0) and (0, 10), 4,000 points each, with a small
/// deterministic jitter.
fn blobs() -> Vec<Vec<f64>> {
    let centres = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)];
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for i in 0..12_000usize {
        let (cx, cy) = centres[i % 3];
        let a = (i as f64 * 0.618_033_988_75).fract() - 0.5;
        let b = (i as f64 * 0.754_877_666_25).fract() - 0.5;
        xs.push(cx + a);
        ys.push(cy + b);
    }
    vec![xs, ys]
}

#[test]
fn recovers_separated_clusters() {
    let x = blobs();
    let f = fit(
        &x,
        &KMeansParams::default().k(3).seed(7).validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap();
    let mut sizes = f.sizes.clone();
    sizes.sort();
    assert_eq!(sizes, [4_000, 4_000, 4_000]);
    // Points generated from the same centre share a label.
    for i in 3..12_000 {
        assert_eq!(f.labels[i], f.labels[i % 3]);
    }
    assert!(f.converged);
    assert!(f.silhouette.unwrap() > 0.85, "{:?}", f.silhouette);
    // Centroids in original units are the blob centres.
    let mut c: Vec<(i64, i64)> = f
        .centroids_original
        .iter()
        .map(|c| (c[0].round() as i64, c[1].round() as i64))
        .collect();
    c.sort();
    assert_eq!(c, [(0, 0), (0, 10), (10, 0)]);
}

#[test]
fn same_seed_same_result_whatever_the_thread_count() {
    let mut x = blobs();
    // Make the problem less trivial: a fourth, overlapping feature.
    x.push((0..12_000).map(|i| ((i * 7919) % 101) as f64).collect());
    // A silhouette sample smaller than the data exercises the seeded sampling too.
    let cfg = KMeansParams {
        silhouette_sample: 400,
        ..KMeansParams::default().k(8).seed(42)
    }
    .validate()
    .unwrap();
    let one = fit(&x, &cfg, &Parallelism::threads(1).unwrap()).unwrap();
    let three = fit(&x, &cfg, &Parallelism::threads(3).unwrap()).unwrap();
    assert_eq!(one, three);
    let other = fit(
        &x,
        &KMeansParams::default().k(8).seed(43).validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap();
    assert_eq!(other.labels.len(), one.labels.len());
}

#[test]
fn inertia_is_the_sum_of_squared_distances_in_standardized_units() {
    let x = blobs();
    let f = fit(
        &x,
        &KMeansParams::default().k(4).seed(1).validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap();
    let mut sse = 0.0;
    for i in 0..12_000 {
        let c = &f.centroids[f.labels[i] as usize];
        for (j, col) in x.iter().enumerate() {
            let (m, s) = f.scaling[j];
            sse += ((col[i] - m) / s - c[j]).powi(2);
        }
    }
    assert!((sse - f.inertia).abs() <= 1e-9 * sse.max(1.0), "{sse} vs {}", f.inertia);
}

#[test]
fn elbow_suggests_three_for_three_blobs() {
    let (curve, k) = choose_k(
        &blobs(),
        1..=8,
        &KMeansParams::default().seed(3),
        &Parallelism::current(),
    )
    .unwrap();
    assert_eq!(curve.len(), 8);
    assert!(curve.windows(2).all(|w| w[1].1 <= w[0].1 * 1.0001), "{curve:?}");
    assert_eq!(k, 3, "{curve:?}");
}

#[test]
fn invalid_input_is_an_error() {
    use clientele::Error;
    assert!(matches!(
        KMeansParams::default().k(0).validate(),
        Err(Error::InvalidParameter { field: "k", .. })
    ));
    let small = vec![vec![1.0, 2.0]];
    let e = fit(
        &small,
        &KMeansParams::default().k(3).validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { field: "k", .. }));
    let bad = vec![vec![1.0, f64::NAN, 3.0]];
    let e = fit(
        &bad,
        &KMeansParams::default().k(1).validate().unwrap(),
        &Parallelism::current(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { field: "features", .. }));
}

#[test]
fn explicit_initial_centroids_by_hand() {
    // Points 0, 1, 10, 11 (no standardization), started from centroids 0 and 1:
    // iteration 1 puts 1, 10, 11 together (centroid 22/3), iteration 2 moves 1 back
    // (centroids 0.5 and 10.5), iteration 3 changes nothing. Inertia 4 × 0.25.
    let x = vec![vec![0.0, 1.0, 10.0, 11.0]];
    let params = KMeansParams {
        standardize: false,
        silhouette_sample: 0,
        ..KMeansParams::default().k(2).tol(0.0).init(vec![vec![0.0], vec![1.0]])
    };
    let f = fit(&x, &params.validate().unwrap(), &Parallelism::current()).unwrap();
    assert_eq!(f.centroids, [vec![0.5], vec![10.5]]);
    assert_eq!(f.labels, [0, 0, 1, 1]);
    assert_eq!(f.inertia, 1.0);
    assert_eq!(f.iterations, 3);
    assert!(f.converged);
    // The iteration cap stops it after the first update.
    let capped = KMeansParams {
        standardize: false,
        ..params.clone().max_iter(1)
    };
    let f = fit(&x, &capped.validate().unwrap(), &Parallelism::current()).unwrap();
    assert!(!f.converged);
    assert!((f.centroids[1][0] - 22.0 / 3.0).abs() < 1e-12);
    // Validation names the field.
    let err = KMeansParams::default()
        .k(3)
        .init(vec![vec![0.0]; 2])
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("`init`"), "{err}");
    let err = fit(
        &x,
        &KMeansParams::default()
            .k(2)
            .init(vec![vec![0.0, 1.0], vec![1.0, 0.0]])
            .validate()
            .unwrap(),
        &Parallelism::current(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("there are 1 features"), "{err}");
}

#[test]
fn several_empty_clusters_take_distinct_far_points() {
    // Three identical starting centroids at 0: every point joins cluster 0 (ties go to the lower
    // index), clusters 1 and 2 are empty and take the two farthest points, 11 and then 10.
    // Iteration 2 settles at 0.5, 11, 10: inertia 0.25 + 0.25.
    let x = vec![vec![0.0, 1.0, 10.0, 11.0]];
    let params = KMeansParams {
        standardize: false,
        silhouette_sample: 0,
        ..KMeansParams::default().k(3).tol(0.0).init(vec![vec![0.0]; 3])
    };
    let f = fit(&x, &params.validate().unwrap(), &Parallelism::current()).unwrap();
    assert_eq!(f.centroids, [vec![0.5], vec![11.0], vec![10.0]]);
    assert_eq!(f.sizes, [2, 1, 1]);
    assert_eq!(f.inertia, 0.5);
}

#[test]
fn unstandardized_features_far_from_zero_keep_their_digits() {
    // Two groups 10 apart around 1e10, not standardized: compared in the expanded form without
    // centring, ‖c‖² ≈ 1e20 would leave about 2e4 units of rounding, and points would land in
    // the wrong group.
    let n = 3_000;
    let x: Vec<f64> = (0..n)
        .map(|i| 1e10 + if i % 2 == 0 { 0.0 } else { 10.0 } + ((i * 7) % 13) as f64 * 0.3)
        .collect();
    let params = KMeansParams {
        standardize: false,
        silhouette_sample: 0,
        ..KMeansParams::default()
            .k(2)
            .init(vec![vec![1e10 + 1.0], vec![1e10 + 9.0]])
    };
    let f = fit(
        std::slice::from_ref(&x),
        &params.validate().unwrap(),
        &Parallelism::threads(2).unwrap(),
    )
    .unwrap();
    assert!(f.converged);
    for (i, &v) in x.iter().enumerate() {
        let (d0, d1) = ((v - f.centroids[0][0]).abs(), (v - f.centroids[1][0]).abs());
        let want = u32::from(d1 < d0);
        assert_eq!(f.labels[i], want, "point {i} = {v}: centroids {:?}", f.centroids);
        assert_eq!(
            f.labels[i],
            (i % 2) as u32,
            "point {i}: centroids {:?}, sizes {:?}",
            f.centroids,
            f.sizes
        );
    }
    // The centroids are the means of their points (sums of 1,500 values near 1e10).
    let mean = |odd: usize| {
        let pts: Vec<f64> = x.iter().copied().skip(odd).step_by(2).collect();
        pts.iter().sum::<f64>() / pts.len() as f64
    };
    assert!((f.centroids[0][0] - mean(0)).abs() < 1e-3);
    assert!((f.centroids[1][0] - mean(1)).abs() < 1e-3);
}
