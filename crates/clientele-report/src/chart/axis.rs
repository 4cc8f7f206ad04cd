//! A categorical axis on continuous positions: category `i` is centred at `i`, ticks at the
//! (thinned) category centres, so bars of several series can sit side by side within one.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// `n` categories on the range `[-0.5, n - 0.5]`, labelled at `keys`.
#[derive(Debug, Clone)]
pub(crate) struct Categories {
    n: usize,
    keys: Vec<f64>,
}

impl Categories {
    /// `n` categories with at most `max_labels` tick labels (every k-th category).
    pub(crate) fn new(n: usize, max_labels: usize) -> Self {
        Categories {
            n,
            keys: super::key_points(n, max_labels),
        }
    }
}

impl Ranged for Categories {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value + 0.5) / self.n.max(1) as f64;
        limit.0 + (t * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // ticks and labels at the category centres only (no light grid lines between)
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        self.keys.clone()
    }

    fn range(&self) -> Range<f64> {
        -0.5..self.n as f64 - 0.5
    }
}
