//! `clientele demo`: the main job on bundled data, no arguments needed.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{RecordBatch, UInt32Array};
use chrono::NaiveDate;
use clap::Args;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use clientele::pipeline::{
    EventSource, SegmentBy, churn_score, churn_train, fire_triggers, report_segments, satisfaction_view,
};
use clientele::report::SegmentReportParams;
use clientele::schema::CUSTOMER_ID;
use clientele::schema::output::churn::CHURN_PROBABILITY;
use clientele::schema::output::common::SEGMENT;
use clientele::schema::output::rfm::MONETARY;
use clientele::schema::output::satisfaction::DIMENSION;
use clientele::schema::output::summary::{COUNT_PREFIX, FREQUENCY_HOLDOUT, TOTAL_SPEND};
use clientele::schema::output::triggers::RULE;
use clientele::schema::output::{FREQUENCY, MONETARY_VALUE, RECENCY, T};
use clientele::synth::GenerateParams;

/// The CDNOW sample, bundled (see testdata/cdnow/README.md for its provenance).
const CDNOW: &str = include_str!("../../../../testdata/cdnow/CDNOW_sample.txt");

/// Arguments of `clientele demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Customers in the synthetic part of the demo.
    #[arg(long, value_name = "N", default_value_t = 5_000)]
    customers: u64,
    /// Where the demo writes its HTML report of the synthetic customers (default:
    /// `clientele-demo-report.html` in the system's temporary folder).
    #[arg(long, value_name = "FILE")]
    report: Option<std::path::PathBuf>,
}

/// A Float64 column's values (nulls as 0), or nothing when the column is absent.
fn floats(b: &RecordBatch, name: &str) -> Vec<f64> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .map(|a| a.iter().map(|v| v.unwrap_or(0.0)).collect())
        .unwrap_or_default()
}

/// The sum of a UInt64 column (0 when absent).
fn sum_u64(b: &RecordBatch, name: &str) -> u64 {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<UInt64Type>())
        .map_or(0, |a| a.values().iter().sum())
}

fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, Box<dyn std::error::Error>> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| "invalid date".into())
}

