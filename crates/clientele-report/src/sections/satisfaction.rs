//! Satisfaction: the mean survey score by RFM segment.

use super::*;
use clientele::schema::output::satisfaction::{DIMENSION, GROUP, MEAN_SCORE, RESPONSES};

pub(super) fn satisfaction(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("satisfaction", "Satisfaction");
    if ctx.store.columns().score.is_none() {
        return Ok(absent(
            key,
            title,
            "The events have no score column: no survey answers.",
        ));
    }
    let p = ctx.cfg.params();
    let views = satisfaction_view(
        &ctx.source(),
        Some(&ctx.rfm),
        &SatisfactionParams::new().as_of(p.as_of).validate()?,
        ctx.par,
    )?
    .output;
    let t = &views.summary;
    let dims = texts("satisfaction", t, DIMENSION)?;
    let groups = texts("satisfaction", t, GROUP)?;
    let (responses, mean) = (
        floats("satisfaction", t, RESPONSES)?,
        floats("satisfaction", t, MEAN_SCORE)?,
    );
    let rows: Vec<usize> = (0..t.num_rows())
        .filter(|&i| dims[i].as_deref() == Some("segment") && responses[i] > 0.0 && mean[i].is_finite())
        .collect();
    if rows.is_empty() {
        return Ok(absent(key, title, "No survey answers before the report date."));
    }
    let names: Vec<String> = rows.iter().map(|&i| groups[i].clone().unwrap_or_default()).collect();
    let scores: Vec<f64> = rows.iter().map(|&i| mean[i]).collect();
    let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let worst = (0..scores.len()).min_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let reading = match (best, worst) {
        (Some(b), Some(w)) => format!(
            "{} are the most satisfied (mean {:.2}), {} the least ({:.2}).",
            names[b], scores[b], names[w], scores[w]
        ),
        _ => String::new(),
    };
    let data = table(vec![
        ("segment", Col::Text(names.clone())),
        ("responses", Col::Num(rows.iter().map(|&i| responses[i]).collect())),
        ("mean_score", Col::Num(scores.clone())),
    ])?;
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![Figure {
            key: "satisfaction-segments",
            title: "Mean survey score by RFM segment".into(),
            caption: reading,
            chart: bars(
                names,
                vec![("mean score", scores)],
                true,
                ("RFM segment", "mean survey score (points)"),
                ValueFormat::Number,
            ),
            table: data,
        }],
    ))
}
