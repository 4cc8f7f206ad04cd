//! Cross-sell views ([`cross_sell`](crate::views::cross_sell())): the association rules and each
//! customer's next-best products ([`PRODUCT`](crate::schema::PRODUCT)).

/// The product A of a rule A→B (in next-best rows: of the best rule).
pub const ANTECEDENT: &str = "antecedent";
/// The product B of a rule A→B.
pub const CONSEQUENT: &str = "consequent";
/// Baskets holding both products, `n(A,B)`.
pub const BASKETS: &str = "baskets";
/// `n(A,B) / N`.
pub const SUPPORT: &str = "support";
/// `n(A,B) / n(A)`.
pub const CONFIDENCE: &str = "confidence";
/// `confidence / s(B)`.
pub const LIFT: &str = "lift";
/// All baskets counted, `N`.
pub const BASKETS_TOTAL: &str = "baskets_total";
/// Rank of the recommendation for the customer, from 1.
pub const RANK: &str = "rank";
