//! Colours and number formats shared by the charts.

use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};

/// Series colours (Tableau 10: distinct, readable on white, safe for the common colour-vision
/// deficiencies in the first four).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4C, 0x78, 0xA8),
    RGBColor(0xF5, 0x85, 0x18),
    RGBColor(0x54, 0xA2, 0x4B),
    RGBColor(0xE4, 0x57, 0x56),
    RGBColor(0x72, 0xB7, 0xB2),
    RGBColor(0xEE, 0xCA, 0x3B),
    RGBColor(0xB2, 0x79, 0xA2),
    RGBColor(0xFF, 0x9D, 0xA6),
    RGBColor(0x9D, 0x75, 0x5D),
    RGBColor(0xBA, 0xB0, 0xAC),
];

/// The colour of series `i`.
pub fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Stops of the sequential scale of heatmaps (light to dark blue, ColorBrewer "Blues").
const BLUES: [(u8, u8, u8); 5] = [
    (0xF7, 0xFB, 0xFF),
    (0xC6, 0xDB, 0xEF),
    (0x6B, 0xAE, 0xD6),
    (0x21, 0x71, 0xB5),
    (0x08, 0x30, 0x6B),
];

/// The heatmap colour of `t` in [0, 1] (clamped; NaN is the lightest).
pub fn sequential(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let pos = t * (BLUES.len() - 1) as f64;
    let i = (pos.floor() as usize).min(BLUES.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (BLUES[i], BLUES[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// How numbers are written on axes and in readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueFormat {
    /// Counts: 950, 12.3k, 1.2M.
    Count,
    /// Money in the data's currency: 950, 12.3k, 1.2M, small values with cents.
    Money,
    /// A share in [0, 1] written as a percentage.
    Percent,
    /// A plain number with up to two decimals.
    Number,
}

impl ValueFormat {
    /// `v` written in this format.
    pub fn format(self, v: f64) -> String {
        if !v.is_finite() {
            return "n/a".into();
        }
        match self {
            ValueFormat::Percent => {
                let p = v * 100.0;
                if p.abs() >= 10.0 || p == p.round() {
                    format!("{p:.0}%")
                } else {
                    format!("{p:.1}%")
                }
            }
            ValueFormat::Count | ValueFormat::Money => {
                let a = v.abs();
                if a >= 1e9 {
                    format!("{:.1}G", v / 1e9)
                } else if a >= 1e6 {
                    format!("{:.1}M", v / 1e6)
                } else if a >= 1e4 {
                    format!("{:.1}k", v / 1e3)
                } else if self == ValueFormat::Money && a < 100.0 && v != v.round() {
                    format!("{v:.2}")
                } else {
                    format!("{v:.0}")
                }
            }
            ValueFormat::Number => {
                let s = format!("{v:.2}");
                let s = s.trim_end_matches('0').trim_end_matches('.');
                if s == "-0" { "0".into() } else { s.to_string() }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_as_people_write_numbers() {
        assert_eq!(ValueFormat::Percent.format(0.2134), "21%");
        assert_eq!(ValueFormat::Percent.format(0.0512), "5.1%");
        assert_eq!(ValueFormat::Count.format(1_234_567.0), "1.2M");
        assert_eq!(ValueFormat::Count.format(950.0), "950");
        assert_eq!(ValueFormat::Money.format(42.5), "42.50");
        assert_eq!(ValueFormat::Number.format(1.50), "1.5");
        assert_eq!(ValueFormat::Number.format(f64::NAN), "n/a");
    }

    #[test]
    fn the_sequential_scale_runs_light_to_dark() {
        let (a, b) = (sequential(0.0), sequential(1.0));
        assert!(u32::from(a.0) + u32::from(a.1) + u32::from(a.2) > u32::from(b.0) + u32::from(b.1) + u32::from(b.2));
        assert_eq!(sequential(f64::NAN), sequential(0.0));
    }
}
