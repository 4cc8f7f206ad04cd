//! Kernels: parallel passes over an [`EventStore`](crate::store::EventStore) that turn each
//! customer's contiguous, time-ordered events into one row of a result table.
//!
//! Each kernel has unchecked `*Params` validated into a `*Config`, a store pass, and (where
//! results must scale out) a mergeable partial state with `update`, `merge` and `finish` that
//! gives exactly the store pass's result.
//!
//! | kernel | what |
//! |---|---|
//! | [`summary`] | `lifetimes`-compatible frequency, recency, T, monetary value, holdout; first/last events; counts by type |
//! | [`rfm`] | recency, frequency, monetary per customer, scores, segments and value tiers |
//! | [`kmeans`] | behavioural clustering of customer-level features (seeded, deterministic k-means) |

pub mod kmeans;
pub mod rfm;
pub(crate) mod scan;
pub mod summary;
