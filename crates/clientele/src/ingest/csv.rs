//! Delimited text into string batches, with per-row rejection of malformed lines.
//!
//! Each data row becomes a row of Utf8 columns (only the columns some role maps to are kept);
//! typing and validation happen afterwards in [`super::normalize`], the same path every input
//! format takes. A row whose field count differs from the header's, or that is not UTF-8, is
//! rejected here with its row number.

use std::io::{BufRead, Read};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::options::{CsvOptions, Delimiter};
use super::report::{RejectReason, Rejection};
use crate::error::{Error, Result};

/// One chunk of parsed rows.
pub(crate) struct TextChunk {
    pub batch: RecordBatch,
    /// Source row number (1-based, header excluded) of each batch row.
    pub rows: Vec<u64>,
    /// Rows rejected while splitting into fields.
    pub rejections: Vec<Rejection>,
    /// Rows read in this chunk (accepted into `batch` or rejected).
    pub rows_read: u64,
    /// Bytes consumed so far in the source.
    pub bytes: u64,
}

/// Splits delimited text into chunks of rows.
pub(crate) struct TextReader<R: Read> {
    source: String,
    inner: Inner<R>,
    header: Vec<String>,
    /// Indices of the kept columns in each record.
    keep: Vec<usize>,
    schema: SchemaRef,
    batch_rows: usize,
    next_row: u64,
    done: bool,
    /// The first record of a headerless file, read to count its columns.
    pending_first: Option<csv::ByteRecord>,
    record: csv::ByteRecord,
}

enum Inner<R: Read> {
    Csv(Box<csv::Reader<R>>),
    Whitespace {
        reader: std::io::BufReader<R>,
        bytes: u64,
        line: Vec<u8>,
    },
}

impl<R: Read> Inner<R> {
    /// Reads the next record into `rec` (reused, so no allocation per row); false at the end.
    fn next_record(&mut self, source: &str, rec: &mut csv::ByteRecord) -> Result<bool> {
        match self {
            Inner::Csv(r) => r.read_byte_record(rec).map_err(|e| Error::Format {
                source_name: source.to_string(),
                format: "csv",
                message: e.to_string(),
            }),
            Inner::Whitespace { reader, bytes, line } => loop {
                line.clear();
                let n = reader.read_until(b'\n', line).map_err(|e| Error::Format {
                    source_name: source.to_string(),
                    format: "text",
                    message: e.to_string(),
                })?;
                if n == 0 {
                    return Ok(false);
                }
                *bytes += n as u64;
                rec.clear();
                for f in line.split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty()) {
                    rec.push_field(f);
                }
                if !rec.is_empty() {
                    return Ok(true);
                }
            },
        }
    }

    fn bytes(&self) -> u64 {
        match self {
            Inner::Csv(r) => r.position().byte(),
            Inner::Whitespace { bytes, .. } => *bytes,
        }
    }
}

impl<R: Read> TextReader<R> {
    /// Opens `reader`; `wanted(name)` says whether a column is needed.
    pub fn new(reader: R, source: &str, options: &CsvOptions, wanted: &dyn Fn(&str) -> bool) -> Result<Self> {
        let mut inner = match options.delimiter {
            Delimiter::Byte(b) => Inner::Csv(Box::new(
                csv::ReaderBuilder::new()
                    .delimiter(b)
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(reader),
            )),
            Delimiter::Whitespace => Inner::Whitespace {
                reader: std::io::BufReader::with_capacity(1 << 20, reader),
                bytes: 0,
                line: Vec::new(),
            },
        };
        let mut first = csv::ByteRecord::new();
        let has_first = inner.next_record(source, &mut first)?;
        let (header, pending_first) = if options.has_header {
            let h = if has_first {
                first
                    .iter()
                    .map(|f| {
                        String::from_utf8_lossy(f)
                            .trim()
                            .trim_start_matches('\u{feff}')
                            .to_string()
                    })
                    .collect()
            } else {
                Vec::new()
            };
            (h, None)
        } else {
            let width = if has_first { first.len() } else { 0 };
            let names = match &options.column_names {
                Some(n) => n.clone(),
                None => (1..=width).map(|i| i.to_string()).collect(),
            };
            (names, has_first.then_some(first))
        };
        let keep: Vec<usize> = header
            .iter()
            .enumerate()
            .filter(|(_, n)| wanted(n))
            .map(|(i, _)| i)
            .collect();
        let fields: Vec<Field> = keep
            .iter()
            .filter_map(|&i| header.get(i))
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect();
        Ok(TextReader {
            source: source.to_string(),
            inner,
            header,
            keep,
            schema: Arc::new(Schema::new(fields)),
            batch_rows: options.batch_rows.max(1),
            next_row: 1,
            done: false,
            pending_first,
            record: csv::ByteRecord::new(),
        })
    }

    /// All column names of the file (header or generated).
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The next chunk, or `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<TextChunk>> {
        if self.done {
            return Ok(None);
        }
        let mut builders: Vec<StringBuilder> = self.keep.iter().map(|_| StringBuilder::new()).collect();
        let mut rows = Vec::new();
        let mut rejections = Vec::new();
        let mut read = 0u64;
        while rows.len() < self.batch_rows {
            let got = match self.pending_first.take() {
                Some(r) => {
                    self.record = r;
                    true
                }
                None => self.inner.next_record(&self.source, &mut self.record)?,
            };
            if !got {
                self.done = true;
                break;
            }
            let rec = &self.record;
            let row = self.next_row;
            self.next_row += 1;
            read += 1;
            if rec.len() != self.header.len() {
                rejections.push(Rejection {
                    source: self.source.clone(),
                    row,
                    column: String::new(),
                    reason: RejectReason::FieldCount,
                    value: Some(format!("{} fields, expected {}", rec.len(), self.header.len())),
                });
                continue;
            }
            let mut texts = Vec::with_capacity(self.keep.len());
            let mut bad = None;
            for &i in &self.keep {
                let f = rec.get(i).unwrap_or_default();
                match std::str::from_utf8(f) {
                    Ok(s) => texts.push(s),
                    Err(_) => {
                        bad = Some(i);
                        break;
                    }
                }
            }
            if let Some(i) = bad {
                rejections.push(Rejection {
                    source: self.source.clone(),
                    row,
                    column: self.header.get(i).cloned().unwrap_or_default(),
                    reason: RejectReason::InvalidUtf8,
                    value: rec.get(i).map(|f| String::from_utf8_lossy(f).into_owned()),
                });
                continue;
            }
            for (b, s) in builders.iter_mut().zip(texts) {
                b.append_value(s);
            }
            rows.push(row);
        }
        if read == 0 {
            return Ok(None);
        }
        let cols: Vec<ArrayRef> = builders
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let batch = if cols.is_empty() {
            RecordBatch::try_new_with_options(
                self.schema.clone(),
                cols,
                &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows.len())),
            )?
        } else {
            RecordBatch::try_new(self.schema.clone(), cols)?
        };
        Ok(Some(TextChunk {
            batch,
            rows,
            rejections,
            rows_read: read,
            bytes: self.inner.bytes(),
        }))
    }
}
