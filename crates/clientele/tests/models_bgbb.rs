//! BG/BB on the donations data (Fader, Hardie & Shang 2010, "Customer-base analysis in a
//! discrete-time noncontractual setting", Marketing Science 29(6)): 11,104 supporters, 6 annual
//! opportunities 1996–2001, 22 weighted patterns (`testdata/donations/`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use clientele::models::{BgBb, BgBbData, BgBbParams};

fn donations() -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(common::testdata("donations/donations.csv")).unwrap();
    let mut cols = (vec![], vec![], vec![], vec![]);
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|s| s.trim().parse().unwrap()).collect();
        cols.0.push(v[0]);
        cols.1.push(v[1]);
        cols.2.push(v[2]);
        cols.3.push(v[3]);
    }
    cols
}

#[test]
fn donations_fit_and_published_predictions() {
    let (x, tx, n, w) = donations();
    let d = BgBbData::from_slices(&x, &tx, &n, Some(&w)).unwrap();
    assert_eq!((d.len(), d.customers()), (22, 11_104.0));
    let m = BgBbParams::new().validate().unwrap().fit(&d).unwrap();
    for (got, want, name) in [
        (m.alpha, 1.204, "alpha"),
        (m.beta, 0.750, "beta"),
        (m.gamma, 0.657, "gamma"),
        (m.delta, 2.783, "delta"),
    ] {
        assert!((got - want).abs() <= 5e-4, "{name}: {got} vs {want}");
    }
    let diag = m.diagnostics.as_ref().unwrap();
    assert!(diag.converged);
    assert!(
        (diag.log_likelihood - (-33_225.6)).abs() < 0.05,
        "ll {}",
        diag.log_likelihood
    );

    // P(alive in 2002), i.e. at opportunity 7
    for (x, tx, want) in [(0.0, 0.0, 0.11), (2.0, 4.0, 0.59), (6.0, 6.0, 0.93)] {
        let p = m.p_alive(x, tx, 6.0);
        assert!((p - want).abs() <= 5e-3, "P(alive | {x}, {tx}) = {p}");
    }
    // new-customer expectations, n = 1..11
    let want = [
        0.4985, 0.9233, 1.2969, 1.6323, 1.9381, 2.2202, 2.4826, 2.7285, 2.9603, 3.1798, 3.3887,
    ];
    for (i, e) in want.iter().enumerate() {
        let got = m.expected_purchases((i + 1) as f64);
        assert!((got - e).abs() <= 1e-3 * e, "E[X({})] = {got} vs {e}", i + 1);
    }
    // expected repeat donations 2002–2006 over the cohort
    let e = m.conditional_expected_purchases_batch(5.0, &x, &tx, &n).unwrap();
    let total: f64 = e.iter().zip(&w).map(|(e, w)| e * w).sum();
    assert!((total - 12_884.2).abs() < 0.5, "Σ = {total}");

    let back = BgBb::from_json(&m.to_json().unwrap()).unwrap();
    assert!((back.delta - m.delta).abs() <= 1e-15 * m.delta);
}

#[test]
fn consistency_and_limits() {
    let m = BgBb::new(1.204, 0.750, 0.657, 2.783).unwrap();
    // a new customer: the conditional expectation of (0, 0, 0) is the unconditional one
    for k in 1..8 {
        let k = f64::from(k);
        assert!((m.conditional_expected_purchases(k, 0.0, 0.0, 0.0) - m.expected_purchases(k)).abs() < 1e-12);
    }
    // γ = 1 takes the limiting form and is continuous
    let a = BgBb::new(1.2, 0.8, 1.0, 2.5).unwrap().expected_purchases(6.0);
    let b = BgBb::new(1.2, 0.8, 1.0 + 1e-6, 2.5).unwrap().expected_purchases(6.0);
    assert!((a - b).abs() < 1e-5 * a, "{a} vs {b}");
    // the likelihood sums to 1 over all histories of n = 4 opportunities
    let mut total = 0.0;
    for x in 0..=4u32 {
        for tx in 0..=4u32 {
            if (x == 0) != (tx == 0) || tx < x {
                continue;
            }
            // the number of purchase sequences with x purchases, the last at tx
            let ways = if x == 0 { 1.0 } else { binom(tx - 1, x - 1) };
            total += ways * m.log_likelihood_customer(f64::from(x), f64::from(tx), 4.0).exp();
        }
    }
    assert!((total - 1.0).abs() < 1e-12, "Σ P = {total}");
    // invalid histories
    assert!(BgBbData::from_slices(&[2.0], &[1.0], &[6.0], None).is_err());
    assert!(BgBbData::from_slices(&[1.0], &[0.0], &[6.0], None).is_err());
    assert!(BgBbData::from_slices(&[1.0], &[7.0], &[6.0], None).is_err());
}

fn binom(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
}

#[test]
fn purchase_count_distribution_sums_to_one_and_has_the_model_mean() {
    // FHS 2010's donation estimates.
    let m = clientele::models::BgBb::new(1.204, 0.750, 0.657, 2.783).unwrap();
    for n in [1u32, 2, 6, 11] {
        let p: Vec<f64> = (0..=n + 2).map(|x| m.probability_of_purchases(n, x)).collect();
        assert_eq!(p[n as usize + 1], 0.0);
        let total: f64 = p.iter().sum();
        let mean: f64 = p.iter().enumerate().map(|(x, v)| x as f64 * v).sum();
        assert!((total - 1.0).abs() < 1e-12, "n {n}: total {total}");
        let e = m.expected_purchases(f64::from(n));
        assert!((mean - e).abs() < 1e-10, "n {n}: mean {mean} vs E[X(n)] {e}");
    }
    // One opportunity: P(X(1) = 1) = E[X(1)] = α/(α+β) · δ/(γ+δ) (alive after the first purchase).
    let e1 = 1.204 / (1.204 + 0.750) * 2.783 / (0.657 + 2.783);
    assert!((m.probability_of_purchases(1, 1) - e1).abs() < 1e-12);
}
