//! The in-process backend: a quick_cache (sharded, CLOCK-PRO eviction) bounded by the memory its
//! answers hold, with a TTL per entry.
//!
//! Expiry is checked when an entry is read: an expired entry is a miss and is removed then; until
//! something reads or evicts it, it still counts against the byte budget, so the budget bounds what
//! the process keeps either way. moka did the same job with a background maintenance queue and a
//! frequency sketch that cost about a tenth of the gateway's CPU under load (`make load`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::answer::CachedAnswer;
use crate::backend::{ResponseCache, adaptive_ttl};
use crate::error::CacheError;
use crate::footprint::answer_bytes;
use crate::key::CacheKey;

/// Bytes counted per entry on top of its answer: the key's string, this entry, the cache's own slot
/// for it and the allocator's rounding, as measured under `make load`.
const ENTRY_OVERHEAD_BYTES: u64 = 320;

/// The average entry the table is sized for up front.
const TYPICAL_ENTRY_BYTES: u64 = 2048;

/// One stored answer with its bookkeeping.
#[derive(Debug)]
struct MemoryEntry {
    answer: Arc<CachedAnswer>,
    /// The TTL the entry was stored with: the base of adaptive growth.
    stored_ttl: Duration,
    /// When it expires, in nanoseconds after the cache's `epoch`; hits may move it (adaptive TTL).
    expires_at: AtomicU64,
    hits: AtomicU64,
    /// The answer's memory footprint plus overhead, computed once at insert.
    weight: u64,
}

/// Weighs an entry by the bytes it holds.
#[derive(Clone, Copy, Debug)]
struct ByFootprint;

impl Weighter<CacheKey, Arc<MemoryEntry>> for ByFootprint {
    fn weight(&self, _key: &CacheKey, entry: &Arc<MemoryEntry>) -> u64 {
        entry.weight
    }
}

/// How much a [`MemoryCache`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryFootprint {
    pub entries: u64,
    /// Weighted size: the answers' memory footprint plus a fixed overhead per entry.
    pub bytes: u64,
}

/// An in-process cache bounded by the memory its answers hold.
#[derive(Clone)]
pub struct MemoryCache {
    entries: Arc<Cache<CacheKey, Arc<MemoryEntry>, ByFootprint>>,
    max_bytes: u64,
    epoch: Instant,
}

impl std::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCache")
            .field("entries", &self.entries.len())
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

impl MemoryCache {
    /// A cache holding at most about `max_bytes` of answers; the least useful entries go first. An
    /// answer larger than a shard's share of the budget is not kept.
    pub fn new(max_bytes: u64) -> Self {
        let estimated_entries = usize::try_from(max_bytes / TYPICAL_ENTRY_BYTES)
            .unwrap_or(usize::MAX)
            .clamp(16, 1 << 16);
        Self {
            entries: Arc::new(Cache::with_weighter(estimated_entries, max_bytes, ByFootprint)),
            max_bytes,
            epoch: Instant::now(),
        }
    }

    /// The configured bound in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Entries and bytes held (expired entries not yet read or evicted included).
    pub async fn footprint(&self) -> MemoryFootprint {
        MemoryFootprint {
            entries: self.entries.len() as u64,
            bytes: self.entries.weight(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn deadline(&self, ttl: Duration) -> u64 {
        self.now()
            .saturating_add(u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX))
    }

    fn is_live(&self, entry: &MemoryEntry) -> bool {
        entry.expires_at.load(Ordering::Relaxed) > self.now()
    }

    /// The live entry under `key`; an expired one is removed (unless replaced meanwhile).
    fn live(&self, key: &CacheKey, counts_as_read: bool) -> Option<Arc<MemoryEntry>> {
        let entry = if counts_as_read {
            self.entries.get(key)
        } else {
            self.entries.peek(key)
        }?;
        if self.is_live(&entry) {
            return Some(entry);
        }
        self.entries
            .remove_if(key, |current| Arc::ptr_eq(current, &entry));
        None
    }
}

#[async_trait]
impl ResponseCache for MemoryCache {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &CacheKey) -> Result<Option<Arc<CachedAnswer>>, CacheError> {
        Ok(self.live(key, true).map(|entry| Arc::clone(&entry.answer)))
    }

    async fn set(&self, key: &CacheKey, answer: Arc<CachedAnswer>, ttl: Duration) -> Result<(), CacheError> {
        let weight = u64::try_from(answer_bytes(&answer))
            .unwrap_or(u64::MAX)
            .saturating_add(ENTRY_OVERHEAD_BYTES)
            .saturating_add(key.as_str().len() as u64);
        let entry = MemoryEntry {
            answer,
            stored_ttl: ttl,
            expires_at: AtomicU64::new(self.deadline(ttl)),
            hits: AtomicU64::new(0),
            weight,
        };
        self.entries.insert(key.clone(), Arc::new(entry));
        Ok(())
    }

    async fn del(&self, key: &CacheKey) -> Result<bool, CacheError> {
        Ok(self
            .entries
            .remove(key)
            .is_some_and(|(_, entry)| self.is_live(&entry)))
    }

    async fn exists(&self, key: &CacheKey) -> Result<bool, CacheError> {
        // A peek does not count as a read, so it leaves the eviction order alone.
        Ok(self.live(key, false).is_some())
    }

    async fn record_hit(&self, key: &CacheKey, adaptive_max: Option<Duration>) -> Result<u64, CacheError> {
        let Some(entry) = self.live(key, false) else {
            return Ok(0);
        };
        let hits = entry.hits.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(max) = adaptive_max {
            let ttl = adaptive_ttl(entry.stored_ttl, hits, max);
            entry.expires_at.fetch_max(self.deadline(ttl), Ordering::Relaxed);
        }
        Ok(hits)
    }

    async fn ping(&self) -> Result<Duration, CacheError> {
        Ok(Duration::ZERO)
    }
}
