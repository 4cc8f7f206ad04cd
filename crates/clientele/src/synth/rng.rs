//! A small, fast, fully deterministic pseudo-random number generator for the synthetic data
//! generator.
//!
//! Two well-known algorithms by Sebastiano Vigna and colleagues are used, exactly as published:
//!
//! * [`SplitMix64`] (Steele, Lea & Flood 2014) turns one 64-bit seed into a stream of
//!   well-mixed 64-bit words. It is used only for seeding: its finaliser [`mix64`] hashes the
//!   (seed, stream) pair and four of its outputs fill the state of the main generator.
//! * [`Rng`] is xoshiro256++ (Blackman & Vigna 2019): 256 bits of state, period 2^256 - 1,
//!   excellent statistical quality and a few nanoseconds per draw.
//!
//! Every customer gets its own stream, [`Rng::for_stream`]`(seed, customer_index)`, so what a
//! customer does never depends on how the work was split between threads.
//!
//! On top of the raw 64-bit words, [`Rng`] offers the few distributions the generator needs:
//! uniform, Bernoulli, exponential, standard normal (Marsaglia's polar method), gamma
//! (Marsaglia & Tsang 2000), beta (ratio of two gammas), Poisson (Knuth's multiplication method,
//! in steps of at most 30) and a weighted choice. Only `ln`, `exp`, `sqrt` and `powf` are used,
//! so a given platform reproduces every draw bit for bit.

/// The golden-ratio increment of SplitMix64 (2^64 / phi, odd).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Added to a stream number before hashing, so that stream 0 does not hash the raw seed.
const STREAM_SALT: u64 = 0xD1B5_4A32_D192_ED03;

/// 2^53: the number of distinct values [`Rng::next_f64`] can return.
const TWO_POW_53: f64 = 9_007_199_254_740_992.0;

/// Knuth's Poisson method multiplies uniforms until the product drops below `exp(-mean)`; for
/// means above this, the draw is split into a sum of independent Poisson draws of at most this
/// mean (exact, since Poisson variables add).
const POISSON_STEP: f64 = 30.0;

/// Means above this are treated as this by [`Rng::poisson`] (a guard against runaway loops).
const POISSON_MAX_MEAN: f64 = 1.0e7;

/// The SplitMix64 finaliser: a bijective 64-bit mixing function (variant 13 of Stafford's
/// mixers). Used to hash seeds and stream numbers into independent-looking keys.
pub(crate) const fn mix64(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The SplitMix64 generator: a 64-bit counter advanced by the golden-ratio increment and passed
/// through [`mix64`]. Used to expand one seed into the 256-bit state of [`Rng`].
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose first output is `mix64(seed + GOLDEN_GAMMA)`.
    pub(crate) const fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64-bit output.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }
}

/// xoshiro256++ with the sampling helpers the generator needs.
///
/// Not cryptographically secure; meant for reproducible simulation only.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s0: u64,
    s1: u64,
    s2: u64,
    s3: u64,
}

impl Rng {
    /// A generator seeded from four consecutive [`SplitMix64`] outputs of `seed`, as the
    /// xoshiro authors recommend. (SplitMix64 outputs are distinct, so the state is never all
    /// zero.)
    pub(crate) fn from_seed(seed: u64) -> Self {
        let mut sm = SplitMix64::new(seed);
        let s0 = sm.next_u64();
        let s1 = sm.next_u64();
        let s2 = sm.next_u64();
        let s3 = sm.next_u64();
        Rng { s0, s1, s2, s3 }
    }

    /// The generator of stream number `stream` under the master `seed`: seeded from
    /// `mix64(seed ^ mix64(stream + salt))`. Since [`mix64`] is a bijection, distinct streams
    /// of one seed get distinct keys, and neighbouring streams are unrelated (unlike seeding
    /// with `seed + stream`, which would make SplitMix64 sequences overlap).
    pub(crate) fn for_stream(seed: u64, stream: u64) -> Self {
        Rng::from_seed(mix64(seed ^ mix64(stream.wrapping_add(STREAM_SALT))))
    }

