//! Scatter charts: a point per observation over two numeric axes.

use plotters::prelude::*;
use serde_json::json;

use super::stage::{Stage, err, staged};
use super::style::{ValueFormat, series_color};
use super::{HEIGHT, WIDTH, numeric_frame, padded};

/// Points over two numeric axes, with an optional y = x reference (calibration plots).
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterChart {
    /// The points `(x, y)`.
    pub points: Vec<(f64, f64)>,
    /// Title of the x axis, with its unit.
    pub x_axis: String,
    /// Title of the y axis, with its unit.
    pub y_axis: String,
    /// How x values are written.
    pub x_format: ValueFormat,
    /// How y values are written.
    pub y_format: ValueFormat,
    /// Draw the y = x diagonal (perfect calibration).
    pub diagonal: bool,
}

impl ScatterChart {
    pub(crate) fn draw(&self) -> Result<(String, usize, serde_json::Value), String> {
        if self.points.is_empty() {
            return Err("no points".into());
        }
        let both = self.points.iter().flat_map(|p| [p.0, p.1]);
        let (x0, x1, y0, y1) = if self.diagonal {
            let (a, b) = padded(both, true)?;
            (a, b, a, b)
        } else {
            let (a, b) = padded(self.points.iter().map(|p| p.0), false)?;
            let (c, d) = padded(self.points.iter().map(|p| p.1), true)?;
            (a, b, c, d)
        };
        let draw = |root: &super::stage::Area<'_>, stage: Stage| -> Result<(), String> {
            root.fill(&WHITE).map_err(err)?;
            let mut chart = numeric_frame(
                root,
                16,
                (x0..x1, &self.x_axis, self.x_format),
                (y0..y1, &self.y_axis, self.y_format),
            )?;
            if self.diagonal {
                chart
                    .draw_series([PathElement::new(
                        vec![(x0, x0), (x1, x1)],
                        RGBColor(0x99, 0x99, 0x99).stroke_width(1),
                    )])
                    .map_err(err)?;
            }
            if stage >= Stage::Marks {
                let color = series_color(0);
                chart
                    .draw_series(self.points.iter().map(|&p| Circle::new(p, 5, color.filled())))
                    .map_err(err)?;
            }
            Ok(())
        };
        let svg = staged((WIDTH, HEIGHT), &draw)?;
        let data = json!({
            "kind": "scatter",
            "points": self.points.len(),
            "x": self.points.iter().map(|p| p.0).collect::<Vec<_>>(),
            "y": self.points.iter().map(|p| p.1).collect::<Vec<_>>(),
        });
        Ok((svg, self.points.len(), data))
    }
}
