//! Delimited text into string batches, with per-row rejection of malformed lines.
//!
//! Each data row becomes a row of Utf8 columns (only the columns some role maps to are kept);
//! typing and validation happen afterwards in [`super::normalize`], the same path every input
//! format takes. A row whose field count differs from the header's, or that is not UTF-8, is
//! rejected here with its row number.
//!
//! A quote that is never closed would make the parser read the rest of the file as one field.
//! Records are therefore bounded ([`MAX_RECORD_BYTES`], [`MAX_RECORD_LINES`]); a record past
//! either bound, or one spanning several lines whose field count is wrong or one of whose
//! later lines has on its own the delimiters of a whole record, is taken for a runaway quote: its first line is rejected ([`RejectReason::UnterminatedQuote`], with the
//! line number and text) and parsing resumes at the line after it, so every later line is
//! read again and counted as its own row.

use std::io::{BufRead, Read};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use super::accounting::{RejectReason, Rejection};
use super::options::{CsvOptions, Delimiter};
use crate::error::{Error, Result};

/// The longest record a delimited-text reader accepts, in bytes (1 MiB). A quoted field that
/// runs on past it is an unterminated quote.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;

/// The most physical lines one delimited-text record may span (quoted fields may hold line
/// breaks; 64).
pub const MAX_RECORD_LINES: u64 = 64;

/// The parser's read buffer (bytes read ahead of the record being parsed).
const PARSE_BUFFER: usize = 64 << 10;

/// The longest prefix of a rejected line kept in the report.
const SHOWN_BYTES: usize = 200;

/// The bytes under the CSV parser: first any bytes to parse again after a recovery, then the
/// source. It keeps the bytes of the record being parsed (so a runaway record can be parsed
/// again from its second line) and stops feeding a record that grows past
/// [`MAX_RECORD_BYTES`] (bounded memory whatever the input).
struct Guarded<R> {
    inner: R,
    replay: Vec<u8>,
    replay_at: usize,
    /// The bytes fed to the parser from stream offset `kept_from` on.
    kept: Vec<u8>,
    kept_from: u64,
    /// Stream offset of the record being parsed.
    record_start: u64,
    /// Bytes fed to the parser so far.
    fed: u64,
    /// Set when a record outgrew the limit (the read error the parser sees).
    tripped: bool,
}

impl<R: Read> Guarded<R> {
    fn new(inner: R, replay: Vec<u8>) -> Self {
        Guarded {
            inner,
            replay,
            replay_at: 0,
            kept: Vec::new(),
            kept_from: 0,
            record_start: 0,
            fed: 0,
            tripped: false,
        }
    }

    /// The parser is at a record starting at stream offset `at`: bytes before it are dropped.
    fn start_record(&mut self, at: u64) {
        self.record_start = at;
        let drop = usize::try_from(at.saturating_sub(self.kept_from)).unwrap_or(usize::MAX);
        // drain in large steps (not per record)
        if drop >= PARSE_BUFFER * 4 && drop <= self.kept.len() {
            self.kept.drain(..drop);
            self.kept_from = at;
        }
    }
}

impl<R> Guarded<R> {
    /// Whether a record spanning several lines (stream bytes `from..to`) holds a line after its
    /// first that has, on its own, the delimiters of a whole record of `width` fields: then a
    /// quote ran on over whole records rather than around a line break inside one field.
    fn swallows_records(&self, from: u64, to: u64, delimiter: u8, width: usize) -> bool {
        let at = |o: u64| usize::try_from(o.saturating_sub(self.kept_from)).unwrap_or(usize::MAX);
        let Some(bytes) = self.kept.get(at(from)..at(to).min(self.kept.len())) else {
            return false;
        };
        let need = width.saturating_sub(1).max(1);
        bytes
            .split(|&b| b == b'\n')
            .skip(1)
            .any(|line| line.iter().filter(|&&b| b == delimiter).count() >= need)
    }
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.fed.saturating_sub(self.record_start) > MAX_RECORD_BYTES + 2 * PARSE_BUFFER as u64 {
            self.tripped = true;
            return Err(std::io::Error::other("record longer than the limit"));
        }
        let n = match self.replay.get(self.replay_at..) {
            Some(rest) if !rest.is_empty() => {
                let n = rest.len().min(out.len());
                if let (Some(dst), Some(src)) = (out.get_mut(..n), rest.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.replay_at += n;
                n
            }
            _ => self.inner.read(out)?,
        };
        self.kept.extend_from_slice(out.get(..n).unwrap_or_default());
        self.fed += n as u64;
        Ok(n)
    }
}

/// What the text source yielded.
enum Next {
    /// A record (in the reader's record buffer).
    Record,
    /// A runaway record: its first line (1-based physical line) was skipped.
    Runaway { line: u64, text: String },
    /// The end of the input.
    End,
}

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
    Csv {
        /// `None` only while a recovery swaps parsers.
        parser: Option<Box<csv::Reader<Guarded<R>>>>,
        delimiter: u8,
        /// Physical lines and bytes before the current parser's first byte.
        lines_before: u64,
        bytes_before: u64,
    },
    Whitespace {
        reader: std::io::BufReader<R>,
        bytes: u64,
        line: Vec<u8>,
    },
}

fn csv_parser<R: Read>(source: Guarded<R>, delimiter: u8) -> Box<csv::Reader<Guarded<R>>> {
    Box::new(
        csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(PARSE_BUFFER)
            .from_reader(source),
    )
}

