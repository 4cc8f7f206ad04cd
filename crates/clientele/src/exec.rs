//! Where parallel work runs.
//!
//! Clientele never configures rayon's global pool. Every parallel entry point takes a
//! [`Parallelism`]: by default work runs in whatever pool the caller is in (rayon's global pool
//! unless the caller installed another); a service can hand over its own pool, or ask for a
//! dedicated one with a fixed thread count. Results never depend on the thread count: work is
//! split into chunks whose boundaries depend only on the data, and chunk results are combined
//! in order.

use std::ops::Range;
use std::sync::Arc;

use rayon::ThreadPool;
use rayon::prelude::*;

use crate::error::Result;

/// Which rayon pool runs Clientele's parallel work.
#[derive(Debug, Clone, Default)]
pub struct Parallelism {
    pool: Option<Arc<ThreadPool>>,
}

impl Parallelism {
    /// Run in the caller's current pool (rayon's global pool unless the caller is inside
    /// another pool's `install`).
    pub fn current() -> Self {
        Parallelism { pool: None }
    }

    /// Run in `pool`.
    pub fn pool(pool: Arc<ThreadPool>) -> Self {
        Parallelism { pool: Some(pool) }
    }

    /// Run in a new dedicated pool of `threads` threads (0 = one per core), at most
    /// [`max_threads`](Self::max_threads).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) (field `threads`) above the
    /// maximum; [`Error::ThreadPool`](crate::Error::ThreadPool) when the threads cannot be
    /// started.
    pub fn threads(threads: usize) -> Result<Self> {
        let max = Self::max_threads();
        if threads > max {
            return Err(crate::Error::param(
                "threads",
                format!("at most {max} (8 per core, and at least 16), got {threads}"),
            ));
        }
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
        Ok(Parallelism::pool(Arc::new(pool)))
    }

    /// The largest pool [`threads`](Self::threads) starts: 8 threads per core of this machine,
    /// and at least 16. More threads than that only add switching and memory.
    pub fn max_threads() -> usize {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .saturating_mul(8)
            .max(16)
    }

    /// Runs `f` in the chosen pool.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(p) => p.install(f),
            None => f(),
        }
    }

    /// The per-customer pass: runs `f` on every range of [`chunk_ranges`]`(n, chunk)` in this
    /// pool and returns the results in range order. The ranges depend only on `n` and `chunk`,
    /// so whatever `f` computes per range, combining the results in order gives the same
    /// answer for any thread count.
    pub fn map_chunks<T: Send>(&self, n: usize, chunk: usize, f: impl Fn(Range<usize>) -> T + Sync + Send) -> Vec<T> {
        self.map_ranges(&chunk_ranges(n, chunk), f)
    }

    /// [`map_chunks`](Self::map_chunks) over given ranges (a slice of [`chunk_ranges`], for a
    /// pass that runs its chunks in waves to bound the partial results held at once).
    pub fn map_ranges<T: Send>(&self, ranges: &[Range<usize>], f: impl Fn(Range<usize>) -> T + Sync + Send) -> Vec<T> {
        self.install(|| ranges.par_iter().map(|r| f(r.clone())).collect())
    }

    /// The number of threads work will use.
    pub fn num_threads(&self) -> usize {
        match &self.pool {
            Some(p) => p.current_num_threads(),
            None => rayon::current_num_threads(),
        }
    }
}

/// `0..n` cut into consecutive ranges of `chunk` items (the last one shorter; `chunk` 0 is
/// taken as 1).
pub fn chunk_ranges(n: usize, chunk: usize) -> Vec<Range<usize>> {
    let chunk = chunk.max(1);
    (0..n).step_by(chunk).map(|s| s..(s + chunk).min(n)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
    use super::*;

    #[test]
    fn thread_counts_are_bounded() {
        let max = Parallelism::max_threads();
        assert!(max >= 16);
        let err = Parallelism::threads(20_000).unwrap_err();
        assert!(err.to_string().contains("invalid parameter `threads`"), "{err}");
        assert_eq!(Parallelism::threads(2).unwrap().num_threads(), 2);
    }

    #[test]
    fn chunks_cover_the_range_in_order_whatever_the_pool() {
        assert_eq!(chunk_ranges(5, 2), vec![0..2, 2..4, 4..5]);
        assert!(chunk_ranges(0, 8).is_empty());
        assert_eq!(chunk_ranges(3, 0), vec![0..1, 1..2, 2..3]);
        let sums = |threads| {
            Parallelism::threads(threads)
                .unwrap()
                .map_chunks(10_001, 97, |r| r.map(|i| i as u64).sum::<u64>())
        };
        let one = sums(1);
        assert_eq!(one, sums(3));
        assert_eq!(one.iter().sum::<u64>(), (0..10_001_u64).sum::<u64>());
    }
}
