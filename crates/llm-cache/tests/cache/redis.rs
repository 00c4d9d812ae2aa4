//! RedisCache against a real Redis (REDIS_URL, else 127.0.0.1:6379; skipped loudly without one).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fred::prelude::{Builder, Client, ClientLike, Config, KeysInterface};
use llm_cache::{
    AnswerCache, CacheError, CacheKey, CachePolicy, Lookup, RedisCache, RedisSettings, ResponseCache,
};
use llm_core::{ChatRequest, ProviderId};

use crate::common::{answer, eventually, shared_redis_url, unique_namespace};

struct Fixture {
    cache: RedisCache,
    raw: Client,
    namespace: String,
}

impl Fixture {
    /// A cache with its own key prefix and namespace, plus a raw client to inspect Redis.
    async fn new(test: &str) -> Option<Self> {
        let url = shared_redis_url(test).await?;
        let namespace = unique_namespace(test);
        let mut settings = RedisSettings::new(url.clone());
        settings.command_timeout = Duration::from_secs(2);
        let cache = RedisCache::connect(settings).await.unwrap();
        let raw = Builder::from_config(Config::from_url(&url).unwrap())
            .build()
            .unwrap();
        raw.init().await.unwrap();
        Some(Self {
            cache,
            raw,
            namespace,
        })
    }

    fn key(&self, prompt: &str) -> CacheKey {
        let request = ChatRequest::from_prompt("fast", prompt);
        CacheKey::for_request(&self.namespace, &ProviderId::new("mock"), "echo", &request)
    }

    async fn pttl(&self, key: &str) -> i64 {
        self.raw.pttl(key).await.unwrap()
    }
}

