//! Acquisition cohorts: retention and revenue per customer by months since acquisition.

use super::*;
use clientele::schema::output::cohorts::{COHORT, PERIOD, RETENTION};
use clientele::schema::output::common::{CUSTOMERS, REVENUE};

pub(super) fn cohorts(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("cohorts", "Acquisition cohorts");
    let p = ctx.cfg.params();
    let long = cohort_view(&ctx.source(), &CohortParams::new(p.as_of).validate()?, ctx.par)?.output;
    if long.num_rows() == 0 {
        return Ok(absent(key, title, "No customer bought before the report date."));
    }
    let cohort = texts("cohorts", &long, COHORT)?;
    let (period, retention, revenue, customers) = (
        floats("cohorts", &long, PERIOD)?,
        floats("cohorts", &long, RETENTION)?,
        floats("cohorts", &long, REVENUE)?,
        floats("cohorts", &long, CUSTOMERS)?,
    );
    let mut names: Vec<String> = cohort.iter().flatten().cloned().collect();
    names.dedup();
    let first = names.len().saturating_sub(p.max_cohorts);
    let names: Vec<String> = names[first..].to_vec();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let max_period = p.max_cohorts;
    let (mut cells_r, mut cells_v) = (Vec::new(), Vec::new());
    let (mut tc, mut tp, mut tr, mut tv) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..long.num_rows() {
        let (Some(c), pe) = (&cohort[i], period[i] as usize) else {
            continue;
        };
        let Some(&row) = index.get(c.as_str()) else {
            continue;
        };
        if pe >= max_period {
            continue;
        }
        let per_customer = if customers[i] > 0.0 {
            revenue[i] / customers[i]
        } else {
            0.0
        };
        if pe >= 1 {
            cells_r.push((pe - 1, row, retention[i]));
        }
        cells_v.push((pe, row, per_customer));
        tc.push(c.clone());
        tp.push(pe as f64);
        tr.push(retention[i]);
        tv.push(per_customer);
    }
    let data = table(vec![
        ("cohort", Col::Text(tc)),
        ("period", Col::Num(tp.clone())),
        ("retention", Col::Num(tr.clone())),
        ("revenue_per_customer", Col::Num(tv)),
    ])?;
    let month1: Vec<f64> = (0..tp.len()).filter(|&i| tp[i] == 1.0).map(|i| tr[i]).collect();
    let reading = if month1.is_empty() {
        "Every cohort is in its first month.".to_string()
    } else {
        format!(
            "Month-1 retention averages {} over the last {} cohorts (latest: {}).",
            pct(month1.iter().sum::<f64>() / month1.len() as f64),
            month1.len(),
            pct(month1.last().copied().unwrap_or(0.0))
        )
    };
    let mut figures = Vec::new();
    if !cells_r.is_empty() {
        figures.push(Figure {
            key: "cohort-retention",
            title: "Retention by acquisition month and months since acquisition".into(),
            caption: reading.clone(),
            chart: Chart::Heatmap(Heatmap {
                columns: (1..max_period).map(|m| m.to_string()).collect(),
                rows: names.clone(),
                cells: cells_r,
                column_axis: "months since acquisition".into(),
                row_axis: "acquisition month".into(),
                value_label: "active share".into(),
                format: ValueFormat::Percent,
            }),
            table: data.clone(),
        });
    }
    figures.push(Figure {
        key: "cohort-revenue",
        title: "Revenue per acquired customer by acquisition month and months since acquisition".into(),
        caption: "Month 0 is the acquisition month; later columns show what each cohort keeps spending.".into(),
        chart: Chart::Heatmap(Heatmap {
            columns: (0..max_period).map(|m| m.to_string()).collect(),
            rows: names,
            cells: cells_v,
            column_axis: "months since acquisition".into(),
            row_axis: "acquisition month".into(),
            value_label: "revenue per customer".into(),
            format: ValueFormat::Money,
        }),
        table: data,
    });
    Ok(section(key, title, reading, figures))
}
