//! MemoryCache: storage, per-entry TTL, the byte bound and adaptive TTL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use llm_cache::{CacheKey, MemoryCache, ResponseCache};
use llm_core::{ChatRequest, ProviderId};

use crate::common::{answer, eventually};

fn key(n: usize) -> CacheKey {
    let request = ChatRequest::from_prompt("fast", format!("prompt {n}"));
    CacheKey::for_request("mem", &ProviderId::new("mock"), "echo", &request)
}

#[tokio::test]
async fn set_get_exists_del() {
    let cache = MemoryCache::new(1 << 20);
    assert_eq!(cache.backend(), "memory");
    let k = key(1);
    assert!(cache.get(&k).await.unwrap().is_none());
    assert!(!cache.exists(&k).await.unwrap());

    let stored = Arc::new(answer("hello", true));
    cache
        .set(&k, Arc::clone(&stored), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.get(&k).await.unwrap().as_deref(), Some(stored.as_ref()));
    assert!(cache.exists(&k).await.unwrap());
    assert!(
        cache.get(&key(2)).await.unwrap().is_none(),
        "another key is a miss"
    );

    assert!(cache.del(&k).await.unwrap());
    assert!(!cache.exists(&k).await.unwrap());
    assert!(cache.get(&k).await.unwrap().is_none());
    assert!(!cache.del(&k).await.unwrap(), "deleting twice finds nothing");
    assert!(cache.ping().await.unwrap() < Duration::from_millis(1));
}

#[tokio::test]
async fn entries_expire_after_their_own_ttl() {
    let cache = MemoryCache::new(1 << 20);
    let (short, long) = (key(1), key(2));
    let started = Instant::now();
    cache
        .set(&short, Arc::new(answer("a", false)), Duration::from_millis(200))
        .await
        .unwrap();
    cache
        .set(&long, Arc::new(answer("b", false)), Duration::from_secs(60))
        .await
        .unwrap();
    assert!(cache.get(&short).await.unwrap().is_some());

    let gone = eventually(Duration::from_secs(3), || async {
        cache.get(&short).await.unwrap().is_none()
    })
    .await;
    assert!(gone, "a 200 ms entry must expire");
    assert!(
        started.elapsed() >= Duration::from_millis(190),
        "expired too early: {:?}",
        started.elapsed()
    );
    assert!(!cache.exists(&short).await.unwrap());
    assert!(cache.get(&long).await.unwrap().is_some(), "the 60 s entry stays");
}

#[tokio::test]
async fn the_byte_bound_evicts() {
    let max_bytes = 64 * 1024;
    let cache = MemoryCache::new(max_bytes);
    let text = "x".repeat(2_000);
    for n in 0..100 {
        cache
            .set(&key(n), Arc::new(answer(&text, false)), Duration::from_secs(60))
            .await
            .unwrap();
    }
    let footprint = cache.footprint().await;
    assert!(footprint.bytes <= max_bytes, "{footprint:?}");
    assert!(footprint.entries < 100 && footprint.entries > 0, "{footprint:?}");
    let mut present = 0;
    for n in 0..100 {
        if cache.get(&key(n)).await.unwrap().is_some() {
            present += 1;
        }
    }
    assert_eq!(present, footprint.entries, "only what fits is served");

    let huge = key(1000);
    let oversized = answer(&"y".repeat(100_000), false);
    cache
        .set(&huge, Arc::new(oversized), Duration::from_secs(60))
        .await
        .unwrap();
    cache.footprint().await;
    assert!(
        cache.get(&huge).await.unwrap().is_none(),
        "an answer above the bound is not kept"
    );
}

#[tokio::test]
async fn record_hit_counts_and_extends_the_ttl_adaptively() {
    let cache = MemoryCache::new(1 << 20);
    let k = key(1);
    assert_eq!(
        cache.record_hit(&k, Some(Duration::from_secs(5))).await.unwrap(),
        0,
        "no entry, no hit"
    );

    cache
        .set(&k, Arc::new(answer("a", false)), Duration::from_millis(300))
        .await
        .unwrap();
    let max = Some(Duration::from_secs(5));
    assert_eq!(cache.record_hit(&k, max).await.unwrap(), 1); // ttl 600 ms from now
    assert_eq!(cache.record_hit(&k, max).await.unwrap(), 2); // ttl 900 ms from now
    let extended_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(cache.exists(&k).await.unwrap(), "hits must extend the 300 ms TTL");
    let gone = eventually(Duration::from_secs(3), || async {
        !cache.exists(&k).await.unwrap()
    })
    .await;
    assert!(gone, "the extended entry still expires");
    assert!(
        extended_at.elapsed() >= Duration::from_millis(850),
        "{:?}",
        extended_at.elapsed()
    );

    // Without adaptive TTL a hit only counts.
    let plain = key(2);
    cache
        .set(&plain, Arc::new(answer("b", false)), Duration::from_millis(300))
        .await
        .unwrap();
    let stored_at = Instant::now();
    assert_eq!(cache.record_hit(&plain, None).await.unwrap(), 1);
    assert_eq!(cache.record_hit(&plain, None).await.unwrap(), 2);
    let gone = eventually(Duration::from_secs(3), || async {
        !cache.exists(&plain).await.unwrap()
    })
    .await;
    assert!(
        gone && stored_at.elapsed() < Duration::from_millis(850),
        "{:?}",
        stored_at.elapsed()
    );
}

#[tokio::test]
async fn a_new_store_resets_the_hit_count() {
    let cache = MemoryCache::new(1 << 20);
    let k = key(1);
    cache
        .set(&k, Arc::new(answer("a", false)), Duration::from_secs(60))
        .await
        .unwrap();
    cache.record_hit(&k, None).await.unwrap();
    assert_eq!(
        cache.record_hit(&k, Some(Duration::from_secs(90))).await.unwrap(),
        2
    );
    cache
        .set(&k, Arc::new(answer("b", false)), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(cache.record_hit(&k, None).await.unwrap(), 1);
}
