//! Row-by-row validation of one input batch into canonical, accepted-only columns.
//!
//! [`normalize`] resolves each role's column by its mapped name, builds a typed view of it
//! ([`super::columns`]), and walks the rows once. A row is accepted when every present role
//! yields a value (or a null where nulls are allowed); otherwise it is recorded as a
//! [`Rejection`] for the first failing column, and nothing of it reaches the store.

use std::collections::BTreeMap;

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};

use super::accounting::{IngestReport, RejectReason, Rejection};
use super::options::IngestConfig;
use super::typed_columns::{ColumnCtx, KeyView, LabelView, LocalInterner, NumView, StrView, TimeView};
use crate::error::{Error, Result};
use crate::schema::Role;
use crate::store::KeyType;
pub(crate) use crate::store::batch::NormalizedBatch;
use crate::store::batch::{KeyCol, NULL_CODE};
use crate::time::{END_EVENT_MICROS, MIN_EVENT_MICROS};

/// The largest accepted amount magnitude, in currency units. Below it, sums of a store's
/// amounts in nano-units (fewer than 2³² events of at most 10²⁴ nano-units each) stay far
/// from `i128`'s limit, so they are exact and associative.
pub const MAX_AMOUNT: f64 = 1e15;

/// The largest accepted score magnitude. Views sum scores exactly in nano-units as amounts
/// are summed (see [`MAX_AMOUNT`]), so the same bound keeps those sums exact; real scores
/// (ratings, NPS, CSAT) are many orders of magnitude below it.
pub const MAX_SCORE: f64 = MAX_AMOUNT;

/// The largest accepted cost magnitude, in currency units: the same bound as [`MAX_AMOUNT`]
/// for the same reason (views sum costs exactly in nano-units).
pub const MAX_COST: f64 = MAX_AMOUNT;

/// The integer a canonical decimal string denotes (`0`, `7`, `-12`; not `007`, `+7`, `-0`).
/// Whether `s` (trimmed) is a null marker as pandas reads one by default: under
/// [`KeyType::Auto`] and [`KeyType::Int`] such a key is missing, not a text key.
pub(crate) fn is_null_marker(s: &str) -> bool {
    matches!(
        s,
        "NULL"
            | "null"
            | "NA"
            | "N/A"
            | "n/a"
            | "NaN"
            | "nan"
            | "-NaN"
            | "-nan"
            | "None"
            | "<NA>"
            | "#N/A"
            | "#N/A N/A"
            | "#NA"
            | "1.#IND"
            | "-1.#IND"
            | "1.#QNAN"
            | "-1.#QNAN"
    )
}

fn parse_canonical(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" && digits.len() == s.len() || !digits.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

/// Row numbers of a batch's rows in their source.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RowNumbers<'a> {
    /// Row `i` of the batch is source row `first + i`.
    From(u64),
    /// Row `i` of the batch is source row `numbers[i]`.
    Explicit(&'a [u64]),
}

impl RowNumbers<'_> {
    fn get(&self, i: usize) -> u64 {
        match self {
            RowNumbers::From(first) => first + i as u64,
            RowNumbers::Explicit(v) => v.get(i).copied().unwrap_or(0),
        }
    }
}

/// Interns an optional label role per row.
struct Labels {
    view: LabelView,
    interner: LocalInterner,
    /// Local code per dictionary key, filled lazily (`None` = not seen yet).
    dict_codes: Vec<Option<u32>>,
}

impl Labels {
    fn new(view: LabelView, first: Option<&str>) -> Self {
        let mut interner = LocalInterner::default();
        if let Some(f) = first {
            interner.code(f);
        }
        let dict_codes = match &view {
            LabelView::Str(StrView::Dict { values, .. }) => vec![None; values.len()],
            _ => Vec::new(),
        };
        Labels {
            view,
            interner,
            dict_codes,
        }
    }

