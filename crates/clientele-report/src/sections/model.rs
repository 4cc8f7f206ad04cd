//! The purchase model checked as lifetimes and CLVTools users check it, and tracking.

use super::*;
use clientele::schema::output::check::{
    ACTUAL_CUSTOMERS, ACTUAL_HOLDOUT, EXPECTED_CUSTOMERS, EXPECTED_HOLDOUT, REPEAT_PURCHASES,
};
use clientele::schema::output::common::CUSTOMERS;
use clientele::schema::output::tracking::{
    ACTUAL_CUMULATIVE, ACTUAL_INCREMENTAL, EXPECTED_CUMULATIVE, EXPECTED_INCREMENTAL, TIME,
};
use clientele::schema::output::{EXPECTED_PURCHASES, FREQUENCY, P_ALIVE, RECENCY, T};

/// The summary's largest T (time units from the first customer's first purchase to the
/// calibration end).
pub(super) fn max_t(summary: &CustomerSummary) -> Result<f64> {
    Ok(summary.column(T)?.into_iter().fold(0.0_f64, f64::max))
}

pub(super) fn model(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("model", "Purchase model check");
    let (run, (summary, _)) = match (&ctx.clv, &ctx.summary) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(e), _) | (_, Err(e)) => return Ok(absent(key, title, format!("No purchase model: {e}"))),
    };
    let x = summary.column(FREQUENCY)?;
    let max_x = x.iter().copied().fold(0.0_f64, f64::max);
    let check = check_model(
        summary,
        &run.models,
        &CheckParams {
            matrix_max_frequency: Some((max_x as u32).min(20)),
            ..CheckParams::default()
        },
        ctx.par,
    )?;
    let unit = ctx.cfg.params().time_unit.to_string();
    let mut figures = Vec::new();
    // P(alive) and expected purchases over frequency x recency, recency thinned to ≤ 26 columns
    let m = &check.frequency_recency;
    let (fx, rx, ep, pa) = (
        floats("frequency_recency", m, FREQUENCY)?,
        floats("frequency_recency", m, RECENCY)?,
        floats("frequency_recency", m, EXPECTED_PURCHASES)?,
        floats("frequency_recency", m, P_ALIVE)?,
    );
    let max_f = fx.iter().copied().fold(0.0_f64, f64::max) as usize;
    let max_r = rx.iter().copied().fold(0.0_f64, f64::max) as usize;
    let step = (max_r + 1).div_ceil(26).max(1);
    let keep: Vec<usize> = (0..fx.len())
        .filter(|&i| (rx[i] as usize).is_multiple_of(step))
        .collect();
    let columns: Vec<String> = (0..=max_r).step_by(step).map(|r| r.to_string()).collect();
    let rows: Vec<String> = (0..=max_f).rev().map(|f| f.to_string()).collect();
    let cells = |v: &[f64]| -> Vec<(usize, usize, f64)> {
        keep.iter()
            .map(|&i| ((rx[i] as usize) / step, max_f - fx[i] as usize, v[i]))
            .collect()
    };
    let matrix = table(vec![
        ("frequency", Col::Num(keep.iter().map(|&i| fx[i]).collect())),
        ("recency", Col::Num(keep.iter().map(|&i| rx[i]).collect())),
        ("expected_purchases", Col::Num(keep.iter().map(|&i| ep[i]).collect())),
        ("p_alive", Col::Num(keep.iter().map(|&i| pa[i]).collect())),
    ])?;
    let purchase = run.models.purchase_model()?.kind();
    let heat = |v: &[f64], label: &str, format| {
        Chart::Heatmap(Heatmap {
            columns: columns.clone(),
            rows: rows.clone(),
            cells: cells(v),
            column_axis: format!("recency: time of the last repeat purchase ({unit}s since the first)"),
            row_axis: "frequency (repeat purchases)".into(),
            value_label: label.into(),
            format,
        })
    };
    figures.push(Figure {
        key: "model-p-alive",
        title: format!("P(alive) by frequency and recency ({purchase})"),
        caption: "Customers who bought often but not lately (top left) are the likeliest to have left.".into(),
        chart: heat(&pa, "P(alive)", ValueFormat::Percent),
        table: matrix.clone(),
    });
    figures.push(Figure {
        key: "model-expected-purchases",
        title: format!("Expected purchases in the next {unit} by frequency and recency"),
        caption: "Frequent, recent buyers (top right) are expected to buy the most.".into(),
        chart: heat(&ep, "purchases", ValueFormat::Number),
        table: matrix,
    });
    let pt = &check.period_transactions;
    let (k, actual, expected) = (
        floats("period_transactions", pt, REPEAT_PURCHASES)?,
        floats("period_transactions", pt, ACTUAL_CUSTOMERS)?,
        floats("period_transactions", pt, EXPECTED_CUSTOMERS)?,
    );
    let last = k.len().saturating_sub(1);
    let labels: Vec<String> = k
        .iter()
        .enumerate()
        .map(|(i, v)| if i == last { format!("{v}+") } else { v.to_string() })
        .collect();
    let zero_gap = actual.first().zip(expected.first()).map_or(0.0, |(a, e)| e - a);
    figures.push(Figure {
        key: "model-period-transactions",
        title: "Customers by repeat purchases in the calibration window: actual vs model".into(),
        caption: format!(
            "The model puts {} {} customers at zero repeat purchases than observed.",
            count(zero_gap.abs()),
            if zero_gap >= 0.0 { "more" } else { "fewer" }
        ),
        chart: bars(
            labels.clone(),
            vec![("actual", actual.clone()), ("model", expected.clone())],
            false,
            ("repeat purchases in the calibration window", "customers"),
            ValueFormat::Count,
        ),
        table: table(vec![
            ("repeat_purchases", Col::Text(labels)),
            ("actual_customers", Col::Num(actual)),
            ("expected_customers", Col::Num(expected)),
        ])?,
    });
    let mut reading = format!("{purchase} fitted on {} customers.", count(x.len() as f64));
    if let Some(h) = &check.calibration_vs_holdout {
        let (f, n, a, e) = (
            floats("calibration_vs_holdout", h, FREQUENCY)?,
            floats("calibration_vs_holdout", h, CUSTOMERS)?,
            floats("calibration_vs_holdout", h, ACTUAL_HOLDOUT)?,
            floats("calibration_vs_holdout", h, EXPECTED_HOLDOUT)?,
        );
        let (ta, te): (f64, f64) = (0..n.len()).fold((0.0, 0.0), |(sa, se), i| (sa + n[i] * a[i], se + n[i] * e[i]));
        reading = format!(
            "In the holdout, customers made {} repeat purchases; {purchase} expected {} ({}{}).",
            count(ta),
            count(te),
            if te >= ta { "+" } else { "" },
            pct(if ta > 0.0 { (te - ta) / ta } else { 0.0 })
        );
        let last = f.len().saturating_sub(1);
        let labels: Vec<String> = f
            .iter()
            .enumerate()
            .map(|(i, v)| if i == last { format!("{v}+") } else { v.to_string() })
            .collect();
        figures.push(Figure {
            key: "model-calibration-holdout",
            title: "Mean holdout purchases by calibration frequency: actual vs model".into(),
            caption: reading.clone(),
            chart: bars(
                labels.clone(),
                vec![("actual", a.clone()), ("model", e.clone())],
                false,
                (
                    "repeat purchases in the calibration window",
                    "mean purchases per customer in the holdout",
                ),
                ValueFormat::Number,
            ),
            table: table(vec![
                ("frequency", Col::Text(labels)),
                ("customers", Col::Num(n)),
                ("actual_holdout", Col::Num(a)),
                ("expected_holdout", Col::Num(e)),
            ])?,
        });
    }
    Ok(section(key, title, reading, figures))
}

