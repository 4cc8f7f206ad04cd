//! Statistics-only checks that a Parquet file's `score` and `cost` columns hold no value that
//! ingestion would reject as out of range, for fast paths that read a file without those
//! columns but must still refuse any file ingestion would not take whole.

use arrow_schema::{DataType, Schema};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;

use super::normalize::{MAX_COST, MAX_SCORE};
use super::options::IngestOptions;
use crate::schema::Role;

/// Whether the row-group statistics of `metadata` prove that every `score` and `cost` value in
/// the file is within ingestion's bounds ([`MAX_SCORE`], [`MAX_COST`]) and not infinite.
///
/// `schema` is the Arrow schema the file is read with (for example
/// `ArrowReaderMetadata::schema`), and `options` supplies the column mapping and the loaded
/// roles. A role that `options` does not load, or whose mapped column is absent from `schema`,
/// is not checked: ingestion does not validate it either.
///
/// Returns `true` only when, for each checked column, the Arrow type is a float (32 or 64 bit)
/// or an integer type, the Parquet leaf is found, and every row group has statistics whose
/// minimum and maximum are finite and within the bound (a row group whose values are all null
/// may have no minimum or maximum). Anything else — statistics missing, a minimum or maximum
/// missing where not every value is null, a decimal or string column, deprecated unsigned
/// statistics — returns `false`, and the caller must take the store path, whose ingestion
/// reports every rejected row.
///
/// Limit: Parquet writers leave NaN out of float statistics, and Parquet 59 has no NaN count,
/// so a NaN among finite values (which ingestion rejects as `non_finite_score` /
/// `non_finite_cost`) is not visible here. A row group of NaN only has no minimum or maximum
/// and is refused. A caller that must also rule out NaN has to decode the float columns.
pub(crate) fn score_cost_within_bounds(metadata: &ParquetMetaData, schema: &Schema, options: &IngestOptions) -> bool {
    [(Role::Score, MAX_SCORE), (Role::Cost, MAX_COST)]
        .into_iter()
        .all(|(role, bound)| column_within_bounds(metadata, schema, options, role, bound))
}

/// How a column's statistics are read as numbers.
#[derive(Clone, Copy)]
enum Kind {
    Float,
    Signed,
    Unsigned,
}

