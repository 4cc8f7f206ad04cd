//! Chart specifications and their offline rendering to SVG with plotters.
//!
//! A chart is described by data, not drawn by hand: a [`BarChart`], [`Heatmap`],
//! [`LineChart`] or [`ScatterChart`] holds the numbers, axis titles (with units) and number
//! formats, and [`Chart::render`] draws it with plotters' SVG backend into a [`Rendered`]
//! chart: the SVG (its data marks grouped in `<g class="marks">`), the number of marks, and a
//! JSON description of the drawn values that the HTML page embeds beside the SVG, so a test or
//! a browser can compare what was drawn with the data.
//!
//! # Example
//! ```
//! use clientele_report::chart::{BarChart, Chart, ValueFormat};
//!
//! let chart = Chart::Bar(BarChart {
//!     categories: vec!["Champions".into(), "Loyal".into()],
//!     series: vec![("customers".into(), vec![120.0, 340.0])],
//!     horizontal: true,
//!     category_axis: "segment".into(),
//!     value_axis: "customers".into(),
//!     format: ValueFormat::Count,
//!     intervals: None,
//! });
//! let drawn = chart.render().map_err(|e| e.to_string())?;
//! assert_eq!(drawn.marks, 2);
//! assert!(drawn.svg.contains("<g class=\"marks\">"));
//! # Ok::<(), String>(())
//! ```

mod axis;
mod bar;
mod heatmap;
mod line;
mod scatter;
mod stage;
mod style;

pub use bar::BarChart;
pub use heatmap::Heatmap;
pub use line::LineChart;
pub use scatter::ScatterChart;
pub use style::{PALETTE, ValueFormat, sequential, series_color};

use serde_json::Value;

/// Width of a chart in pixels (the page scales it down on narrow screens).
pub const WIDTH: u32 = 760;
/// Height of a chart in pixels.
pub const HEIGHT: u32 = 360;

/// A chart to draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    /// Bars per category, one or more series side by side.
    Bar(BarChart),
    /// Coloured cells over two categorical axes.
    Heatmap(Heatmap),
    /// Lines over a numeric x axis.
    Line(LineChart),
    /// Points over two numeric axes.
    Scatter(ScatterChart),
}

/// A drawn chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The SVG document (no XML declaration), marks in `<g class="marks">`.
    pub svg: String,
    /// The number of data marks drawn (bars, cells, points, or lines).
    pub marks: usize,
    /// `bar`, `heatmap`, `line` or `scatter`.
    pub kind: &'static str,
    /// What was drawn, for checks: `kind` and, per kind, `values` and `orientation` (bars),
    /// `rows`, `cols`, `cells` and `values` (heatmaps), `points` and `series` (lines, scatter).
    pub data: Value,
}

/// A chart that could not be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot draw the {kind} chart: {message}")]
pub struct ChartError {
    /// The chart kind.
    pub kind: &'static str,
    /// Why.
    pub message: String,
}

impl Chart {
    /// The chart kind: `bar`, `heatmap`, `line` or `scatter`.
    pub fn kind(&self) -> &'static str {
        match self {
            Chart::Bar(_) => "bar",
            Chart::Heatmap(_) => "heatmap",
            Chart::Line(_) => "line",
            Chart::Scatter(_) => "scatter",
        }
    }

    /// Draws the chart.
    ///
    /// # Errors
    /// [`ChartError`] for a chart without data, non-finite values, or a drawing failure. The
    /// number of shapes drawn in the marks group is checked against the data.
    pub fn render(&self) -> Result<Rendered, ChartError> {
        let kind = self.kind();
        let fail = |message: String| ChartError { kind, message };
        let (svg, marks, data) = match self {
            Chart::Bar(c) => c.draw(),
            Chart::Heatmap(c) => c.draw(),
            Chart::Line(c) => c.draw(),
            Chart::Scatter(c) => c.draw(),
        }
        .map_err(fail)?;
        let drawn = stage::count_shapes(stage::marks_group(&svg));
        if drawn != marks {
            return Err(fail(format!("drew {drawn} marks for {marks} data points")));
        }
        Ok(Rendered { svg, marks, kind, data })
    }
}

