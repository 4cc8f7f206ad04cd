//! Staged rendering: the data marks of a chart in their own SVG group.
//!
//! plotters writes SVG elements in drawing order and gives no way to group or tag them. A chart
//! is therefore drawn three times by the same function, up to the frame (background, axes,
//! labels), up to the data marks, and whole (annotations: legends, intervals, value labels);
//! the output of each pass extends the previous one, so the difference between passes is
//! exactly what that stage drew. The marks go into `<g class="marks">` and the annotations
//! into `<g class="annotations">`, which lets a test (or a browser) count the marks and
//! compare them to the data.

use plotters::coord::Shift;
use plotters::prelude::*;

/// A drawing area on the SVG backend.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// How far a pass draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// Background, axes, tick labels, axis descriptions, reference lines.
    Frame,
    /// The frame and the data marks.
    Marks,
    /// Everything: the marks and the annotations.
    All,
}

/// Any plotters error as text.
pub(crate) fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Draws `draw` in the three stages and returns the SVG with grouped marks.
///
/// # Errors
/// The drawing function's error, or a message when the passes do not extend each other.
pub(crate) fn staged(
    size: (u32, u32),
    draw: &dyn Fn(&Area<'_>, Stage) -> Result<(), String>,
) -> Result<String, String> {
    let pass = |stage: Stage| -> Result<String, String> {
        let mut s = String::new();
        {
            let root = SVGBackend::with_string(&mut s, size).into_drawing_area();
            draw(&root, stage)?;
            root.present().map_err(err)?;
        }
        Ok(s)
    };
    let (frame, marks, all) = (pass(Stage::Frame)?, pass(Stage::Marks)?, pass(Stage::All)?);
    let end = |s: &str| {
        s.rfind("</svg>")
            .ok_or_else(|| "the SVG backend wrote no </svg>".to_string())
    };
    let (ef, em, ea) = (end(&frame)?, end(&marks)?, end(&all)?);
    let extends = |long: &str, short: &str, cut: usize| long.len() >= cut && long.get(..cut) == short.get(..cut);
    if !(em >= ef && ea >= em && extends(&marks, &frame, ef) && extends(&all, &marks, em)) {
        return Err("the chart's passes do not extend each other".into());
    }
    let (head, body, notes) = (&frame[..ef], &marks[ef..em], &all[em..ea]);
    Ok(format!(
        "{head}<g class=\"marks\">\n{body}</g>\n<g class=\"annotations\">\n{notes}</g>\n</svg>\n"
    ))
}

/// The SVG shape elements in `svg` (what a browser check counts as marks).
pub(crate) fn count_shapes(svg: &str) -> usize {
    [
        "<rect",
        "<circle",
        "<ellipse",
        "<line ",
        "<polyline",
        "<polygon",
        "<path",
    ]
    .iter()
    .map(|tag| svg.matches(tag).count())
    .sum()
}

/// The content of the marks group of a staged SVG.
pub(crate) fn marks_group(svg: &str) -> &str {
    let start = svg
        .find("<g class=\"marks\">")
        .map_or(0, |i| i + "<g class=\"marks\">".len());
    let end = svg.find("<g class=\"annotations\">").unwrap_or(svg.len());
    svg.get(start..end).unwrap_or("")
}