fn column_within_bounds(
    metadata: &ParquetMetaData,
    schema: &Schema,
    options: &IngestOptions,
    role: Role,
    bound: f64,
) -> bool {
    let loaded = role.is_required() || options.roles.as_ref().is_none_or(|r| r.contains(&role));
    let name = options.mapping.column(role);
    let Ok(field) = schema.field_with_name(name) else {
        return true; // absent: not read, not validated
    };
    if !loaded {
        return true;
    }
    let kind = match field.data_type() {
        DataType::Float32 | DataType::Float64 => Kind::Float,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => Kind::Signed,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => Kind::Unsigned,
        _ => return false,
    };
    let leaf = metadata
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.path().parts() == [name.to_string()]);
    let Some(leaf) = leaf else {
        return false;
    };
    let within = |x: f64| x.is_finite() && x.abs() <= bound;
    metadata.row_groups().iter().all(|rg| {
        let Some(stats) = rg.columns().get(leaf).and_then(|c| c.statistics()) else {
            return false;
        };
        // Old files' deprecated min / max used a signed order, wrong for unsigned values.
        if matches!(kind, Kind::Unsigned) && stats.is_min_max_deprecated() {
            return false;
        }
        // Integers convert to f64 as ingestion converts them; the conversion is monotonic, so
        // bounds on the converted minimum and maximum bound every converted value.
        let min_max: Option<(f64, f64)> = match (stats, kind) {
            (Statistics::Double(s), Kind::Float) => s.min_opt().zip(s.max_opt()).map(|(&a, &b)| (a, b)),
            (Statistics::Float(s), Kind::Float) => s
                .min_opt()
                .zip(s.max_opt())
                .map(|(&a, &b)| (f64::from(a), f64::from(b))),
            (Statistics::Int32(s), Kind::Signed) => s
                .min_opt()
                .zip(s.max_opt())
                .map(|(&a, &b)| (f64::from(a), f64::from(b))),
            (Statistics::Int32(s), Kind::Unsigned) => s
                .min_opt()
                .zip(s.max_opt())
                .map(|(&a, &b)| (f64::from(a as u32), f64::from(b as u32))),
            (Statistics::Int64(s), Kind::Signed) => s.min_opt().zip(s.max_opt()).map(|(&a, &b)| (a as f64, b as f64)),
            (Statistics::Int64(s), Kind::Unsigned) => s
                .min_opt()
                .zip(s.max_opt())
                .map(|(&a, &b)| (a as u64 as f64, b as u64 as f64)),
            _ => return false,
        };
        match min_max {
            Some((lo, hi)) => within(lo) && within(hi),
            // No minimum or maximum: fine only if every value of the row group is null.
            None => stats
                .null_count_opt()
                .is_some_and(|n| i64::try_from(n).is_ok_and(|n| n == rg.num_rows())),
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array};
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
    use parquet::file::properties::{EnabledStatistics, WriterProperties};

    use super::*;

    /// Writes `columns` to a temporary Parquet file (row groups of `group` rows) and checks it.
    fn check_with(columns: Vec<(&str, ArrayRef)>, group: usize, stats: bool, options: &IngestOptions) -> bool {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group))
            .set_statistics_enabled(if stats {
                EnabledStatistics::Chunk
            } else {
                EnabledStatistics::None
            })
            .build();
        let file = tempfile::tempfile().unwrap();
        let mut w = ArrowWriter::try_new(file.try_clone().unwrap(), batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).unwrap();
        score_cost_within_bounds(meta.metadata(), meta.schema(), options)
    }

    fn check(columns: Vec<(&str, ArrayRef)>) -> bool {
        check_with(columns, 2, true, &IngestOptions::default())
    }

    fn f64s(v: Vec<Option<f64>>) -> ArrayRef {
        Arc::new(Float64Array::from(v))
    }

    #[test]
    fn in_bound_columns_pass_and_out_of_bound_ones_fail() {
        let key: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 4]));
        assert!(check(vec![("customer_id", key.clone())]), "no score or cost column");
        assert!(check(vec![
            ("customer_id", key.clone()),
            ("score", f64s(vec![Some(1.0), None, Some(MAX_SCORE), Some(-MAX_SCORE)])),
            ("cost", f64s(vec![None, None, Some(0.05), None])),
        ]));
        // Out of bound or infinite in the second row group only.
        for bad in [1e16, -1e16, f64::INFINITY, f64::NEG_INFINITY] {
            let col = f64s(vec![Some(1.0), Some(2.0), Some(3.0), Some(bad)]);
            assert!(
                !check(vec![("customer_id", key.clone()), ("score", col.clone())]),
                "{bad}"
            );
            assert!(!check(vec![("customer_id", key.clone()), ("cost", col)]), "{bad}");
        }
        let f32s: ArrayRef = Arc::new(Float32Array::from(vec![1.0, 2.0, 1e20, 0.0]));
        assert!(!check(vec![("customer_id", key.clone()), ("cost", f32s)]));
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 1_000_000_000_000_001]));
        assert!(!check(vec![("customer_id", key.clone()), ("score", ints)]));
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, -1_000_000_000_000_000]));
        assert!(check(vec![("customer_id", key.clone()), ("score", ints)]));
        let big: ArrayRef = Arc::new(UInt64Array::from(vec![1, 2, 3, u64::MAX]));
        assert!(!check(vec![("customer_id", key.clone()), ("cost", big)]));
        let small: ArrayRef = Arc::new(UInt64Array::from(vec![1, 2, 3, 4]));
        assert!(check(vec![("customer_id", key), ("cost", small)]));
    }

    #[test]
    fn missing_statistics_and_unsupported_types_refuse() {
        let key: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let score = f64s(vec![Some(1.0), Some(2.0)]);
        let opts = IngestOptions::default();
        assert!(check_with(
            vec![("customer_id", key.clone()), ("score", score.clone())],
            2,
            true,
            &opts
        ));
        assert!(!check_with(
            vec![("customer_id", key.clone()), ("score", score)],
            2,
            false,
            &opts
        ));
        // Strings holding numbers are validated by ingestion, but have no numeric statistics.
        let text: ArrayRef = Arc::new(StringArray::from(vec!["1", "2"]));
        assert!(!check(vec![("customer_id", key.clone()), ("cost", text)]));
        // A row group of nulls only has no minimum or maximum and passes; NaN only does not.
        assert!(check(vec![
            ("customer_id", key.clone()),
            ("score", f64s(vec![None, None]))
        ]));
        assert!(!check(vec![
            ("customer_id", key),
            ("score", f64s(vec![Some(f64::NAN), None]))
        ]));
    }

    #[test]
    fn the_mapping_and_the_loaded_roles_decide_which_columns_count() {
        let key: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let huge = f64s(vec![Some(1e20), Some(1.0)]);
        let cols = || vec![("customer_id", key.clone()), ("satisfaction", huge.clone())];
        assert!(check(cols()), "not mapped: not the score column");
        let mapped = IngestOptions::default().column(Role::Score, "satisfaction");
        assert!(!check_with(cols(), 2, true, &mapped));
        let not_loaded = mapped.clone().only(&[Role::EventType, Role::Amount]);
        assert!(check_with(cols(), 2, true, &not_loaded));
    }
}