/// Category axis key points: every category up to `max_labels`, else every k-th.
pub(crate) fn key_points(n: usize, max_labels: usize) -> Vec<f64> {
    let step = n.div_ceil(max_labels.max(1)).max(1);
    (0..n).step_by(step).map(|i| i as f64).collect()
}

/// The label of category position `v` (rounded) among `names`, optionally reversed.
pub(crate) fn category_label(names: &[String], v: f64, reversed: bool) -> String {
    let i = v.round();
    if i < 0.0 || (i as usize) >= names.len() {
        return String::new();
    }
    let i = if reversed {
        names.len() - 1 - i as usize
    } else {
        i as usize
    };
    let mut s = names.get(i).cloned().unwrap_or_default();
    if s.chars().count() > 22 {
        s = s.chars().take(21).collect::<String>() + "…";
    }
    s
}

/// The range [lo, hi] padded by 5% (and including 0 when `zero`); a unit range when flat.
pub(crate) fn padded(values: impl IntoIterator<Item = f64>, zero: bool) -> Result<(f64, f64), String> {
    let (mut lo, mut hi) = if zero {
        (0.0_f64, 0.0_f64)
    } else {
        (f64::INFINITY, f64::NEG_INFINITY)
    };
    for v in values {
        if !v.is_finite() {
            return Err(format!("non-finite value {v}"));
        }
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return Err("no values".into());
    }
    if hi - lo < 1e-12 {
        return Ok((lo - 0.5, hi + 0.5));
    }
    let pad = (hi - lo) * 0.05;
    let lo = if zero && lo >= 0.0 { 0.0 } else { lo - pad };
    let hi = if zero && hi <= 0.0 { 0.0 } else { hi + pad };
    Ok((lo, hi))
}

/// Draws a legend at the top right of `area`: a square in series `j`'s colour and its name.
pub(crate) fn legend<'n>(area: &stage::Area<'_>, names: impl Iterator<Item = &'n str>) -> Result<(), String> {
    use plotters::prelude::*;
    let entries: Vec<(&str, plotters::style::RGBColor)> =
        names.enumerate().map(|(j, n)| (n, style::series_color(j))).collect();
    let (w, _) = area.dim_in_pixel();
    let width = entries
        .iter()
        .map(|(n, _)| n.chars().count() as i32 * 7 + 30)
        .sum::<i32>();
    let mut x = (w as i32 - width - 20).max(0);
    for (name, color) in entries {
        area.draw(&Rectangle::new([(x, 6), (x + 12, 18)], color.filled()))
            .map_err(stage::err)?;
        area.draw(&Text::new(
            name.to_string(),
            (x + 16, 7),
            ("sans-serif", 12).into_font(),
        ))
        .map_err(stage::err)?;
        x += name.chars().count() as i32 * 7 + 30;
    }
    Ok(())
}

/// The frame of a chart over two numeric axes on `area`: axes with their titles and number
/// formats and a light grid (`top`: the margin above the plot, in pixels).
pub(crate) fn numeric_frame<'a, 'b>(
    area: &'a stage::Area<'b>,
    top: u32,
    x: (std::ops::Range<f64>, &str, ValueFormat),
    y: (std::ops::Range<f64>, &str, ValueFormat),
) -> Result<
    plotters::chart::ChartContext<
        'a,
        plotters::prelude::SVGBackend<'b>,
        plotters::coord::cartesian::Cartesian2d<
            plotters::coord::types::RangedCoordf64,
            plotters::coord::types::RangedCoordf64,
        >,
    >,
    String,
> {
    use plotters::prelude::*;
    let mut chart = ChartBuilder::on(area)
        .margin_top(top)
        .margin_right(24)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x.0, y.0)
        .map_err(stage::err)?;
    let fx = |v: &f64| x.2.format(*v);
    let fy = |v: &f64| y.2.format(*v);
    chart
        .configure_mesh()
        .x_desc(x.1)
        .y_desc(y.1)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .light_line_style(RGBColor(0xEE, 0xEE, 0xEE))
        .draw()
        .map_err(stage::err)?;
    Ok(chart)
}
