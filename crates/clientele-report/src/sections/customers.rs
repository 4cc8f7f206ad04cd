//! Who the customers are: RFM segments, the RFM grid, value tiers and the Pareto curve.

use super::*;
use clientele::schema::output::common::{CUSTOMERS, REVENUE, REVENUE_SHARE, SEGMENT, SHARE};
use clientele::schema::output::rfm::{F_SCORE, MONETARY, R_SCORE};
use clientele::schema::output::tiers::TIER;

pub(super) fn segments(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("segments", "Segments");
    let t = &ctx.segments;
    if t.num_rows() == 0 {
        return Ok(absent(key, title, "No customer bought before the report date."));
    }
    let names: Vec<String> = texts("segments", t, SEGMENT)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let (share, revenue, revenue_share) = (
        floats("segments", t, SHARE)?,
        floats("segments", t, REVENUE)?,
        floats("segments", t, REVENUE_SHARE)?,
    );
    let customers = floats("segments", t, CUSTOMERS)?;
    let top = (0..names.len()).max_by(|&a, &b| revenue_share[a].total_cmp(&revenue_share[b]).then(b.cmp(&a)));
    let reading = top.map_or_else(String::new, |i| {
        format!(
            "{} are {} of customers and {} of revenue.",
            names[i],
            pct(share[i]),
            pct(revenue_share[i])
        )
    });
    let data = table(vec![
        ("segment", Col::Text(names.clone())),
        ("customers", Col::Num(customers.clone())),
        ("share", Col::Num(share.clone())),
        ("revenue", Col::Num(revenue.clone())),
        ("revenue_share", Col::Num(revenue_share.clone())),
    ])?;
    let shares = Figure {
        key: "segment-shares",
        title: "Share of customers and of revenue by RFM segment".into(),
        caption: reading.clone(),
        chart: bars(
            names.clone(),
            vec![("customers", share), ("revenue", revenue_share)],
            true,
            ("RFM segment", "share of all customers / all revenue (%)"),
            ValueFormat::Percent,
        ),
        table: data.clone(),
    };
    let big = (0..names.len()).max_by(|&a, &b| customers[a].total_cmp(&customers[b]).then(b.cmp(&a)));
    let sizes = Figure {
        key: "segment-sizes",
        title: "Revenue by RFM segment".into(),
        caption: match (top, big) {
            (Some(t), Some(b)) => format!(
                "{} bring {} in revenue; the largest segment is {} with {} customers.",
                names[t],
                money(revenue[t]),
                names[b],
                count(customers[b])
            ),
            _ => String::new(),
        },
        chart: bars(
            names,
            vec![("revenue", revenue)],
            true,
            ("RFM segment", "revenue before the report date (currency units)"),
            ValueFormat::Money,
        ),
        table: data,
    };
    Ok(section(key, title, reading, vec![shares, sizes]))
}

pub(super) fn rfm(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("rfm", "RFM grid");
    let t = &ctx.rfm;
    if t.num_rows() == 0 {
        return Ok(absent(key, title, "No customer bought before the report date."));
    }
    let (r, f, m) = (
        floats("rfm", t, R_SCORE)?,
        floats("rfm", t, F_SCORE)?,
        floats("rfm", t, MONETARY)?,
    );
    let bins = r
        .iter()
        .chain(&f)
        .copied()
        .filter(|v| v.is_finite())
        .fold(1.0_f64, f64::max) as usize;
    // cells[(r, f)] = (customers, monetary sum)
    let mut cells: BTreeMap<(usize, usize), (f64, f64)> = BTreeMap::new();
    for i in 0..r.len() {
        if !(r[i].is_finite() && f[i].is_finite()) || r[i] < 1.0 || f[i] < 1.0 {
            continue;
        }
        let c = cells.entry((r[i] as usize, f[i] as usize)).or_insert((0.0, 0.0));
        c.0 += 1.0;
        c.1 += if m[i].is_finite() { m[i] } else { 0.0 };
    }
    let columns: Vec<String> = (1..=bins).map(|s| format!("F{s}")).collect();
    let rows: Vec<String> = (1..=bins).rev().map(|s| format!("R{s}")).collect();
    let row_of = |rs: usize| bins - rs; // R = bins on the top row
    let total = r.len() as f64;
    let (mut rr, mut ff, mut nn, mut mm) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (&(rs, fs), &(n, sum)) in &cells {
        rr.push(rs as f64);
        ff.push(fs as f64);
        nn.push(n);
        mm.push(sum / n);
    }
    let data = table(vec![
        ("r_score", Col::Num(rr.clone())),
        ("f_score", Col::Num(ff.clone())),
        ("customers", Col::Num(nn.clone())),
        ("mean_monetary", Col::Num(mm.clone())),
    ])?;
    let grid = |values: &[f64]| -> Vec<(usize, usize, f64)> {
        (0..rr.len())
            .map(|i| (ff[i] as usize - 1, row_of(rr[i] as usize), values[i]))
            .collect()
    };
    let best = cells.get(&(bins, bins)).copied().unwrap_or((0.0, 0.0));
    let reading = format!(
        "The top cell (R{bins} F{bins}: recent and frequent) holds {} customers ({}) spending {} on average.",
        count(best.0),
        pct(best.0 / total),
        money(if best.0 > 0.0 { best.1 / best.0 } else { 0.0 })
    );
    let top_m = (0..mm.len()).max_by(|&a, &b| mm[a].total_cmp(&mm[b]));
    let heat = |values: &[f64], label: &str, format| {
        Chart::Heatmap(Heatmap {
            columns: columns.clone(),
            rows: rows.clone(),
            cells: grid(values),
            column_axis: "frequency score (F1 = fewest orders)".into(),
            row_axis: "recency score (R5 = most recent)".into(),
            value_label: label.into(),
            format,
        })
    };
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![
            Figure {
                key: "rfm-customers",
                title: "Customers per recency x frequency cell".into(),
                caption: reading,
                chart: heat(&nn, "customers", ValueFormat::Count),
                table: data.clone(),
            },
            Figure {
                key: "rfm-monetary",
                title: "Mean spend per recency x frequency cell".into(),
                caption: top_m.map_or_else(String::new, |i| {
                    format!(
                        "Spend is highest in R{} F{}: {} per customer.",
                        rr[i] as usize,
                        ff[i] as usize,
                        money(mm[i])
                    )
                }),
                chart: heat(&mm, "mean spend", ValueFormat::Money),
                table: data,
            },
        ],
    ))
}

