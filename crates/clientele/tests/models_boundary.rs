//! Fits whose likelihood has no maximum inside the parameter space: the estimates run to a
//! boundary. They must say so (not "converged"), name the limit model, stop in bounded time,
//! and stay usable for scoring.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use clientele::models::{ParetoNbdParams, RfmData};

/// xorshift64*: a small seeded generator for the simulation.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((v >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn exponential(&mut self, rate: f64) -> f64 {
        -self.uniform().ln() / rate
    }
}

/// Customers who all share one purchase rate and one dropout rate (no heterogeneity), whole
/// weeks: Pareto/NBD's heterogeneity parameters have no finite maximum.
fn homogeneous(n: usize, lambda: f64, mu: f64, seed: u64) -> RfmData {
    let mut rng = Rng(seed);
    let (mut x, mut tx, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let big_t = 20.0 + (i % 81) as f64;
        let alive_until = rng.exponential(mu).min(big_t);
        let (mut now, mut count, mut last) = (0.0, 0.0, 0.0);
        loop {
            now += rng.exponential(lambda);
            if now > alive_until {
                break;
            }
            count += 1.0;
            last = now.floor();
        }
        x.push(count);
        tx.push(if count > 0.0 { last } else { 0.0 });
        t.push(big_t);
    }
    RfmData::from_slices(&x, &tx, &t, None).unwrap()
}

#[test]
fn pareto_nbd_without_dropout_heterogeneity_stops_at_the_boundary_and_says_so() {
    let data = homogeneous(4_000, 0.3, 0.02, 7);
    let m = ParetoNbdParams::new().validate().unwrap().fit(&data).unwrap();
    let d = m.diagnostics.as_ref().unwrap();
    assert!(!d.identified, "{d:?}");
    assert!(!d.boundary.is_empty(), "{d:?}");
    assert!(d.status().starts_with("NOT identified"), "{}", d.status());
    assert!(d.standard_errors.iter().all(Option::is_none), "{d:?}");
    assert!(d.hessian_condition.is_some_and(f64::is_finite), "{d:?}");
    let note = d.note.as_deref().unwrap();
    assert!(note.contains("grow without bound"), "{note}");
    // the limit model is usable: finite, sensible scores
    let p = m.p_alive(2.0, 30.0, 60.0).unwrap();
    assert!(p > 0.0 && p < 1.0, "{p}");
    let e = m.conditional_expected_purchases(52.0, 2.0, 30.0, 60.0).unwrap();
    assert!(e.is_finite() && e >= 0.0, "{e}");
    // a saved boundary fit reads back with its diagnostics
    let again = clientele::models::ParetoNbd::from_json(&m.to_json().unwrap()).unwrap();
    assert_eq!(again.diagnostics.as_ref().unwrap().note.as_deref(), Some(note));
}
