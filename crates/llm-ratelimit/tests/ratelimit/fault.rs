//! Store failures against a test-owned redis-server: killed, restarted, down at start.

use std::time::{Duration, Instant};

use fred::prelude::{Builder, ClientLike, Config};
use llm_ratelimit::{Decision, OnStoreError, RateLimiter, Unit};

use crate::common::{
    MINUTE, OwnedRedis, admitted, eventually, free_port, rejected, rule, store, subject, unique_namespace,
};

const TIMEOUT: Duration = Duration::from_millis(200);

/// Admits `alice` and returns the decision and how long it took.
async fn timed_admit(limiter: &RateLimiter) -> (Decision, Duration) {
    let started = Instant::now();
    let decision = limiter.admit(&subject("alice", "m"), 10).await;
    (decision, started.elapsed())
}

/// Whether Redis at `url` holds any key (the limiter wrote its decision there).
/// Restarts the test's redis-server and waits (bounded) until Redis decides again.
async fn restart_and_expect_redis_decisions(redis: &mut OwnedRedis, limiter: &RateLimiter, what: &str) {
    assert!(
        redis.restart().await,
        "redis-server restarts on port {}",
        redis.port
    );
    let back = eventually(Duration::from_secs(10), || async {
        matches!(timed_admit(limiter).await.0, Decision::Admitted(a) if a.decided_by() == "redis")
    })
    .await;
    assert!(back, "{what}");
}

async fn redis_has_keys(url: &str) -> bool {
    let raw = Builder::from_config(Config::from_url(url).unwrap())
        .build()
        .unwrap();
    if raw.init().await.is_err() {
        return false;
    }
    let size: u64 = raw
        .custom(fred::cmd!("DBSIZE"), Vec::<String>::new())
        .await
        .unwrap_or(0);
    let _ = raw.quit().await;
    size > 0
}

#[tokio::test]
async fn a_local_rule_decides_locally_while_redis_is_down_and_goes_back_by_itself() {
    let test = "fault_local_fallback";
    let Some(mut redis) = OwnedRedis::start(test, free_port()).await else {
        return;
    };
    let url = redis.url();
    let limiter = RateLimiter::new(
        vec![rule("user", Unit::Requests, 3, MINUTE, OnStoreError::Local)],
        Some(store(&url, &unique_namespace(test), TIMEOUT).await),
    );
    let (decision, _) = timed_admit(&limiter).await;
    assert_eq!(admitted(decision).decided_by(), "redis");

    redis.kill().await;
    // The local store starts empty: three admissions, then a refusal, each within the timeout.
    for attempt in 0..4 {
        let (decision, took) = timed_admit(&limiter).await;
        assert!(
            took < TIMEOUT * 3,
            "attempt {attempt} waited {took:?} on a dead Redis"
        );
        if attempt < 3 {
            assert_eq!(admitted(decision).decided_by(), "local", "attempt {attempt}");
        } else {
            let refused = rejected(decision);
            assert!(!refused.unavailable, "{refused:?}");
        }
    }

    restart_and_expect_redis_decisions(
        &mut redis,
        &limiter,
        "decisions must go back to Redis by themselves",
    )
    .await;
    assert!(
        redis_has_keys(&url).await,
        "the decision is stored in the restarted Redis"
    );
}

#[tokio::test]
async fn a_deny_rule_refuses_as_unavailable_while_redis_is_down() {
    let test = "fault_deny";
    let Some(mut redis) = OwnedRedis::start(test, free_port()).await else {
        return;
    };
    let limiter = RateLimiter::new(
        vec![
            rule("user", Unit::Requests, 100, MINUTE, OnStoreError::Local),
            rule("global", Unit::Tokens, 10_000, MINUTE, OnStoreError::Deny),
        ],
        Some(store(&redis.url(), &unique_namespace(test), TIMEOUT).await),
    );
    admitted(timed_admit(&limiter).await.0);

    redis.kill().await;
    for attempt in 0..3 {
        let (decision, took) = timed_admit(&limiter).await;
        assert!(
            took < TIMEOUT * 3,
            "attempt {attempt} waited {took:?} on a dead Redis"
        );
        let refused = rejected(decision);
        assert!(refused.unavailable, "{refused:?}");
        assert_eq!(refused.scope, "global");
        assert!(refused.retry_after > Duration::ZERO);
        assert!(
            refused.message.contains("cannot be checked"),
            "{}",
            refused.message
        );
    }

    restart_and_expect_redis_decisions(
        &mut redis,
        &limiter,
        "a deny rule admits again once Redis is back",
    )
    .await;
}

#[tokio::test]
async fn connect_succeeds_while_redis_is_down_and_recovers_when_it_starts() {
    let test = "fault_down_at_start";
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let started = Instant::now();
    let store = store(&url, &unique_namespace(test), TIMEOUT).await;
    assert!(
        started.elapsed() < TIMEOUT * 3,
        "connect waited {:?}",
        started.elapsed()
    );
    let limiter = RateLimiter::new(
        vec![rule("user", Unit::Requests, 5, MINUTE, OnStoreError::Local)],
        Some(store),
    );
    let (decision, took) = timed_admit(&limiter).await;
    assert!(took < TIMEOUT * 3, "{took:?}");
    assert_eq!(admitted(decision).decided_by(), "local");
    // A settle against a dead Redis is bounded too, and never fails.
    let started = Instant::now();
    let Decision::Admitted(admission) = timed_admit(&limiter).await.0 else {
        panic!("admitted locally");
    };
    limiter.settle(&admission, 50).await;
    assert!(started.elapsed() < TIMEOUT * 6, "{:?}", started.elapsed());

    let Some(_redis) = OwnedRedis::start(test, port).await else {
        return;
    };
    let back = eventually(Duration::from_secs(10), || async {
        matches!(timed_admit(&limiter).await.0, Decision::Admitted(a) if a.decided_by() == "redis")
    })
    .await;
    assert!(back, "the store must connect by itself once Redis is up");
}

#[tokio::test]
async fn a_settle_lost_to_a_dead_redis_is_bounded() {
    let test = "fault_settle";
    let Some(mut redis) = OwnedRedis::start(test, free_port()).await else {
        return;
    };
    let limiter = RateLimiter::new(
        vec![rule("user", Unit::Tokens, 1_000, MINUTE, OnStoreError::Local)],
        Some(store(&redis.url(), &unique_namespace(test), TIMEOUT).await),
    );
    let admission = admitted(timed_admit(&limiter).await.0);
    assert_eq!(admission.decided_by(), "redis");
    redis.kill().await;
    let started = Instant::now();
    limiter.settle(&admission, 500).await;
    assert!(
        started.elapsed() < TIMEOUT * 3,
        "settle waited {:?} on a dead Redis",
        started.elapsed()
    );
}
