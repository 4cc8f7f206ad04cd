//! Line charts: one polyline per series over a numeric x axis.

use plotters::prelude::*;
use serde_json::json;

use super::stage::{Stage, err, staged};
use super::style::{ValueFormat, series_color};
use super::{HEIGHT, WIDTH, legend, numeric_frame, padded};

/// Lines over a numeric x axis, with an optional vertical marker (e.g. the calibration end).
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// `(name, points (x, y) in increasing x)`; a legend is drawn when there are several.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// Title of the x axis, with its unit.
    pub x_axis: String,
    /// Title of the y axis, with its unit.
    pub y_axis: String,
    /// How x values are written.
    pub x_format: ValueFormat,
    /// How y values are written.
    pub y_format: ValueFormat,
    /// A dashed vertical reference line at this x, with its label.
    pub marker: Option<(f64, String)>,
    /// Draw the y = x diagonal as a reference (Lorenz and calibration curves).
    pub diagonal: bool,
}

impl LineChart {
    pub(crate) fn draw(&self) -> Result<(String, usize, serde_json::Value), String> {
        if self.series.is_empty() || self.series.iter().any(|s| s.1.is_empty()) {
            return Err("no series, or a series without points".into());
        }
        let xs = self.series.iter().flat_map(|s| s.1.iter().map(|p| p.0));
        let ys = self.series.iter().flat_map(|s| s.1.iter().map(|p| p.1));
        let (x0, x1) = padded(xs, false)?;
        let (y0, y1) = padded(ys, true)?;
        let k = self.series.len();
        let draw = |root: &super::stage::Area<'_>, stage: Stage| -> Result<(), String> {
            root.fill(&WHITE).map_err(err)?;
            let (strip, plot) = root.split_vertically(24);
            let mut chart = numeric_frame(
                &plot,
                0,
                (x0..x1, &self.x_axis, self.x_format),
                (y0..y1, &self.y_axis, self.y_format),
            )?;
            if self.diagonal {
                let (a, b) = (x0.max(y0), x1.min(y1));
                chart
                    .draw_series([PathElement::new(
                        vec![(a, a), (b, b)],
                        RGBColor(0x99, 0x99, 0x99).stroke_width(1),
                    )])
                    .map_err(err)?;
            }
            if let Some((x, label)) = &self.marker {
                let grey = RGBColor(0x66, 0x66, 0x66);
                chart
                    .draw_series([PathElement::new(vec![(*x, y0), (*x, y1)], grey.stroke_width(1))])
                    .map_err(err)?;
                let font = ("sans-serif", 11).into_font().color(&grey);
                chart
                    .draw_series([Text::new(format!(" {label}"), (*x, y1), font)])
                    .map_err(err)?;
            }
            if stage >= Stage::Marks {
                for (j, (_, pts)) in self.series.iter().enumerate() {
                    chart
                        .draw_series([PathElement::new(pts.clone(), series_color(j).stroke_width(2))])
                        .map_err(err)?;
                }
            }
            if stage >= Stage::All && k > 1 {
                legend(&strip, self.series.iter().map(|s| s.0.as_str()))?;
            }
            Ok(())
        };
        let svg = staged((WIDTH, HEIGHT), &draw)?;
        let data = json!({
            "kind": "line",
            "points": self.series.iter().map(|s| s.1.len()).sum::<usize>(),
            "series": self.series.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
            "last": self.series.iter().map(|s| s.1.last().map(|p| p.1)).collect::<Vec<_>>(),
        });
        Ok((svg, k, data))
    }
}
