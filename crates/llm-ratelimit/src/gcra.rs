//! The decision algorithm: GCRA (the generic cell rate algorithm, a token bucket kept as one number).
//!
//! A bucket of `limit` units per `window` has an emission interval `T = ceil(window / limit)` in whole
//! microseconds and a burst tolerance `B = limit * T` (the window, rounded up by less than `limit` µs, so
//! a full burst is exactly `limit` and the sustained rate never exceeds it). Each (rule, subject) holds a
//! TAT, its theoretical arrival time; `debt = max(tat, now) - now` is how far the bucket is drawn down. A
//! cost `n` is admitted iff `debt + n*T <= B`, and then `tat' = max(tat, now) + n*T`. The local store
//! runs these functions; the Redis script (`redis/script.rs`) runs the same integer arithmetic on Redis
//! server time, with the increments computed here and passed in, so both stores decide alike.

use std::time::Duration;

use llm_core::Quota;

/// Largest increment (about 35 years, in µs): keeps every TAT exact in Lua's doubles (below 2^53).
const MAX_INCREMENT_US: u64 = 1 << 50;

/// One rule's bucket, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub limit: u64,
    /// T: the time one unit takes to come back.
    pub emission_us: u64,
    /// B: the debt a full burst leaves, `limit * T`.
    pub burst_us: u64,
}

impl Bucket {
    /// The bucket of `limit` per `window` (a zero limit counts as 1, a sub-microsecond interval as 1 µs).
    pub fn new(limit: u64, window: Duration) -> Self {
        let limit = limit.max(1);
        let window_us = u64::try_from(window.as_micros()).unwrap_or(MAX_INCREMENT_US);
        let emission_us = window_us.div_ceil(limit).max(1);
        Self {
            limit,
            emission_us,
            burst_us: limit.saturating_mul(emission_us).min(MAX_INCREMENT_US),
        }
    }

    /// `n * T`: the debt a cost of `n` adds (or a refund of `n` removes), capped.
    pub fn increment(&self, cost: u64) -> u64 {
        cost.saturating_mul(self.emission_us).min(MAX_INCREMENT_US)
    }

    /// Whether a cost is admitted on a bucket drawn down by `debt` µs.
    pub fn admits(&self, debt_us: u64, cost: u64) -> bool {
        debt_us.saturating_add(self.increment(cost)) <= self.burst_us
    }

    /// The wait before `cost` would be admitted on a bucket drawn down by `debt` µs (zero if now).
    pub fn retry_after(&self, debt_us: u64, cost: u64) -> Duration {
        let excess = debt_us
            .saturating_add(self.increment(cost))
            .saturating_sub(self.burst_us);
        Duration::from_micros(excess)
    }

    /// The quota a client sees on a bucket drawn down by `debt` µs: whole units left, and the time until
    /// the bucket is full again.
    pub fn quota(&self, debt_us: u64) -> Quota {
        let remaining = (self.burst_us.saturating_sub(debt_us) / self.emission_us).min(self.limit);
        Quota {
            limit: self.limit,
            remaining,
            reset: Duration::from_micros(debt_us),
        }
    }
}

/// `max(tat, now) - now`, with an absent TAT being an empty bucket.
pub(crate) fn debt(tat: Option<u64>, now: u64) -> u64 {
    tat.map_or(0, |tat| tat.saturating_sub(now))
}

/// The TAT after admitting `increment`: `max(tat, now) + increment`.
pub(crate) fn charged(tat: Option<u64>, now: u64, increment: u64) -> u64 {
    tat.unwrap_or(now).max(now).saturating_add(increment)
}

