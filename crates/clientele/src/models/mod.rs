//! Lifetime-value models: probabilistic "buy till you die" purchase models and the
//! Gamma-Gamma spend model, fitted by maximum likelihood on customer summaries.