pub fn run(a: &DemoArgs, par: &Parallelism) -> Result<(), Box<dyn std::error::Error>> {
    println!("Clientele demo\n==============\n");
    println!("1. CDNOW sample (2,357 customers who first bought in Q1 1997; bundled)\n");
    let (opts, csv) = clientele::ingest::layouts::cdnow();
    let mut ing = Ingestor::new(&opts)?.with_parallelism(par.clone());
    ing.read_csv_reader(CDNOW.as_bytes(), "CDNOW_sample.txt", &csv)?;
    let (store, report) = ing.finish()?;
    println!(
        "   ingest: {} rows read, {} accepted, {} rejected -> {} customers",
        report.rows_read,
        report.rows_accepted,
        report.rows_rejected,
        store.num_customers()
    );
    let params = SummaryParams::new(date(1997, 9, 30)?)
        .observation_end(date(1998, 6, 30)?)
        .period(Period::Day)
        .time_unit(TimeUnit::Week);
    let s = summarize(&store, &params.validate()?, par)?;
    let x = floats(&s, FREQUENCY);
    let xh = floats(&s, FREQUENCY_HOLDOUT);
    let m = floats(&s, MONETARY_VALUE);
    let repeat: Vec<f64> = m.iter().zip(&x).filter(|(_, x)| **x > 0.0).map(|(m, _)| *m).collect();
    println!("   summary: calibration to 1997-09-30, holdout to 1998-06-30, same-day purchases merged, time in weeks");
    println!(
        "   repeat transactions: {} in calibration by {} repeat buyers; {} in the 39-week holdout",
        x.iter().sum::<f64>(),
        repeat.len(),
        xh.iter().sum::<f64>()
    );
    println!(
        "   mean spend per repeat purchase day: ${:.2} (published preparation: $35.08)\n",
        repeat.iter().sum::<f64>() / repeat.len().max(1) as f64
    );
    let mut order: Vec<usize> = (0..s.num_rows()).collect();
    order.sort_by(|&i, &j| x[j].total_cmp(&x[i]).then(i.cmp(&j)));
    let top = UInt32Array::from(order.iter().take(5).map(|&i| i as u32).collect::<Vec<_>>());
    let cols = [
        CUSTOMER_ID,
        FREQUENCY,
        RECENCY,
        T,
        MONETARY_VALUE,
        FREQUENCY_HOLDOUT,
        TOTAL_SPEND,
    ];
    let top = arrow_select::take::take_record_batch(
        &s.project(
            &cols
                .iter()
                .filter_map(|c| s.schema().index_of(c).ok())
                .collect::<Vec<_>>(),
        )?,
        &top,
    )?;
    println!("   most frequent buyers:");
    for line in clientele::io::format_table(&top, 5).lines() {
        println!("   {line}");
    }
    // Lifetime value: BG/NBD + Gamma-Gamma fitted on the calibration weeks, 12 months at 1 %
    // a month (the lifetimes convention).
    let summary = clientele::pipeline::CustomerSummary::new(
        s.clone(),
        clientele::models::DataWindow::new(Period::Day, TimeUnit::Week).calibration_end(date(1997, 9, 30)?),
    )?;
    let cfg = clientele::pipeline::ClvParams::new(clientele::pipeline::Discount::Monthly { rate: 0.01 }).validate()?;
    let run = clientele::pipeline::clv(&summary, &cfg, par)?;
    let params = |p: &[(&str, f64)]| {
        p.iter()
            .map(|(n, v)| format!("{n} {v:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let purchase = run.models.purchase_model()?;
    println!(
        "\n   BG/NBD fit: {} (log-likelihood {:.1}; published 0.243, 4.414, 0.793, 2.426, -9582.4)",
        params(&purchase.params()),
        purchase.diagnostics().map_or(f64::NAN, |d| d.log_likelihood)
    );
    if let Some(spend) = &run.models.spend {
        println!(
            "   Gamma-Gamma fit: {} (published 6.25, 3.74, 15.44)",
            params(&[("p", spend.p), ("q", spend.q), ("gamma", spend.gamma)])
        );
    }
    println!("   top customers by 12-month CLV (1 % monthly discount):");
    let top = clientele::pipeline::top_by(&run.table, clientele::schema::output::CLV, 5)?;
    for line in clientele::io::format_table(&top, 5).lines() {
        println!("   {line}");
    }

    println!(
        "\n2. Synthetic CRM event log ({} customers, seed 42: purchases, visits, campaigns, service)\n",
        a.customers
    );
    let cfg = GenerateParams::default().customers(a.customers).seed(42).validate()?;
    let batches = par.install(|| clientele::synth::generate(&cfg))?;
    let mut ing = Ingestor::new(&IngestOptions::default())?.with_parallelism(par.clone());
    ing.read_batches("synthetic", batches.into_iter().map(Ok))?;
    let (store, report) = ing.finish()?;
    println!(
        "   ingest: {} events, {} customers; events by type:",
        report.rows_accepted,
        store.num_customers()
    );
    for (t, n) in &report.accepted_by_event_type {
        println!("     {t:<18} {n:>9}");
    }
    let s = summarize(
        &store,
        &SummaryParams::new(date(2025, 6, 30)?)
            .observation_end(date(2025, 12, 31)?)
            .period(Period::Week)
            .validate()?,
        par,
    )?;
    let x = floats(&s, FREQUENCY);
    let xh = floats(&s, FREQUENCY_HOLDOUT);
    let complaints = sum_u64(&s, &format!("{COUNT_PREFIX}complaint"));
    println!(
        "\n   summary (weekly periods, calibration to 2025-06-30, holdout to 2025-12-31): {} buyers, {} repeat buyers,",
        s.num_rows(),
        x.iter().filter(|v| **v > 0.0).count()
    );
    println!(
        "   {} repeat weeks in calibration, {} purchase weeks in the holdout, {} complaints logged",
        x.iter().sum::<f64>(),
        xh.iter().sum::<f64>(),
        complaints
    );
    // RFM (orders convention, NTILE quintiles) and the R rfm segment map.
    let rfm_params = clientele::kernels::rfm::RfmParams::new(date(2026, 1, 1)?).validate()?;
    let source = EventSource::Store(&store);
    let run = report_segments(
        &source,
        &rfm_params,
        SegmentBy::Rfm,
        SegmentReportParams::new(date(2026, 1, 1)?),
        par,
    )?;
    let (segments, table) = (run.report, run.table);
    println!("\n   RFM segments as of 2026-01-01 (NTILE quintiles, R rfm segment map):");
    for line in clientele::io::format_table(&segments, 20).lines() {
        println!("   {line}");
    }
    // Satisfaction by segment (the regular report).
    let sat_cfg = clientele::views::SatisfactionParams::new().validate()?;
    let sat = satisfaction_view(&source, Some(&table), &sat_cfg, par)?.output;
    let seg_rows: Vec<u32> = {
        let dims = sat
            .summary
            .column_by_name(DIMENSION)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or("no dimension column")?;
        (0..dims.len() as u32)
            .filter(|&i| dims.value(i as usize) == "segment")
            .collect()
    };
    let by_segment = arrow_select::take::take_record_batch(&sat.summary, &UInt32Array::from(seg_rows))?;
    println!("\n   average satisfaction (survey scores) by RFM segment:");
    for line in clientele::io::format_table(&by_segment, 20).lines() {
        println!("   {line}");
    }
    // Churn: a logistic regression trained on the second half of 2025's outcome, scored as of
    // 2026-01-01; and the triggers that fire on the scored, segmented customers.
    let cutoff = date(2025, 7, 1)?;
    let c = clientele::churn::ChurnModelParams::new().c;
    let model = churn_train(&store, cutoff, 90, None, c, false, par)?.model;
    let scores = churn_score(&store, &model, date(2026, 1, 1)?, None, par)?;
    let top: Vec<(String, f64)> = model.feature_importance().into_iter().take(3).collect();
    println!(
        "\n   churn model (features before 2025-07-01, churn = no purchase in 90 days): strongest features {}",
        top.iter()
            .map(|(n, c)| format!("{n} {c:+.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // The scores and the RFM table cover the same customers (purchasers before 2026-01-01), in
    // customer order: put the segment and the monetary value beside each probability.
    if scores.column(0) != table.column(0) {
        return Err("churn scores and the RFM table cover different customers".into());
    }
    let joined = RecordBatch::try_from_iter([
        (CUSTOMER_ID, scores.column(0).clone()),
        (CHURN_PROBABILITY, scores.column(1).clone()),
        (SEGMENT, table.column_by_name(SEGMENT).ok_or("no segment")?.clone()),
        (MONETARY, table.column_by_name(MONETARY).ok_or("no monetary")?.clone()),
    ])?;
    let p = floats(&joined, CHURN_PROBABILITY);
    let mut order: Vec<u32> = (0..p.len() as u32).collect();
    order.sort_by(|&a, &b| p[b as usize].total_cmp(&p[a as usize]).then(a.cmp(&b)));
    order.truncate(5);
    let risky = arrow_select::take::take_record_batch(&joined, &UInt32Array::from(order))?;
    println!("   most at risk as of 2026-01-01:");
    for line in clientele::io::format_table(&risky, 5).lines() {
        println!("   {line}");
    }
    let rules = clientele::triggers::TriggerRules::from_toml(
        "[[rules]]\nname = \"save-champions\"\nwhen = 'churn_probability > 0.6 and segment == \"Champions\"'\naction = \"personal call\"\n\n\
         [[rules]]\nname = \"win-back\"\nwhen = \"churn_probability > 0.9 and monetary > 300\"\naction = \"win-back offer\"\n",
    )?;
    let fired = fire_triggers(&rules, &joined)?.fired;
    let names = fired
        .column_by_name(RULE)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or("no rule column")?;
    let count = |r: &str| (0..names.len()).filter(|&i| names.value(i) == r).count();
    println!(
        "   triggers: save-champions (p > 0.6 and Champions -> personal call) fired for {}, win-back (p > 0.9 and monetary > 300 -> offer) for {}",
        count("save-champions"),
        count("win-back")
    );
    for line in clientele::io::format_table(&fired, 5).lines() {
        println!("   {line}");
    }

    // A customer 360 card: the top-risk Champion (or the first customer), with the RFM segment
    // and churn probability joined from the tables above.
    let card_key = {
        let seg = joined.column_by_name(SEGMENT).and_then(|c| c.as_string_opt::<i32>());
        let ids = joined.column(0).as_primitive_opt::<arrow_array::types::Int64Type>();
        match (seg, ids) {
            (Some(seg), Some(ids)) => (0..joined.num_rows())
                .filter(|&i| seg.value(i) == "Champions")
                .max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a)))
                .map(|i| ids.value(i)),
            _ => None,
        }
    };
    if let Some(key) = card_key {
        let cfg = clientele::views::customer360::Customer360Params::new()
            .as_of(date(2026, 1, 1)?)
            .recent(5)
            .validate()?;
        let extra = joined.project(&[0, 1, 2])?;
        if let Some(card) = clientele::views::customer360::customer_lookup(
            &store,
            clientele::store::KeyRef::Int(key),
            Some(&extra),
            &cfg,
        )? {
            println!("\n   customer 360 card of the Champion most at risk:");
            super::views::print_card(&card, "     ").map_err(|e| e.to_string())?;
        }
    }

    // The HTML report of the same customers: every chart, readable in any browser offline.
    let report_path = a
        .report
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("clientele-demo-report.html"));
    let cfg = clientele_report::html::ReportParams::new(date(2026, 1, 1)?, date(2025, 6, 30)?)
        .title("Clientele demo: synthetic customers")
        .validate()?;
    let report = clientele_report::html::build(&source, &cfg, par)?;
    let bytes = report.write_html(&report_path)?;
    println!(
        "\n   HTML report ({} sections, {} charts, {:.0} KB): {}",
        report.sections.len(),
        report.figures().count(),
        bytes as f64 / 1024.0,
        report_path.display()
    );

    println!("\n   Next: `clientele generate --customers 100000 --out events.parquet`,");
    println!("   `clientele ingest --input events.parquet --store store/`,");
    println!("   `clientele summary --store store/ --calibration-end 2025-06-30 --period week --out summary.parquet`,");
    println!("   `clientele rfm --store store/ --as-of 2026-01-01 --segments rf-regex`,");
    println!("   `clientele report segments --store store/ --as-of 2026-01-01 --by deciles`,");
    println!(
        "   `clientele report html --store store/ --as-of 2026-01-01 --calibration-end 2025-06-30 --out report.html`,"
    );
    println!("   `clientele clv --store store/ --calibration-end 2025-12-31 --period week --discount-monthly 0.01`,");
    println!("   `clientele churn train --store store/ --cutoff 2025-07-01 --out churn.json`.");
    Ok(())
}
