//! CLV conventions: the lifetimes / pymc-marketing discrete monthly sum, checked against a hand
//! computation from the purchase model's own conditional expectations, and the guard rails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use clientele::Error;
use clientele::exec::Parallelism;
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use clientele::models::clv::{
    DAYS_PER_MONTH, Discounting, WEEKS_PER_MONTH, customer_lifetime_value, discounted_purchases,
};
use clientele::models::{BgNbd, GammaGamma};
use clientele::models::{BgNbdParams, GammaGammaParams, RfmData, SpendData};
use common::*;

fn models() -> (BgNbd, GammaGamma) {
    // Published CDNOW estimates: FHL 2005 (weeks) and Fader & Hardie 2013.
    (
        BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap(),
        GammaGamma::new(6.25, 3.74, 15.44).unwrap(),
    )
}

const X: [f64; 4] = [2.0, 0.0, 26.0, 7.0];
const TX: [f64; 4] = [30.43, 0.0, 30.85714, 29.43];
const T: [f64; 4] = [38.86, 38.86, 31.0, 38.86];
const M: [f64; 4] = [22.35, 0.0, 40.0, 73.74];

#[test]
fn discrete_monthly_matches_a_hand_computation() {
    let (bg, gg) = models();
    let d = Discounting::DiscreteMonthly {
        months: 12,
        monthly_rate: 0.01,
        time_units_per_month: WEEKS_PER_MONTH,
    };
    let out = customer_lifetime_value(&bg, &gg, &X, &TX, &T, &M, &d, None).unwrap();
    for i in 0..X.len() {
        let em = gg.p * (gg.gamma + X[i] * if X[i] > 0.0 { M[i] } else { 0.0 }) / (gg.p * X[i] + gg.q - 1.0);
        let mut hand = 0.0;
        for m in 1..=12 {
            let e1 = bg
                .conditional_expected_purchases(m as f64 * 4.345, X[i], TX[i], T[i])
                .unwrap();
            let e0 = bg
                .conditional_expected_purchases((m - 1) as f64 * 4.345, X[i], TX[i], T[i])
                .unwrap();
            hand += (e1 - e0) * em / 1.01f64.powi(m);
        }
        assert!(
            (out.gross[i] - hand).abs() <= 1e-10 * hand,
            "customer {i}: {} vs {hand}",
            out.gross[i]
        );
        assert!((out.expected_spend[i] - em).abs() < 1e-12);
        assert!((out.gross[i] - out.discounted_purchases[i] * em).abs() < 1e-9);
    }
    assert!(out.net.is_none());
}

