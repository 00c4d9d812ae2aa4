//! The Redis toolkit's hot path: one command through `RedisPool::run` (the command timeout and the
//! duration histogram around a fred call), a PING and a GET of a 1 KiB value, each one round trip to
//! the Redis of `REDIS_URL` or 127.0.0.1:6379 (that group is skipped, with a SKIPPED line, when none
//! answers); and the URL checks every pool runs on its settings, `redact_url` and `check_url`, on a
//! URL with a password (no Redis needed).

// Benchmarks abort loudly on setup failure: a Redis that answers but refuses the fixture is a broken bench.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use fred::bytes::Bytes;
use fred::prelude::{ClientLike, Expiration, KeysInterface};
use llm_redis::testing::shared_redis_url;
use llm_redis::{RedisPool, RedisSettings, check_url, redact_url};

const URL_WITH_PASSWORD: &str = "rediss://gateway:s3cr3t-p4ssw0rd@cache.internal.example:6380/2";
const GET_KEY: &str = "llm-redis:bench:get";

fn url_checks(c: &mut Criterion) {
    assert_eq!(
        redact_url(URL_WITH_PASSWORD),
        "rediss://gateway:***@cache.internal.example:6380/2"
    );
    assert!(check_url(URL_WITH_PASSWORD).is_ok());
    let mut group = c.benchmark_group("redis");
    group.bench_function("redact_url", |b| {
        b.iter(|| redact_url(black_box(URL_WITH_PASSWORD)))
    });
    group.bench_function("check_url", |b| {
        b.iter(|| check_url(black_box(URL_WITH_PASSWORD)))
    });
    group.finish();
}

fn pool_commands(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(url) = runtime.block_on(shared_redis_url("redis/run_*")) else {
        return;
    };
    let pool = runtime
        .block_on(RedisPool::connect(&RedisSettings::new(url), "redis bench"))
        .unwrap();
    let value = Bytes::from(vec![b'x'; 1024]);
    runtime.block_on(async {
        let pong: String = pool.run("ping", pool.next().ping(None)).await.unwrap();
        assert_eq!(pong, "PONG");
        let () = pool
            .run(
                "set",
                pool.next()
                    .set(GET_KEY, value.clone(), Some(Expiration::EX(600)), None, false),
            )
            .await
            .unwrap();
        let stored: Option<Bytes> = pool.run("get", pool.next().get(GET_KEY)).await.unwrap();
        assert_eq!(stored.as_ref(), Some(&value));
    });

    let mut group = c.benchmark_group("redis");
    group.bench_function("run_ping", |b| {
        b.iter(|| {
            runtime
                .block_on(pool.run::<String>("ping", pool.next().ping(None)))
                .unwrap()
        })
    });
    group.bench_function("run_get_1kib", |b| {
        b.iter(|| {
            runtime
                .block_on(pool.run::<Option<Bytes>>("get", pool.next().get(black_box(GET_KEY))))
                .unwrap()
        })
    });
    group.finish();
    // The pool drops here, outside the runtime (no QUIT is spawned); dropping the runtime after it
    // ends the pool's connection tasks and closes their sockets.
}

criterion_group!(benches, url_checks, pool_commands);
criterion_main!(benches);
