//! Trigger rules fired over a customer table.

use arrow_array::RecordBatch;

use crate::error::Result;
use crate::triggers::TriggerRules;

/// Which rules fired for which customers.
#[derive(Debug, Clone)]
pub struct TriggerRun {
    /// One row per (customer, fired rule) (see [`BoundRules::evaluate`](crate::triggers::BoundRules::evaluate)).
    pub fired: RecordBatch,
    /// Rules evaluated.
    pub rules: usize,
    /// Customers (rows of the input table) the rules were evaluated on.
    pub customers: usize,
}

/// Binds `rules` to the columns of `table` (any customer table with `customer_id`: the output
/// of [`clv`](super::clv), [`customer_rfm`](super::customer_rfm),
/// [`churn_score`](super::churn_score), ...) and fires them.
///
/// # Errors
/// A rule naming a column the table lacks or comparing it with a value of the wrong type;
/// the table without `customer_id`.
pub fn fire_triggers(rules: &TriggerRules, table: &RecordBatch) -> Result<TriggerRun> {
    let fired = rules.bind(&table.schema())?.evaluate(table)?;
    Ok(TriggerRun {
        fired,
        rules: rules.rules.len(),
        customers: table.num_rows(),
    })
}
