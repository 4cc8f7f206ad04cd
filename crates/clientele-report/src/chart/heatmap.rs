//! Heatmaps: a coloured cell per (column, row) pair of two categorical axes.

use plotters::prelude::*;
use serde_json::json;

use super::axis::Categories;
use super::stage::{Stage, err, staged};
use super::style::{ValueFormat, sequential};
use super::{HEIGHT, WIDTH, category_label};

/// Cells over two categorical axes, coloured on a light-to-dark scale with a colour legend.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// Column names, left to right.
    pub columns: Vec<String>,
    /// Row names, top to bottom.
    pub rows: Vec<String>,
    /// `(column, row, value)`; cells left out are drawn empty.
    pub cells: Vec<(usize, usize, f64)>,
    /// Title of the horizontal axis.
    pub column_axis: String,
    /// Title of the vertical axis.
    pub row_axis: String,
    /// What the colour shows, with its unit (the legend's title).
    pub value_label: String,
    /// How values are written in the legend and the cells.
    pub format: ValueFormat,
}

/// Cells are labelled with their values when there are at most this many.
const LABEL_CELLS: usize = 49;

impl Heatmap {
    pub(crate) fn draw(&self) -> Result<(String, usize, serde_json::Value), String> {
        let (nx, ny) = (self.columns.len(), self.rows.len());
        if nx == 0 || ny == 0 || self.cells.is_empty() {
            return Err("no cells".into());
        }
        if let Some(c) = self.cells.iter().find(|c| c.0 >= nx || c.1 >= ny) {
            return Err(format!("cell ({}, {}) is outside the {nx} x {ny} grid", c.0, c.1));
        }
        if self.cells.iter().any(|c| !c.2.is_finite()) {
            return Err("non-finite cell value".into());
        }
        let lo = self.cells.iter().map(|c| c.2).fold(f64::INFINITY, f64::min);
        let hi = self.cells.iter().map(|c| c.2).fold(f64::NEG_INFINITY, f64::max);
        let scale = |v: f64| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
        let longest = self.rows.iter().map(|c| c.chars().count().min(22)).max().unwrap_or(4);
        let row_labels = (longest as u32 * 7 + 24).clamp(50, 180);
        let draw = |root: &super::stage::Area<'_>, stage: Stage| -> Result<(), String> {
            root.fill(&WHITE).map_err(err)?;
            let (plot, side) = root.split_horizontally(WIDTH - 110);
            let xs = Categories::new(nx, 24);
            let ys = Categories::new(ny, 24);
            let col_label = |v: &f64| category_label(&self.columns, *v, false);
            // row 0 at the top
            let row_label = |v: &f64| category_label(&self.rows, *v, true);
            let mut chart = ChartBuilder::on(&plot)
                .margin_top(8)
                .x_label_area_size(44)
                .y_label_area_size(row_labels)
                .build_cartesian_2d(xs, ys)
                .map_err(err)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(self.column_axis.as_str())
                .y_desc(self.row_axis.as_str())
                .x_label_formatter(&col_label)
                .y_label_formatter(&row_label)
                .draw()
                .map_err(err)?;
            let y_of = |r: usize| (ny - 1 - r) as f64;
            if stage >= Stage::Marks {
                chart
                    .draw_series(self.cells.iter().map(|&(c, r, v)| {
                        let (x, y) = (c as f64, y_of(r));
                        Rectangle::new(
                            [(x - 0.48, y - 0.48), (x + 0.48, y + 0.48)],
                            sequential(scale(v)).filled(),
                        )
                    }))
                    .map_err(err)?;
            }
            if stage >= Stage::All {
                if self.cells.len() <= LABEL_CELLS {
                    chart
                        .draw_series(self.cells.iter().map(|&(c, r, v)| {
                            let color = if scale(v) > 0.55 { WHITE } else { BLACK };
                            let style = ("sans-serif", 12).into_font().color(&color).pos(
                                plotters::style::text_anchor::Pos::new(
                                    plotters::style::text_anchor::HPos::Center,
                                    plotters::style::text_anchor::VPos::Center,
                                ),
                            );
                            Text::new(self.format.format(v), (c as f64, y_of(r)), style)
                        }))
                        .map_err(err)?;
                }
                // the colour legend: ten steps from the lowest to the highest value
                let font = ("sans-serif", 11).into_font();
                side.draw(&Text::new(self.value_label.clone(), (4, 10), font.clone()))
                    .map_err(err)?;
                for i in 0..10 {
                    let t = 1.0 - f64::from(i) / 9.0;
                    let y = 30 + i * 22;
                    side.draw(&Rectangle::new([(8, y), (28, y + 22)], sequential(t).filled()))
                        .map_err(err)?;
                }
                side.draw(&Text::new(self.format.format(hi), (34, 32), font.clone()))
                    .map_err(err)?;
                side.draw(&Text::new(self.format.format(lo), (34, 30 + 10 * 22 - 12), font))
                    .map_err(err)?;
            }
            Ok(())
        };
        let svg = staged((WIDTH, HEIGHT), &draw)?;
        let data = json!({
            "kind": "heatmap",
            "rows": ny,
            "cols": nx,
            "cells": self.cells.len(),
            "values": self.cells.iter().map(|c| c.2).collect::<Vec<_>>(),
        });
        Ok((svg, self.cells.len(), data))
    }
}
