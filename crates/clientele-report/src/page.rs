//! The HTML page: one file, styles inline, charts as inline SVG, no script and no network.

use std::fmt::Write as _;

use crate::chart::Rendered;
use crate::error::{Error, Result};
use crate::html::Report;

/// Text escaped for HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script type="application/json">` block (no `</script>` can end it).
fn script_json(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3b5a;color:#fff;padding:20px 32px}
header h1{margin:0 0 6px;font-size:26px}
header p{margin:2px 0;color:#dde6ef}
nav{padding:8px 32px;background:#eef2f6;font-size:14px;position:sticky;top:0;z-index:1}
nav a{margin-right:14px;color:#1f3b5a}
main{padding:8px 32px 40px;max-width:1600px}
section.report-section{background:#fff;border:1px solid #e3e6ea;border-radius:6px;margin:18px 0;padding:12px 20px}
section h2{margin:6px 0;font-size:20px;color:#1f3b5a}
p.reading{font-size:16px;margin:6px 0 12px}
p.absent{color:#777;font-style:italic}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure.chart{margin:0;flex:1 1 700px;max-width:780px}
figure.chart svg{width:100%;height:auto;display:block}
figcaption{font-size:14px;margin:4px 0 8px;color:#444}
figcaption strong{display:block;color:#222;font-size:15px}
footer{padding:12px 32px;color:#777;font-size:13px}
";

/// Writes the page of `report` with its drawn charts (`charts[s][f]` for figure f of section s).
pub(crate) fn page(report: &Report, charts: &[Vec<Rendered>]) -> Result<String> {
    let fmt = |e: std::fmt::Error| Error::InvalidParameter {
        name: "page",
        reason: e.to_string(),
    };
    let mut h = String::with_capacity(256 * 1024);
    let p = &report.params;
    write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"generator\" content=\"clientele-report {}\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        escape(&p.title)
    )
    .map_err(fmt)?;
    let f = &report.facts;
    write!(
        h,
        "<header><h1>{}</h1>\n<p>{} customers, {} events from {} to {}; report date {} (events before it count).</p>\n\
         <p>Models fitted on purchases up to {} and checked on the {} days after it; {}-month CLV at {} monthly discount; time unit: {}.</p></header>\n",
        escape(&p.title),
        crate::chart::ValueFormat::Count.format(f.customers as f64),
        crate::chart::ValueFormat::Count.format(f.events as f64),
        f.first_event.map_or_else(|| "-".into(), |d| d.to_string()),
        f.last_event.map_or_else(|| "-".into(), |d| d.to_string()),
        p.as_of,
        p.calibration_end,
        (p.as_of - p.calibration_end).num_days() - 1,
        p.clv_months,
        crate::chart::ValueFormat::Percent.format(p.monthly_discount),
        p.time_unit
    )
    .map_err(fmt)?;
    h.push_str("<nav>");
    for s in &report.sections {
        write!(h, "<a href=\"#sec-{}\">{}</a>", s.key, escape(s.title)).map_err(fmt)?;
    }
    h.push_str("</nav>\n<main id=\"clientele-report\">\n");
    for (s, drawn) in report.sections.iter().zip(charts) {
        write!(
            h,
            "<section class=\"report-section\" id=\"sec-{k}\" data-section=\"{k}\">\n<h2>{}</h2>\n",
            escape(s.title),
            k = s.key
        )
        .map_err(fmt)?;
        if let Some(r) = &s.reading {
            writeln!(h, "<p class=\"reading\">{}</p>", escape(r)).map_err(fmt)?;
        }
        if let Some(a) = &s.absent {
            writeln!(h, "<p class=\"absent\">{}</p>", escape(a)).map_err(fmt)?;
        }
        if !s.figures.is_empty() {
            h.push_str("<div class=\"charts\">\n");
            for (fig, r) in s.figures.iter().zip(drawn) {
                write!(
                    h,
                    "<figure class=\"chart\" id=\"chart-{k}\" data-chart=\"{k}\" data-kind=\"{}\" data-marks=\"{}\">\n\
                     <figcaption><strong>{}</strong>{}</figcaption>\n{}<script type=\"application/json\" class=\"chart-data\">{}</script>\n</figure>\n",
                    r.kind,
                    r.marks,
                    escape(&fig.title),
                    escape(&fig.caption),
                    r.svg,
                    script_json(&r.data),
                    k = fig.key
                )
                .map_err(fmt)?;
            }
            h.push_str("</div>\n");
        }
        h.push_str("</section>\n");
    }
    write!(
        h,
        "</main>\n<footer>Made by Clientele {}. The numbers behind every chart are the engine's job outputs; write them with <code>--data-dir</code>.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    )
    .map_err(fmt)?;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_cannot_break_out() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        let v = serde_json::json!({"name": "</script><script>"});
        assert!(!script_json(&v).contains("</script>"));
    }
}
