#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
//! The report on generated data (every section) and on CDNOW (no channels, campaigns or
//! surveys): sections, charts against the engine's outputs, drawn marks against the data,
//! the data files, and a self-contained page.

use std::sync::OnceLock;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use clientele::chrono::NaiveDate;
use clientele::exec::Parallelism;
use clientele::ingest::Ingestor;
use clientele::kernels::rfm::RfmParams;
use clientele::pipeline::{EventSource, SegmentBy, report_segments};
use clientele::report::SegmentReportParams;
use clientele::store::EventStore;
use clientele::synth::{GenerateParams, generate};
use clientele_report::chart::Chart;
use clientele_report::html::{DataFormat, Report, ReportParams, SECTION_KEYS, build};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn par() -> Parallelism {
    Parallelism::threads(2).unwrap()
}

fn generated_store() -> &'static EventStore {
    static STORE: OnceLock<EventStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let events = generate(&GenerateParams::default().customers(3_000).seed(11).validate().unwrap()).unwrap();
        let mut ing = Ingestor::new(&clientele::ingest::IngestOptions::default()).unwrap();
        ing.read_batches("generated", events.into_iter().map(Ok)).unwrap();
        ing.finish().unwrap().0
    })
}

fn generated() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let cfg = ReportParams::new(d(2026, 1, 1), d(2025, 6, 30)).validate().unwrap();
        build(&EventSource::Store(generated_store()), &cfg, &par()).unwrap()
    })
}

fn floats(b: &RecordBatch, name: &str) -> Vec<f64> {
    let c = arrow_cast::cast(b.column_by_name(name).unwrap(), &arrow_schema::DataType::Float64).unwrap();
    c.as_primitive::<Float64Type>().values().to_vec()
}

fn attr(tag: &str, name: &str) -> f64 {
    let key = format!(" {name}=\"");
    let start = tag.find(&key).unwrap() + key.len();
    let end = start + tag[start..].find('"').unwrap();
    tag[start..end].parse().unwrap()
}

/// The rects of a rendered chart's marks group: (width, height) in drawing order.
fn mark_rects(svg: &str) -> Vec<(f64, f64)> {
    let start = svg.find("<g class=\"marks\">").unwrap();
    let end = svg.find("<g class=\"annotations\">").unwrap();
    svg[start..end]
        .split("<rect")
        .skip(1)
        .map(|t| (attr(t, "width"), attr(t, "height")))
        .collect()
}

#[test]
fn every_section_is_drawn_on_generated_data() {
    let report = generated();
    let keys: Vec<&str> = report.sections.iter().map(|s| s.key).collect();
    assert_eq!(keys, SECTION_KEYS.to_vec());
    for s in &report.sections {
        assert!(s.absent.is_none(), "{}: {:?}", s.key, s.absent);
        assert!(
            !s.reading.as_deref().unwrap_or("").is_empty(),
            "{} has no reading",
            s.key
        );
        assert!(!s.figures.is_empty(), "{} has no chart", s.key);
        for f in &s.figures {
            assert!(!f.caption.is_empty(), "{} has no caption", f.key);
            assert!(f.table.num_rows() > 0, "{} has no data", f.key);
        }
    }
    let charts = report.render_charts().unwrap();
    for (s, drawn) in report.sections.iter().zip(&charts) {
        for (f, r) in s.figures.iter().zip(drawn) {
            assert!(r.marks > 0, "{}", f.key);
            assert_eq!(r.data["kind"], r.kind, "{}", f.key);
        }
    }
}

#[test]
fn segment_shares_are_the_segment_reports_numbers() {
    let report = generated();
    let store = generated_store();
    let run = report_segments(
        &EventSource::Store(store),
        &RfmParams::new(d(2026, 1, 1)).validate().unwrap(),
        SegmentBy::Rfm,
        SegmentReportParams::new(d(2026, 1, 1)),
        &par(),
    )
    .unwrap();
    let fig = report.figures().find(|(_, f)| f.key == "segment-shares").unwrap().1;
    let Chart::Bar(bar) = &fig.chart else {
        panic!("not a bar chart")
    };
    assert_eq!(bar.series[0].1, floats(&run.report, "share"));
    assert_eq!(bar.series[1].1, floats(&run.report, "revenue_share"));
    // the reading names the segment with the largest revenue share
    let share = floats(&run.report, "revenue_share");
    let top = (0..share.len()).max_by(|&a, &b| share[a].total_cmp(&share[b])).unwrap();
    let names = run
        .report
        .column_by_name("segment")
        .unwrap()
        .as_string::<i32>()
        .value(top)
        .to_string();
    assert!(
        report
            .section("segments")
            .unwrap()
            .reading
            .as_deref()
            .unwrap()
            .starts_with(&names)
    );
}

