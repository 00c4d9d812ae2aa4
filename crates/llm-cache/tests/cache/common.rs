//! Shared fixtures: sample requests and answers, Redis discovery, and a test-owned redis-server.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use llm_cache::CachedAnswer;
use llm_core::{AssistantMessage, ChatChunk, ChatResponse, Choice, Delta, FinishReason, Usage};
use serde_json::Map;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// A namespace (and Redis key prefix) no other test uses, so tests can run in parallel.
pub fn unique_namespace(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "llm-cache-test:{test}:{}:{nanos}:{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A realistic answer whose text is `text`, recorded from a stream when `streamed`.
pub fn answer(text: &str, streamed: bool) -> CachedAnswer {
    let response = ChatResponse {
        id: "chatcmpl-test".into(),
        object: "chat.completion".into(),
        created: 1_700_000_000,
        model: "gpt-4o-mini-2024-07-18".into(),
        choices: vec![Choice {
            index: 0,
            message: AssistantMessage::text(text),
            finish_reason: Some(FinishReason::Stop),
            logprobs: None,
        }],
        usage: Some(Usage::new(12, 7)),
        system_fingerprint: Some("fp_1".into()),
        extra: Map::new(),
    };
    let chunks = streamed.then(|| {
        vec![
            ChatChunk::with_delta("chatcmpl-test", "m", 1, Delta::text(text), None),
            ChatChunk::with_delta(
                "chatcmpl-test",
                "m",
                1,
                Delta::default(),
                Some(FinishReason::Stop),
            ),
            ChatChunk::usage_only("chatcmpl-test", "m", 1, Usage::new(12, 7)),
        ]
    });
    CachedAnswer { response, chunks }
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
