//! The Redis store against a real Redis (REDIS_URL, else 127.0.0.1:6379; skipped loudly without one).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fred::prelude::{Builder, Client, ClientLike, Config, KeysInterface};
use llm_ratelimit::{RateLimiter, SCRIPT_VERSION};

use crate::common::{
    MINUTE, admitted, eventually, rejected, remaining, requests, shared_redis_url, store, subject, tokens,
    unique_namespace,
};
use crate::scenarios::{self, Backend};

async fn backend(test: &str) -> Option<Backend> {
    Some(Backend::redis(shared_redis_url(test).await?, test))
}

async fn raw_client(url: &str) -> Client {
    let raw = Builder::from_config(Config::from_url(url).unwrap())
        .build()
        .unwrap();
    raw.init().await.unwrap();
    raw
}

/// Every key under `namespace`'s hash tag.
async fn keys_of(raw: &Client, namespace: &str) -> Vec<String> {
    let pattern = format!("{{{namespace}:rl}}*");
    let mut keys: Vec<String> = raw.custom(fred::cmd!("KEYS"), vec![pattern]).await.unwrap();
    keys.sort();
    keys
}

#[tokio::test]
async fn scopes_key_on_their_parts() {
    if let Some(backend) = backend("redis_scopes").await {
        scenarios::scopes_key_on_their_parts(&backend).await;
    }
}

#[tokio::test]
async fn units_count_requests_and_tokens() {
    if let Some(backend) = backend("redis_units").await {
        scenarios::units_count_requests_and_tokens(&backend).await;
    }
}

#[tokio::test]
async fn rules_are_charged_all_or_nothing() {
    if let Some(backend) = backend("redis_all_or_nothing").await {
        scenarios::rules_are_charged_all_or_nothing(&backend).await;
    }
}

#[tokio::test]
async fn settle_refunds_and_charges_tokens() {
    if let Some(backend) = backend("redis_settle").await {
        scenarios::settle_refunds_and_charges_tokens(&backend).await;
    }
}

#[tokio::test]
async fn a_cost_above_the_limit_is_refused() {
    if let Some(backend) = backend("redis_cost_above_limit").await {
        scenarios::a_cost_above_the_limit_is_refused(&backend).await;
    }
}

#[tokio::test]
async fn a_one_second_window_rolls_over_on_redis_time() {
    let test = "redis_roll_over";
    let Some(url) = shared_redis_url(test).await else {
        return;
    };
    let namespace = unique_namespace(test);
    let store = store(&url, &namespace, Duration::from_secs(2)).await;
    let limiter = RateLimiter::new(vec![requests("user", 2, Duration::from_secs(1))], Some(store));
    let alice = subject("alice", "m");
    admitted(limiter.admit(&alice, 0).await);
    admitted(limiter.admit(&alice, 0).await);
    let refused = rejected(limiter.admit(&alice, 0).await);
    let refused_at = Instant::now();
    assert!(
        refused.retry_after > Duration::ZERO && refused.retry_after <= Duration::from_millis(500),
        "{refused:?}"
    );
    assert!(refused.message.ends_with("retry in 1s"), "{}", refused.message);

    let raw = raw_client(&url).await;
    let keys = keys_of(&raw, &namespace).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let ttl: i64 = raw.pttl(keys[0].as_str()).await.unwrap();
    assert!(
        ttl > 0 && ttl <= 2_000,
        "a key lives until its bucket is full, plus a margin: {ttl}"
    );

    let back = eventually(Duration::from_secs(3), || async {
        limiter.admit(&alice, 0).await.is_admitted()
    })
    .await;
    assert!(back, "a unit must come back within the window");
    let waited = refused_at.elapsed();
    assert!(
        waited + Duration::from_millis(50) >= refused.retry_after,
        "admitted after {waited:?}, before the promised {:?}",
        refused.retry_after
    );
    // Idle for a whole window plus the margin, the subject leaves no state behind.
    let gone = eventually(Duration::from_secs(5), || async {
        keys_of(&raw, &namespace).await.is_empty()
    })
    .await;
    assert!(gone, "idle keys must expire");
}

#[tokio::test]
async fn keys_share_one_hash_tag_and_carry_the_version() {
    let test = "redis_key_layout";
    let Some(url) = shared_redis_url(test).await else {
        return;
    };
    let namespace = unique_namespace(test);
    let limiter = RateLimiter::new(
        vec![
            requests("global", 100, MINUTE),
            requests("user", 10, MINUTE),
            tokens("user+model", 1_000, MINUTE),
            requests("provider+model", 10, MINUTE),
        ],
        Some(store(&url, &namespace, Duration::from_secs(2)).await),
    );
    admitted(limiter.admit(&subject("al{ice}:x", "gpt-4o"), 10).await);

    let raw = raw_client(&url).await;
    let keys = keys_of(&raw, &namespace).await;
    assert_eq!(keys.len(), 4, "{keys:?}");
    let prefix = format!("{{{namespace}:rl}}:v{SCRIPT_VERSION}:");
    let slot = fred::util::redis_keyslot(keys[0].as_bytes());
    for key in &keys {
        assert!(key.starts_with(&prefix), "{key}");
        assert_eq!(
            fred::util::redis_keyslot(key.as_bytes()),
            slot,
            "{key} is in another slot"
        );
        assert!(!key.contains("al{ice}"), "subject parts are escaped: {key}");
        let ttl: i64 = raw.pttl(key.as_str()).await.unwrap();
        assert!(ttl > 0 && ttl <= 61_000, "{key}: {ttl}");
    }
    assert!(
        keys.iter()
            .any(|key| key.ends_with(":u=al%7Bice%7D%3Ax:m=gpt-4o")),
        "{keys:?}"
    );
    assert!(keys.iter().any(|key| key.ends_with(":all")), "{keys:?}");
}

#[tokio::test]
async fn limits_are_exact_across_instances_under_concurrency() {
    let test = "redis_exact_concurrency";
    let Some(url) = shared_redis_url(test).await else {
        return;
    };
    let namespace = unique_namespace(test);
    let mut limiters = Vec::new();
    for _ in 0..3 {
        let store = store(&url, &namespace, Duration::from_secs(5)).await;
        limiters.push(Arc::new(RateLimiter::new(
            vec![
                requests("user", 50, MINUTE),
                tokens("user", 10_000, Duration::from_secs(86_400)),
            ],
            Some(store),
        )));
    }
    let mut tasks = Vec::new();
    for attempt in 0..200 {
        let limiter = Arc::clone(&limiters[attempt % 3]);
        tasks.push(tokio::spawn(async move {
            limiter.admit(&subject("alice", "m"), 7).await
        }));
    }
    let mut passed = 0;
    for task in tasks {
        let decision = task.await.unwrap();
        if let llm_ratelimit::Decision::Rejected(rejection) = &decision {
            assert!(!rejection.unavailable, "{rejection:?}");
        }
        passed += usize::from(decision.is_admitted());
    }
    assert_eq!(passed, 50, "exactly the limit, across three instances");
    // Every admission charged its tokens exactly once.
    let probe = rejected(limiters[0].admit(&subject("alice", "m"), 0).await);
    assert_eq!(remaining(probe.headers.tokens), 10_000 - 50 * 7);
}
