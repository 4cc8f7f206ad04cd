//! Money in exact integer nano-units: the one conversion from amounts and the one rounding to
//! cents that every kernel, view and saved rollup uses (a ground type: it uses nothing above
//! it).
//!
//! An amount `x` is `round(x × 10⁹)` as `i128`, so sums of amounts are associative: any
//! partitioning, merge order or thread count gives bit-identical totals.

/// Nano-units per currency unit.
pub(crate) const UNITS: f64 = 1e9;

/// Exact nano-units to cents, rounded half away from zero (the one rounding every money column
/// of the kernels, reports and views uses).
#[inline]
pub(crate) fn units_to_cents(units: i128) -> i128 {
    let (q, r) = (units / 10_000_000, units % 10_000_000);
    if r >= 5_000_000 {
        q + 1
    } else if r <= -5_000_000 {
        q - 1
    } else {
        q
    }
}

/// An amount in exact nano-units, rounded half away from zero (NaN, the null marker, is 0).
#[inline(always)]
pub(crate) fn to_units(amount: f64) -> i128 {
    let x = amount * UNITS;
    if x.abs() < 4.0e18 {
        // Truncating conversion plus a correction: no libm call on baseline x86-64.
        let t = x as i64;
        let frac = x - t as f64;
        i128::from(t + i64::from(frac >= 0.5) - i64::from(frac <= -0.5))
    } else if x.is_nan() {
        0
    } else {
        x.round() as i128
    }
}

/// Nano-units back to a currency amount.
#[inline]
pub(crate) fn from_units(units: i128) -> f64 {
    units as f64 / UNITS
}
