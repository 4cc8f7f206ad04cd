//! Fired triggers ([`BoundRules::evaluate`](crate::triggers::BoundRules::evaluate)): one row per
//! customer and fired rule.

/// The name of the rule that fired.
pub const RULE: &str = "rule";
/// The rule's action.
pub const ACTION: &str = "action";
