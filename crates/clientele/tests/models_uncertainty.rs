//! Parameter intervals and delta-method intervals of predictions, on CDNOW.
//!
//! - The BG/NBD standard errors are those `lifetimes` prints for CDNOW (its README's
//!   `bgf.summary`: se 0.01, 0.38, 0.19, 0.71 for r, alpha, a, b, to two decimals).
//! - The per-customer intervals are checked against Monte Carlo: parameters drawn from the
//!   normal approximation N(θ̂, Σ) on the log scale (seeded), predictions computed for each
//!   draw; the spread of ln E[Y(t) | history] matches the delta method's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::sync::OnceLock;

use arrow_array::RecordBatch;
use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use clientele::models::clv::Discounting;
use clientele::models::scores::Histories;
use clientele::models::uncertainty::{parameter_intervals, score_intervals, z_of_level};
use clientele::models::{BgNbd, BgNbdParams, FittedModel, GammaGammaParams, ParetoNbdParams, RfmData, SpendData};
use common::*;

fn cdnow() -> &'static RecordBatch {
    static S: OnceLock<RecordBatch> = OnceLock::new();
    S.get_or_init(|| {
        let (store, _) = cdnow_store();
        let p = SummaryParams::new(date(1997, 9, 30))
            .period(Period::Day)
            .time_unit(TimeUnit::Week);
        summarize(&store, &p.validate().unwrap(), &Parallelism::current()).unwrap()
    })
}

fn bgnbd() -> FittedModel {
    let d = RfmData::from_summary(cdnow()).unwrap();
    FittedModel::BgNbd(BgNbdParams::new().validate().unwrap().fit(&d).unwrap())
}

#[test]
fn bgnbd_standard_errors_match_lifetimes_and_intervals_are_log_scale() {
    let m = bgnbd();
    let rows = parameter_intervals(&m, 0.95).unwrap();
    // lifetimes' README (CDNOW, BetaGeoFitter): se(coef) 0.01, 0.38, 0.19, 0.71
    for (p, want) in rows.iter().zip([0.01, 0.38, 0.19, 0.71]) {
        let se = p.standard_error.unwrap();
        assert!((se - want).abs() <= 0.005, "{}: se {se} vs lifetimes {want}", p.name);
        let z = z_of_level(0.95).unwrap();
        let (lo, hi) = (p.lower.unwrap(), p.upper.unwrap());
        assert!((lo - p.estimate * (-z * se / p.estimate).exp()).abs() < 1e-12 * p.estimate);
        assert!((hi - p.estimate * (z * se / p.estimate).exp()).abs() < 1e-12 * p.estimate);
        assert!(lo > 0.0 && lo < p.estimate && p.estimate < hi);
    }
    // a wider level gives a wider interval; a model given by hand has none
    let wide = parameter_intervals(&m, 0.99).unwrap();
    assert!(wide[0].lower.unwrap() < rows[0].lower.unwrap() && wide[0].upper.unwrap() > rows[0].upper.unwrap());
    let given = FittedModel::BgNbd(BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap());
    assert!(
        parameter_intervals(&given, 0.95)
            .unwrap()
            .iter()
            .all(|p| p.lower.is_none())
    );
    assert!(parameter_intervals(&m, 1.0).is_err());
}

/// A seeded xorshift generator with Box-Muller normals (test-local).
struct Normals(u64);
impl Normals {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Lower-triangular Cholesky factor of a small SPD matrix.
fn cholesky(a: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            l[i][j] = if i == j { s.sqrt() } else { s / l[j][j] };
        }
    }
    l
}

