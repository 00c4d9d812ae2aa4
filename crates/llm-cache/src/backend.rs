//! The storage contract every cache backend implements.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::answer::CachedAnswer;
use crate::error::CacheError;
use crate::key::CacheKey;

/// A store of answers by key, with per-entry TTL and hit counting.
///
/// Implementations bound every call in time: a call that cannot be served returns an error instead of
/// waiting. They never cache errors; what is stored is whatever the caller hands to [`set`](Self::set).
#[async_trait]
pub trait ResponseCache: Send + Sync + std::fmt::Debug {
    /// The backend's name: `"memory"` or `"redis"`.
    fn backend(&self) -> &'static str;

    /// The answer stored under `key`, if any and not expired.
    async fn get(&self, key: &CacheKey) -> Result<Option<Arc<CachedAnswer>>, CacheError>;

    /// Stores `answer` under `key` for `ttl`, replacing any previous entry and resetting its hit count.
    async fn set(&self, key: &CacheKey, answer: Arc<CachedAnswer>, ttl: Duration) -> Result<(), CacheError>;

    /// Removes the entry; `true` when there was one.
    async fn del(&self, key: &CacheKey) -> Result<bool, CacheError>;

    /// Whether an unexpired entry exists.
    async fn exists(&self, key: &CacheKey) -> Result<bool, CacheError>;

    /// Counts a hit on the entry and returns its hit count (0 when the entry is gone).
    ///
    /// With `adaptive_max = Some(max)` the entry's TTL is also extended, from now, to
    /// `min(stored_ttl * (1 + hits), max)`, where `stored_ttl` is the TTL the entry was stored with
    /// (a `max` below `stored_ttl` leaves it at `stored_ttl`).
    /// Redis does this in one atomic Lua script; memory with an atomic counter in the entry and a
    /// re-insert with the new TTL.
    async fn record_hit(&self, key: &CacheKey, adaptive_max: Option<Duration>) -> Result<u64, CacheError>;

    /// The round-trip time of a PING (memory: zero).
    async fn ping(&self) -> Result<Duration, CacheError>;
}

/// The TTL an entry gets on its `hits`-th hit under adaptive TTL: `min(base * (1 + hits), max)`.
///
/// A `max` below `base` never shortens an entry: it then keeps `base`.
pub fn adaptive_ttl(base: Duration, hits: u64, max: Duration) -> Duration {
    let cap = max.max(base);
    let factor = u32::try_from(hits.saturating_add(1)).unwrap_or(u32::MAX);
    base.checked_mul(factor).map_or(cap, |ttl| ttl.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adaptive_ttl_grows_linearly_and_caps() {
        let base = Duration::from_secs(10);
        let max = Duration::from_secs(45);
        assert_eq!(adaptive_ttl(base, 1, max), Duration::from_secs(20));
        assert_eq!(adaptive_ttl(base, 3, max), Duration::from_secs(40));
        assert_eq!(adaptive_ttl(base, 4, max), max);
        assert_eq!(adaptive_ttl(base, u64::MAX, max), max);
        assert_eq!(adaptive_ttl(base, 2, Duration::from_secs(5)), base);
    }
}