#[test]
fn drawn_bars_and_cells_follow_the_data() {
    let report = generated();
    for (_, f) in report.figures() {
        let r = f.chart.render().unwrap();
        match &f.chart {
            Chart::Bar(bar) => {
                let values: Vec<f64> = bar.series.iter().flat_map(|s| s.1.iter().copied()).collect();
                let rects = mark_rects(&r.svg);
                assert_eq!(rects.len(), values.len(), "{}", f.key);
                let len: Vec<f64> = rects.iter().map(|&(w, h)| if bar.horizontal { w } else { h }).collect();
                for i in 0..values.len() {
                    for j in 0..values.len() {
                        if values[i].abs() > values[j].abs() * (1.0 + 1e-9) + 1e-12 {
                            assert!(
                                len[i] >= len[j] - 1.0,
                                "{}: bar {i} ({}) shorter than bar {j} ({})",
                                f.key,
                                values[i],
                                values[j]
                            );
                        }
                    }
                }
            }
            Chart::Heatmap(h) => {
                assert_eq!(mark_rects(&r.svg).len(), h.cells.len(), "{}", f.key);
                assert_eq!(r.data["cells"], h.cells.len());
            }
            Chart::Line(l) => assert!(r.svg.matches("<polyline").count() >= l.series.len(), "{}", f.key),
            Chart::Scatter(s) => assert_eq!(r.svg.matches("<circle").count(), s.points.len(), "{}", f.key),
        }
    }
    // the RFM heatmap has one cell per (R, F) pair that holds customers
    let rfm = report.figures().find(|(_, f)| f.key == "rfm-customers").unwrap().1;
    let Chart::Heatmap(h) = &rfm.chart else { panic!() };
    let counts: f64 = h.cells.iter().map(|c| c.2).sum();
    assert_eq!(counts as usize, report_segments_customers());
}

fn report_segments_customers() -> usize {
    let f = generated()
        .figures()
        .find(|(_, f)| f.key == "segment-shares")
        .unwrap()
        .1;
    floats(&f.table, "customers").iter().sum::<f64>() as usize
}

#[test]
fn the_page_is_self_contained_and_small() {
    let html = generated().to_html().unwrap();
    assert!(html.len() < 2 * 1024 * 1024, "{} bytes", html.len());
    assert!(!html.contains("<script src"), "no external scripts");
    assert!(!html.contains("<link"), "no external styles");
    assert!(!html.contains("href=\"http"), "no links out");
    assert!(!html.contains("<img"), "no images");
    // the only scripts are inert JSON data blocks
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script type=\"application/json\"").count()
    );
    for key in SECTION_KEYS {
        assert!(html.contains(&format!("data-section=\"{key}\"")), "{key}");
    }
}

#[test]
fn data_files_hold_the_charts_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let report = generated();
    let written = report.write_data(dir.path(), DataFormat::Parquet).unwrap();
    assert_eq!(written.len(), report.figures().count());
    for ((_, f), path) in report.figures().zip(&written) {
        let back = clientele::io::read_table(path).unwrap();
        assert_eq!(back.num_rows(), f.table.num_rows(), "{}", f.key);
        assert_eq!(back.schema().fields().len(), f.table.schema().fields().len());
    }
    let csv = report.write_data(dir.path().join("csv"), DataFormat::Csv).unwrap();
    assert!(csv.iter().all(|p| p.extension().unwrap() == "csv" && p.exists()));
}