#[test]
fn delta_method_intervals_match_monte_carlo_on_cdnow() {
    let s = cdnow();
    let (x, tx, t) = (f64s(s, "frequency"), f64s(s, "recency"), f64s(s, "T"));
    // six histories: one-time buyers young and old, regular and lapsed repeat buyers
    let pick: Vec<usize> = [
        (0.0, 0.0),
        (1.0, 2.0),
        (2.0, 30.0),
        (5.0, 35.0),
        (3.0, 8.0),
        (10.0, 38.0),
    ]
    .iter()
    .map(|&(fx, ftx)| {
        (0..x.len())
            .min_by(|&a, &b| {
                let d = |i: usize| (x[i] - fx).abs() * 100.0 + (tx[i] - ftx).abs();
                d(a).total_cmp(&d(b))
            })
            .unwrap()
    })
    .collect();
    let (px, ptx, pt): (Vec<f64>, Vec<f64>, Vec<f64>) = (
        pick.iter().map(|&i| x[i]).collect(),
        pick.iter().map(|&i| tx[i]).collect(),
        pick.iter().map(|&i| t[i]).collect(),
    );
    let zeros = vec![0.0; px.len()];
    let h = Histories {
        frequency: &px,
        recency: &ptx,
        t: &pt,
        monetary_value: &zeros,
    };
    let d = Discounting::DiscreteMonthly {
        months: 12,
        monthly_rate: 0.01,
        time_units_per_month: 4.345,
    };
    let data = RfmData::from_summary(cdnow()).unwrap();
    let pnbd = FittedModel::ParetoNbd(ParetoNbdParams::new().validate().unwrap().fit(&data).unwrap());
    for model in [bgnbd(), pnbd] {
        let level = 0.9;
        let iv = score_intervals(&model, None, &h, 39.0, &d, level).unwrap();
        let z = z_of_level(level).unwrap();
        let point = clientele::pipeline::expected_purchases_of(&model, 39.0, &px, &ptx, &pt).unwrap();
        let cov = model.diagnostics().unwrap().covariance.clone().unwrap();
        let l = cholesky(&cov);
        let theta: Vec<f64> = model.params().iter().map(|p| p.1.ln()).collect();
        let mut g = Normals(0x9E37_79B9_7F4A_7C15);
        let draws = 4000;
        let mut ln_e = vec![Vec::with_capacity(draws); px.len()];
        for _ in 0..draws {
            let e: Vec<f64> = (0..theta.len()).map(|_| g.normal()).collect();
            let th: Vec<f64> = (0..theta.len())
                .map(|i| theta[i] + (0..=i).map(|k| l[i][k] * e[k]).sum::<f64>())
                .collect();
            let p: Vec<f64> = th.iter().map(|v| v.exp()).collect();
            let m = match &model {
                FittedModel::BgNbd(_) => FittedModel::BgNbd(BgNbd::new(p[0], p[1], p[2], p[3]).unwrap()),
                FittedModel::ParetoNbd(_) => {
                    FittedModel::ParetoNbd(clientele::models::ParetoNbd::new(p[0], p[1], p[2], p[3]).unwrap())
                }
                _ => unreachable!(),
            };
            let v = clientele::pipeline::expected_purchases_of(&m, 39.0, &px, &ptx, &pt).unwrap();
            for (acc, v) in ln_e.iter_mut().zip(v) {
                acc.push(v.ln());
            }
        }
        for (i, draws) in ln_e.iter().enumerate() {
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            let sd_mc = (draws.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (draws.len() - 1) as f64).sqrt();
            let sd_delta = (iv.expected_purchases.upper[i] / point[i]).ln() / z;
            assert!(
                (sd_delta / sd_mc - 1.0).abs() < 0.08,
                "{} history {:?}: delta sd {sd_delta} vs Monte Carlo {sd_mc}",
                model.kind(),
                (px[i], ptx[i], pt[i])
            );
            assert!(iv.expected_purchases.lower[i] < point[i] && point[i] < iv.expected_purchases.upper[i]);
        }
    }
}

#[test]
fn clv_intervals_combine_the_purchase_and_spend_models() {
    let s = cdnow();
    let (x, tx, t, m) = (
        f64s(s, "frequency"),
        f64s(s, "recency"),
        f64s(s, "T"),
        f64s(s, "monetary_value"),
    );
    let bg = bgnbd();
    let gg = GammaGammaParams::new()
        .validate()
        .unwrap()
        .fit(&SpendData::from_slices(&x, &m, None).unwrap())
        .unwrap();
    let h = Histories {
        frequency: &x,
        recency: &tx,
        t: &t,
        monetary_value: &m,
    };
    let d = Discounting::DiscreteMonthly {
        months: 12,
        monthly_rate: 0.01,
        time_units_per_month: 4.345,
    };
    let with_spend = score_intervals(&bg, Some(&gg), &h, 52.0, &d, 0.95).unwrap();
    let FittedModel::BgNbd(b) = &bg else { unreachable!() };
    let scores = clientele::models::scores::score_customers(b, &gg, &h, 52.0, &d).unwrap();
    for i in 0..x.len() {
        let (lo, hi, v) = (with_spend.clv.lower[i], with_spend.clv.upper[i], scores.clv[i]);
        assert!(lo <= v && v <= hi, "row {i}: {lo} {v} {hi}");
        // the CLV interval is at least as wide (in log terms) as the purchase part alone
        let purchase_only = (with_spend.expected_purchases.upper[i] / scores.expected_purchases[i]).ln();
        assert!((hi / v).ln() >= 0.0 && purchase_only >= 0.0);
    }
    // a spend model without covariance is refused by name
    let given = clientele::models::GammaGamma::new(6.25, 3.74, 15.44).unwrap();
    let e = score_intervals(&bg, Some(&given), &h, 52.0, &d, 0.95).unwrap_err();
    assert!(e.to_string().contains("no parameter covariance"), "{e}");
}
