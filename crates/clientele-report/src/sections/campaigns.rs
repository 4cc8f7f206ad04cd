//! Campaigns: response rates and uplift over held-out controls, with intervals.

use super::*;
use clientele::schema::CAMPAIGN_ID;
use clientele::schema::output::campaigns::{
    CONTROL_RESPONSE_RATE, RESPONSE_RATE, UPLIFT, UPLIFT_CI_HIGH, UPLIFT_CI_LOW,
};

pub(super) fn campaigns(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("campaigns", "Campaigns");
    if ctx.store.columns().campaign_id.is_none() {
        return Ok(absent(
            key,
            title,
            "The events have no campaign_id column: no campaigns to show.",
        ));
    }
    let p = ctx.cfg.params();
    let t = campaign_view(
        &ctx.source(),
        None,
        &CampaignParams::new().as_of(p.as_of).validate()?,
        ctx.par,
    )?
    .output;
    let ids = texts("campaigns", &t, CAMPAIGN_ID)?;
    let (rate, control, uplift, lo, hi) = (
        floats("campaigns", &t, RESPONSE_RATE)?,
        floats("campaigns", &t, CONTROL_RESPONSE_RATE)?,
        floats("campaigns", &t, UPLIFT)?,
        floats("campaigns", &t, UPLIFT_CI_LOW)?,
        floats("campaigns", &t, UPLIFT_CI_HIGH)?,
    );
    // the last 20 campaigns (name order) that were sent
    let mut rows: Vec<usize> = (0..t.num_rows())
        .filter(|&i| ids[i].is_some() && rate[i].is_finite())
        .collect();
    if rows.is_empty() {
        return Ok(absent(key, title, "No campaign sends before the report date."));
    }
    let skip = rows.len().saturating_sub(20);
    rows.drain(..skip);
    let names: Vec<String> = rows.iter().map(|&i| ids[i].clone().unwrap_or_default()).collect();
    let zero = |v: f64| if v.is_finite() { v } else { 0.0 };
    let data = table(vec![
        ("campaign_id", Col::Text(names.clone())),
        ("response_rate", Col::Num(rows.iter().map(|&i| rate[i]).collect())),
        (
            "control_response_rate",
            Col::Num(rows.iter().map(|&i| control[i]).collect()),
        ),
        ("uplift", Col::Num(rows.iter().map(|&i| uplift[i]).collect())),
        ("uplift_ci_low", Col::Num(rows.iter().map(|&i| lo[i]).collect())),
        ("uplift_ci_high", Col::Num(rows.iter().map(|&i| hi[i]).collect())),
    ])?;
    let mean_rate = rows.iter().map(|&i| rate[i]).sum::<f64>() / rows.len() as f64;
    let has_control = rows.iter().any(|&i| control[i].is_finite());
    let mut series = vec![("treated", rows.iter().map(|&i| rate[i]).collect::<Vec<_>>())];
    if has_control {
        series.push(("control", rows.iter().map(|&i| zero(control[i])).collect()));
    }
    let mut figures = vec![Figure {
        key: "campaign-response",
        title: if has_control {
            "Response rate by campaign: treated vs control".into()
        } else {
            "Response rate by campaign".into()
        },
        caption: format!("Treated customers responded at {} on average.", pct(mean_rate)),
        chart: bars(
            names.clone(),
            series,
            false,
            ("campaign", "response rate (%)"),
            ValueFormat::Percent,
        ),
        table: data.clone(),
    }];
    let with: Vec<usize> = rows.iter().copied().filter(|&i| uplift[i].is_finite()).collect();
    let mut reading = format!(
        "{} campaigns; treated customers responded at {} on average{}.",
        rows.len(),
        pct(mean_rate),
        if with.is_empty() {
            " (no held-out control group, so no uplift can be measured)"
        } else {
            ""
        }
    );
    if let Some(&best) = with.iter().max_by(|&&a, &&b| uplift[a].total_cmp(&uplift[b])) {
        reading = format!(
            "{} has the highest uplift: {}{:.1} points (95% CI {:.1} to {:.1}).",
            ids[best].clone().unwrap_or_default(),
            if uplift[best] >= 0.0 { "+" } else { "" },
            uplift[best] * 100.0,
            lo[best] * 100.0,
            hi[best] * 100.0
        );
        figures.push(Figure {
            key: "campaign-uplift",
            title: "Uplift over the control group, with 95% intervals".into(),
            caption: reading.clone(),
            chart: Chart::Bar(BarChart {
                categories: with.iter().map(|&i| ids[i].clone().unwrap_or_default()).collect(),
                series: vec![("uplift".into(), with.iter().map(|&i| uplift[i]).collect())],
                horizontal: false,
                category_axis: "campaign".into(),
                value_axis: "response rate minus control rate (percentage points)".into(),
                format: ValueFormat::Percent,
                intervals: Some(with.iter().map(|&i| (zero(lo[i]), zero(hi[i]))).collect()),
            }),
            table: data,
        });
    }
    Ok(section(key, title, reading, figures))
}
