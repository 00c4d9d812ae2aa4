//! Behaviour both stores must show alike; `local.rs` and `redis.rs` run each scenario on their store.
//!
//! Windows are an hour long, so the few milliseconds a Redis test takes never refill a whole unit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use llm_ratelimit::{RateLimiter, Rule, Subject};

use crate::common::{
    admit_count, admitted, rejected, remaining, requests, store, subject, tokens, unique_namespace,
};

const HOUR: Duration = Duration::from_secs(3_600);

/// Where a scenario's limiters keep their buckets.
pub enum Backend {
    Local,
    Redis { url: String, namespace: String },
}

impl Backend {
    pub fn redis(url: String, test: &str) -> Self {
        Self::Redis {
            url,
            namespace: unique_namespace(test),
        }
    }

    /// A limiter on this backend, with buckets no earlier limiter of the scenario touched.
    pub async fn limiter(&self, rules: Vec<Rule>) -> RateLimiter {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        match self {
            Self::Local => RateLimiter::new(rules, None),
            Self::Redis { url, namespace } => {
                let namespace = format!("{namespace}:{}", NEXT.fetch_add(1, Ordering::Relaxed));
                RateLimiter::new(rules, Some(store(url, &namespace, Duration::from_secs(2)).await))
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Redis { .. } => "redis",
        }
    }
}

/// Each scope keys on exactly its parts of the subject.
pub async fn scopes_key_on_their_parts(backend: &Backend) {
    let alice = subject("alice", "gpt-a");
    let bob = subject("bob", "gpt-a");

    let per_user = backend.limiter(vec![requests("user", 2, HOUR)]).await;
    assert_eq!(admit_count(&per_user, &alice, 0, 3).await, 2);
    assert_eq!(
        admit_count(&per_user, &bob, 0, 3).await,
        2,
        "two users don't share a user rule"
    );

    let global = backend.limiter(vec![requests("global", 2, HOUR)]).await;
    assert_eq!(admit_count(&global, &alice, 0, 1).await, 1);
    assert_eq!(admit_count(&global, &bob, 0, 1).await, 1);
    assert_eq!(
        admit_count(&global, &subject("carol", "x"), 0, 1).await,
        0,
        "global is shared"
    );

    let user_model = backend.limiter(vec![requests("model+user", 1, HOUR)]).await;
    assert_eq!(admit_count(&user_model, &alice, 0, 2).await, 1);
    assert_eq!(
        admit_count(&user_model, &subject("alice", "gpt-b"), 0, 2).await,
        1
    );
    assert_eq!(
        admit_count(&user_model, &bob, 0, 2).await,
        1,
        "user+model splits by both"
    );

    let per_provider = backend.limiter(vec![requests("provider", 1, HOUR)]).await;
    let openai = Subject::new("alice", "openai", "m1");
    let anthropic = Subject::new("alice", "anthropic", "m1");
    assert_eq!(admit_count(&per_provider, &openai, 0, 2).await, 1);
    assert_eq!(admit_count(&per_provider, &anthropic, 0, 2).await, 1);
    assert_eq!(
        admit_count(&per_provider, &Subject::new("bob", "openai", "m2"), 0, 1).await,
        0
    );

    let per_model = backend.limiter(vec![requests("model", 1, HOUR)]).await;
    assert_eq!(admit_count(&per_model, &alice, 0, 1).await, 1);
    assert_eq!(
        admit_count(&per_model, &bob, 0, 1).await,
        0,
        "one model, one bucket"
    );
    assert_eq!(admit_count(&per_model, &subject("bob", "gpt-b"), 0, 1).await, 1);
}

/// Request rules cost 1, token rules the estimate; the headers show both.
pub async fn units_count_requests_and_tokens(backend: &Backend) {
    let limiter = backend
        .limiter(vec![requests("user", 5, HOUR), tokens("user", 1_000, HOUR)])
        .await;
    assert!(limiter.needs_tokens() && !limiter.is_empty());
    let alice = subject("alice", "m");
    let first = admitted(limiter.admit(&alice, 600).await);
    assert_eq!(first.decided_by(), backend.name());
    assert_eq!(remaining(first.headers.requests), 4);
    assert_eq!(remaining(first.headers.tokens), 400);
    assert_eq!(first.headers.tokens.unwrap().limit, 1_000);
    assert!(first.headers.tokens.unwrap().reset > Duration::from_secs(2_100));

    let refused = rejected(limiter.admit(&alice, 500).await);
    assert_eq!(refused.scope, "user");
    assert!(!refused.unavailable);
    assert!(
        refused
            .message
            .starts_with("rate limit exceeded for user (1000 tokens per 1h); retry in "),
        "{}",
        refused.message
    );
    // 100 more tokens come back in 100 * 3.6 s.
    let wait = refused.retry_after.as_secs_f64();
    assert!((355.0..=360.0).contains(&wait), "{wait}");
    assert_eq!(remaining(refused.headers.tokens), 400);
    assert_eq!(
        remaining(refused.headers.requests),
        4,
        "a rejection spends no request"
    );

    let second = admitted(limiter.admit(&alice, 400).await);
    assert_eq!(remaining(second.headers.tokens), 0);
    assert_eq!(remaining(second.headers.requests), 3);
}

/// A rejection by one rule consumes nothing from the others.
pub async fn rules_are_charged_all_or_nothing(backend: &Backend) {
    let limiter = backend
        .limiter(vec![tokens("user", 1_000, HOUR), requests("user+model", 1, HOUR)])
        .await;
    let m1 = subject("alice", "m1");
    let first = admitted(limiter.admit(&m1, 100).await);
    assert_eq!(remaining(first.headers.tokens), 900);
    let refused = rejected(limiter.admit(&m1, 100).await);
    assert_eq!(refused.scope, "user+model");
    assert_eq!(
        refused.message,
        format!(
            "rate limit exceeded for user+model (1 requests per 1h); retry in {}s",
            refused.retry_after.as_secs() + u64::from(refused.retry_after.subsec_nanos() > 0)
        )
    );
    assert_eq!(
        remaining(refused.headers.tokens),
        900,
        "the token rule was not charged"
    );
    let other_model = admitted(limiter.admit(&subject("alice", "m2"), 100).await);
    assert_eq!(
        remaining(other_model.headers.tokens),
        800,
        "not 700: the rejection cost nothing"
    );

    // And the other way round: a token rejection leaves the request rule alone.
    let limiter = backend
        .limiter(vec![requests("user", 3, HOUR), tokens("user", 100, HOUR)])
        .await;
    assert_eq!(
        remaining(admitted(limiter.admit(&m1, 80).await).headers.requests),
        2
    );
    assert_eq!(rejected(limiter.admit(&m1, 50).await).scope, "user");
    let after = admitted(limiter.admit(&m1, 20).await);
    assert_eq!(
        remaining(after.headers.requests),
        1,
        "the refused request was not counted"
    );
    assert_eq!(remaining(after.headers.tokens), 0);
}

/// Settling refunds an over-estimate and charges an under-estimate, on token rules only.
pub async fn settle_refunds_and_charges_tokens(backend: &Backend) {
    let limiter = backend
        .limiter(vec![requests("user", 10, HOUR), tokens("user", 1_000, HOUR)])
        .await;
    let alice = subject("alice", "m");
    let first = admitted(limiter.admit(&alice, 500).await);
    assert_eq!(remaining(first.headers.tokens), 500);
    limiter.settle(&first, 200).await;
    let probe = admitted(limiter.admit(&alice, 0).await);
    assert_eq!(remaining(probe.headers.tokens), 800, "300 tokens refunded");
    assert_eq!(
        remaining(probe.headers.requests),
        8,
        "settle leaves request rules alone"
    );

    let second = admitted(limiter.admit(&alice, 100).await);
    assert_eq!(remaining(second.headers.tokens), 700);
    limiter.settle(&second, 900).await;
    // 800 more charged: 1100 drawn from a bucket of 1000; even a free request waits for 100 tokens.
    let refused = rejected(limiter.admit(&alice, 0).await);
    assert_eq!(remaining(refused.headers.tokens), 0);
    let wait = refused.retry_after.as_secs_f64();
    assert!((355.0..=360.0).contains(&wait), "{wait}");
    assert_eq!(remaining(refused.headers.requests), 7);

    // Settling exactly the estimate changes nothing; a refund never goes above a full bucket.
    let limiter = backend.limiter(vec![tokens("user", 1_000, HOUR)]).await;
    let admission = admitted(limiter.admit(&alice, 300).await);
    limiter.settle(&admission, 300).await;
    assert_eq!(
        remaining(admitted(limiter.admit(&alice, 0).await).headers.tokens),
        700
    );
    limiter.settle(&admission, 0).await;
    limiter.settle(&admission, 0).await;
    assert_eq!(
        remaining(admitted(limiter.admit(&alice, 0).await).headers.tokens),
        1_000
    );
}

/// A cost above a rule's limit is refused at once, clearly, and spends nothing.
pub async fn a_cost_above_the_limit_is_refused(backend: &Backend) {
    let limiter = backend
        .limiter(vec![requests("user", 5, HOUR), tokens("user", 100, HOUR)])
        .await;
    let alice = subject("alice", "m");
    let refused = rejected(limiter.admit(&alice, 101).await);
    assert_eq!(refused.scope, "user");
    assert!(refused.message.contains("can never pass"), "{}", refused.message);
    assert!(
        refused.message.contains("100 tokens per 1h"),
        "{}",
        refused.message
    );
    let next = admitted(limiter.admit(&alice, 100).await);
    assert_eq!(remaining(next.headers.requests), 4);
    assert_eq!(remaining(next.headers.tokens), 0);
}
