//! Channels: the mix of engagement and revenue, preference vs spend, and attribution.

use super::*;
use clientele::schema::output::attribution::ATTRIBUTED_REVENUE;
use clientele::schema::output::channels::{ENGAGEMENT_SHARE, PREFERRED_BY_ENGAGEMENT};
use clientele::schema::output::common::{REVENUE, REVENUE_SHARE};
use clientele::schema::output::rfm::MONETARY;
use clientele::schema::{CHANNEL, CUSTOMER_ID};

pub(super) fn channels(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("channels", "Channels");
    if ctx.store.columns().channel.is_none() {
        return Ok(absent(key, title, "The events have no channel column."));
    }
    let p = ctx.cfg.params();
    let views = channel_view(&ctx.source(), &ChannelParams::new().as_of(p.as_of).validate()?, ctx.par)?.output;
    let t = &views.channels;
    if t.num_rows() == 0 {
        return Ok(absent(key, title, "No event has a channel."));
    }
    let names: Vec<String> = texts("channels", t, CHANNEL)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let (engagement, revenue) = (
        floats("channels", t, ENGAGEMENT_SHARE)?,
        floats("channels", t, REVENUE)?,
    );
    let total: f64 = revenue.iter().sum();
    let revenue_share: Vec<f64> = revenue
        .iter()
        .map(|r| if total > 0.0 { r / total } else { 0.0 })
        .collect();
    let top = (0..names.len()).max_by(|&a, &b| revenue_share[a].total_cmp(&revenue_share[b]).then(b.cmp(&a)));
    let reading = top.map_or_else(String::new, |i| {
        format!(
            "{} carries {} of engagement and {} of revenue.",
            names[i],
            pct(engagement[i]),
            pct(revenue_share[i])
        )
    });
    let mix = table(vec![
        ("channel", Col::Text(names.clone())),
        ("engagement_share", Col::Num(engagement.clone())),
        ("revenue", Col::Num(revenue)),
        ("revenue_share", Col::Num(revenue_share.clone())),
    ])?;
    let mut figures = vec![Figure {
        key: "channel-mix",
        title: "Channel mix: share of engagement and of revenue".into(),
        caption: reading.clone(),
        chart: bars(
            names,
            vec![("engagement", engagement), ("revenue", revenue_share)],
            true,
            ("channel", "share of all events / all revenue (%)"),
            ValueFormat::Percent,
        ),
        table: mix,
    }];
    // preference vs spend: mean RFM monetary of customers by their most-used channel
    let monetary = by_customer("rfm", &ctx.rfm, MONETARY)?;
    let pref = &views.preferred;
    let (ids, chosen) = (
        texts("preferred", pref, CUSTOMER_ID)?,
        texts("preferred", pref, PREFERRED_BY_ENGAGEMENT)?,
    );
    let mut by: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (id, ch) in ids.iter().zip(&chosen) {
        if let (Some(id), Some(ch)) = (id, ch)
            && let Some(Some(m)) = monetary.get(id)
            && let Ok(m) = m.parse::<f64>()
        {
            let e = by.entry(ch.clone()).or_insert((0.0, 0.0));
            e.0 += 1.0;
            e.1 += m;
        }
    }
    if !by.is_empty() {
        let rows: Vec<(String, f64, f64)> = by.into_iter().map(|(c, (n, s))| (c, n, s / n)).collect();
        let best = rows
            .iter()
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map(|r| (r.0.clone(), r.2));
        figures.push(Figure {
            key: "channel-preference-spend",
            title: "Mean spend by preferred channel".into(),
            caption: best.map_or_else(String::new, |(c, m)| {
                format!("Customers who mostly use {c} spend the most: {} on average.", money(m))
            }),
            chart: bars(
                rows.iter().map(|r| r.0.clone()).collect(),
                vec![("mean spend", rows.iter().map(|r| r.2).collect())],
                true,
                (
                    "preferred channel (most events)",
                    "mean spend before the report date (currency units)",
                ),
                ValueFormat::Money,
            ),
            table: table(vec![
                (
                    "preferred_channel",
                    Col::Text(rows.iter().map(|r| r.0.clone()).collect()),
                ),
                ("customers", Col::Num(rows.iter().map(|r| r.1).collect())),
                ("mean_monetary", Col::Num(rows.iter().map(|r| r.2).collect())),
            ])?,
        });
    }
    Ok(section(key, title, reading, figures))
}

pub(super) fn attribution(ctx: &Ctx<'_>) -> Result<Section> {
    let (key, title) = ("attribution", "Attribution");
    if ctx.store.columns().channel.is_none() {
        return Ok(absent(
            key,
            title,
            "The events have no channel column: no touches to attribute.",
        ));
    }
    let p = ctx.cfg.params();
    let params = AttributionParams::new(AttributionModel::Linear)
        .by_campaign(false)
        .as_of(p.as_of);
    let lookback = params.lookback_days;
    let t = attribution_view(&ctx.source(), &params.validate()?, ctx.par)?.output;
    let names: Vec<String> = texts("attribution", &t, CHANNEL)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let share = floats("attribution", &t, REVENUE_SHARE)?;
    if names.iter().all(|n| n == clientele::views::attribution::UNATTRIBUTED) {
        return Ok(absent(key, title, "No purchase had a touch on a channel before it."));
    }
    let top = (0..names.len())
        .filter(|&i| names[i] != clientele::views::attribution::UNATTRIBUTED)
        .max_by(|&a, &b| share[a].total_cmp(&share[b]).then(b.cmp(&a)));
    let unattributed: f64 = (0..names.len())
        .filter(|&i| names[i] == clientele::views::attribution::UNATTRIBUTED)
        .map(|i| share[i])
        .sum();
    let reading = top.map_or_else(String::new, |i| {
        format!(
            "{} gets {} of revenue (linear multi-touch, {lookback}-day lookback); {} had no touch.",
            names[i],
            pct(share[i]),
            pct(unattributed)
        )
    });
    let data = table(vec![
        ("channel", Col::Text(names.clone())),
        (
            "attributed_revenue",
            Col::Num(floats("attribution", &t, ATTRIBUTED_REVENUE)?),
        ),
        ("revenue_share", Col::Num(share.clone())),
    ])?;
    Ok(section(
        key,
        title,
        reading.clone(),
        vec![Figure {
            key: "attribution-channels",
            title: "Share of revenue attributed to each channel".into(),
            caption: reading,
            chart: bars(
                names,
                vec![("attributed revenue", share)],
                true,
                ("channel", "share of purchase revenue (%)"),
                ValueFormat::Percent,
            ),
            table: data,
        }],
    ))
}
