//! Triggers (touch management): named rules over customer-level columns that say which
//! customers need which action.
//!
//! A rule has a `name`, a condition (`when`, in the small language of [`expr`]) and an
//! `action`. Rules load from TOML or JSON ([`TriggerRules::from_toml`],
//! [`TriggerRules::from_json`]), are checked against a customer table's columns before anything
//! runs ([`TriggerRules::bind`]: an unknown column, a string compared with a number, or an
//! ordering of text is an error naming the rule), and are evaluated column-wise over the whole
//! table ([`BoundRules::evaluate`]). Every rule is evaluated on its own (a customer can fire
//! several); the output has one row per (customer, fired rule): `customer_id`, `rule`,
//! `action`, in table order, then rule order.
//!
//! ```toml
//! [[rules]]
//! name = "win-back"
//! when = "p_alive < 0.3 and clv > 500"
//! action = "win-back offer"
//!
//! [[rules]]
//! name = "priority"
//! when = 'complaints >= 2 and segment == "Champions"'
//! action = "priority service"
//! ```
//!
//! **Types and nulls.** Numeric columns (any integer or float type) compare with numbers,
//! text columns with strings (`==` and `!=` only), boolean columns with `true` / `false`
//! (`==`, `!=`). An integer column compared with an integer literal (digits only, such as
//! `9007199254740993`) compares exactly, whatever the magnitude; any other numeric comparison
//! (a float or decimal column, or a literal such as `2.5` or `1e6`) is made in `f64`. A null value makes its comparison false, so `x < 3` and `not x >= 3` differ on
//! nulls (SQL's three-valued logic, collapsed to "does not fire").

pub mod expr;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::output::triggers::{ACTION, RULE};
use expr::{Expr, Literal, Op};

/// One rule as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerRule {
    /// The rule's name (unique within the file).
    pub name: String,
    /// The condition, in the language of [`expr`].
    pub when: String,
    /// What to do for the customers it fires for.
    pub action: String,
}

/// A rule file: the rules in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerRules {
    /// The rules.
    pub rules: Vec<TriggerRule>,
}

fn invalid(rule: &str, message: impl Into<String>) -> Error {
    Error::InvalidTrigger {
        rule: rule.to_string(),
        message: message.into(),
    }
}

impl TriggerRules {
    /// Parses rules from TOML (`[[rules]]` tables with `name`, `when`, `action`) and checks
    /// their syntax.
    ///
    /// # Errors
    /// [`Error::Toml`] for malformed TOML or unknown fields; [`Error::InvalidTrigger`] naming
    /// the rule for an empty or duplicate name, an empty action, or a condition that does not
    /// parse.
    pub fn from_toml(text: &str) -> Result<Self> {
        let rules: TriggerRules = toml::from_str(text).map_err(|e| Error::Toml {
            message: e.to_string().trim_end().to_string(),
        })?;
        rules.check()?;
        Ok(rules)
    }

    /// Parses rules from JSON (`{"rules": [{"name", "when", "action"}, ...]}`).
    ///
    /// # Errors
    /// [`Error::Json`]; [`Error::InvalidTrigger`] as [`from_toml`](Self::from_toml).
    pub fn from_json(text: &str) -> Result<Self> {
        let rules: TriggerRules = serde_json::from_str(text)?;
        rules.check()?;
        Ok(rules)
    }