#[test]
fn absent_data_is_said_not_drawn() {
    // CDNOW: purchases only, no channel, campaign or survey columns
    let (opts, csv) = clientele::ingest::layouts::cdnow();
    let mut ing = Ingestor::new(&opts).unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/cdnow/CDNOW_sample.txt"
    ))
    .unwrap();
    ing.read_csv_reader(text.as_bytes(), "CDNOW_sample.txt", &csv).unwrap();
    let (store, _) = ing.finish().unwrap();
    let cfg = ReportParams::new(d(1998, 7, 1), d(1997, 9, 30)).validate().unwrap();
    let report = build(&EventSource::Store(&store), &cfg, &par()).unwrap();
    for key in ["channels", "attribution", "campaigns", "satisfaction"] {
        let s = report.section(key).unwrap();
        assert!(s.figures.is_empty(), "{key}");
        assert!(s.absent.as_deref().unwrap().contains("no"), "{key}: {:?}", s.absent);
    }
    for key in ["segments", "rfm", "value", "clv", "model", "tracking", "cohorts"] {
        let s = report.section(key).unwrap();
        assert!(s.absent.is_none() && !s.figures.is_empty(), "{key}: {:?}", s.absent);
    }
    let html = report.to_html().unwrap();
    assert_eq!(
        html.matches("<p class=\"absent\">").count(),
        report.sections.iter().filter(|s| s.absent.is_some()).count()
    );
    // the BG/NBD check: 2,357 customers, as lifetimes' CDNOW example
    let model = report.section("model").unwrap().reading.clone().unwrap();
    assert!(model.contains("holdout"), "{model}");
}

#[test]
fn actual_tracking_counts_every_repeat_purchase_of_the_summary() {
    use clientele::kernels::summary::{Period, SummaryParams, TimeUnit};
    use clientele::pipeline::{actual_tracking, customer_summary};
    let store = generated_store();
    // days: every point is complete, so the curve ends at all repeat purchases of the window
    let cfg = SummaryParams::new(d(2025, 6, 30))
        .observation_end(d(2025, 12, 31))
        .period(Period::Day)
        .time_unit(TimeUnit::Day)
        .validate()
        .unwrap();
    let summary = customer_summary(&EventSource::Store(store), &cfg, &par())
        .unwrap()
        .summary;
    let t = actual_tracking(&EventSource::Store(store), &cfg, &par()).unwrap();
    let cumulative = floats(&t, "actual_cumulative");
    let expected: f64 = summary.column("frequency").unwrap().iter().sum::<f64>()
        + summary.column("frequency_holdout").unwrap().iter().sum::<f64>();
    assert_eq!(*cumulative.last().unwrap(), expected);
    // one thread or two: the same curve
    let one = actual_tracking(&EventSource::Store(store), &cfg, &Parallelism::threads(1).unwrap()).unwrap();
    assert_eq!(one, t);
}

/// Events with a held-out control group: 100 treated customers of C1 (30 respond), 100
/// controls (10 respond); every customer bought once before.
fn campaign_store() -> EventStore {
    use std::sync::Arc;
    let (mut ids, mut times, mut types, mut campaigns, mut amounts) = (vec![], vec![], vec![], vec![], vec![]);
    let mut push = |id: i64, t: &str, ty: &str, c: Option<&str>, a: Option<f64>| {
        ids.push(id);
        times.push(t.to_string());
        types.push(ty.to_string());
        campaigns.push(c.map(str::to_string));
        amounts.push(a);
    };
    for id in 0..200_i64 {
        push(id, "2025-01-10", "purchase", None, Some(20.0 + id as f64));
        push(id, "2025-02-10", "purchase", None, Some(15.0));
        let treated = id < 100;
        push(
            id,
            "2025-03-01",
            "campaign_send",
            Some(if treated { "C1" } else { "C1:control" }),
            None,
        );
        if (treated && id < 30) || (!treated && id < 110) {
            push(id, "2025-03-03", "campaign_response", Some("C1"), None);
        }
    }
    let batch = RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(arrow_array::Int64Array::from(ids)) as arrow_array::ArrayRef,
        ),
        ("event_time", Arc::new(arrow_array::StringArray::from(times)) as _),
        ("event_type", Arc::new(arrow_array::StringArray::from(types)) as _),
        ("campaign_id", Arc::new(arrow_array::StringArray::from(campaigns)) as _),
        ("amount", Arc::new(arrow_array::Float64Array::from(amounts)) as _),
    ])
    .unwrap();
    let mut ing = Ingestor::new(&clientele::ingest::IngestOptions::default()).unwrap();
    ing.read_batches("campaigns", [Ok(batch)]).unwrap();
    ing.finish().unwrap().0
}

