//! Timing of the model pipeline on one million synthetic customers (ignored by default; run with
//! `cargo test -p clientele --test models_perf -- --ignored --nocapture`). The reference is the
//! `lifetimes` pipeline (summary + BG/NBD fit + Gamma-Gamma fit + 52-week predictions + 12-month
//! CLV) at 27 s for 1M customers on the project machine; this measures everything after the summary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::Instant;

use clientele::models::clv::{Discounting, WEEKS_PER_MONTH, customer_lifetime_value};
use clientele::models::{BgNbdParams, GammaGammaParams, RfmData, SpendData};

/// A small deterministic generator (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn exp(&mut self, rate: f64) -> f64 {
        -(1.0 - self.next()).ln() / rate
    }
}

/// BG/NBD histories in whole days, expressed in weeks: λ and p drawn from a few fixed classes.
fn synthetic(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = Rng(7);
    let (mut x, mut tx, mut t, mut m) = (vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let days = 180 + (rng.next() * 540.0) as i64; // first purchase 180..720 days before the end
        let lam = [0.02, 0.1, 0.3, 0.8][(rng.next() * 4.0) as usize] / 7.0; // per day
        let p = [0.05, 0.2, 0.5][(rng.next() * 3.0) as usize];
        let (mut now, mut k, mut last) = (0.0, 0u32, 0.0);
        loop {
            now += rng.exp(lam);
            if now >= days as f64 {
                break;
            }
            k += 1;
            last = now.floor();
            if rng.next() < p {
                break;
            }
        }
        x.push(f64::from(k));
        tx.push(if k == 0 { 0.0 } else { last / 7.0 });
        t.push(days as f64 / 7.0);
        m.push(if k == 0 {
            0.0
        } else {
            ((5.0 + rng.next() * 100.0) * 100.0).round() / 100.0 // cents: few (x, m̄) rows coincide
        });
    }
    (x, tx, t, m)
}

#[test]
#[ignore]
fn one_million_customers() {
    let (x, tx, t, m) = synthetic(1_000_000);
    let t0 = Instant::now();
    let d = RfmData::from_slices(&x, &tx, &t, None).unwrap();
    let t1 = Instant::now();
    let bg = BgNbdParams::new().validate().unwrap().fit(&d).unwrap();
    let t2 = Instant::now();
    let sd = SpendData::from_slices(&x, &m, None).unwrap();
    let t2b = Instant::now();
    let gg = GammaGammaParams::new().validate().unwrap().fit(&sd).unwrap();
    let t3 = Instant::now();
    let e52 = bg.conditional_expected_purchases_batch(52.0, &x, &tx, &t).unwrap();
    let pa = bg.p_alive_batch(&x, &tx, &t).unwrap();
    let t4 = Instant::now();
    let disc = Discounting::DiscreteMonthly {
        months: 12,
        monthly_rate: 0.01,
        time_units_per_month: WEEKS_PER_MONTH,
    };
    let clv = customer_lifetime_value(&bg, &gg, &x, &tx, &t, &m, &disc, None).unwrap();
    let t5 = Instant::now();
    eprintln!(
        "rows {} -> {} distinct; compress {:?}, BG/NBD fit {:?} ({} it), spend rows {:?}, GG fit {:?}, E[Y(52)]+P(alive) {:?}, CLV {:?}; total {:?}",
        x.len(),
        d.len(),
        t1 - t0,
        t2 - t1,
        bg.diagnostics.as_ref().unwrap().iterations,
        t2b - t2,
        t3 - t2b,
        t4 - t3,
        t5 - t4,
        t5 - t0
    );
    eprintln!(
        "params r={} alpha={} a={} b={}; p={} q={} gamma={}",
        bg.r, bg.alpha, bg.a, bg.b, gg.p, gg.q, gg.gamma
    );
    eprintln!("bg: {}", bg.diagnostics.as_ref().unwrap());
    eprintln!("gg: {} ({} spend rows)", gg.diagnostics.as_ref().unwrap(), sd.len());
    assert!(e52.iter().chain(&pa).chain(&clv.gross).all(|v| v.is_finite()));
}
