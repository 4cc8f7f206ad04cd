//! The RFM pass over an [`EventStore`].

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, UInt8Array};
use arrow_schema::{DataType, Field, Schema};
use rayon::prelude::*;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;

use super::ntile::ntile_scores;
use super::params::{RfmConfig, RfmMode, Scoring};
use super::thresholds::{rfm_quantile_thresholds, threshold_scores};
use crate::error::{Error, Result};
use crate::exec::Parallelism;
use crate::kernels::summary::{Period, SummaryParams, TimeUnit, summarize, to_units, units_to_cents};
use crate::schema::output;
use crate::schema::output::common::SEGMENT;
use crate::schema::output::rfm::{F_SCORE, FREQUENCY, M_SCORE, MONETARY, R_SCORE, RECENCY_DAYS, RFM_CODE, T_DAYS};
use crate::store::EventStore;
use crate::time::MICROS_PER_DAY;

/// Customers per parallel task (boundaries independent of the thread count).
const CHUNK: usize = 8192;

/// One customer's RFM aggregate.
#[derive(Debug, Clone, Copy)]
pub(super) struct Row {
    customer: u32,
    recency_days: i64,
    frequency: i64,
    cents: i64,
    t_days: i64,
}

/// Nano-units to cents, rounded half away from zero, saturating at the i64 range.
pub(super) fn cents(units: i128) -> i64 {
    let q = units_to_cents(units);
    i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN })
}

/// RFM of every customer with a purchase before `as_of`, in the convention of
/// [`RfmParams::mode`](super::RfmParams), scored. Rows are in customer-key order.
///
/// # Errors
/// Only on an internal Arrow error while assembling the output.
///
/// # Example
/// ```
/// # fn main() -> Result<(), clientele::Error> {
/// use clientele::chrono::NaiveDate;
/// use clientele::exec::Parallelism;
/// use clientele::ingest::{IngestOptions, Ingestor};
/// use clientele::kernels::rfm::{RfmParams, rfm};
/// let csv = "customer_id,event_time,amount\n1,2024-01-01,10\n1,2024-01-20,5.5\n2,2024-01-30,100\n";
/// let mut ing = Ingestor::new(&IngestOptions::default())?;
/// ing.read_csv_reader(csv.as_bytes(), "events.csv", &Default::default())?;
/// let (store, _) = ing.finish()?;
/// let as_of = NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
/// let table = rfm(&store, &RfmParams::new(as_of).bins(2).validate()?, &Parallelism::current())?;
/// println!("{}", clientele::io::format_table(&table, 10));
/// assert_eq!(table.num_rows(), 2);
/// # Ok(()) }
/// ```
pub fn rfm(store: &EventStore, cfg: &RfmConfig, par: &Parallelism) -> Result<RecordBatch> {
    let axes = match cfg.params.mode {
        RfmMode::Orders => orders_axes(store, cfg, par)?,
        RfmMode::Btyd { period } => btyd_axes(store, cfg, period, par)?,
    };
    // scoring runs in the caller's pool too (its NTILE chunking reads the pool's size)
    par.install(|| score(axes, cfg))
}

/// The unscored columns of an RFM table; money in cents.
pub(super) struct Axes {
    pub(super) keys: ArrayRef,
    pub(super) recency: Vec<i64>,
    pub(super) frequency: Vec<i64>,
    pub(super) money: Vec<i64>,
    pub(super) t_days: Vec<i64>,
}