    /// Reads a rule file: TOML when the path ends in `.toml`, JSON otherwise.
    ///
    /// # Errors
    /// [`Error::Io`]; the errors of [`from_toml`](Self::from_toml) / [`from_json`](Self::from_json).
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
            Self::from_toml(&text)
        } else {
            Self::from_json(&text)
        }
    }

    fn check(&self) -> Result<()> {
        for (i, r) in self.rules.iter().enumerate() {
            if r.name.trim().is_empty() {
                return Err(invalid(&format!("#{}", i + 1), "the name is empty"));
            }
            if self.rules[..i].iter().any(|o| o.name == r.name) {
                return Err(invalid(&r.name, "the name is used by an earlier rule"));
            }
            if r.action.trim().is_empty() {
                return Err(invalid(&r.name, "the action is empty"));
            }
            expr::parse(&r.when).map_err(|m| invalid(&r.name, format!("condition {:?}: {m}", r.when)))?;
        }
        Ok(())
    }

    /// Checks every rule against the columns of `schema` and prepares them for evaluation.
    ///
    /// # Errors
    /// [`Error::InvalidTrigger`] naming the rule: a column the table does not have, a
    /// comparison of a text column with a number (or the reverse), an ordering (`<`, `>`, ...)
    /// of text or booleans.
    pub fn bind(&self, schema: &Schema) -> Result<BoundRules> {
        let mut rules = Vec::with_capacity(self.rules.len());
        for r in &self.rules {
            let e = expr::parse(&r.when).map_err(|m| invalid(&r.name, format!("condition {:?}: {m}", r.when)))?;
            check_types(&e, schema, &r.name)?;
            rules.push((r.clone(), e));
        }
        Ok(BoundRules { rules })
    }
}

/// The kind of a column for comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Text,
    Bool,
}

fn kind(t: &DataType) -> Option<Kind> {
    if t.is_numeric() {
        return Some(Kind::Number);
    }
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(Kind::Text),
        DataType::Dictionary(_, v) if matches!(v.as_ref(), DataType::Utf8 | DataType::LargeUtf8) => Some(Kind::Text),
        DataType::Boolean => Some(Kind::Bool),
        _ => None,
    }
}

fn check_types(e: &Expr, schema: &Schema, rule: &str) -> Result<()> {
    match e {
        Expr::Compare { column, op, value } => {
            let field = schema.field_with_name(column).map_err(|_| {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                invalid(
                    rule,
                    format!("unknown column `{column}` (the table has: {})", names.join(", ")),
                )
            })?;
            let k = kind(field.data_type()).ok_or_else(|| {
                invalid(
                    rule,
                    format!(
                        "column `{column}` has type {}, which rules cannot compare",
                        field.data_type()
                    ),
                )
            })?;
            let ordering = !matches!(op, Op::Eq | Op::Ne);
            match (k, value) {
                (Kind::Number, Literal::Number(_) | Literal::Integer(_)) => Ok(()),
                (Kind::Text, Literal::Text(_)) | (Kind::Bool, Literal::Bool(_)) if !ordering => Ok(()),
                (Kind::Text | Kind::Bool, _) if ordering => Err(invalid(
                    rule,
                    format!(
                        "`{column} {op} ...`: a {} column only supports == and !=",
                        if k == Kind::Text { "text" } else { "boolean" }
                    ),
                )),
                _ => Err(invalid(
                    rule,
                    format!(
                        "`{column}` is a {} column but is compared with {}",
                        match k {
                            Kind::Number => "numeric",
                            Kind::Text => "text",
                            Kind::Bool => "boolean",
                        },
                        match value {
                            Literal::Number(v) => format!("the number {v}"),
                            Literal::Integer(v) => format!("the number {v}"),
                            Literal::Text(s) => format!("the string {s:?}"),
                            Literal::Bool(b) => format!("{b}"),
                        }
                    ),
                )),
            }
        }
        Expr::And(a, b) | Expr::Or(a, b) => {
            check_types(a, schema, rule)?;
            check_types(b, schema, rule)
        }
        Expr::Not(a) => check_types(a, schema, rule),
    }
}

/// Rules checked against a table schema, ready to evaluate.
#[derive(Debug, Clone)]
pub struct BoundRules {
    rules: Vec<(TriggerRule, Expr)>,
}

/// `holds(column value vs v)` per row, compared in `f64` (false for null and NaN).
fn float_mask(col: &ArrayRef, v: f64, holds: impl Fn(std::cmp::Ordering) -> bool) -> Result<Vec<bool>> {
    let c = arrow_cast::cast(col, &DataType::Float64)?;
    let c = c.as_primitive::<Float64Type>();
    Ok((0..c.len())
        .map(|i| c.is_valid(i) && c.value(i).partial_cmp(&v).is_some_and(&holds))
        .collect())
}