pub(super) fn value(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("value", "Value tiers");
    let p = ctx.cfg.params();
    let rfm_cfg = RfmParams::new(p.as_of).validate()?;
    let run = value_segments(&ctx.source(), &rfm_cfg, Tiers::Deciles, ctx.par)?;
    let t = &run.summary;
    if t.num_rows() == 0 {
        return Ok(absent(key, title, "No customer bought before the report date."));
    }
    let tiers: Vec<String> = texts("value_tiers", t, TIER)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let (customers, share) = (
        floats("value_tiers", t, CUSTOMERS)?,
        floats("value_tiers", t, REVENUE_SHARE)?,
    );
    let total: f64 = customers.iter().sum();
    let mut curve = vec![(0.0, 0.0)];
    let (mut c, mut r) = (0.0, 0.0);
    for i in 0..tiers.len() {
        c += customers[i] / total;
        r += share[i];
        curve.push((c, r));
    }
    let top = |q: f64| curve.iter().find(|p| p.0 >= q - 1e-9).map_or(1.0, |p| p.1);
    let reading = format!(
        "The top 10% of customers bring {} of revenue, the top 20% {}.",
        pct(top(0.1)),
        pct(top(0.2))
    );
    let data = table(vec![
        ("tier", Col::Text(tiers.clone())),
        ("customers", Col::Num(customers)),
        ("revenue", Col::Num(floats("value_tiers", t, REVENUE)?)),
        ("revenue_share", Col::Num(share.clone())),
        (
            "cumulative_customer_share",
            Col::Num(curve[1..].iter().map(|p| p.0).collect()),
        ),
        (
            "cumulative_revenue_share",
            Col::Num(curve[1..].iter().map(|p| p.1).collect()),
        ),
    ])?;
    let labels: Vec<String> = tiers.iter().map(|t| t.replace("decile_", "D")).collect();
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![
            Figure {
                key: "value-deciles",
                title: "Share of revenue by revenue decile (D1 = top 10% of customers)".into(),
                caption: format!(
                    "Decile D1 alone brings {} of revenue.",
                    pct(share.first().copied().unwrap_or(0.0))
                ),
                chart: bars(
                    labels,
                    vec![("revenue", share)],
                    false,
                    ("revenue decile", "share of revenue (%)"),
                    ValueFormat::Percent,
                ),
                table: data.clone(),
            },
            Figure {
                key: "value-pareto",
                title: "Pareto curve: cumulative revenue by share of customers".into(),
                caption: reading,
                chart: Chart::Line(LineChart {
                    series: vec![("customers by revenue".into(), curve)],
                    x_axis: "share of customers, highest revenue first (%)".into(),
                    y_axis: "share of revenue (%)".into(),
                    x_format: ValueFormat::Percent,
                    y_format: ValueFormat::Percent,
                    marker: None,
                    diagonal: true,
                }),
                table: data,
            },
        ],
    ))
}