    /// The local code of row `i`, or [`NULL_CODE`] for null or blank.
    #[inline]
    fn code(&mut self, i: usize) -> u32 {
        match &self.view {
            LabelView::Int(a) => {
                if a.is_null(i) {
                    NULL_CODE
                } else {
                    self.interner.code(&a.value(i).to_string())
                }
            }
            LabelView::Str(StrView::Plain(a)) => {
                if a.is_null(i) {
                    return NULL_CODE;
                }
                let s = a.value(i).trim();
                if s.is_empty() { NULL_CODE } else { self.interner.code(s) }
            }
            LabelView::Str(StrView::Dict { keys, values }) => {
                if keys.is_null(i) {
                    return NULL_CODE;
                }
                let Ok(k) = usize::try_from(keys.value(i)) else {
                    return NULL_CODE;
                };
                if let Some(Some(c)) = self.dict_codes.get(k) {
                    return *c;
                }
                let code = if k < values.len() && values.is_valid(k) {
                    let s = values.value(k).trim();
                    if s.is_empty() { NULL_CODE } else { self.interner.code(s) }
                } else {
                    NULL_CODE
                };
                if let Some(slot) = self.dict_codes.get_mut(k) {
                    *slot = Some(code);
                }
                code
            }
        }
    }
}

/// How the key column of this batch is read.
enum Keys {
    Int(Vec<i64>),
    Str(LocalInterner),
}

fn value_text(array: &ArrayRef, i: usize) -> Option<String> {
    if array.is_null(i) {
        return None;
    }
    let f = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default()).ok()?;
    Some(f.value(i).to_string())
}

/// The index of `role`'s column in `batch`, if present.
pub(crate) fn find_column(batch: &RecordBatch, config: &IngestConfig, role: Role) -> Option<usize> {
    if !config.loads(role) {
        return None;
    }
    batch.schema().index_of(config.options.mapping.column(role)).ok()
}

