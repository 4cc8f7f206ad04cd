//! `clientele demo`: the main job on bundled data, no arguments needed.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{RecordBatch, UInt32Array};
use chrono::NaiveDate;
use clap::Args;
use clientele::exec::Parallelism;
use clientele::ingest::{IngestOptions, Ingestor};
use clientele::kernels::summary::{Period, SummaryParams, TimeUnit, summarize};
use clientele::synth::GenerateParams;

/// The CDNOW sample, bundled (see testdata/cdnow/README.md for its provenance).
const CDNOW: &str = include_str!("../../../../testdata/cdnow/CDNOW_sample.txt");

/// Arguments of `clientele demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Customers in the synthetic part of the demo.
    #[arg(long, value_name = "N", default_value_t = 5_000)]
    customers: u64,
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
    let x = floats(&s, "frequency");
    let xh = floats(&s, "frequency_holdout");
    let m = floats(&s, "monetary_value");
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
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "frequency_holdout",
        "total_spend",
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
    let discounting = clientele::models::clv::Discounting::DiscreteMonthly {
        months: 12,
        monthly_rate: 0.01,
        time_units_per_month: clientele::models::clv::WEEKS_PER_MONTH,
    };
    let run = super::models::clv_table(
        &s,
        "bgnbd",
        clientele::models::clv::WEEKS_PER_MONTH,
        12,
        discounting,
        None,
        0.0,
        par,
    )
    .map_err(|e| e.to_string())?;
    let params = |p: &[(&str, f64)]| {
        p.iter()
            .map(|(n, v)| format!("{n} {v:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "\n   BG/NBD fit: {} (log-likelihood {:.1}; published 0.243, 4.414, 0.793, 2.426, -9582.4)",
        params(&run.purchase.1),
        run.purchase.2.as_ref().map_or(f64::NAN, |d| d.log_likelihood)
    );
    println!(
        "   Gamma-Gamma fit: {} (published 6.25, 3.74, 15.44)",
        params(&[("p", run.spend.p), ("q", run.spend.q), ("gamma", run.spend.gamma)])
    );
    println!("   top customers by 12-month CLV (1 % monthly discount):");
    let top = super::models::top_by_clv(&run.table, 5).map_err(|e| e.to_string())?;
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
    let x = floats(&s, "frequency");
    let xh = floats(&s, "frequency_holdout");
    let complaints = sum_u64(&s, "count_complaint");
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
    let table = clientele::kernels::rfm::rfm(&store, &rfm_params, par)?;
    let order = rfm_params
        .params()
        .segments
        .rules
        .iter()
        .map(|r| r.segment.clone())
        .collect();
    let report_params = clientele::report::SegmentReportParams::new(date(2026, 1, 1)?).segment_order(order);
    let segments = clientele::report::segment_report(&store, &table, &report_params.validate()?, par)?;
    println!("\n   RFM segments as of 2026-01-01 (NTILE quintiles, R rfm segment map):");
    for line in clientele::io::format_table(&segments, 20).lines() {
        println!("   {line}");
    }
    println!("\n   Next: `clientele generate --customers 100000 --out events.parquet`,");
    println!("   `clientele ingest --input events.parquet --store store/`,");
    println!("   `clientele summary --store store/ --calibration-end 2025-06-30 --period week --out summary.parquet`,");
    println!("   `clientele rfm --store store/ --as-of 2026-01-01 --segments rf-regex`,");
    println!("   `clientele report segments --store store/ --as-of 2026-01-01 --by deciles`.");
    Ok(())
}
