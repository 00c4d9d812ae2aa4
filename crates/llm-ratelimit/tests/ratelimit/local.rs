//! The local store: the shared scenarios, and windows on a manual clock (no sleeping).

use std::sync::Arc;
use std::time::Duration;

use llm_ratelimit::{ManualClock, RateLimiter};

use crate::common::{MINUTE, admit_count, admitted, rejected, remaining, requests, subject, tokens};
use crate::scenarios::{self, Backend};

#[tokio::test]
async fn scopes_key_on_their_parts() {
    scenarios::scopes_key_on_their_parts(&Backend::Local).await;
}

#[tokio::test]
async fn units_count_requests_and_tokens() {
    scenarios::units_count_requests_and_tokens(&Backend::Local).await;
}

#[tokio::test]
async fn rules_are_charged_all_or_nothing() {
    scenarios::rules_are_charged_all_or_nothing(&Backend::Local).await;
}

#[tokio::test]
async fn settle_refunds_and_charges_tokens() {
    scenarios::settle_refunds_and_charges_tokens(&Backend::Local).await;
}

#[tokio::test]
async fn a_cost_above_the_limit_is_refused() {
    scenarios::a_cost_above_the_limit_is_refused(&Backend::Local).await;
}

#[tokio::test]
async fn no_rules_admit_everything() {
    let limiter = RateLimiter::new(Vec::new(), None);
    assert!(limiter.is_empty());
    assert!(!limiter.needs_tokens());
    let admission = admitted(limiter.admit(&subject("alice", "m"), 1_000_000).await);
    assert_eq!(admission.headers.requests, None);
    assert_eq!(admission.headers.tokens, None);
    limiter.settle(&admission, 5).await;
}

#[tokio::test]
async fn the_window_rolls_over_unit_by_unit() {
    let clock = Arc::new(ManualClock::new());
    let limiter = RateLimiter::with_clock(vec![requests("user", 2, MINUTE)], None, clock.clone());
    let alice = subject("alice", "m");
    let first = admitted(limiter.admit(&alice, 0).await);
    assert_eq!(remaining(first.headers.requests), 1);
    assert_eq!(first.headers.requests.unwrap().reset, Duration::from_secs(30));
    let second = admitted(limiter.admit(&alice, 0).await);
    assert_eq!(remaining(second.headers.requests), 0);
    assert_eq!(second.headers.requests.unwrap().reset, MINUTE);

    let refused = rejected(limiter.admit(&alice, 0).await);
    assert_eq!(refused.retry_after, Duration::from_secs(30));
    assert_eq!(
        refused.message,
        "rate limit exceeded for user (2 requests per 1m); retry in 30s"
    );
    clock.advance(Duration::from_micros(29_999_999));
    let refused = rejected(limiter.admit(&alice, 0).await);
    assert_eq!(refused.retry_after, Duration::from_micros(1));
    assert_eq!(
        refused.message,
        "rate limit exceeded for user (2 requests per 1m); retry in 1s"
    );
    clock.advance(Duration::from_micros(1));
    assert_eq!(
        admit_count(&limiter, &alice, 0, 2).await,
        1,
        "one unit came back after 30 s"
    );

    // A whole idle window refills the bucket completely, and never beyond it.
    clock.advance(MINUTE * 5);
    let fresh = admitted(limiter.admit(&alice, 0).await);
    assert_eq!(remaining(fresh.headers.requests), 1);
    assert_eq!(admit_count(&limiter, &alice, 0, 2).await, 1);
}

#[tokio::test]
async fn tokens_come_back_at_the_configured_rate() {
    let clock = Arc::new(ManualClock::new());
    let limiter = RateLimiter::with_clock(vec![tokens("user", 6_000, MINUTE)], None, clock.clone());
    let alice = subject("alice", "m");
    admitted(limiter.admit(&alice, 6_000).await);
    let refused = rejected(limiter.admit(&alice, 100).await);
    assert_eq!(
        refused.retry_after,
        Duration::from_secs(1),
        "100 tokens per second come back"
    );
    clock.advance(Duration::from_millis(500));
    assert_eq!(
        remaining(rejected(limiter.admit(&alice, 100).await).headers.tokens),
        50
    );
    clock.advance(Duration::from_millis(500));
    let later = admitted(limiter.admit(&alice, 100).await);
    assert_eq!(remaining(later.headers.tokens), 0);
    assert_eq!(later.headers.tokens.unwrap().reset, MINUTE);
}

#[tokio::test]
async fn a_settled_debt_is_waited_off() {
    let clock = Arc::new(ManualClock::new());
    let limiter = RateLimiter::with_clock(vec![tokens("global", 60, MINUTE)], None, clock.clone());
    let alice = subject("alice", "m");
    let admission = admitted(limiter.admit(&alice, 10).await);
    limiter.settle(&admission, 100).await;
    // 100 drawn from a bucket of 60: 40 s of debt, then 1 s per token.
    let refused = rejected(limiter.admit(&alice, 1).await);
    assert_eq!(refused.retry_after, Duration::from_secs(41));
    clock.advance(Duration::from_secs(41));
    admitted(limiter.admit(&alice, 1).await);
    assert!(!limiter.admit(&alice, 1).await.is_admitted());
}

#[tokio::test]
async fn the_tightest_rule_per_unit_fills_the_headers() {
    let limiter = RateLimiter::new(
        vec![
            requests("global", 1_000, MINUTE),
            requests("user", 10, MINUTE),
            tokens("user", 10_000, MINUTE),
            tokens("user+model", 1_000, MINUTE),
        ],
        None,
    );
    let admission = admitted(limiter.admit(&subject("alice", "m"), 500).await);
    let requests_quota = admission.headers.requests.unwrap();
    assert_eq!((requests_quota.limit, requests_quota.remaining), (10, 9));
    let tokens_quota = admission.headers.tokens.unwrap();
    assert_eq!((tokens_quota.limit, tokens_quota.remaining), (1_000, 500));
}