/// Validates `batch` (rows numbered by `rows`) into accepted canonical columns and a partial
/// report (no per-source counts).
///
/// # Errors
/// A missing required column, a column of an unusable type, or (strict mode) the first rejected row.
pub(crate) fn normalize(
    batch: &RecordBatch,
    source: &str,
    rows: RowNumbers<'_>,
    config: &IngestConfig,
) -> Result<(NormalizedBatch, IngestReport)> {
    let opts = &config.options;
    let schema = batch.schema();
    let column = |role: Role| -> Option<(ArrayRef, String)> {
        find_column(batch, config, role).map(|i| (batch.column(i).clone(), schema.field(i).name().clone()))
    };
    let required = |role: Role| -> Result<(ArrayRef, String)> {
        column(role).ok_or_else(|| {
            let present = schema.fields().iter().map(|f| f.name().as_str());
            super::missing_column(source, opts.mapping.column(role), present)
        })
    };
    fn ctx<'a>(source: &'a str, name: &'a str) -> ColumnCtx<'a> {
        ColumnCtx { source, name }
    }

    let (key_arr, key_name) = required(Role::CustomerId)?;
    let (time_arr, time_name) = required(Role::EventTime)?;
    let key_view = KeyView::try_new(&key_arr, &ctx(source, &key_name))?;
    let time_view = TimeView::try_new(&time_arr, &config.time_parser, &ctx(source, &time_name))?;

    let label = |role: Role, first: Option<&str>| -> Result<Option<(Labels, ArrayRef, String)>> {
        match column(role) {
            None => Ok(None),
            Some((a, name)) => {
                let view = LabelView::try_new(&a, &ctx(source, &name))?;
                Ok(Some((Labels::new(view, first), a, name)))
            }
        }
    };
    let number = |role: Role| -> Result<Option<(NumView, ArrayRef, String)>> {
        match column(role) {
            None => Ok(None),
            Some((a, name)) => Ok(Some((NumView::try_new(&a, &ctx(source, &name))?, a, name))),
        }
    };
    // The purchase type is interned first so that local code 0 means "purchase".
    let mut etype = label(Role::EventType, Some(&opts.purchase_type))?;
    let amount = number(Role::Amount)?;
    let mut channel = label(Role::Channel, None)?;
    let mut product = label(Role::Product, None)?;
    let mut campaign = label(Role::CampaignId, None)?;
    let score = number(Role::Score)?;
    let cost = number(Role::Cost)?;

    let n = batch.num_rows();
    // How this batch's keys are read. Under `KeyType::Auto`, string keys are read as integers
    // only when every key of the batch is a *canonical* decimal integer ("7", "-12"; not
    // "007" or "+7"): canonical text and integer map one to one, so this fast path can never
    // split a customer whatever the batch boundaries. Any other batch keeps strings, and the
    // store decides once, at `finish`, whether all its keys are integers.
    let parse_int = |s: &str| s.trim().parse::<i64>().ok();
    let mut keys = match (&key_view, opts.key_type) {
        (_, KeyType::String) => Keys::Str(LocalInterner::default()),
        (KeyView::Str(v), KeyType::Auto) => {
            let canonical = (0..n).all(|i| match v.get(i) {
                None => true,
                Some(s) => {
                    let s = s.trim();
                    s.is_empty() || is_null_marker(s) || parse_canonical(s).is_some()
                }
            });
            if canonical {
                Keys::Int(Vec::with_capacity(n))
            } else {
                Keys::Str(LocalInterner::default())
            }
        }
        _ => Keys::Int(Vec::with_capacity(n)),
    };
    let mut out_time = Vec::with_capacity(n);
    let mut out_amount = amount.as_ref().map(|_| Vec::with_capacity(n));
    let mut out_score = score.as_ref().map(|_| Vec::with_capacity(n));
    let mut out_cost = cost.as_ref().map(|_| Vec::with_capacity(n));
    let mut report = IngestReport {
        rows_read: n as u64,
        ..Default::default()
    };
    let mut type_counts: Vec<u64> = Vec::new();

    for i in 0..n {
        // Each closure-free step either yields a value or names the failing column and reason.
        let fail: Option<(&ArrayRef, &str, RejectReason)> = 'row: {
            // customer_id
            let key: Result<KeyValue<'_>, RejectReason> = match &key_view {
                KeyView::Int(a) => {
                    if a.is_null(i) {
                        Err(RejectReason::NullCustomerId)
                    } else {
                        Ok(KeyValue::Int(a.value(i)))
                    }
                }
                KeyView::UInt(a) => {
                    if a.is_null(i) {
                        Err(RejectReason::NullCustomerId)
                    } else {
                        i64::try_from(a.value(i))
                            .map(KeyValue::Int)
                            .map_err(|_| RejectReason::InvalidCustomerId)
                    }
                }
                KeyView::Str(v) => match v.get(i) {
                    None => Err(RejectReason::NullCustomerId),
                    Some(s) => {
                        let s = s.trim();
                        if s.is_empty() {
                            Err(RejectReason::EmptyCustomerId)
                        } else if opts.key_type != KeyType::String && is_null_marker(s) {
                            Err(RejectReason::NullCustomerId)
                        } else if matches!(keys, Keys::Int(_)) {
                            parse_int(s).map(KeyValue::Int).ok_or(RejectReason::InvalidCustomerId)
                        } else {
                            Ok(KeyValue::Str(s))
                        }
                    }
                },
            };
            let key = match key {
                Ok(k) => k,
                Err(r) => break 'row Some((&key_arr, key_name.as_str(), r)),
            };
            let t = match time_view.get(i, &config.time_parser) {
                Ok(t) if (MIN_EVENT_MICROS..END_EVENT_MICROS).contains(&t) => t,
                Ok(_) => break 'row Some((&time_arr, time_name.as_str(), RejectReason::EventTimeOutOfRange)),
                Err(r) => break 'row Some((&time_arr, time_name.as_str(), r)),
            };
            let type_code = match etype.as_mut() {
                None => 0,
                Some((l, a, name)) => {
                    let c = l.code(i);
                    if c == NULL_CODE {
                        break 'row Some((a, name.as_str(), RejectReason::NullEventType));
                    }
                    c
                }
            };
            let amt = match &amount {
                None => None,
                Some((v, a, name)) => match v.get(i, RejectReason::UnparseableAmount, RejectReason::NonFiniteAmount) {
                    Ok(x) => {
                        if x.is_some_and(|x| x.abs() > MAX_AMOUNT) {
                            break 'row Some((a, name.as_str(), RejectReason::AmountOutOfRange));
                        }
                        if type_code == 0 && !opts.allow_refunds && x.is_some_and(|x| x < 0.0) {
                            break 'row Some((a, name.as_str(), RejectReason::NegativePurchaseAmount));
                        }
                        x
                    }
                    Err(r) => break 'row Some((a, name.as_str(), r)),
                },
            };
            let sc = match &score {
                None => None,
                Some((v, a, name)) => match v.get(i, RejectReason::UnparseableScore, RejectReason::NonFiniteScore) {
                    Ok(x) if x.is_some_and(|x| x.abs() > MAX_SCORE) => {
                        break 'row Some((a, name.as_str(), RejectReason::ScoreOutOfRange));
                    }
                    Ok(x) => x,
                    Err(r) => break 'row Some((a, name.as_str(), r)),
                },
            };
            let co = match &cost {
                None => None,
                Some((v, a, name)) => match v.get(i, RejectReason::UnparseableCost, RejectReason::NonFiniteCost) {
                    Ok(x) if x.is_some_and(|x| x.abs() > MAX_COST) => {
                        break 'row Some((a, name.as_str(), RejectReason::CostOutOfRange));
                    }
                    Ok(x) => x,
                    Err(r) => break 'row Some((a, name.as_str(), r)),
                },
            };
            // Accepted: push every column.
            match (&mut keys, key) {
                (Keys::Int(v), KeyValue::Int(k)) => v.push(k),
                (Keys::Str(s), KeyValue::Str(k)) => {
                    let c = s.code(k);
                    s.push_code(c);
                }
                (Keys::Str(s), KeyValue::Int(k)) => {
                    let c = s.code(&k.to_string());
                    s.push_code(c);
                }
                (Keys::Int(_), KeyValue::Str(_)) => {} // unreachable by construction: Str keys parse above
            }
            out_time.push(t);
            if let Some((l, _, _)) = etype.as_mut() {
                l.interner.push_code(type_code);
            }
            let tc = type_code as usize;
            if type_counts.len() <= tc {
                type_counts.resize(tc + 1, 0);
            }
            if let Some(c) = type_counts.get_mut(tc) {
                *c += 1;
            }
            if let Some(v) = out_amount.as_mut() {
                v.push(amt.unwrap_or(f64::NAN));
            }
            for lab in [&mut channel, &mut product, &mut campaign].into_iter().flatten() {
                let c = lab.0.code(i);
                lab.0.interner.push_code(c);
            }
            if let Some(v) = out_score.as_mut() {
                v.push(sc.unwrap_or(f64::NAN));
            }
            if let Some(v) = out_cost.as_mut() {
                v.push(co.unwrap_or(f64::NAN));
            }
            None
        };
        if let Some((array, name, reason)) = fail {
            let rejection = Rejection {
                source: source.to_string(),
                row: rows.get(i),
                column: name.to_string(),
                reason,
                value: value_text(array, i),
            };
            if opts.strict {
                return Err(Error::RejectedRow {
                    source_name: rejection.source,
                    row: rejection.row,
                    column: rejection.column,
                    reason,
                    value: rejection.value,
                });
            }
            report.record_rejection(rejection);
        }
    }

    let event_type = etype.map(|(l, _, _)| l.interner.finish());
    let mut by_type = BTreeMap::new();
    for (code, count) in type_counts.iter().enumerate() {
        if *count == 0 {
            continue;
        }
        let name = match &event_type {
            None => opts.purchase_type.clone(),
            Some(d) => d.values.get(code).cloned().unwrap_or_default(),
        };
        *by_type.entry(name).or_insert(0) += count;
    }
    report.rows_accepted = out_time.len() as u64;
    report.accepted_by_event_type = by_type;

    let keys = match keys {
        Keys::Int(v) => KeyCol::Int(v),
        Keys::Str(s) => KeyCol::Str(s.finish()),
    };
    Ok((
        NormalizedBatch {
            keys,
            time: out_time,
            event_type,
            amount: out_amount,
            channel: channel.map(|l| l.0.interner.finish()),
            product: product.map(|l| l.0.interner.finish()),
            campaign_id: campaign.map(|l| l.0.interner.finish()),
            score: out_score,
            cost: out_cost,
        },
        report,
    ))
}

/// A key value of one row.
enum KeyValue<'a> {
    Int(i64),
    Str(&'a str),
}

#[cfg(test)]
mod tests {
    use super::parse_canonical;

    #[test]
    fn canonical_integers() {
        for (s, v) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("-12", Some(-12)),
            ("9223372036854775807", Some(i64::MAX)),
        ] {
            assert_eq!(parse_canonical(s), v, "{s}");
        }
        for s in ["007", "+7", "-0", "00", "", "-", "1e3", " 7", "9223372036854775808"] {
            assert_eq!(parse_canonical(s), None, "{s}");
        }
    }
}