/// The `orders` convention: one pass over each customer's events before `as_of`.
fn orders_axes(store: &EventStore, cfg: &RfmConfig, par: &Parallelism) -> Result<Axes> {
    let cols = store.columns();
    let times = cols.time.values();
    let types = cols.event_type.keys().values();
    // Store invariant: null amounts hold 0.0, so raw values suffice.
    let amounts: Option<&[f64]> = cols.amount.as_ref().map(|a| &a.values()[..]);
    let purchase = store.purchase_code();
    let offsets = store.offsets();
    let as_of = cfg.as_of_micros;
    let n = store.num_customers();
    // one chunk's rows per range, concatenated in range order
    let parts: Vec<Vec<Row>> = par.map_chunks(n, CHUNK, |r| {
        r.filter_map(|c| {
            let (a, b) = (offsets[c], offsets[c + 1]);
            let t = &times[a..b];
            let end = t.partition_point(|&x| x < as_of);
            let purchase = purchase?;
            let (mut count, mut units, mut first, mut last) = (0i64, 0i128, i64::MAX, i64::MIN);
            for i in a..a + end {
                if types[i] == purchase {
                    count += 1;
                    units += to_units(amounts.map_or(0.0, |v| v[i]));
                    first = first.min(times[i]);
                    last = last.max(times[i]);
                }
            }
            (count > 0).then(|| Row::new(c, count, units, first, last, as_of))
        })
        .collect()
    });
    let rows: Vec<Row> = parts.into_iter().flatten().collect();
    orders_columns(store.customer_keys(), &rows)
}

impl Row {
    /// The RFM row of customer `c` with `count` purchases before `as_of` (µs) spending `units`
    /// nano-units, the first at `first` and the last at `last`.
    pub(super) fn new(c: usize, count: i64, units: i128, first: i64, last: i64, as_of: i64) -> Row {
        Row {
            customer: c as u32,
            recency_days: (as_of - last).div_euclid(MICROS_PER_DAY),
            frequency: count,
            cents: cents(units),
            t_days: (as_of - first).div_euclid(MICROS_PER_DAY),
        }
    }
}

/// The unscored columns of `rows` (customers with a purchase, in key order) of `keys`.
pub(super) fn orders_columns(keys: &crate::store::CustomerKeys, rows: &[Row]) -> Result<Axes> {
    let index = arrow_array::UInt32Array::from(rows.iter().map(|r| r.customer).collect::<Vec<_>>());
    let keys = arrow_select::take::take(keys.array().as_ref(), &index, None)?;
    let col = |f: fn(&Row) -> i64| -> Vec<i64> { rows.iter().map(f).collect() };
    Ok(Axes {
        keys,
        recency: col(|r| r.recency_days),
        frequency: col(|r| r.frequency),
        money: col(|r| r.cents),
        t_days: col(|r| r.t_days),
    })
}

/// The `btyd` convention: the customer summary (calibration ending the day before `as_of`,
/// time in days) read as R, F and M.
fn btyd_axes(store: &EventStore, cfg: &RfmConfig, period: Period, par: &Parallelism) -> Result<Axes> {
    let calibration_end = cfg.params.as_of - chrono::Days::new(1);
    let params = SummaryParams::new(calibration_end)
        .period(period)
        .time_unit(TimeUnit::Day);
    let summary = summarize(store, &params.validate()?, par)?;
    let f64s = |name: &str| -> Result<&[f64]> {
        summary
            .column_by_name(name)
            .and_then(|c| c.as_primitive_opt::<Float64Type>())
            .map(|a| &a.values()[..])
            .ok_or_else(|| Error::param("summary", format!("no Float64 `{name}` column")))
    };
    let (x, tx, t, m) = (
        f64s(output::FREQUENCY)?,
        f64s(output::RECENCY)?,
        f64s(output::T)?,
        f64s(output::MONETARY_VALUE)?,
    );
    let keys = summary
        .column_by_name(crate::schema::CUSTOMER_ID)
        .cloned()
        .ok_or_else(|| Error::param("summary", "no customer_id column"))?;
    // Whole days by construction (TimeUnit::Day measures between period starts).
    Ok(Axes {
        keys,
        recency: t.iter().zip(tx).map(|(t, tx)| (t - tx).round() as i64).collect(),
        frequency: x.iter().map(|&v| v.round() as i64).collect(),
        money: m.iter().map(|&v| (v * 100.0).round() as i64).collect(),
        t_days: t.iter().map(|&v| v.round() as i64).collect(),
    })
}