pub(super) fn tracking(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("tracking", "Repeat purchases over time");
    let (run, (summary, scfg)) = match (&ctx.clv, &ctx.summary) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(e), _) | (_, Err(e)) => return Ok(absent(key, title, format!("No purchase model: {e}"))),
    };
    let check = check_model(summary, &run.models, &CheckParams::default(), ctx.par)?;
    let actual = actual_tracking(&ctx.source(), scfg, ctx.par)?;
    let (te, ce, ie) = (
        floats("tracking", &check.tracking, TIME)?,
        floats("tracking", &check.tracking, EXPECTED_CUMULATIVE)?,
        floats("tracking", &check.tracking, EXPECTED_INCREMENTAL)?,
    );
    let (ca, ia) = (
        floats("tracking", &actual, ACTUAL_CUMULATIVE)?,
        floats("tracking", &actual, ACTUAL_INCREMENTAL)?,
    );
    let n = te.len().min(ca.len());
    if n == 0 {
        return Ok(absent(key, title, "No repeat purchase window to track."));
    }
    let unit = ctx.cfg.params().time_unit.to_string();
    let cal = max_t(summary)?;
    let pts = |v: &[f64]| -> Vec<(f64, f64)> { (0..n).map(|i| (te[i], v[i])).collect() };
    let data = table(vec![
        ("time", Col::Num(te[..n].to_vec())),
        ("actual_cumulative", Col::Num(ca[..n].to_vec())),
        ("expected_cumulative", Col::Num(ce[..n].to_vec())),
        ("actual_incremental", Col::Num(ia[..n].to_vec())),
        ("expected_incremental", Col::Num(ie[..n].to_vec())),
    ])?;
    let (a_end, e_end) = (ca[n - 1], ce[n - 1]);
    let reading = format!(
        "After {} {unit}s the cohort made {} repeat purchases; the model expected {} ({}{}).",
        te[n - 1],
        count(a_end),
        count(e_end),
        if e_end >= a_end { "+" } else { "" },
        pct(if a_end > 0.0 { (e_end - a_end) / a_end } else { 0.0 })
    );
    let line = |a: &[f64], e: &[f64], y: &str| {
        Chart::Line(LineChart {
            series: vec![("actual".into(), pts(a)), ("model".into(), pts(e))],
            x_axis: format!("{unit}s since the cohort's first purchase"),
            y_axis: y.into(),
            x_format: ValueFormat::Number,
            y_format: ValueFormat::Count,
            marker: Some((cal, "calibration end".into())),
            diagonal: false,
        })
    };
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![
            Figure {
                key: "tracking-cumulative",
                title: format!("Cumulative repeat purchases per {unit}: actual vs model"),
                caption: reading,
                chart: line(&ca, &ce, "cumulative repeat purchases"),
                table: data.clone(),
            },
            Figure {
                key: "tracking-incremental",
                title: format!("Repeat purchases per {unit}: actual vs model"),
                caption: format!("Right of the line is the holdout: {unit}s the model did not see."),
                chart: line(&ia, &ie, &format!("repeat purchases per {unit}")),
                table: data,
            },
        ],
    ))
}
