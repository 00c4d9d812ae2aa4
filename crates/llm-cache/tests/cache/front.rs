//! AnswerCache over memory and over a failing backend: lookups, stores, stats, health.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use llm_cache::{
    AnswerCache, CacheError, CacheKey, CachePolicy, CachedAnswer, Lookup, MemoryCache, ResponseCache,
};
use llm_core::{ChatRequest, ProviderId};

use crate::common::answer;

fn key(text: &str) -> CacheKey {
    let request = ChatRequest::from_prompt("fast", text);
    CacheKey::for_request("front", &ProviderId::new("mock"), "echo", &request)
}

#[tokio::test]
async fn miss_store_hit_and_stats() {
    let cache = AnswerCache::new(Arc::new(MemoryCache::new(1 << 20)), CachePolicy::default());
    assert_eq!(cache.backend(), "memory");
    let k = key("hi");
    assert!(matches!(cache.lookup(&k).await, Lookup::Miss));
    let stored = answer("hello", false);
    cache.store(&k, stored.clone(), Duration::from_secs(60)).await;
    match cache.lookup(&k).await {
        Lookup::Hit(found) => assert_eq!(*found, stored),
        other => panic!("expected a hit, got {other:?}"),
    }
    let stats = cache.stats();
    assert_eq!(
        (stats.hits, stats.misses, stats.errors, stats.stores),
        (1, 1, 0, 1)
    );
    assert!((stats.hit_ratio - 0.5).abs() < 1e-9, "{stats:?}");

    let zero = key("zero ttl");
    cache.store(&zero, Arc::new(stored), Duration::ZERO).await;
    assert!(
        matches!(cache.lookup(&zero).await, Lookup::Miss),
        "a zero TTL stores nothing"
    );
    let health = cache.health().await;
    assert!(health.reachable && health.error.is_none(), "{health:?}");
    assert_eq!(health.backend, "memory");
}

#[tokio::test]
async fn hits_extend_the_ttl_when_the_policy_is_adaptive() {
    let policy = CachePolicy {
        adaptive_ttl: Some(Duration::from_secs(10)),
        ..CachePolicy::default()
    };
    let cache = AnswerCache::new(Arc::new(MemoryCache::new(1 << 20)), policy);
    let k = key("popular");
    cache
        .store(&k, answer("a", false), Duration::from_millis(300))
        .await;
    for _ in 0..3 {
        assert!(matches!(cache.lookup(&k).await, Lookup::Hit(_)));
    }
    // Three hits: TTL 1.2 s from the last one, recorded in the background.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        matches!(cache.lookup(&k).await, Lookup::Hit(_)),
        "adaptive TTL kept the entry"
    );

    let plain = AnswerCache::new(Arc::new(MemoryCache::new(1 << 20)), CachePolicy::default());
    plain
        .store(&k, answer("a", false), Duration::from_millis(300))
        .await;
    for _ in 0..3 {
        assert!(matches!(plain.lookup(&k).await, Lookup::Hit(_)));
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        matches!(plain.lookup(&k).await, Lookup::Miss),
        "no adaptive TTL, no extension"
    );
}

/// A backend that fails every call after `delay`.
#[derive(Debug)]
struct BrokenBackend {
    delay: Duration,
}

#[async_trait]
impl ResponseCache for BrokenBackend {
    fn backend(&self) -> &'static str {
        "redis"
    }
    async fn get(&self, _key: &CacheKey) -> Result<Option<Arc<CachedAnswer>>, CacheError> {
        tokio::time::sleep(self.delay).await;
        Err(CacheError::Timeout(self.delay))
    }
    async fn set(
        &self,
        _key: &CacheKey,
        _answer: Arc<CachedAnswer>,
        _ttl: Duration,
    ) -> Result<(), CacheError> {
        Err(CacheError::Backend("connection refused".into()))
    }
    async fn del(&self, _key: &CacheKey) -> Result<bool, CacheError> {
        Err(CacheError::Backend("connection refused".into()))
    }
    async fn exists(&self, _key: &CacheKey) -> Result<bool, CacheError> {
        Err(CacheError::Backend("connection refused".into()))
    }
    async fn record_hit(&self, _key: &CacheKey, _max: Option<Duration>) -> Result<u64, CacheError> {
        Err(CacheError::Backend("connection refused".into()))
    }
    async fn ping(&self) -> Result<Duration, CacheError> {
        Err(CacheError::Backend("connection refused".into()))
    }
}

#[tokio::test]
async fn backend_failures_are_counted_and_never_fail_the_request() {
    let policy = CachePolicy {
        adaptive_ttl: None,
        log_period: Duration::from_secs(30),
    };
    let cache = AnswerCache::new(
        Arc::new(BrokenBackend {
            delay: Duration::from_millis(20),
        }),
        policy,
    );
    let k = key("anything");
    for _ in 0..5 {
        let started = Instant::now();
        assert!(matches!(cache.lookup(&k).await, Lookup::Error));
        assert!(started.elapsed() < Duration::from_secs(1));
        cache.store(&k, answer("a", false), Duration::from_secs(60)).await;
    }
    let stats = cache.stats();
    assert_eq!(
        (stats.hits, stats.misses, stats.errors, stats.stores),
        (0, 0, 10, 0),
        "{stats:?}"
    );
    assert_eq!(stats.hit_ratio, 0.0);

    let health = cache.health().await;
    assert!(!health.reachable);
    assert_eq!(health.backend, "redis");
    assert!(
        health.error.as_deref().unwrap().contains("connection refused"),
        "{health:?}"
    );
    let json = serde_json::to_value(&health).unwrap();
    assert_eq!(json["reachable"], false);
    let stats_json = serde_json::to_value(cache.stats()).unwrap();
    assert_eq!(stats_json["errors"], 10);
}