/// Scores the axes and assembles the output table.
pub(super) fn score(axes: Axes, cfg: &RfmConfig) -> Result<RecordBatch> {
    let Axes {
        keys,
        recency,
        frequency,
        money,
        t_days,
    } = axes;
    let rows = recency.len();
    let bins = cfg.params.bins;
    let as_f64 = |v: &[i64], scale: f64| -> Vec<f64> { v.iter().map(|&x| x as f64 / scale).collect() };
    let (r_score, f_score, m_score) = match &cfg.params.scoring {
        Scoring::Ntile => {
            // The three axes are independent: scored side by side (same result in any pool).
            let (r, (f, m)) = rayon::join(
                || ntile_scores(&recency, true, bins),
                || {
                    rayon::join(
                        || ntile_scores(&frequency, false, bins),
                        || ntile_scores(&money, false, bins),
                    )
                },
            );
            (r, f, m)
        }
        Scoring::Quantile => {
            let (r, f, m) = (as_f64(&recency, 1.0), as_f64(&frequency, 1.0), as_f64(&money, 100.0));
            (
                threshold_scores(&r, &rfm_quantile_thresholds(&r, bins), true),
                threshold_scores(&f, &rfm_quantile_thresholds(&f, bins), false),
                threshold_scores(&m, &rfm_quantile_thresholds(&m, bins), false),
            )
        }
        Scoring::Breaks {
            recency: rb,
            frequency: fb,
            monetary: mb,
        } => (
            threshold_scores(&as_f64(&recency, 1.0), rb, true),
            threshold_scores(&as_f64(&frequency, 1.0), fb, false),
            threshold_scores(&as_f64(&money, 100.0), mb, false),
        ),
    };
    let code: Vec<i32> = (0..rows)
        .into_par_iter()
        .map(|i| 100 * i32::from(r_score[i]) + 10 * i32::from(f_score[i]) + i32::from(m_score[i]))
        .collect();
    let map = &cfg.params.segments;
    // The segment of each score triple, looked up once per distinct triple when the scores
    // are small (they are at most `bins`, or 9 with breaks), not once per customer.
    let top = |v: &[u8]| usize::from(v.iter().copied().max().unwrap_or(0)) + 1;
    let (nr, nf, nm) = (top(&r_score), top(&f_score), top(&m_score));
    let segments: StringArray = if nr * nf * nm <= 1 << 16 {
        let mut table = Vec::with_capacity(nr * nf * nm);
        for r in 0..nr {
            for f in 0..nf {
                for m in 0..nm {
                    table.push(map.segment(r as u8, f as u8, m as u8));
                }
            }
        }
        // Each customer's entry in the table (2 bytes, where a &str is 16), then the string
        // column built at its exact size, chunks of customers side by side.
        let entries: Vec<u16> = (0..rows)
            .into_par_iter()
            .map(|i| ((usize::from(r_score[i]) * nf + usize::from(f_score[i])) * nm + usize::from(m_score[i])) as u16)
            .collect();
        segment_column(&table, &entries)?
    } else {
        (0..rows)
            .map(|i| Some(map.segment(r_score[i], f_score[i], m_score[i])))
            .collect()
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new(crate::schema::CUSTOMER_ID, keys.data_type().clone(), false),
        Field::new(RECENCY_DAYS, DataType::Int64, false),
        Field::new(FREQUENCY, DataType::Int64, false),
        Field::new(MONETARY, DataType::Float64, false),
        Field::new(T_DAYS, DataType::Int64, false),
        Field::new(R_SCORE, DataType::UInt8, false),
        Field::new(F_SCORE, DataType::UInt8, false),
        Field::new(M_SCORE, DataType::UInt8, false),
        Field::new(RFM_CODE, DataType::Int32, false),
        Field::new(SEGMENT, DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        keys,
        Arc::new(Int64Array::from(recency)),
        Arc::new(Int64Array::from(frequency)),
        // Cents to currency units in the cents' own allocation (same size and alignment).
        Arc::new(Float64Array::from(
            money.into_iter().map(|c| c as f64 / 100.0).collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from(t_days)),
        Arc::new(UInt8Array::from(r_score)),
        Arc::new(UInt8Array::from(f_score)),
        Arc::new(UInt8Array::from(m_score)),
        Arc::new(Int32Array::from(code)),
        Arc::new(segments),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// Customers per task of the segment column.
const NAMES_CHUNK: usize = 1 << 16;

/// The string column of `table[entry]` for each of `entries`: byte offsets summed per chunk of
/// customers, then each chunk's offsets and bytes written into its own part of the column.
///
/// # Errors
/// [`Error::Capacity`] when the names add up to more than `i32::MAX` bytes.
fn segment_column(table: &[&str], entries: &[u16]) -> Result<StringArray> {
    let name = |e: u16| table.get(usize::from(e)).copied().unwrap_or_default();
    let sizes: Vec<usize> = entries
        .par_chunks(NAMES_CHUNK)
        .map(|chunk| chunk.iter().map(|&e| name(e).len()).sum())
        .collect();
    let bytes: usize = sizes.iter().sum();
    let Ok(total) = i32::try_from(bytes) else {
        return Err(Error::Capacity {
            message: format!(
                "segment names of {} customers take {bytes} bytes, over i32::MAX",
                entries.len()
            ),
        });
    };
    let mut offsets = vec![0i32; entries.len() + 1];
    let mut values = vec![0u8; bytes];
    // Disjoint parts of both buffers, one per chunk (a chunk writes the offset after each row).
    let mut tasks = Vec::with_capacity(sizes.len());
    let (mut offs, mut vals, mut start) = (offsets.get_mut(1..).unwrap_or_default(), values.as_mut_slice(), 0usize);
    for (chunk, &size) in entries.chunks(NAMES_CHUNK).zip(&sizes) {
        let (o_len, v_len) = (chunk.len().min(offs.len()), size.min(vals.len()));
        let (o, rest_o) = std::mem::take(&mut offs).split_at_mut(o_len);
        let (v, rest_v) = std::mem::take(&mut vals).split_at_mut(v_len);
        tasks.push((chunk, o, v, start));
        (offs, vals, start) = (rest_o, rest_v, start + size);
    }
    tasks.into_par_iter().for_each(|(chunk, offs, vals, start)| {
        let mut at = 0;
        for (&e, off) in chunk.iter().zip(offs) {
            let s = name(e).as_bytes();
            if let Some(dst) = vals.get_mut(at..at + s.len()) {
                dst.copy_from_slice(s);
            }
            at += s.len();
            *off = (start + at) as i32;
        }
    });
    debug_assert_eq!(offsets.last().copied(), Some(total));
    let offsets = arrow_buffer::OffsetBuffer::new(arrow_buffer::ScalarBuffer::from(offsets));
    Ok(StringArray::try_new(
        offsets,
        arrow_buffer::Buffer::from_vec(values),
        None,
    )?)
}

#[cfg(test)]
mod tests {
    use super::{NAMES_CHUNK, StringArray, cents, segment_column};

    #[test]
    fn segment_column_equals_a_column_built_row_by_row() {
        let table = ["Champions", "", "At Risk", "Can't Lose Them", "Ö"];
        for rows in [0, 1, NAMES_CHUNK - 1, NAMES_CHUNK, 2 * NAMES_CHUNK + 5] {
            let entries: Vec<u16> = (0..rows).map(|i| ((i * 7) % table.len()) as u16).collect();
            let want: StringArray = entries.iter().map(|&e| Some(table[e as usize])).collect();
            assert_eq!(segment_column(&table, &entries).unwrap(), want, "{rows} rows");
        }
    }

    #[test]
    fn cents_round_half_away_from_zero() {
        assert_eq!(cents(12_345_000_000), 1235); // 12.345 -> 12.35
        assert_eq!(cents(-12_345_000_000), -1235);
        assert_eq!(cents(12_344_999_999), 1234);
        assert_eq!(cents(0), 0);
    }
}
