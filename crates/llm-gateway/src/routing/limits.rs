//! A deployment's own limits: [`MinuteBudget`], requests per minute on this instance (a token bucket
//! refilled continuously, burst = the per-minute limit). A deployment over its budget or at its
//! `max_inflight` cap is skipped by the balancer rather than failing the request.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

const MINUTE: Duration = Duration::from_secs(60);

/// Requests per minute, as a token bucket.
#[derive(Debug)]
pub struct MinuteBudget {
    per_minute: u32,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl MinuteBudget {
    /// A full bucket of `per_minute` requests.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            state: Mutex::new(Bucket {
                tokens: f64::from(per_minute),
                refilled_at: Instant::now(),
            }),
        }
    }

    /// Takes one request from the budget; `false` (taking nothing) when it is spent.
    pub fn try_take(&self) -> bool {
        let mut bucket = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        bucket.tokens = self.available(&bucket, now);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether a request would be taken now (nothing is taken).
    pub fn has_room(&self) -> bool {
        let bucket = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.available(&bucket, Instant::now()) >= 1.0
    }

    /// The bucket's requests at `now`: what it held, refilled over the time since, at most full.
    fn available(&self, bucket: &Bucket, now: Instant) -> f64 {
        let capacity = f64::from(self.per_minute);
        let refill = now.duration_since(bucket.refilled_at).as_secs_f64() / MINUTE.as_secs_f64();
        (bucket.tokens + refill * capacity).min(capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_budget_is_spent_then_refills_over_the_minute() {
        let budget = MinuteBudget::new(3);
        assert!((0..3).all(|_| budget.try_take()));
        assert!(!budget.has_room());
        assert!(!budget.try_take());
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(budget.has_room());
        assert!(budget.try_take());
        assert!(!budget.try_take());
    }
}
