//! Shared fixtures: rules, decisions, Redis discovery, and a test-owned redis-server.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use llm_ratelimit::{
    Admission, Decision, OnStoreError, Quota, RateLimiter, RedisLimitSettings, RedisLimitStore, Rejection,
    Rule, Scope, Subject, Unit,
};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

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

/// Polls `check` every 20 ms until it holds or `deadline` passes; returns whether it held.
pub async fn eventually<F, Fut>(deadline: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + deadline;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn answers(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// Reports a missing Redis: fails under `CI=true`, otherwise prints a loud SKIPPED line.
pub fn skip_or_fail(test: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{test}: {why}, and CI=true requires Redis");
    }
    eprintln!("\n*** SKIPPED {test}: {why} (set REDIS_URL or run redis-server on 127.0.0.1:6379) ***\n");
}

/// `REDIS_URL` if set, else redis://127.0.0.1:6379 when it answers; `None` after reporting the skip.
pub async fn shared_redis_url(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return Some(url);
    }
    if answers(SocketAddr::from((Ipv4Addr::LOCALHOST, 6379))).await {
        return Some("redis://127.0.0.1:6379".to_owned());
    }
    skip_or_fail(test, "no Redis reachable");
    None
}

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// A redis-server owned by one test, on 127.0.0.1 only, killed when dropped.
pub struct OwnedRedis {
    pub port: u16,
    child: Option<Child>,
}

impl OwnedRedis {
    /// Starts redis-server on `port` and waits (at most 5 s) until it accepts connections.
    /// `None` (after reporting the skip) when redis-server is not installed.
    pub async fn start(test: &str, port: u16) -> Option<Self> {
        let mut owned = Self { port, child: None };
        if !owned.restart().await {
            skip_or_fail(test, "redis-server could not be started");
            return None;
        }
        Some(owned)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the server on the same port; returns whether it answers within 5 s.
    pub async fn restart(&mut self) -> bool {
        let spawned = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let Ok(child) = spawned else {
            return false;
        };
        self.child = Some(child);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        eventually(Duration::from_secs(5), || answers(addr)).await
    }

    /// Kills the server (SIGKILL) and waits until it is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }
}
