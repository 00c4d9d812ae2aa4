//! The limiter's hot path: one decision over three rules (admit, then settle the token estimate), on the
//! local store and, when Redis answers at 127.0.0.1:6379, on Redis (one EVALSHA round trip each; that
//! group is skipped otherwise).

// A bench fails loudly on a broken fixture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use llm_ratelimit::{
    Decision, OnStoreError, RateLimiter, RedisLimitSettings, RedisLimitStore, Rule, Scope, Subject, Unit,
};
use tokio::runtime::Runtime;

const DAY: Duration = Duration::from_secs(86_400);

/// Three rules a deployment might run, with limits no bench run reaches.
fn rules() -> Vec<Rule> {
    let rule = |scope: &str, unit, limit| {
        Rule::new(
            Scope::parse(scope).unwrap(),
            unit,
            limit,
            DAY,
            OnStoreError::Local,
        )
        .unwrap()
    };
    vec![
        rule("global", Unit::Requests, 1_000_000_000),
        rule("user", Unit::Requests, 100_000_000),
        rule("user+model", Unit::Tokens, 80_000_000_000),
    ]
}

/// Admits a request estimated at 500 tokens and settles it at 420.
async fn decide(limiter: &RateLimiter, subject: &Subject) {
    match limiter.admit(subject, 500).await {
        Decision::Admitted(admission) => limiter.settle(black_box(&admission), 420).await,
        Decision::Rejected(rejection) => panic!("bench limits are never reached: {rejection:?}"),
    }
}

fn redis_answers() -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 6379));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

fn bench_decisions(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let subject = Subject::new("customer-8812", "openai", "gpt-4o-mini");

    let local = RateLimiter::new(rules(), None);
    c.bench_function("local decision, 3 rules (admit + settle)", |b| {
        b.iter(|| runtime.block_on(decide(&local, &subject)));
    });
    c.bench_function("local admit only, 3 rules", |b| {
        b.iter(|| black_box(runtime.block_on(local.admit(&subject, 500))));
    });

    if !redis_answers() {
        eprintln!("SKIPPED the Redis decision bench: no Redis at 127.0.0.1:6379");
        return;
    }
    let redis = runtime.block_on(async {
        let mut settings = RedisLimitSettings::new("redis://127.0.0.1:6379");
        settings.namespace = format!("llm-ratelimit-bench:{}", std::process::id());
        settings.command_timeout = Duration::from_secs(2);
        RateLimiter::new(rules(), Some(RedisLimitStore::connect(settings).await.unwrap()))
    });
    c.bench_function("redis admit, 3 rules (one EVALSHA)", |b| {
        b.iter(|| match runtime.block_on(redis.admit(&subject, 500)) {
            Decision::Admitted(admission) => assert_eq!(admission.decided_by(), "redis"),
            Decision::Rejected(rejection) => panic!("{rejection:?}"),
        });
    });
    c.bench_function("redis decision, 3 rules (admit + settle)", |b| {
        b.iter(|| runtime.block_on(decide(&redis, &subject)));
    });
}

criterion_group!(benches, bench_decisions);
criterion_main!(benches);