/// Evaluates one condition over every row: `true` where it holds.
fn mask(e: &Expr, table: &RecordBatch) -> Result<Vec<bool>> {
    let n = table.num_rows();
    Ok(match e {
        Expr::And(a, b) => mask(a, table)?
            .iter()
            .zip(mask(b, table)?)
            .map(|(x, y)| *x && y)
            .collect(),
        Expr::Or(a, b) => mask(a, table)?
            .iter()
            .zip(mask(b, table)?)
            .map(|(x, y)| *x || y)
            .collect(),
        Expr::Not(a) => mask(a, table)?.iter().map(|x| !x).collect(),
        Expr::Compare { column, op, value } => {
            let col = table
                .column_by_name(column)
                .ok_or_else(|| Error::param("table", format!("no column `{column}`")))?;
            let holds = |o: std::cmp::Ordering| match op {
                Op::Lt => o.is_lt(),
                Op::Le => o.is_le(),
                Op::Gt => o.is_gt(),
                Op::Ge => o.is_ge(),
                Op::Eq => o.is_eq(),
                Op::Ne => o.is_ne(),
            };
            match value {
                Literal::Number(v) => float_mask(col, *v, holds)?,
                // Integers against integers exactly (i128 holds every i64 and u64); through
                // f64 a column value above 2^53 could compare equal to its neighbour.
                Literal::Integer(v) if col.data_type().is_signed_integer() => {
                    let c = arrow_cast::cast(col, &DataType::Int64)?;
                    let c = c.as_primitive::<Int64Type>();
                    (0..n)
                        .map(|i| c.is_valid(i) && holds(i128::from(c.value(i)).cmp(v)))
                        .collect()
                }
                Literal::Integer(v) if col.data_type().is_unsigned_integer() => {
                    let c = arrow_cast::cast(col, &DataType::UInt64)?;
                    let c = c.as_primitive::<UInt64Type>();
                    (0..n)
                        .map(|i| c.is_valid(i) && holds(i128::from(c.value(i)).cmp(v)))
                        .collect()
                }
                Literal::Integer(v) => float_mask(col, *v as f64, holds)?,
                Literal::Text(s) => {
                    let c = arrow_cast::cast(col, &DataType::Utf8)?;
                    let c = c.as_string::<i32>();
                    (0..n)
                        .map(|i| c.is_valid(i) && holds(c.value(i).cmp(s.as_str())))
                        .collect()
                }
                Literal::Bool(b) => {
                    let c = col
                        .as_boolean_opt()
                        .ok_or_else(|| Error::param("table", format!("`{column}` is not boolean")))?;
                    (0..n).map(|i| c.is_valid(i) && holds(c.value(i).cmp(b))).collect()
                }
            }
        }
    })
}

