//! Ready-made ingest settings for well-known public data sets.

use super::options::{CsvOptions, Delimiter, IngestOptions};
use crate::schema::Role;
use crate::time::TimeFormat;

/// The CDNOW sample and master files as Bruce Hardie publishes them (and `lifetimes`
/// redistributes them): whitespace separated, no header, columns
/// `masterid sampleid yyyymmdd cds dollars`, every row a purchase.
///
/// The customer is `masterid` (integer keys, leading zeros dropped), the time `yyyymmdd`
/// (`%Y%m%d`), the amount `dollars`.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::ingest::{Ingestor, layouts};
/// let (options, csv) = layouts::cdnow();
/// let mut ingestor = Ingestor::new(&options)?;
/// ingestor.read_csv_reader("00004 00001 19970101 2 29.33\r\n".as_bytes(), "cdnow", &csv)?;
/// let (store, report) = ingestor.finish()?;
/// assert_eq!((report.rows_accepted, store.num_customers()), (1, 1));
/// # Ok(()) }
/// ```
pub fn cdnow() -> (IngestOptions, CsvOptions) {
    let options = IngestOptions::default()
        .column(Role::CustomerId, "masterid")
        .column(Role::EventTime, "date")
        .column(Role::Amount, "dollars")
        .time_format(TimeFormat::Format("%Y%m%d".into()));
    let csv = CsvOptions {
        delimiter: Delimiter::Whitespace,
        has_header: false,
        column_names: Some(
            ["masterid", "sampleid", "date", "cds", "dollars"]
                .map(String::from)
                .to_vec(),
        ),
        ..Default::default()
    };
    (options, csv)
}