    /// The next 64 random bits (the xoshiro256++ step).
    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s0.wrapping_add(self.s3).rotate_left(23).wrapping_add(self.s0);
        let t = self.s1 << 17;
        self.s2 ^= self.s0;
        self.s3 ^= self.s1;
        self.s1 ^= self.s2;
        self.s0 ^= self.s3;
        self.s2 ^= t;
        self.s3 = self.s3.rotate_left(45);
        result
    }

    /// A uniform `f64` in `[0, 1)`: the top 53 bits of [`Rng::next_u64`] times 2^-53, so every
    /// multiple of 2^-53 is equally likely.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / TWO_POW_53
    }

    /// A uniform `f64` in `(0, 1]` (never zero, so its logarithm is finite).
    pub(crate) fn open01(&mut self) -> f64 {
        1.0 - self.next_f64()
    }

    /// A uniform `f64` in `[low, high)`.
    pub(crate) fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next_f64()
    }

    /// A uniform integer in `[0, n)` by Lemire's multiply-high method (bias below 2^-64 * n,
    /// negligible here). Returns 0 when `n` is 0.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// `true` with probability `p` (never for `p <= 0`, always for `p >= 1`).
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// An exponential variate with the given `rate` (mean `1 / rate`), by inversion:
    /// `-ln(U) / rate` with `U` uniform in `(0, 1]`. Returns `+inf` when `rate` is not positive
    /// (an event that never happens).
    pub(crate) fn exponential(&mut self, rate: f64) -> f64 {
        if rate > 0.0 {
            -self.open01().ln() / rate
        } else {
            f64::INFINITY
        }
    }

    /// A standard normal variate by Marsaglia's polar method: draw points uniformly in the
    /// square `[-1, 1)^2` until one falls strictly inside the unit circle (probability pi/4),
    /// then return `u * sqrt(-2 ln s / s)`. (The method yields a second, independent variate,
    /// which is discarded to keep the generator's state a plain xoshiro state.)
    pub(crate) fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.next_f64() - 1.0;
            let v = 2.0 * self.next_f64() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * s.ln() / s).sqrt();
            }
        }
    }

    /// A gamma variate with the given `shape` (k) and `scale` (theta): mean `k * theta`,
    /// variance `k * theta^2`. (For a rate beta, pass `scale = 1 / beta`.)
    ///
    /// Marsaglia & Tsang (2000), "A simple method for generating gamma variables": with
    /// `d = k - 1/3` and `c = 1 / sqrt(9 d)`, draw a standard normal `x`, let `v = (1 + c x)^3`
    /// and accept `d v` when `U < 1 - 0.0331 x^4` (the fast squeeze) or
    /// `ln U < x^2 / 2 + d (1 - v + ln v)`. Acceptance is above 95% for every shape. For
    /// `k < 1` the boost `Gamma(k) = Gamma(k + 1) * U^(1/k)` is used.
    ///
    /// Returns 0 when `shape` or `scale` is not positive (or is NaN).
    pub(crate) fn gamma(&mut self, shape: f64, scale: f64) -> f64 {
        if shape.is_nan() || scale.is_nan() || shape <= 0.0 || scale <= 0.0 {
            return 0.0;
        }
        if shape < 1.0 {
            let u = self.open01();
            return self.gamma(shape + 1.0, scale) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let t = 1.0 + c * x;
            if t <= 0.0 {
                continue;
            }
            let v = t * t * t;
            let u = self.next_f64();
            let x2 = x * x;
            if u < 1.0 - 0.0331 * x2 * x2 || u.ln() < 0.5 * x2 + d * (1.0 - v + v.ln()) {
                return d * v * scale;
            }
        }
    }

    /// A beta variate with shapes `a` and `b` (mean `a / (a + b)`), as `X / (X + Y)` with
    /// `X ~ Gamma(a, 1)` and `Y ~ Gamma(b, 1)` independent. Returns 0.5 in the degenerate case
    /// where both gamma draws are zero (only possible for non-positive shapes).
    pub(crate) fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a, 1.0);
        let y = self.gamma(b, 1.0);
        let sum = x + y;
        if sum > 0.0 { x / sum } else { 0.5 }
    }

    /// A Poisson variate with the given `mean`, by Knuth's method: multiply uniforms until the
    /// product falls to `exp(-mean)` or below; the number of factors minus one is the draw.
    /// The cost is proportional to the mean, so this is meant for small means; larger means are
    /// split into independent steps of at most 30 (Poisson variables add), which keeps
    /// `exp(-step)` far from underflow. Returns 0 for a non-positive or NaN mean; means above
    /// 10^7 are capped there.
    pub(crate) fn poisson(&mut self, mean: f64) -> u64 {
        if mean.is_nan() || mean <= 0.0 {
            return 0;
        }
        let mut remaining = mean.min(POISSON_MAX_MEAN);
        let mut count = 0_u64;
        while remaining > 0.0 {
            let step = remaining.min(POISSON_STEP);
            remaining -= step;
            let limit = (-step).exp();
            let mut product = self.next_f64();
            while product > limit {
                count += 1;
                product *= self.next_f64();
            }
        }
        count
    }

    /// An index into `weights`, chosen with probability proportional to its weight (weights
    /// need not sum to one; non-positive and NaN weights are never chosen). Linear scan, meant
    /// for short tables. Returns 0 when no weight is positive and finite in total.
    pub(crate) fn choose_weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
        if !total.is_finite() || total <= 0.0 {
            return 0;
        }
        let mut x = self.next_f64() * total;
        let mut last = 0;
        for (i, &w) in weights.iter().enumerate() {
            if w > 0.0 {
                if x < w {
                    return i;
                }
                x -= w;
                last = i;
            }
        }
        // Only reachable through rounding in the running subtraction.
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRAWS: usize = 100_000;

    /// Sample mean and standard error of the mean of `DRAWS` values.
    fn mean_and_se(mut draw: impl FnMut() -> f64) -> (f64, f64) {
        let values: Vec<f64> = (0..DRAWS).map(|_| draw()).collect();
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
        (mean, (var / n).sqrt())
    }

    fn assert_mean(name: &str, (mean, se): (f64, f64), expected: f64) {
        assert!(
            (mean - expected).abs() < 5.0 * se,
            "{name}: sample mean {mean} vs expected {expected} (se {se})"
        );
    }

    #[test]
    fn splitmix64_reference_values() {
        // Published reference outputs of SplitMix64 for seed 1234567.
        let mut sm = SplitMix64::new(1_234_567);
        assert_eq!(sm.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(sm.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(sm.next_u64(), 9_817_491_932_198_370_423);
        assert_eq!(sm.next_u64(), 4_593_380_528_125_082_431);
        assert_eq!(sm.next_u64(), 16_408_922_859_458_223_821);
        let mut zero = SplitMix64::new(0);
        assert_eq!(zero.next_u64(), 16_294_208_416_658_607_535);
        assert_eq!(zero.next_u64(), 7_960_286_522_194_355_700);
    }

    #[test]
    fn xoshiro256plusplus_reference_values() {
        // State {1, 2, 3, 4}: outputs of the reference C implementation.
        let mut rng = Rng {
            s0: 1,
            s1: 2,
            s2: 3,
            s3: 4,
        };
        assert_eq!(rng.next_u64(), 41_943_041);
        assert_eq!(rng.next_u64(), 58_720_359);
        assert_eq!(rng.next_u64(), 3_588_806_011_781_223);
        assert_eq!(rng.next_u64(), 3_591_011_842_654_386);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = {
            let mut r = Rng::for_stream(42, 7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::for_stream(42, 7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::for_stream(42, 8);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let d: Vec<u64> = {
            let mut r = Rng::for_stream(43, 7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn uniform_ranges() {
        let mut rng = Rng::from_seed(1);
        for _ in 0..DRAWS {
            let u = rng.next_f64();
            assert!((0.0..1.0).contains(&u));
            let o = rng.open01();
            assert!(o > 0.0 && o <= 1.0);
            let x = rng.uniform(-3.0, 5.0);
            assert!((-3.0..5.0).contains(&x));
            assert!(rng.below(10) < 10);
        }
        assert_eq!(rng.below(0), 0);
        assert!(!rng.chance(0.0));
        assert!(rng.chance(1.0));
        assert_mean("uniform", mean_and_se(|| rng.next_f64()), 0.5);
    }

    #[test]
    fn exponential_mean() {
        let mut rng = Rng::from_seed(2);
        assert_mean("exponential(2)", mean_and_se(|| rng.exponential(2.0)), 0.5);
        assert_eq!(rng.exponential(0.0), f64::INFINITY);
        assert_eq!(rng.exponential(-1.0), f64::INFINITY);
    }

    #[test]
    fn normal_moments() {
        let mut rng = Rng::from_seed(3);
        assert_mean("normal", mean_and_se(|| rng.normal()), 0.0);
        let (mean_sq, _) = mean_and_se(|| {
            let x = rng.normal();
            x * x
        });
        assert!((mean_sq - 1.0).abs() < 0.03, "normal variance {mean_sq}");
    }

    #[test]
    fn gamma_means() {
        let mut rng = Rng::from_seed(4);
        assert_mean("gamma(0.9, 2)", mean_and_se(|| rng.gamma(0.9, 2.0)), 1.8);
        assert_mean("gamma(6, 0.5)", mean_and_se(|| rng.gamma(6.0, 0.5)), 3.0);
        assert_mean(
            "gamma(3.7, 1/15)",
            mean_and_se(|| rng.gamma(3.7, 1.0 / 15.0)),
            3.7 / 15.0,
        );
        assert_mean("gamma(0.3, 1)", mean_and_se(|| rng.gamma(0.3, 1.0)), 0.3);
        assert_eq!(rng.gamma(0.0, 1.0), 0.0);
        assert_eq!(rng.gamma(1.0, -1.0), 0.0);
        assert_eq!(rng.gamma(f64::NAN, 1.0), 0.0);
    }

    #[test]
    fn beta_mean() {
        let mut rng = Rng::from_seed(5);
        assert_mean("beta(0.8, 2.4)", mean_and_se(|| rng.beta(0.8, 2.4)), 0.25);
        assert_mean("beta(2, 5)", mean_and_se(|| rng.beta(2.0, 5.0)), 2.0 / 7.0);
        for _ in 0..1000 {
            let b = rng.beta(0.8, 2.4);
            assert!((0.0..=1.0).contains(&b));
        }
    }

    #[test]
    fn poisson_means() {
        let mut rng = Rng::from_seed(6);
        assert_mean("poisson(1.5)", mean_and_se(|| rng.poisson(1.5) as f64), 1.5);
        assert_mean("poisson(75)", mean_and_se(|| rng.poisson(75.0) as f64), 75.0);
        assert_eq!(rng.poisson(0.0), 0);
        assert_eq!(rng.poisson(-2.0), 0);
        assert_eq!(rng.poisson(f64::NAN), 0);
    }

    #[test]
    fn weighted_choice_frequencies() {
        let mut rng = Rng::from_seed(7);
        let weights = [1.0, 0.0, 3.0, -1.0, f64::NAN, 4.0];
        let mut counts = [0_usize; 6];
        for _ in 0..DRAWS {
            let i = rng.choose_weighted(&weights);
            counts[i] += 1;
        }
        assert_eq!(counts[1] + counts[3] + counts[4], 0);
        let share = |i: usize| counts[i] as f64 / DRAWS as f64;
        assert!((share(0) - 0.125).abs() < 0.006, "{counts:?}");
        assert!((share(2) - 0.375).abs() < 0.008, "{counts:?}");
        assert!((share(5) - 0.5).abs() < 0.008, "{counts:?}");
        assert_eq!(rng.choose_weighted(&[]), 0);
        assert_eq!(rng.choose_weighted(&[0.0, -1.0]), 0);
    }
}
