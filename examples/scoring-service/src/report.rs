//! `GET /report`: the HTML report of the report crate over the service's store.
//!
//! The report runs the engine's jobs over the store opened at start (appended events reach the
//! cards and scores at once, the report at the next start with a re-ingested store) and fits
//! its own models, so it depends only on its two dates: one page per date pair is built once
//! and kept (the last one), on the engine's threads, off the async runtime.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use clientele::pipeline::EventSource;
use clientele_report::html::{ReportParams, build};
use tokio::sync::Mutex;

use crate::state::App;

/// A built page and its dates (report date, calibration end).
type Page = ((NaiveDate, NaiveDate), Arc<String>);

/// The last page built, with its dates.
#[derive(Debug, Default)]
pub struct ReportCache {
    slot: Mutex<Option<Page>>,
}

/// Why a report could not be made: the caller's dates, or the engine.
#[derive(Debug)]
pub enum ReportFailure {
    /// Bad dates (400).
    BadRequest(String),
    /// The engine failed (500).
    Internal(String),
}

impl App {
    /// The report's dates: `as_of` defaults to the day after the store's last event, and
    /// `calibration_end` to the service's calibration end when that leaves a holdout of at
    /// least 8 weeks before `as_of`, else to 26 weeks before `as_of` (the models are checked
    /// on the holdout, so a report needs one).
    pub fn report_dates(&self, as_of: Option<NaiveDate>, calibration_end: Option<NaiveDate>) -> (NaiveDate, NaiveDate) {
        let last = self.data.store.columns().time.values().iter().max().copied();
        let day_after_last = last
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|t| t.date_naive())
            .and_then(|d| d.checked_add_days(Days::new(1)));
        let service_cal = self.data.prep.params().calibration_end;
        let as_of = as_of.or(day_after_last).unwrap_or(service_cal);
        let cal = calibration_end.unwrap_or_else(|| {
            if (as_of - service_cal).num_days() >= 56 {
                service_cal
            } else {
                as_of.checked_sub_days(Days::new(26 * 7)).unwrap_or(service_cal)
            }
        });
        (as_of, cal)
    }

    /// The HTML report for the dates (built once per date pair; concurrent requests wait for
    /// one build).
    ///
    /// # Errors
    /// [`ReportFailure::BadRequest`] for invalid dates; [`ReportFailure::Internal`] when the
    /// engine fails.
    pub async fn report_html(
        self: &Arc<Self>,
        as_of: NaiveDate,
        calibration_end: NaiveDate,
    ) -> Result<Arc<String>, ReportFailure> {
        let cfg = ReportParams::new(as_of, calibration_end)
            .title("Customer report (scoring service)")
            .validate()
            .map_err(|e| ReportFailure::BadRequest(e.to_string()))?;
        let app = Arc::clone(self);
        // a task of its own: when the request times out, the build still finishes and is kept
        let task = tokio::spawn(async move {
            let mut slot = app.report.slot.lock().await;
            if let Some((dates, html)) = slot.as_ref()
                && *dates == (as_of, calibration_end)
            {
                return Ok(Arc::clone(html));
            }
            let worker = Arc::clone(&app);
            let html = tokio::task::spawn_blocking(move || {
                build(&EventSource::Store(&worker.data.store), &cfg, &worker.par).and_then(|r| r.to_html())
            })
            .await
            .map_err(|e| ReportFailure::Internal(e.to_string()))?
            .map_err(|e| match e {
                clientele_report::Error::InvalidParameter { .. } => ReportFailure::BadRequest(e.to_string()),
                e => ReportFailure::Internal(e.to_string()),
            })?;
            let html = Arc::new(html);
            *slot = Some(((as_of, calibration_end), Arc::clone(&html)));
            Ok(html)
        });
        task.await.map_err(|e| ReportFailure::Internal(e.to_string()))?
    }
}
