//! The in-process backend: a moka cache bounded by bytes, with a TTL per entry.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;

use crate::answer::CachedAnswer;
use crate::backend::{ResponseCache, adaptive_ttl};
use crate::error::CacheError;
use crate::footprint::answer_bytes;
use crate::key::CacheKey;

/// Bytes counted per entry on top of its answer: the key, this entry, moka's node and its
/// bookkeeping (access order, timer wheel, frequency sketch), measured rather than derived.
const ENTRY_OVERHEAD_BYTES: u64 = 400;

/// One stored answer with its bookkeeping.
#[derive(Debug)]
struct MemoryEntry {
    answer: Arc<CachedAnswer>,
    /// The TTL the entry was stored with: the base of adaptive growth.
    stored_ttl: Duration,
    /// The TTL to apply from the latest (re-)insert.
    ttl: Duration,
    /// Shared by every re-insert of the same stored answer, so concurrent hits are never lost.
    hits: Arc<AtomicU64>,
    /// The answer's memory footprint plus overhead, computed once at insert.
    weight: u32,
}

/// Per-entry expiry: each insert or re-insert lives for the entry's own `ttl` from that moment.
struct EntryExpiry;

impl Expiry<CacheKey, Arc<MemoryEntry>> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        entry: &Arc<MemoryEntry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &CacheKey,
        entry: &Arc<MemoryEntry>,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
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
#[derive(Clone, Debug)]
pub struct MemoryCache {
    entries: Cache<CacheKey, Arc<MemoryEntry>>,
    max_bytes: u64,
}

impl MemoryCache {
    /// A cache holding at most about `max_bytes` of answers; least useful entries go first.
    pub fn new(max_bytes: u64) -> Self {
        let entries = Cache::builder()
            // Sized for the entries the budget holds (about 2 KiB each), so the table does not keep
            // rehashing as it fills.
            .initial_capacity(
                usize::try_from(max_bytes / 2048)
                    .unwrap_or(usize::MAX)
                    .min(1 << 16),
            )
            .max_capacity(max_bytes)
            .weigher(|_key: &CacheKey, entry: &Arc<MemoryEntry>| entry.weight)
            .expire_after(EntryExpiry)
            .build();
        Self { entries, max_bytes }
    }

    /// The configured bound in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Entries and bytes held, after applying pending evictions and expiries.
    pub async fn footprint(&self) -> MemoryFootprint {
        self.entries.run_pending_tasks().await;
        MemoryFootprint {
            entries: self.entries.entry_count(),
            bytes: self.entries.weighted_size(),
        }
    }
}

#[async_trait]
impl ResponseCache for MemoryCache {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, key: &CacheKey) -> Result<Option<Arc<CachedAnswer>>, CacheError> {
        Ok(self.entries.get(key).await.map(|entry| Arc::clone(&entry.answer)))
    }

    async fn set(&self, key: &CacheKey, answer: Arc<CachedAnswer>, ttl: Duration) -> Result<(), CacheError> {
        let weight = u64::try_from(answer_bytes(&answer))
            .unwrap_or(u64::MAX)
            .saturating_add(ENTRY_OVERHEAD_BYTES)
            .saturating_add(key.as_str().len() as u64);
        let entry = MemoryEntry {
            answer,
            stored_ttl: ttl,
            ttl,
            hits: Arc::new(AtomicU64::new(0)),
            weight: u32::try_from(weight).unwrap_or(u32::MAX),
        };
        self.entries.insert(key.clone(), Arc::new(entry)).await;
        Ok(())
    }

    async fn del(&self, key: &CacheKey) -> Result<bool, CacheError> {
        Ok(self.entries.remove(key).await.is_some())
    }

    async fn exists(&self, key: &CacheKey) -> Result<bool, CacheError> {
        // `contains_key` does not count as a read, so it leaves the eviction order alone.
        Ok(self.entries.contains_key(key))
    }

    async fn record_hit(&self, key: &CacheKey, adaptive_max: Option<Duration>) -> Result<u64, CacheError> {
        let Some(max) = adaptive_max else {
            return Ok(match self.entries.get(key).await {
                Some(entry) => entry.hits.fetch_add(1, Ordering::Relaxed) + 1,
                None => 0,
            });
        };
        let mut hits = 0;
        // The compute runs under moka's per-key lock: the count and the re-insert are one step.
        self.entries
            .entry_by_ref(key)
            .and_compute_with(|current| {
                let op = match current {
                    Some(current) => {
                        let entry = current.into_value();
                        hits = entry.hits.fetch_add(1, Ordering::Relaxed) + 1;
                        Op::Put(Arc::new(MemoryEntry {
                            answer: Arc::clone(&entry.answer),
                            stored_ttl: entry.stored_ttl,
                            ttl: adaptive_ttl(entry.stored_ttl, hits, max),
                            hits: Arc::clone(&entry.hits),
                            weight: entry.weight,
                        }))
                    }
                    None => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
        Ok(hits)
    }

    async fn ping(&self) -> Result<Duration, CacheError> {
        Ok(Duration::ZERO)
    }
}
