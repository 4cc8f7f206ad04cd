//! Bar charts: one bar per category and series, vertical or horizontal, optional intervals.

use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;
use serde_json::json;

use super::axis::Categories;
use super::stage::{Stage, err, staged};
use super::style::{ValueFormat, series_color};
use super::{HEIGHT, WIDTH, category_label, legend, padded};

/// Bars per category; several series are drawn side by side within a category.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Category names, in drawing order (left to right, or top to bottom when horizontal).
    pub categories: Vec<String>,
    /// `(name, one value per category)`; a legend is drawn when there are several.
    pub series: Vec<(String, Vec<f64>)>,
    /// Bars grow to the right (categories on the vertical axis) instead of upwards.
    pub horizontal: bool,
    /// Title of the category axis.
    pub category_axis: String,
    /// Title of the value axis, with its unit.
    pub value_axis: String,
    /// How values are written on the value axis.
    pub format: ValueFormat,
    /// `(low, high)` per category for the first series, drawn as interval whiskers.
    pub intervals: Option<Vec<(f64, f64)>>,
}

impl BarChart {
    /// The bars (marks stage) and the interval whiskers (annotations) on either orientation:
    /// `pt(category position, value)` is the drawing coordinate.
    fn marks<X, Y>(
        &self,
        chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
        stage: Stage,
        span: &dyn Fn(usize, usize) -> (f64, f64),
        pt: fn(f64, f64) -> (f64, f64),
    ) -> Result<(), String>
    where
        X: Ranged<ValueType = f64>,
        Y: Ranged<ValueType = f64>,
    {
        if stage >= Stage::Marks {
            for (j, (_, vals)) in self.series.iter().enumerate() {
                let color = series_color(j);
                chart
                    .draw_series(vals.iter().enumerate().map(|(i, &v)| {
                        let (a, b) = span(i, j);
                        Rectangle::new([pt(a, 0.0), pt(b, v)], color.filled())
                    }))
                    .map_err(err)?;
            }
        }
        if stage >= Stage::All
            && let Some(iv) = &self.intervals
        {
            for (i, &(l, h)) in iv.iter().enumerate() {
                let (a, b) = span(i, 0);
                let m = (a + b) / 2.0;
                let style = BLACK.stroke_width(1);
                chart
                    .draw_series([
                        PathElement::new(vec![pt(m, l), pt(m, h)], style),
                        PathElement::new(vec![pt(m - 0.12, l), pt(m + 0.12, l)], style),
                        PathElement::new(vec![pt(m - 0.12, h), pt(m + 0.12, h)], style),
                    ])
                    .map_err(err)?;
            }
        }
        Ok(())
    }

    pub(crate) fn draw(&self) -> Result<(String, usize, serde_json::Value), String> {
        let n = self.categories.len();
        if n == 0 || self.series.is_empty() {
            return Err("no categories or no series".into());
        }
        if let Some((name, v)) = self.series.iter().find(|(_, v)| v.len() != n) {
            return Err(format!("series {name:?} has {} values for {n} categories", v.len()));
        }
        if self.intervals.as_ref().is_some_and(|i| i.len() != n) {
            return Err("one interval per category is needed".into());
        }
        let intervals = self.intervals.iter().flatten().flat_map(|&(a, b)| [a, b]);
        let values = self.series.iter().flat_map(|(_, v)| v.iter().copied());
        let (lo, hi) = padded(values.chain(intervals), true)?;
        let k = self.series.len();
        let cat_labels = if self.horizontal { 30 } else { 16 };
        let label_width = if self.horizontal {
            let longest = self
                .categories
                .iter()
                .map(|c| c.chars().count().min(22))
                .max()
                .unwrap_or(4);
            (longest as u32 * 7 + 16).clamp(50, 180)
        } else {
            60
        };
        let draw = |root: &super::stage::Area<'_>, stage: Stage| -> Result<(), String> {
            root.fill(&WHITE).map_err(err)?;
            let (strip, plot) = root.split_vertically(if k > 1 { 24 } else { 8 });
            let (hi_c, lo_c) = (hi, lo);
            let value_label = |v: &f64| self.format.format(*v);
            let cat_label = |v: &f64| category_label(&self.categories, *v, self.horizontal);
            // bar j of category i spans [i - 0.4 + j w, i - 0.4 + (j + 1) w]
            let w = 0.8 / k as f64;
            let span = |i: usize, j: usize| {
                // horizontal: categories top to bottom, and series top to bottom within one
                let (pos, j) = if self.horizontal {
                    ((n - 1 - i) as f64, k - 1 - j)
                } else {
                    (i as f64, j)
                };
                (pos - 0.4 + j as f64 * w, pos - 0.4 + (j + 1) as f64 * w)
            };
            if self.horizontal {
                let mut chart = ChartBuilder::on(&plot)
                    .margin_right(24)
                    .x_label_area_size(44)
                    .y_label_area_size(label_width)
                    .build_cartesian_2d(lo_c..hi_c, Categories::new(n, cat_labels))
                    .map_err(err)?;
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .x_desc(self.value_axis.as_str())
                    .y_desc(self.category_axis.as_str())
                    .x_label_formatter(&value_label)
                    .y_label_formatter(&cat_label)
                    .light_line_style(RGBColor(0xF4, 0xF4, 0xF4))
                    .draw()
                    .map_err(err)?;
                self.marks(&mut chart, stage, &span, |pos, v| (v, pos))?;
            } else {
                let mut chart = ChartBuilder::on(&plot)
                    .margin_right(24)
                    .x_label_area_size(44)
                    .y_label_area_size(label_width)
                    .build_cartesian_2d(Categories::new(n, cat_labels), lo_c..hi_c)
                    .map_err(err)?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_desc(self.category_axis.as_str())
                    .y_desc(self.value_axis.as_str())
                    .x_label_formatter(&cat_label)
                    .y_label_formatter(&value_label)
                    .light_line_style(RGBColor(0xF4, 0xF4, 0xF4))
                    .draw()
                    .map_err(err)?;
                self.marks(&mut chart, stage, &span, |pos, v| (pos, v))?;
            }
            if stage >= Stage::All && k > 1 {
                legend(&strip, self.series.iter().map(|s| s.0.as_str()))?;
            }
            Ok(())
        };
        let svg = staged((WIDTH, HEIGHT), &draw)?;
        let values: Vec<f64> = self.series.iter().flat_map(|(_, v)| v.iter().copied()).collect();
        let data = json!({
            "kind": "bar",
            "orientation": if self.horizontal { "horizontal" } else { "vertical" },
            "categories": self.categories,
            "series": self.series.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
            "values": values,
        });
        Ok((svg, n * k, data))
    }
}