#[test]
fn without_discounting_the_sum_telescopes() {
    let (bg, _) = models();
    for (k, months) in [(WEEKS_PER_MONTH, 12u32), (DAYS_PER_MONTH / 7.0, 24)] {
        let d = Discounting::DiscreteMonthly {
            months,
            monthly_rate: 0.0,
            time_units_per_month: k,
        };
        let got = discounted_purchases(&bg, 2.0, 30.43, 38.86, &d).unwrap();
        let want = bg
            .conditional_expected_purchases(f64::from(months) * k, 2.0, 30.43, 38.86)
            .unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
}

#[test]
fn discounting_lowers_value_and_costs_give_net() {
    let (bg, gg) = models();
    let mk = |rate| Discounting::DiscreteMonthly {
        months: 24,
        monthly_rate: rate,
        time_units_per_month: WEEKS_PER_MONTH,
    };
    let cost = [5.0, 5.0, 5.0, 5.0];
    let low = customer_lifetime_value(&bg, &gg, &X, &TX, &T, &M, &mk(0.0), Some(&cost)).unwrap();
    let high = customer_lifetime_value(&bg, &gg, &X, &TX, &T, &M, &mk(0.05), Some(&cost)).unwrap();
    for i in 0..X.len() {
        assert!(high.gross[i] < low.gross[i]);
        assert!((low.net.as_ref().unwrap()[i] - (low.gross[i] - 5.0)).abs() < 1e-12);
    }
}

#[test]
fn conventions_and_inputs_are_checked() {
    let (bg, gg) = models();
    // BG/NBD has no DERT: the continuous convention is refused, not silently replaced
    let c = Discounting::Continuous {
        rate_per_time_unit: 0.0027,
    };
    let e = customer_lifetime_value(&bg, &gg, &X, &TX, &T, &M, &c, None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                field: "discounting",
                ..
            }
        ),
        "{e}"
    );
    let bad = Discounting::DiscreteMonthly {
        months: 0,
        monthly_rate: 0.01,
        time_units_per_month: 4.345,
    };
    assert!(matches!(
        discounted_purchases(&bg, 1.0, 1.0, 2.0, &bad),
        Err(Error::InvalidParameter { field: "months", .. })
    ));
    let bad = Discounting::DiscreteMonthly {
        months: 3,
        monthly_rate: -1.0,
        time_units_per_month: 4.345,
    };
    assert!(discounted_purchases(&bg, 1.0, 1.0, 2.0, &bad).is_err());
    let ok = Discounting::DiscreteMonthly {
        months: 3,
        monthly_rate: 0.01,
        time_units_per_month: 4.345,
    };
    assert!(customer_lifetime_value(&bg, &gg, &X, &TX, &T, &M[..2], &ok, None).is_err());
    let e = customer_lifetime_value(&bg, &gg, &X, &TX, &T, &M, &ok, Some(&[0.0, f64::NAN, 0.0, 0.0])).unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidModelData {
            column: "cost",
            row: 1,
            ..
        }
    ));
    // the convention is serialisable with its name
    let json = serde_json::to_string(&ok).unwrap();
    assert!(json.contains("\"convention\":\"discrete_monthly\""), "{json}");
}

#[test]
fn lifetimes_readme_example() {
    // The `lifetimes` 0.11.3 README quickstart: BG/NBD and Gamma-Gamma fitted on the weekly CDNOW
    // summary, then `customer_lifetime_value(..., time=12, discount_rate=0.01)` with that
    // function's default `freq="D"`, i.e. 30 model time units (here: weeks) per "month". The
    // README lists customers 1, 2, 3, 6, 7 of its summary = master ids 4, 21, 50, 111, 112.
    let (store, _) = cdnow_store();
    let p = SummaryParams::new(date(1997, 9, 30))
        .observation_end(date(1998, 6, 30))
        .period(Period::Day)
        .time_unit(TimeUnit::Week);
    let s = summarize(&store, &p.validate().unwrap(), &Parallelism::current()).unwrap();
    let bg = BgNbdParams::new()
        .validate()
        .unwrap()
        .fit(&RfmData::from_summary(&s).unwrap())
        .unwrap();
    let gg = GammaGammaParams::new()
        .validate()
        .unwrap()
        .fit(&SpendData::from_summary(&s).unwrap())
        .unwrap();
    let (x, tx, t, m) = (
        f64s(&s, "frequency"),
        f64s(&s, "recency"),
        f64s(&s, "T"),
        f64s(&s, "monetary_value"),
    );
    let ids = i64s(&s, "customer_id");
    let d = Discounting::DiscreteMonthly {
        months: 12,
        monthly_rate: 0.01,
        time_units_per_month: DAYS_PER_MONTH,
    };
    let out = customer_lifetime_value(&bg, &gg, &x, &tx, &t, &m, &d, None).unwrap();
    for (id, want) in [
        (4, 140.096218),
        (21, 18.943466),
        (50, 38.180575),
        (111, 1003.868107),
        (112, 28.109683),
    ] {
        let i = ids.iter().position(|v| *v == id).unwrap();
        // rtol 1e-3: lifetimes' Gamma-Gamma estimates differ from the maximum in the 4th digit
        assert!(
            (out.gross[i] - want).abs() <= 1e-3 * want,
            "id {id}: {} vs {want}",
            out.gross[i]
        );
    }
}