impl BoundRules {
    /// The rules that fired, one row per (customer, rule): `customer_id` (the table's),
    /// `rule`, `action`; in table order, then rule order.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] (`table`) when the table lacks `customer_id` or a column
    /// the rules were bound to.
    ///
    /// # Example
    /// ```
    /// # fn main() -> Result<(), clientele::Error> {
    /// use std::sync::Arc;
    /// use clientele::arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
    /// use clientele::triggers::TriggerRules;
    /// let customers = RecordBatch::try_from_iter([
    ///     ("customer_id", Arc::new(Int64Array::from(vec![1, 2, 3])) as _),
    ///     ("p_alive", Arc::new(Float64Array::from(vec![0.1, 0.9, 0.2])) as _),
    ///     ("clv", Arc::new(Float64Array::from(vec![900.0, 800.0, 100.0])) as _),
    ///     ("segment", Arc::new(StringArray::from(vec!["Champions", "Champions", "Lost"])) as _),
    /// ])?;
    /// let rules = TriggerRules::from_toml(
    ///     "[[rules]]\nname = \"win-back\"\nwhen = \"p_alive < 0.3 and clv > 500\"\naction = \"offer\"\n",
    /// )?;
    /// let fired = rules.bind(&customers.schema())?.evaluate(&customers)?;
    /// assert_eq!(fired.num_rows(), 1); // customer 1
    /// # Ok(()) }
    /// ```
    pub fn evaluate(&self, table: &RecordBatch) -> Result<RecordBatch> {
        let ids = table
            .column_by_name(crate::schema::CUSTOMER_ID)
            .ok_or_else(|| Error::param("table", "no `customer_id` column"))?;
        let masks: Vec<Vec<bool>> = self.rules.iter().map(|(_, e)| mask(e, table)).collect::<Result<_>>()?;
        let (mut rows, mut names, mut actions) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..table.num_rows() {
            for ((rule, _), m) in self.rules.iter().zip(&masks) {
                if m.get(i).copied().unwrap_or(false) {
                    rows.push(i as u32);
                    names.push(rule.name.as_str());
                    actions.push(rule.action.as_str());
                }
            }
        }
        let keys = arrow_select::take::take(ids.as_ref(), &UInt32Array::from(rows), None)?;
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                crate::schema::CUSTOMER_ID,
                keys.data_type().clone(),
                ids.null_count() > 0,
            ),
            Field::new(RULE, DataType::Utf8, false),
            Field::new(ACTION, DataType::Utf8, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            keys,
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(actions)),
        ];
        Ok(RecordBatch::try_new(schema, columns)?)
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BooleanArray, Float64Array, Int64Array};

    fn customers() -> RecordBatch {
        RecordBatch::try_from_iter([
            ("customer_id", Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as ArrayRef),
            (
                "p_alive",
                Arc::new(Float64Array::from(vec![Some(0.1), Some(0.9), Some(0.2), None])) as _,
            ),
            (
                "clv",
                Arc::new(Float64Array::from(vec![900.0, 800.0, 100.0, 1000.0])) as _,
            ),
            ("complaints", Arc::new(Int64Array::from(vec![0, 3, 2, 5])) as _),
            (
                "segment",
                Arc::new(StringArray::from(vec!["Champions", "Champions", "Lost", "Champions"])) as _,
            ),
            ("vip", Arc::new(BooleanArray::from(vec![true, false, false, true])) as _),
        ])
        .unwrap()
    }

    const RULES: &str = r#"
[[rules]]
name = "win-back"
when = "p_alive < 0.3 and clv > 500"
action = "win-back offer"

[[rules]]
name = "priority"
when = 'complaints >= 2 and segment == "Champions"'
action = "priority service"