#[tokio::test]
async fn set_get_and_ttl() {
    let Some(fx) = Fixture::new("redis_set_get_and_ttl").await else {
        return;
    };
    assert_eq!(fx.cache.backend(), "redis");
    let k = fx.key("hi");
    assert!(fx.cache.get(&k).await.unwrap().is_none());
    let stored = Arc::new(answer("hello from redis", true));
    fx.cache
        .set(&k, Arc::clone(&stored), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(fx.cache.get(&k).await.unwrap().as_deref(), Some(stored.as_ref()));

    let value_key = fx.cache.storage_key(&k);
    assert_eq!(value_key, format!("{{{k}}}"));
    assert!(
        value_key.starts_with(&format!("{{{}:v1:", fx.namespace)),
        "{value_key}"
    );
    let pttl = fx.pttl(&value_key).await;
    assert!(pttl > 25_000 && pttl <= 30_000, "PTTL {pttl}");
    let meta_pttl = fx.pttl(&format!("{value_key}:meta")).await;
    assert!(meta_pttl > 25_000 && meta_pttl <= 30_000, "meta PTTL {meta_pttl}");
    let raw: String = fx.raw.get(value_key.as_str()).await.unwrap();
    assert!(raw.contains("hello from redis"), "stored as JSON: {raw}");
}

#[tokio::test]
async fn entries_expire() {
    let Some(fx) = Fixture::new("redis_entries_expire").await else {
        return;
    };
    let k = fx.key("short");
    let started = Instant::now();
    fx.cache
        .set(&k, Arc::new(answer("a", false)), Duration::from_millis(300))
        .await
        .unwrap();
    assert!(fx.cache.exists(&k).await.unwrap());
    let gone = eventually(Duration::from_secs(3), || async {
        fx.cache.get(&k).await.unwrap().is_none()
    })
    .await;
    assert!(gone, "a 300 ms entry must expire");
    assert!(
        started.elapsed() >= Duration::from_millis(280),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        fx.pttl(&fx.cache.storage_key(&k)).await,
        -2,
        "the key is gone from Redis"
    );
}

#[tokio::test]
async fn exists_and_del() {
    let Some(fx) = Fixture::new("redis_exists_and_del").await else {
        return;
    };
    let k = fx.key("x");
    assert!(!fx.cache.exists(&k).await.unwrap());
    assert!(!fx.cache.del(&k).await.unwrap());
    fx.cache
        .set(&k, Arc::new(answer("a", false)), Duration::from_secs(30))
        .await
        .unwrap();
    assert!(fx.cache.exists(&k).await.unwrap());
    assert!(!fx.cache.exists(&fx.key("y")).await.unwrap());
    assert!(fx.cache.del(&k).await.unwrap());
    assert!(!fx.cache.exists(&k).await.unwrap());
    let meta = format!("{}:meta", fx.cache.storage_key(&k));
    assert_eq!(fx.pttl(&meta).await, -2, "the companion key goes with the entry");
}

#[tokio::test]
async fn record_hit_grows_the_ttl_adaptively() {
    let Some(fx) = Fixture::new("redis_record_hit").await else {
        return;
    };
    let k = fx.key("popular");
    let value_key = fx.cache.storage_key(&k);
    let meta_key = format!("{value_key}:meta");
    assert_eq!(
        fx.cache
            .record_hit(&k, Some(Duration::from_secs(60)))
            .await
            .unwrap(),
        0
    );
    assert_eq!(fx.pttl(&meta_key).await, -2, "no entry: no stray counter");

    fx.cache
        .set(&k, Arc::new(answer("a", false)), Duration::from_secs(10))
        .await
        .unwrap();
    let max = Some(Duration::from_secs(60));
    assert_eq!(fx.cache.record_hit(&k, max).await.unwrap(), 1);
    let pttl = fx.pttl(&value_key).await;
    assert!(pttl > 19_000 && pttl <= 20_000, "10 s * (1 + 1): {pttl}");
    assert_eq!(fx.cache.record_hit(&k, max).await.unwrap(), 2);
    let pttl = fx.pttl(&value_key).await;
    assert!(pttl > 29_000 && pttl <= 30_000, "10 s * (1 + 2): {pttl}");
    let meta_pttl = fx.pttl(&meta_key).await;
    assert!(
        meta_pttl > 29_000 && meta_pttl <= 30_000,
        "meta follows: {meta_pttl}"
    );

    assert_eq!(
        fx.cache
            .record_hit(&k, Some(Duration::from_secs(25)))
            .await
            .unwrap(),
        3
    );
    let pttl = fx.pttl(&value_key).await;
    assert!(pttl > 24_000 && pttl <= 25_000, "capped at max: {pttl}");
    assert_eq!(fx.cache.record_hit(&k, None).await.unwrap(), 4);
    let pttl = fx.pttl(&value_key).await;
    assert!(
        pttl > 23_000 && pttl <= 25_000,
        "no adaptive TTL: unchanged {pttl}"
    );

    fx.cache
        .set(&k, Arc::new(answer("b", false)), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        fx.cache.record_hit(&k, None).await.unwrap(),
        1,
        "a new store resets the count"
    );
}

#[tokio::test]
async fn a_corrupt_value_is_a_miss_and_is_deleted() {
    let Some(fx) = Fixture::new("redis_corrupt_value").await else {
        return;
    };
    let k = fx.key("corrupt");
    let value_key = fx.cache.storage_key(&k);
    let _: () = fx
        .raw
        .set(value_key.as_str(), "{not json", None, None, false)
        .await
        .unwrap();
    assert!(fx.cache.get(&k).await.unwrap().is_none());
    assert_eq!(fx.pttl(&value_key).await, -2, "the unreadable value was deleted");

    let front = AnswerCache::new(Arc::new(fx.cache), CachePolicy::default());
    let _: () = fx
        .raw
        .set(value_key.as_str(), "[1,2]", None, None, false)
        .await
        .unwrap();
    assert!(matches!(front.lookup(&k).await, Lookup::Miss));
    assert_eq!(front.stats().errors, 0);
}

#[tokio::test]
async fn ping_reports_latency_and_health() {
    let Some(fx) = Fixture::new("redis_ping").await else {
        return;
    };
    let latency = fx.cache.ping().await.unwrap();
    assert!(
        latency > Duration::ZERO && latency < Duration::from_secs(1),
        "{latency:?}"
    );
    let front = AnswerCache::new(Arc::new(fx.cache), CachePolicy::default());
    let health = front.health().await;
    assert!(health.reachable && health.error.is_none(), "{health:?}");
    assert!(
        health.latency_ms > 0.0 && health.latency_ms < 1000.0,
        "{health:?}"
    );
}

#[tokio::test]
async fn invalid_urls_are_refused_without_leaking_the_password() {
    for url in [
        "http://user:hunter2@127.0.0.1:6379",
        "127.0.0.1:6379",
        "redis://:hunter2@",
    ] {
        let error = RedisCache::connect(RedisSettings::new(url)).await.unwrap_err();
        assert!(matches!(error, CacheError::Backend(_)), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("invalid redis url"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
    let settings = RedisSettings::new("redis://user:hunter2@127.0.0.1:6379");
    assert!(!format!("{settings:?}").contains("hunter2"));
}
