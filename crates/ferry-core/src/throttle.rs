//! A row-rate limit shared by every reader of a run, so a copy from a live
//! production database takes at most `N` rows per second from it in total,
//! however many workers read.
//!
//! A token bucket: tokens accrue at `rate` per second up to one second's
//! worth; a reader takes one token per row before passing a batch on, and
//! waits when the bucket is short. A batch larger than the bucket goes into
//! debt rather than waiting forever, so the average still holds.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits rows per second across all callers. Cheap to share in an `Arc`.
#[derive(Debug)]
pub struct RowThrottle {
    rate: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens available; negative after a batch larger than the burst.
    tokens: f64,
    refilled: Instant,
}

impl RowThrottle {
    /// A limit of `rows_per_second` (at least 1).
    pub fn new(rows_per_second: u64) -> Self {
        let rate = rows_per_second.max(1) as f64;
        RowThrottle {
            rate,
            state: Mutex::new(Bucket {
                tokens: rate,
                refilled: Instant::now(),
            }),
        }
    }

    pub fn rows_per_second(&self) -> f64 {
        self.rate
    }

    /// Takes `rows` tokens, sleeping until the bucket has paid for them.
    /// Callers take before handing rows on, so the source is never read
    /// faster than the limit for longer than one batch.
    pub async fn acquire(&self, rows: usize) {
        let wait = self.take(rows, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Books `rows` at `now` and says how long the caller must wait.
    fn take(&self, rows: usize, now: Instant) -> Duration {
        let mut b = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let elapsed = now.saturating_duration_since(b.refilled).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.rate);
        b.refilled = now;
        b.tokens -= rows as f64;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_paces() {
        let t = RowThrottle::new(1000);
        let now = Instant::now();
        assert_eq!(t.take(1000, now), Duration::ZERO);
        // The bucket is empty: 500 more rows cost half a second.
        let w = t.take(500, now);
        assert!((w.as_secs_f64() - 0.5).abs() < 1e-6, "{w:?}");
        // Debt is shared: the next caller waits for both.
        let w = t.take(500, now);
        assert!((w.as_secs_f64() - 1.0).abs() < 1e-6, "{w:?}");
        // Time pays the debt back.
        let later = now + Duration::from_secs(2);
        assert_eq!(t.take(0, later), Duration::ZERO);
    }

    #[tokio::test]
    async fn acquire_paces_real_time() {
        let t = RowThrottle::new(2000);
        let start = Instant::now();
        for _ in 0..4 {
            t.acquire(1000).await;
        }
        // 4000 rows at 2000/s with a 2000-row burst: at least ~1 s.
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "{:?}",
            start.elapsed()
        );
    }
}