impl<R: Read> Inner<R> {
    /// Reads the next record into `rec` (reused, so no allocation per row). `width` is the
    /// header's field count (`None` for the header itself): a multi-line record of another
    /// width is a runaway quote.
    fn next_record(&mut self, source: &str, rec: &mut csv::ByteRecord, width: Option<usize>) -> Result<Next> {
        let format_error = |format: &'static str, message: String| Error::Format {
            source_name: source.to_string(),
            format,
            message,
        };
        match self {
            Inner::Csv {
                parser,
                delimiter,
                lines_before,
                bytes_before,
            } => {
                let p = parser
                    .as_mut()
                    .ok_or_else(|| format_error("csv", "the reader failed before".into()))?;
                let start = p.position().clone();
                p.get_mut().start_record(start.byte());
                let runaway = match p.read_byte_record(rec) {
                    Ok(false) => return Ok(Next::End),
                    Ok(true) => {
                        let end = p.position();
                        let lines = end.line().saturating_sub(start.line());
                        let bytes = end.byte().saturating_sub(start.byte());
                        lines > MAX_RECORD_LINES
                            || bytes > MAX_RECORD_BYTES
                            || (lines > 1
                                && width.is_some_and(|w| {
                                    w != rec.len()
                                        || p.get_ref().swallows_records(start.byte(), end.byte(), *delimiter, w)
                                }))
                    }
                    Err(_) if p.get_ref().tripped => true,
                    Err(e) => return Err(format_error("csv", e.to_string())),
                };
                if !runaway {
                    return Ok(Next::Record);
                }
                // Parse again from the line after the record's first line.
                let old = parser
                    .take()
                    .ok_or_else(|| format_error("csv", "the reader failed before".into()))?;
                let g = old.into_inner();
                let from = usize::try_from(start.byte().saturating_sub(g.kept_from)).unwrap_or(usize::MAX);
                let rest = g.kept.get(from..).unwrap_or_default();
                let first = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |p| p + 1);
                let (bad, after) = rest.split_at(first);
                let mut replay = after.to_vec();
                replay.extend_from_slice(g.replay.get(g.replay_at..).unwrap_or_default());
                let shown = String::from_utf8_lossy(bad.get(..SHOWN_BYTES.min(bad.len())).unwrap_or_default())
                    .trim_end()
                    .to_string();
                let line = *lines_before + start.line();
                *lines_before = line;
                *bytes_before += start.byte() + first as u64;
                *parser = Some(csv_parser(Guarded::new(g.inner, replay), *delimiter));
                Ok(Next::Runaway { line, text: shown })
            }
            Inner::Whitespace { reader, bytes, line } => loop {
                line.clear();
                let n = reader
                    .read_until(b'\n', line)
                    .map_err(|e| format_error("text", e.to_string()))?;
                if n == 0 {
                    return Ok(Next::End);
                }
                *bytes += n as u64;
                rec.clear();
                for f in line.split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty()) {
                    rec.push_field(f);
                }
                if !rec.is_empty() {
                    return Ok(Next::Record);
                }
            },
        }
    }

    fn bytes(&self) -> u64 {
        match self {
            Inner::Csv {
                parser, bytes_before, ..
            } => bytes_before + parser.as_ref().map_or(0, |p| p.position().byte()),
            Inner::Whitespace { bytes, .. } => *bytes,
        }
    }
}

impl<R: Read> TextReader<R> {
    /// Opens `reader`; `wanted(name)` says whether a column is needed.
    pub fn new(reader: R, source: &str, options: &CsvOptions, wanted: &dyn Fn(&str) -> bool) -> Result<Self> {
        let mut inner = match options.delimiter {
            Delimiter::Byte(b) => Inner::Csv {
                parser: Some(csv_parser(Guarded::new(reader, Vec::new()), b)),
                delimiter: b,
                lines_before: 0,
                bytes_before: 0,
            },
            Delimiter::Whitespace => Inner::Whitespace {
                reader: std::io::BufReader::with_capacity(1 << 20, reader),
                bytes: 0,
                line: Vec::new(),
            },
        };
        let mut first = csv::ByteRecord::new();
        let has_first = match inner.next_record(source, &mut first, None)? {
            Next::Record => true,
            Next::End => false,
            Next::Runaway { line, .. } => {
                return Err(Error::Format {
                    source_name: source.to_string(),
                    format: "csv",
                    message: format!(
                        "the first record (line {line}) has a quoted field that is not closed within {MAX_RECORD_LINES} lines or {MAX_RECORD_BYTES} bytes"
                    ),
                });
            }
        };
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
        // A column the ingest reads must be named once: which of two would it be?
        for (at, &i) in keep.iter().enumerate() {
            let name = header.get(i).map(String::as_str).unwrap_or_default();
            if let Some(&j) = keep
                .get(at + 1..)
                .and_then(|rest| rest.iter().find(|&&j| header.get(j).map(String::as_str) == Some(name)))
            {
                return Err(Error::Format {
                    source_name: source.to_string(),
                    format: "csv",
                    message: format!(
                        "the header names column `{name}` twice (columns {} and {})",
                        i + 1,
                        j + 1
                    ),
                });
            }
        }
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
                    Next::Record
                }
                None => self
                    .inner
                    .next_record(&self.source, &mut self.record, Some(self.header.len()))?,
            };
            let row = self.next_row;
            match got {
                Next::End => {
                    self.done = true;
                    break;
                }
                Next::Runaway { line, text } => {
                    self.next_row += 1;
                    read += 1;
                    rejections.push(Rejection {
                        source: self.source.clone(),
                        row,
                        column: String::new(),
                        reason: RejectReason::UnterminatedQuote,
                        value: Some(format!("line {line}: {text}")),
                    });
                    continue;
                }
                Next::Record => {}
            }
            let rec = &self.record;
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
