//! Customer lifetime value: its distribution and its mean by segment.

use super::*;
use clientele::schema::CUSTOMER_ID;
use clientele::schema::output::CLV;

pub(super) fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub(super) fn lifetime_value(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("clv", "Customer lifetime value");
    let run = match &ctx.clv {
        Ok(r) => r,
        Err(e) => {
            return Ok(absent(
                key,
                title,
                format!("The lifetime-value models could not be fitted: {e}"),
            ));
        }
    };
    let p = ctx.cfg.params();
    let values = floats("clv", &run.table, CLV)?;
    let ids = texts("clv", &run.table, CUSTOMER_ID)?;
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return Ok(absent(key, title, "No customer could be valued."));
    }
    sorted.sort_by(f64::total_cmp);
    let p99 = sorted[((sorted.len() - 1) as f64 * 0.99) as usize].max(1e-9);
    const BINS: usize = 20;
    let width = p99 / BINS as f64;
    let mut hist = vec![0.0; BINS + 1];
    for &v in &sorted {
        let b = if v >= p99 {
            BINS
        } else {
            ((v.max(0.0) / width) as usize).min(BINS - 1)
        };
        hist[b] += 1.0;
    }
    let labels: Vec<String> = (0..=BINS)
        .map(|b| {
            if b == BINS {
                format!("≥{}", money(p99))
            } else {
                format!("{}–{}", money(b as f64 * width), money((b + 1) as f64 * width))
            }
        })
        .collect();
    let total: f64 = sorted.iter().sum();
    let top1: f64 = sorted.iter().rev().take(sorted.len().div_ceil(100)).sum();
    let reading = format!(
        "Median {}-month CLV is {} (mean {}); the top 1% of customers hold {} of the total.",
        p.clv_months,
        money(median(sorted.clone())),
        money(total / sorted.len() as f64),
        pct(if total > 0.0 { top1 / total } else { 0.0 })
    );
    let hist_table = table(vec![
        ("clv_bin", Col::Text(labels.clone())),
        ("customers", Col::Num(hist.clone())),
    ])?;
    // mean CLV per RFM segment (customers valued and segmented)
    let mut by: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (id, v) in ids.iter().zip(&values) {
        if let (Some(id), true) = (id, v.is_finite())
            && let Some(Some(seg)) = ctx.segment_of.get(id)
        {
            let e = by.entry(seg.clone()).or_insert((0.0, 0.0));
            e.0 += 1.0;
            e.1 += v;
        }
    }
    let mut figures = vec![Figure {
        key: "clv-distribution",
        title: format!("Distribution of {}-month CLV", p.clv_months),
        caption: reading.clone(),
        chart: bars(
            labels,
            vec![("customers", hist)],
            false,
            ("CLV (currency units; last bar: top 1%)", "customers"),
            ValueFormat::Count,
        ),
        table: hist_table,
    }];
    if !by.is_empty() {
        let mut rows: Vec<(String, f64, f64)> = by.into_iter().map(|(s, (n, sum))| (s, n, sum / n)).collect();
        rows.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        let caption = format!("{} have the highest mean CLV: {}.", rows[0].0, money(rows[0].2));
        let data = table(vec![
            ("segment", Col::Text(rows.iter().map(|r| r.0.clone()).collect())),
            ("customers", Col::Num(rows.iter().map(|r| r.1).collect())),
            ("mean_clv", Col::Num(rows.iter().map(|r| r.2).collect())),
        ])?;
        figures.push(Figure {
            key: "clv-by-segment",
            title: "Mean CLV by RFM segment".into(),
            caption,
            chart: bars(
                rows.iter().map(|r| r.0.clone()).collect(),
                vec![("mean CLV", rows.iter().map(|r| r.2).collect())],
                true,
                ("RFM segment", "mean CLV (currency units)"),
                ValueFormat::Money,
            ),
            table: data,
        });
    }
    Ok(section(key, title, reading, figures))
}
