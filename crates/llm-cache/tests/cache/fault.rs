//! Fault tolerance against a test-owned redis-server: killed, restarted, down at start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use llm_cache::{AnswerCache, CacheKey, CachePolicy, Lookup, RedisCache, RedisSettings};
use llm_core::{ChatRequest, ProviderId};

use crate::common::{OwnedRedis, answer, eventually, free_port, unique_namespace};

const TIMEOUT: Duration = Duration::from_millis(200);

async fn connect(url: &str) -> (AnswerCache, Duration) {
    let mut settings = RedisSettings::new(url);
    settings.command_timeout = TIMEOUT;
    settings.pool_size = 2;
    let started = Instant::now();
    let backend = RedisCache::connect(settings).await.unwrap();
    let took = started.elapsed();
    (AnswerCache::new(Arc::new(backend), CachePolicy::default()), took)
}

fn key(namespace: &str, prompt: &str) -> CacheKey {
    let request = ChatRequest::from_prompt("fast", prompt);
    CacheKey::for_request(namespace, &ProviderId::new("mock"), "echo", &request)
}

/// Stores and looks up until a hit, within `deadline`.
async fn comes_back(cache: &AnswerCache, k: &CacheKey, deadline: Duration) -> bool {
    eventually(deadline, || async {
        cache
            .store(k, answer("again", false), Duration::from_secs(60))
            .await;
        matches!(cache.lookup(k).await, Lookup::Hit(_))
    })
    .await
}

#[tokio::test]
async fn a_killed_redis_fails_open_fast_and_the_cache_comes_back() {
    let test = "fault_killed_redis";
    let Some(mut redis) = OwnedRedis::start(test, free_port()).await else {
        return;
    };
    let namespace = unique_namespace(test);
    let (cache, _) = connect(&redis.url()).await;
    let k = key(&namespace, "q");
    cache.store(&k, answer("a", false), Duration::from_secs(60)).await;
    assert!(
        matches!(cache.lookup(&k).await, Lookup::Hit(_)),
        "works while Redis is up"
    );
    assert!(cache.health().await.reachable);

    redis.kill().await;
    for _ in 0..3 {
        let started = Instant::now();
        let found = cache.lookup(&k).await;
        let took = started.elapsed();
        assert!(matches!(found, Lookup::Error), "{found:?}");
        assert!(took < TIMEOUT * 3, "lookup waited {took:?} on a dead Redis");

        let started = Instant::now();
        cache.store(&k, answer("b", false), Duration::from_secs(60)).await;
        let took = started.elapsed();
        assert!(took < TIMEOUT * 3, "store waited {took:?} on a dead Redis");
    }
    let started = Instant::now();
    let health = cache.health().await;
    assert!(!health.reachable && health.error.is_some(), "{health:?}");
    assert!(started.elapsed() < TIMEOUT * 3);
    assert!(cache.stats().errors >= 6, "{:?}", cache.stats());

    assert!(
        redis.restart().await,
        "redis-server restarts on port {}",
        redis.port
    );
    assert!(
        comes_back(&cache, &k, Duration::from_secs(10)).await,
        "the cache must reconnect by itself after Redis restarts"
    );
    assert!(cache.health().await.reachable);
}

#[tokio::test]
async fn connect_succeeds_while_redis_is_down_and_recovers_when_it_starts() {
    let test = "fault_down_at_start";
    let port = free_port();
    let namespace = unique_namespace(test);
    let (cache, took) = connect(&format!("redis://127.0.0.1:{port}")).await;
    assert!(took < TIMEOUT * 3, "connect waited {took:?}");
    let k = key(&namespace, "q");
    for _ in 0..3 {
        let started = Instant::now();
        assert!(matches!(cache.lookup(&k).await, Lookup::Error));
        assert!(started.elapsed() < TIMEOUT * 3, "{:?}", started.elapsed());
    }
    let started = Instant::now();
    cache.store(&k, answer("a", false), Duration::from_secs(60)).await;
    assert!(started.elapsed() < TIMEOUT * 3, "{:?}", started.elapsed());

    let Some(_redis) = OwnedRedis::start(test, port).await else {
        return;
    };
    assert!(
        comes_back(&cache, &k, Duration::from_secs(10)).await,
        "the cache must connect by itself once Redis is up"
    );
}
