//! Shared harness: start the real server process on a free port and talk to it over HTTP.

// A test harness: failing loudly is its job.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod chromium;
pub mod graphql;
pub mod prometheus;
pub mod raw_upstream;
pub mod redis;

use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Longest any single step of a test may take before the test fails instead of hanging.
pub const STEP: Duration = Duration::from_secs(20);

static NEXT_FILE: AtomicU64 = AtomicU64::new(0);

/// A running `llm-server` process.
pub struct TestServer {
    pub base: String,
    pub child: Child,
    pub logs: Arc<Mutex<Vec<String>>>,
    config_path: PathBuf,
}

/// How to start a server.
#[derive(Default)]
pub struct Launch<'a> {
    pub config: &'a str,
    pub env: Vec<(&'a str, String)>,
    pub args: Vec<&'a str>,
}

pub fn write_config(config: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "llm-e2e-{}-{}.toml",
        std::process::id(),
        NEXT_FILE.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, config).unwrap();
    path
}

pub fn server_command(config_path: &PathBuf, launch: &Launch<'_>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_llm-server-under-test"));
    command
        .arg("--config")
        .arg(config_path)
        .args(["--log-format", "json"])
        .args(&launch.args)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env("LLM_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in &launch.env {
        command.env(name, value);
    }
    command
}

impl TestServer {
    /// Starts the server with `config` on 127.0.0.1 and a free port; returns once it listens.
    pub async fn start(config: &str) -> Self {
        Self::launch(Launch {
            config,
            ..Launch::default()
        })
        .await
    }

    pub async fn launch(launch: Launch<'_>) -> Self {
        let config_path = write_config(launch.config);
        let mut launch = launch;
        if !launch.args.contains(&"--bind") {
            launch.args.extend(["--bind", "127.0.0.1:0"]);
        }
        let mut child = server_command(&config_path, &launch).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let mut lines = BufReader::new(stderr).lines();
        let address = tokio::time::timeout(STEP, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                logs.lock().unwrap().push(line.clone());
                let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if json["fields"]["message"] == "listening" {
                    return json["fields"]["address"].as_str().unwrap().to_owned();
                }
            }
            panic!("server exited before listening: {:?}", logs.lock().unwrap());
        })
        .await
        .expect("server did not start in time");
        let sink = logs.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        Self {
            base: format!("http://{address}"),
            child,
            logs,
            config_path,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn all_logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.config_path);
    }
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(STEP).build().unwrap()
}

/// One SSE event as a client sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub event: Option<String>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.data))
    }
}

/// Reads an SSE body incrementally, independently of the gateway's own parser.
pub struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next event, or `None` when the body ended.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut event = None;
                let mut data = Vec::new();
                for line in frame.lines() {
                    if let Some(name) = line.strip_prefix("event: ") {
                        event = Some(name.to_owned());
                    } else if let Some(value) = line.strip_prefix("data: ") {
                        data.push(value);
                    }
                }
                return Some(Event {
                    event,
                    data: data.join("\n"),
                });
            }
            let piece = tokio::time::timeout(STEP, self.body.next())
                .await
                .expect("stream stalled")?;
            self.buffer
                .push_str(std::str::from_utf8(&piece.unwrap()).unwrap());
        }
    }

    /// Every remaining event; asserts nothing is left over after the last one.
    pub async fn collect(mut self) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        assert!(
            self.buffer.trim().is_empty(),
            "unterminated data at end: {:?}",
            self.buffer
        );
        events
    }
}

/// POSTs JSON and returns the response.
/// `POST /v1/chat/completions` with `body` on behalf of `user` (the `x-llm-user` header).
pub async fn chat_as(
    client: &reqwest::Client,
    server: &TestServer,
    user: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    client
        .post(server.url("/v1/chat/completions"))
        .header("x-llm-user", user)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// `GET url`; the body as JSON, whatever the status.
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

pub async fn post_json(client: &reqwest::Client, url: &str, body: serde_json::Value) -> reqwest::Response {
    client.post(url).json(&body).send().await.unwrap()
}

/// Asserts the OpenAI error shape and returns `(code, param)`.
pub async fn error_of(
    response: reqwest::Response,
    status: u16,
) -> (String, Option<String>, serde_json::Value) {
    assert_eq!(response.status().as_u16(), status);
    assert!(response.headers().contains_key("x-request-id"));
    assert!(response.headers().contains_key("x-llm-overhead-ms"));
    let body: serde_json::Value = response.json().await.unwrap();
    let error = &body["error"];
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(error["type"].as_str().is_some(), "{body}");
    let keys: Vec<_> = error.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["code", "message", "param", "type"], "{body}");
    (
        error["code"].as_str().unwrap().to_owned(),
        error["param"].as_str().map(str::to_owned),
        body,
    )
}
