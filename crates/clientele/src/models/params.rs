//! The fit-settings scaffold every lifetime-value model shares.
//!
//! [`fit_params!`] writes, for one model, the unchecked `*Params` (serde, builder, documented
//! defaults: no penalty, 500 BFGS iterations, tolerance 1e-9, default starting values) and the
//! validated `*Config` that `fit` takes, so the seven models differ only in what is theirs: the
//! penalty's formula and the starting values.

/// Defines `$params` and `$config` for the model `$model` (see the [module docs](self)).
macro_rules! fit_params {
    (
        model: $model:literal,
        params: $params:ident,
        config: $config:ident,
        penalty: $penalty:literal,
        initial: ($($p:ident),+) = $n:literal, $initial:literal $(,)?
    ) => {
        #[doc = concat!("Unchecked ", $model, " fit settings (serde, builder); [`", stringify!($params),
            "::validate`] makes a [`", stringify!($config), "`].")]
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $params {
            #[doc = concat!("L2 penalty coefficient c: the fit minimises ", $penalty,
                " Default 0 (maximum likelihood).")]
            pub penalizer: f64,
            /// BFGS iteration cap (default 500).
            pub max_iterations: usize,
            /// Convergence: ‖∇‖∞ ≤ tolerance · max(1, |objective|) with respect to the
            /// log-parameters, or ≤ √tolerance · max(1, |objective|) once the objective is flat
            /// to rounding (default 1e-9).
            pub tolerance: f64,
            #[doc = concat!("Starting values ", $initial)]
            pub initial: Option<[f64; $n]>,
        }

        impl Default for $params {
            fn default() -> Self {
                $params {
                    penalizer: 0.0,
                    max_iterations: 500,
                    tolerance: 1e-9,
                    initial: None,
                }
            }
        }

        impl $params {
            /// The defaults.
            pub fn new() -> Self {
                Self::default()
            }
            #[doc = concat!("Sets [`", stringify!($params), "::penalizer`].")]
            pub fn penalizer(mut self, c: f64) -> Self {
                self.penalizer = c;
                self
            }
            #[doc = concat!("Sets [`", stringify!($params), "::max_iterations`].")]
            pub fn max_iterations(mut self, n: usize) -> Self {
                self.max_iterations = n;
                self
            }
            #[doc = concat!("Sets [`", stringify!($params), "::tolerance`].")]
            pub fn tolerance(mut self, t: f64) -> Self {
                self.tolerance = t;
                self
            }
            #[doc = concat!("Sets [`", stringify!($params), "::initial`].")]
            pub fn initial(mut self, $($p: f64),+) -> Self {
                self.initial = Some([$($p),+]);
                self
            }
            /// Checks every field.
            ///
            /// # Errors
            /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) naming the first
            /// invalid field (`penalizer` negative or not finite, `max_iterations` 0,
            /// `tolerance` not positive, `initial` not all positive and finite).
            pub fn validate(&self) -> crate::error::Result<$config> {
                let opts = crate::models::validate_options(
                    self.penalizer,
                    self.max_iterations,
                    self.tolerance,
                    self.initial.as_ref().map(|v| &v[..]),
                )?;
                Ok($config {
                    opts,
                    initial: self.initial,
                })
            }
        }

        #[doc = concat!("Validated ", $model, " fit settings.")]
        #[derive(Debug, Clone, PartialEq)]
        pub struct $config {
            opts: crate::models::FitOptions,
            initial: Option<[f64; $n]>,
        }
    };
}

pub(crate) use fit_params;
