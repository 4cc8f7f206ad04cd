//! Behavioural clusters ([`cluster_segments`](crate::pipeline::cluster_segments)): the key, the
//! cluster, then the chosen [`rfm`](super::rfm) feature columns.

/// The k-means cluster of the customer (UInt32, from 0).
pub const CLUSTER: &str = "cluster";