#[test]
fn uplift_is_drawn_with_its_interval_from_the_campaign_view() {
    use clientele::pipeline::campaign_view;
    use clientele::views::CampaignParams;
    let store = campaign_store();
    let cfg = ReportParams::new(d(2025, 7, 1), d(2025, 4, 30)).validate().unwrap();
    let report = build(&EventSource::Store(&store), &cfg, &par()).unwrap();
    let s = report.section("campaigns").unwrap();
    assert!(s.absent.is_none(), "{:?}", s.absent);
    let fig = s
        .figures
        .iter()
        .find(|f| f.key == "campaign-uplift")
        .expect("an uplift chart");
    let Chart::Bar(bar) = &fig.chart else { panic!() };
    let view = campaign_view(
        &EventSource::Store(&store),
        None,
        &CampaignParams::new().as_of(d(2025, 7, 1)).validate().unwrap(),
        &par(),
    )
    .unwrap()
    .output;
    let (uplift, lo, hi) = (
        floats(&view, "uplift"),
        floats(&view, "uplift_ci_low"),
        floats(&view, "uplift_ci_high"),
    );
    assert!((uplift[0] - 0.2).abs() < 1e-12, "30% treated vs 10% control");
    assert_eq!(bar.series[0].1, vec![uplift[0]]);
    assert_eq!(bar.intervals.as_deref(), Some(&[(lo[0], hi[0])][..]));
    assert!(
        s.reading.as_deref().unwrap().contains("+20.0 points"),
        "{:?}",
        s.reading
    );
    // the interval is drawn as whiskers beside the bar, outside the marks
    let r = fig.chart.render().unwrap();
    let notes = &r.svg[r.svg.find("<g class=\"annotations\">").unwrap()..];
    assert_eq!(notes.matches("<polyline").count(), 3, "one line and two caps");
    assert_eq!(r.marks, 1);
    // the response chart has the control series
    let resp = s.figures.iter().find(|f| f.key == "campaign-response").unwrap();
    let Chart::Bar(resp) = &resp.chart else { panic!() };
    assert_eq!(resp.series.len(), 2);
    assert_eq!(resp.series[1].1, vec![0.1]);
}

#[test]
fn histories_too_thin_for_a_model_still_give_a_report() {
    use std::sync::Arc;
    // one purchase each (nobody repeats), and a report date before any event
    let ids: Vec<i64> = (0..300).collect();
    let times: Vec<String> = (0..300).map(|i| format!("2025-0{}-15", 1 + i % 9)).collect();
    let batch = RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(arrow_array::Int64Array::from(ids)) as arrow_array::ArrayRef,
        ),
        ("event_time", Arc::new(arrow_array::StringArray::from(times)) as _),
        (
            "amount",
            Arc::new(arrow_array::Float64Array::from(vec![10.0; 300])) as _,
        ),
    ])
    .unwrap();
    let source = EventSource::batches("once", vec![batch]);
    let cfg = ReportParams::new(d(2026, 1, 1), d(2025, 6, 30)).validate().unwrap();
    let report = build(&source, &cfg, &par()).unwrap();
    for key in ["clv", "model", "tracking", "churn"] {
        let why = report.section(key).unwrap().absent.clone().unwrap_or_default();
        assert!(
            why.contains("could not") || why.contains("No purchase model"),
            "{key}: {why}"
        );
    }
    assert!(report.section("segments").unwrap().absent.is_none());
    assert!(report.to_html().unwrap().contains("no repeat customer"));
    let early = ReportParams::new(d(2024, 1, 1), d(2023, 6, 30)).validate().unwrap();
    let report = build(&source, &early, &par()).unwrap();
    assert_eq!(report.figures().count(), 0);
    assert!(report.sections.iter().all(|s| s.absent.is_some()));
}