/// The TAT after a refund of `decrement`: `max(tat - decrement, now)`; never below now.
pub(crate) fn refunded(tat: Option<u64>, now: u64, decrement: u64) -> u64 {
    tat.unwrap_or(now).saturating_sub(decrement).max(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    /// Runs admissions of `cost` at `now` until one is refused; returns how many passed and the TAT.
    fn burst(bucket: &Bucket, tat: &mut Option<u64>, now: u64, cost: u64) -> u64 {
        let mut admitted = 0;
        while bucket.admits(debt(*tat, now), cost) {
            *tat = Some(charged(*tat, now, bucket.increment(cost)));
            admitted += 1;
            assert!(admitted <= bucket.limit, "runaway burst");
        }
        admitted
    }

    #[test]
    fn admits_exactly_the_limit_then_refuses_with_the_right_wait() {
        for (limit, window) in [
            (60, MINUTE),
            (7, MINUTE),
            (3, Duration::from_secs(1)),
            (1, MINUTE),
        ] {
            let bucket = Bucket::new(limit, window);
            let mut tat = None;
            let now = 1_000_000_000;
            assert_eq!(burst(&bucket, &mut tat, now, 1), limit, "{limit}/{window:?}");
            let wait = bucket.retry_after(debt(tat, now), 1);
            assert_eq!(wait, Duration::from_micros(bucket.emission_us));
            // Just before the wait it still refuses; at the wait it admits exactly one.
            let early = now + bucket.emission_us - 1;
            assert!(!bucket.admits(debt(tat, early), 1));
            let later = now + bucket.emission_us;
            assert_eq!(burst(&bucket, &mut tat, later, 1), 1);
        }
    }

    #[test]
    fn rounding_never_admits_more_than_the_limit_over_a_window() {
        // 7 per minute: T is 8_571_429 µs (rounded up); 7 pass at once, and no 8th within the window.
        let bucket = Bucket::new(7, MINUTE);
        assert_eq!(bucket.emission_us, 8_571_429);
        assert!(bucket.burst_us >= 60_000_000 && bucket.burst_us < 60_000_007);
        let mut tat = None;
        assert_eq!(burst(&bucket, &mut tat, 0, 1), 7);
        assert_eq!(burst(&bucket, &mut tat, 8_571_428, 1), 0);
    }

    #[test]
    fn quota_counts_remaining_and_reset() {
        let bucket = Bucket::new(60, MINUTE);
        assert_eq!(bucket.emission_us, 1_000_000);
        let empty = bucket.quota(0);
        assert_eq!(
            (empty.limit, empty.remaining, empty.reset),
            (60, 60, Duration::ZERO)
        );
        let after_one = bucket.quota(bucket.increment(1));
        assert_eq!(after_one.remaining, 59);
        assert_eq!(after_one.reset, Duration::from_secs(1));
        // Half a unit back counts as none; debt beyond the burst counts as zero remaining.
        assert_eq!(bucket.quota(1_500_000).remaining, 58);
        assert_eq!(bucket.quota(90_000_000).remaining, 0);
        assert_eq!(bucket.quota(90_000_000).reset, Duration::from_secs(90));
    }

    #[test]
    fn token_costs_draw_the_bucket_down_by_their_size() {
        let bucket = Bucket::new(1_000, MINUTE);
        let now = 5;
        let mut tat = None;
        assert!(bucket.admits(debt(tat, now), 600));
        tat = Some(charged(tat, now, bucket.increment(600)));
        assert_eq!(bucket.quota(debt(tat, now)).remaining, 400);
        assert!(!bucket.admits(debt(tat, now), 401));
        assert!(bucket.admits(debt(tat, now), 400));
        // 401 needs one more unit back: 60 ms.
        assert_eq!(bucket.retry_after(debt(tat, now), 401), Duration::from_millis(60));
    }

    #[test]
    fn a_cost_above_the_limit_never_passes() {
        let bucket = Bucket::new(100, MINUTE);
        assert!(!bucket.admits(0, 101));
        assert!(bucket.admits(0, 100));
    }

    #[test]
    fn refund_and_charge_move_the_tat() {
        let bucket = Bucket::new(100, MINUTE);
        let now = 10_000_000;
        let tat = Some(charged(None, now, bucket.increment(80)));
        assert_eq!(bucket.quota(debt(tat, now)).remaining, 20);
        // Refund 30: 50 left again; a refund larger than the debt stops at an empty bucket.
        let back = Some(refunded(tat, now, bucket.increment(30)));
        assert_eq!(bucket.quota(debt(back, now)).remaining, 50);
        assert_eq!(refunded(tat, now, bucket.increment(1_000)), now);
        // Charge 70 more: debt beyond the burst; the next request waits 50 units' worth.
        let owed = Some(charged(back, now, bucket.increment(70)));
        assert_eq!(debt(owed, now), 120 * bucket.emission_us);
        assert_eq!(bucket.quota(debt(owed, now)).remaining, 0);
        assert!(!bucket.admits(debt(owed, now), 0));
        assert_eq!(
            bucket.retry_after(debt(owed, now), 1),
            Duration::from_micros(21 * bucket.emission_us)
        );
        // A charge on a bucket idle in the past starts from now.
        assert_eq!(charged(Some(3), now, 7), now + 7);
    }
}
