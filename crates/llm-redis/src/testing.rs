//! Test support, for tests only (the `testing` feature; enabled through dev-dependencies): finding a
//! Redis for tests, and a redis-server owned by one test on a free port.
//!
//! These helpers fail loudly instead of returning errors, as test fixtures should.

// Test support: panicking on a broken fixture is the point, so the no-unwrap/expect/panic lints
// that guard production code are lifted for this module only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Polls `check` every 20 ms until it holds or `deadline` passes; returns whether it held.
pub async fn eventually<F, Fut>(deadline: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
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
