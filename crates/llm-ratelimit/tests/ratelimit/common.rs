//! Shared fixtures: rules and decisions; Redis discovery and a test-owned redis-server come from
//! `llm_redis::testing`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use llm_ratelimit::{
    Admission, Decision, OnStoreError, Quota, RateLimiter, RedisLimitSettings, RedisLimitStore, Rejection,
    Rule, Scope, Subject, Unit,
};
pub use llm_redis::testing::{OwnedRedis, eventually, free_port, shared_redis_url};

pub const MINUTE: Duration = Duration::from_secs(60);

/// A checked rule from its configuration words.
pub fn rule(scope: &str, unit: Unit, limit: u64, window: Duration, on_error: OnStoreError) -> Rule {
    Rule::new(Scope::parse(scope).unwrap(), unit, limit, window, on_error).unwrap()
}

pub fn requests(scope: &str, limit: u64, window: Duration) -> Rule {
    rule(scope, Unit::Requests, limit, window, OnStoreError::Local)
}

pub fn tokens(scope: &str, limit: u64, window: Duration) -> Rule {
    rule(scope, Unit::Tokens, limit, window, OnStoreError::Local)
}

pub fn subject(user: &str, model: &str) -> Subject {
    Subject::new(user, "openai", model)
}

pub fn admitted(decision: Decision) -> Admission {
    match decision {
        Decision::Admitted(admission) => admission,
        Decision::Rejected(rejection) => panic!("expected an admission, got {rejection:?}"),
    }
}

pub fn rejected(decision: Decision) -> Rejection {
    match decision {
        Decision::Rejected(rejection) => rejection,
        Decision::Admitted(admission) => panic!("expected a rejection, got {admission:?}"),
    }
}

pub fn remaining(quota: Option<Quota>) -> u64 {
    quota.expect("a quota for this unit").remaining
}

/// How many of `count` admissions of `subject` pass.
pub async fn admit_count(limiter: &RateLimiter, subject: &Subject, tokens: u64, count: usize) -> usize {
    let mut passed = 0;
    for _ in 0..count {
        passed += usize::from(limiter.admit(subject, tokens).await.is_admitted());
    }
    passed
}

/// A namespace no other test uses, so tests can run in parallel on one Redis.
pub fn unique_namespace(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "llm-ratelimit-test:{test}:{}:{nanos}:{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A Redis store on `url` under `namespace`, with `timeout` per command.
pub async fn store(url: &str, namespace: &str, timeout: Duration) -> RedisLimitStore {
    let mut settings = RedisLimitSettings::new(url);
    settings.namespace = namespace.to_owned();
    settings.command_timeout = timeout;
    settings.pool_size = 2;
    RedisLimitStore::connect(settings).await.unwrap()
}