[[rules]]
name = "vip-or-risky"
when = "vip == true or not (p_alive >= 0.15)"
action = "call"
"#;

    #[test]
    fn rules_fire_by_hand() {
        let t = customers();
        let fired = TriggerRules::from_toml(RULES)
            .unwrap()
            .bind(&t.schema())
            .unwrap()
            .evaluate(&t)
            .unwrap();
        let ids = fired
            .column(0)
            .as_primitive::<arrow_array::types::Int64Type>()
            .values()
            .to_vec();
        let rules: Vec<&str> = (0..fired.num_rows())
            .map(|i| fired.column(1).as_string::<i32>().value(i))
            .collect();
        // 1: p 0.1 < 0.3 and clv 900 -> win-back; vip -> call.
        // 2: complaints 3, Champions -> priority; p 0.9: not (0.9 >= 0.15) false, not vip.
        // 3: clv 100 fails win-back; Lost fails priority; not (0.2 >= 0.15) false.
        // 4: p null: win-back false; complaints 5, Champions -> priority; vip -> call.
        assert_eq!(ids, [1, 1, 2, 4, 4]);
        assert_eq!(
            rules,
            ["win-back", "vip-or-risky", "priority", "priority", "vip-or-risky"]
        );
        let json = r#"{"rules": [{"name": "a", "when": "clv >= 1000", "action": "x"}]}"#;
        let fired = TriggerRules::from_json(json)
            .unwrap()
            .bind(&t.schema())
            .unwrap()
            .evaluate(&t)
            .unwrap();
        assert_eq!(fired.num_rows(), 1);
    }

    #[test]
    fn integer_columns_compare_exactly_with_integer_literals() {
        // 2^53 + 1 is the first integer f64 cannot hold: through f64, both neighbours below
        // compare equal to it. Worked by hand: each id fires exactly the rules it satisfies.
        let big = (1i64 << 53) + 1;
        let t = RecordBatch::try_from_iter([
            ("customer_id", Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as ArrayRef),
            (
                "n",
                Arc::new(Int64Array::from(vec![Some(big - 1), Some(big), Some(big + 1), None])) as _,
            ),
            (
                "u",
                Arc::new(arrow_array::UInt64Array::from(vec![u64::MAX - 1, u64::MAX, 1 << 60, 0])) as _,
            ),
            (
                "f",
                Arc::new(Float64Array::from(vec![0.5, 1.0, 9007199254740992.0, -1.0])) as _,
            ),
        ])
        .unwrap();
        let fired = |when: &str| -> Vec<i64> {
            let toml = format!("[[rules]]\nname = \"r\"\nwhen = '{when}'\naction = \"a\"\n");
            let f = TriggerRules::from_toml(&toml)
                .unwrap()
                .bind(&t.schema())
                .unwrap()
                .evaluate(&t)
                .unwrap();
            f.column(0)
                .as_primitive::<arrow_array::types::Int64Type>()
                .values()
                .to_vec()
        };
        assert_eq!(fired("n == 9007199254740993"), [2]);
        assert_eq!(fired("n != 9007199254740993"), [1, 3]); // null fires nothing
        assert_eq!(fired("n > 9007199254740993"), [3]);
        assert_eq!(fired("n >= 9007199254740993"), [2, 3]);
        assert_eq!(fired("n < 9007199254740993"), [1]);
        assert_eq!(fired("n <= 9_007_199_254_740_992"), [1]);
        // Unsigned columns above i64::MAX, and literals outside a column's range.
        assert_eq!(fired("u == 18446744073709551615"), [2]);
        assert_eq!(fired("u < 18446744073709551615 and u > 1152921504606846976"), [1]);
        assert_eq!(fired("u > -1"), [1, 2, 3, 4]);
        assert_eq!(fired("n < 99999999999999999999999"), [1, 2, 3]);
        // Float literals and float columns still compare in f64: 2^53 + 1 rounds to 2^53.
        assert_eq!(fired("f == 9007199254740993"), [3]);
        assert_eq!(fired("f < 1"), [1, 4]);
        assert_eq!(fired("n == 9007199254740993.0"), [1, 2]);
    }

    #[test]
    fn errors_name_the_rule() {
        let t = customers();
        let bind = |when: &str| {
            let toml = format!("[[rules]]\nname = \"r1\"\nwhen = '{when}'\naction = \"a\"\n");
            TriggerRules::from_toml(&toml).and_then(|r| r.bind(&t.schema()).map(|_| ()))
        };
        let msg = |r: Result<()>| match r.unwrap_err() {
            Error::InvalidTrigger { rule, message } => format!("{rule}: {message}"),
            other => panic!("{other}"),
        };
        assert!(msg(bind("clvv > 3")).contains("r1: unknown column `clvv`"));
        assert!(msg(bind("segment > \"A\"")).contains("only supports == and !="));
        assert!(msg(bind("clv == \"high\"")).contains("numeric column but is compared with the string"));
        assert!(msg(bind("segment == 3")).contains("text column"));
        assert!(msg(bind("clv >")).contains("expected a value"));
        let dup = "[[rules]]\nname = \"a\"\nwhen = \"clv > 1\"\naction = \"x\"\n[[rules]]\nname = \"a\"\nwhen = \"clv > 2\"\naction = \"y\"\n";
        assert!(matches!(
            TriggerRules::from_toml(dup).unwrap_err(),
            Error::InvalidTrigger { .. }
        ));
        let typo = "[[rules]]\nname = \"a\"\nwen = \"clv > 1\"\naction = \"x\"\n";
        assert!(matches!(TriggerRules::from_toml(typo).unwrap_err(), Error::Toml { .. }));
    }
}
