//! [`AnswerCache`]: the fault-tolerant front the gateway uses. A cache failure never fails a request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use llm_redis::ThrottledErrorLog;
use serde::Serialize;

use crate::answer::CachedAnswer;
use crate::backend::ResponseCache;
use crate::error::CacheError;
use crate::key::CacheKey;

/// What a lookup found.
#[derive(Clone, Debug)]
pub enum Lookup {
    Hit(Arc<CachedAnswer>),
    Miss,
    /// The backend failed or timed out; the failure is counted and logged, and the request goes on.
    Error,
}

/// How the front treats entries and failures.
#[derive(Clone, Copy, Debug)]
pub struct CachePolicy {
    /// When set, every hit extends the entry's TTL to `min(stored_ttl * (1 + hits), max)`, with this
    /// as `max`; `stored_ttl` is the TTL the entry was stored with.
    pub adaptive_ttl: Option<Duration>,
    /// At most one log line about cache failures per period; the rest are counted in the next one.
    pub log_period: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            adaptive_ttl: None,
            log_period: Duration::from_secs(30),
        }
    }
}

/// Counters since start.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Failed backend calls: lookups, stores and hit recording.
    pub errors: u64,
    /// Answers stored successfully.
    pub stores: u64,
    /// `hits / (hits + misses)`: the share of lookups the backend answered that were hits (0 before any).
    pub hit_ratio: f64,
}

/// The backend's reachability, for health endpoints.
#[derive(Clone, Debug, Serialize)]
pub struct CacheHealth {
    pub backend: &'static str,
    pub reachable: bool,
    pub latency_ms: f64,
    pub error: Option<String>,
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    errors: AtomicU64,
    stores: AtomicU64,
}

/// Failure accounting shared with background hit recording.
#[derive(Debug)]
struct Faults {
    backend: &'static str,
    counters: Counters,
    log: ThrottledErrorLog,
}

impl Faults {
    fn record(&self, operation: &'static str, error: &CacheError) {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        let backend = self.backend;
        // At most one line per log period; the failures in between are counted in the next line.
        self.log.record(|suppressed| {
            if suppressed > 0 {
                tracing::warn!(
                    backend, operation, %error,
                    "cache {operation} failed; the request goes on without the cache ({suppressed} more cache errors suppressed)"
                );
            } else {
                tracing::warn!(
                    backend, operation, %error,
                    "cache {operation} failed; the request goes on without the cache"
                );
            }
        });
    }
}

/// A response cache that fails open: lookups and stores never return an error, never panic, and wait
/// no longer than the backend's own timeout.
#[derive(Clone, Debug)]
pub struct AnswerCache {
    backend: Arc<dyn ResponseCache>,
    policy: CachePolicy,
    faults: Arc<Faults>,
}

impl AnswerCache {
    pub fn new(backend: Arc<dyn ResponseCache>, policy: CachePolicy) -> Self {
        let faults = Faults {
            backend: backend.backend(),
            counters: Counters::default(),
            log: ThrottledErrorLog::new(policy.log_period),
        };
        Self {
            backend,
            policy,
            faults: Arc::new(faults),
        }
    }

    /// The backend's name: `"memory"` or `"redis"`.
    pub fn backend(&self) -> &'static str {
        self.backend.backend()
    }

    /// The policy this front applies.
    pub fn policy(&self) -> CachePolicy {
        self.policy
    }

    /// Looks `key` up. With adaptive TTL, a hit is recorded (extending the entry's TTL) off the
    /// request's path; a failure there is counted and logged but does not touch the answer. Without
    /// it nothing is recorded per entry (the front's own counters count hits), which spares Redis a
    /// script call per hit.
    pub async fn lookup(&self, key: &CacheKey) -> Lookup {
        let lookup = match self.backend.get(key).await {
            Ok(Some(answer)) => {
                self.faults.counters.hits.fetch_add(1, Ordering::Relaxed);
                if self.policy.adaptive_ttl.is_some() {
                    self.record_hit(key);
                }
                Lookup::Hit(answer)
            }
            Ok(None) => {
                self.faults.counters.misses.fetch_add(1, Ordering::Relaxed);
                Lookup::Miss
            }
            Err(error) => {
                self.faults.record("lookup", &error);
                Lookup::Error
            }
        };
        let result = match lookup {
            Lookup::Hit(_) => "hit",
            Lookup::Miss => "miss",
            Lookup::Error => "error",
        };
        metrics::counter!("llm_cache_requests_total", "result" => result).increment(1);
        metrics::gauge!("llm_cache_hit_ratio").set(self.stats().hit_ratio);
        lookup
    }

    /// Stores a successful answer for `ttl` (a zero TTL stores nothing). Failures are counted and logged.
    ///
    /// Takes a `CachedAnswer` or an `Arc<CachedAnswer>` (shared with waiting requests, not copied).
    pub async fn store(&self, key: &CacheKey, answer: impl Into<Arc<CachedAnswer>>, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        match self.backend.set(key, answer.into(), ttl).await {
            Ok(()) => {
                self.faults.counters.stores.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("llm_cache_stores_total", "result" => "ok").increment(1);
            }
            Err(error) => {
                self.faults.record("store", &error);
                metrics::counter!("llm_cache_stores_total", "result" => "error").increment(1);
            }
        }
    }

    /// The counters since start.
    pub fn stats(&self) -> CacheStats {
        let counters = &self.faults.counters;
        let hits = counters.hits.load(Ordering::Relaxed);
        let misses = counters.misses.load(Ordering::Relaxed);
        let answered = hits + misses;
        CacheStats {
            hits,
            misses,
            errors: counters.errors.load(Ordering::Relaxed),
            stores: counters.stores.load(Ordering::Relaxed),
            hit_ratio: if answered == 0 {
                0.0
            } else {
                hits as f64 / answered as f64
            },
        }
    }

    /// Pings the backend.
    pub async fn health(&self) -> CacheHealth {
        let started = Instant::now();
        let (reachable, latency, error) = match self.backend.ping().await {
            Ok(latency) => (true, latency, None),
            Err(error) => (false, started.elapsed(), Some(error.to_string())),
        };
        CacheHealth {
            backend: self.backend(),
            reachable,
            latency_ms: latency.as_secs_f64() * 1000.0,
            error,
        }
    }

    /// Records a hit in a task of the current tokio runtime, bounded by the backend's timeout.
    fn record_hit(&self, key: &CacheKey) {
        let backend = Arc::clone(&self.backend);
        let faults = Arc::clone(&self.faults);
        let key = key.clone();
        let adaptive_max = self.policy.adaptive_ttl;
        let task = async move {
            if let Err(error) = backend.record_hit(&key, adaptive_max).await {
                faults.record("record_hit", &error);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(task);
            }
            Err(_) => tracing::debug!("no tokio runtime; hit not recorded"),
        }
    }
}
