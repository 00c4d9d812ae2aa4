//! Retries, fallbacks, circuit breakers and deadlines over HTTP, against the real server with
//! scripted mock providers: what a client sees in statuses, headers and every streamed event.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::{SseReader, TestServer, client, error_of, get_json};

const CONFIG: &str = r#"
[routing]
max_retries = 2
backoff_initial_ms = 1
backoff_max_ms = 5

[routing.circuit_breaker]
min_calls = 4
window_secs = 60
open_secs = 60

# Fails its first 2 calls, then answers.
[[providers]]
id = "flaky"
type = "mock"
failure = { kind = "provider_unavailable", times = 2 }

[[providers]]
id = "down"
type = "mock"
failure = { kind = "provider_unavailable" }

# Streams fail before any content.
[[providers]]
id = "silent"
type = "mock"
failure = { kind = "timeout", after_chunks = 0 }

# Streams fail after 2 content chunks.
[[providers]]
id = "cut"
type = "mock"
chunks = 4
failure = { kind = "upstream_protocol", after_chunks = 2 }

[[providers]]
id = "steady"
type = "mock"
chunks = 3

[models.retrying]
deployments = [{ provider = "flaky", model = "echo" }]

[models.primary]
deployments = [{ provider = "down", model = "echo" }]
fallbacks = ["backup"]

[models.streaming]
deployments = [{ provider = "silent", model = "echo" }]
fallbacks = ["backup"]

[models.cut-short]
deployments = [{ provider = "cut", model = "echo" }]
fallbacks = ["backup"]

[models.backup]
deployments = [{ provider = "steady", model = "echo" }]
"#;

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream,
        "messages": [{"role": "user", "content": "one two three four"}]})
}

async fn post(server: &TestServer, body: Value) -> reqwest::Response {
    client()
        .post(server.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|value| value.to_str().unwrap())
}

#[tokio::test]
async fn retries_and_fallbacks_are_told_in_headers() {
    let server = TestServer::start(CONFIG).await;
    let retried = post(&server, chat("retrying", false)).await;
    assert_eq!(retried.status(), 200);
    assert_eq!(header(&retried, "x-llm-provider"), Some("flaky"));
    assert_eq!(header(&retried, "x-llm-attempts"), Some("3"));
    assert_eq!(header(&retried, "x-llm-fallback"), None);
    let body: Value = retried.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "one two three four");

    let fell_back = post(&server, chat("primary", false)).await;
    assert_eq!(fell_back.status(), 200);
    assert_eq!(header(&fell_back, "x-llm-provider"), Some("steady"));
    assert_eq!(header(&fell_back, "x-llm-attempts"), Some("4"));
    assert_eq!(header(&fell_back, "x-llm-fallback"), Some("backup"));
}

#[tokio::test]
async fn a_stream_that_fails_before_content_falls_back_invisibly() {
    let server = TestServer::start(CONFIG).await;
    let response = post(&server, chat("streaming", true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-llm-provider"), Some("steady"));
    assert_eq!(header(&response, "x-llm-fallback"), Some("backup"));
    let events = SseReader::new(response).collect().await;
    let (done, chunks) = events.split_last().unwrap();
    assert_eq!(done.data, "[DONE]");
    let mut text = String::new();
    for event in chunks {
        let chunk = event.json();
        assert!(
            chunk.get("error").is_none(),
            "the client never sees the failure: {chunk}"
        );
        if let Some(content) = chunk["choices"][0]["delta"]["content"].as_str() {
            text.push_str(content);
        }
    }
    assert_eq!(text, "one two three four");
}

#[tokio::test]
async fn a_stream_that_fails_after_content_ends_with_an_error_event() {
    let server = TestServer::start(CONFIG).await;
    let response = post(&server, chat("cut-short", true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "x-llm-provider"), Some("cut"));
    let events = SseReader::new(response).collect().await;
    let contents = events
        .iter()
        .filter(|event| event.data != "[DONE]" && event.json()["choices"][0]["delta"]["content"].is_string())
        .count();
    assert!(contents >= 2, "{events:?}");
    let last = events.last().unwrap();
    assert_ne!(last.data, "[DONE]", "never a silent clean end");
    assert_eq!(last.json()["error"]["code"], "upstream_protocol");
}

#[tokio::test]
async fn the_request_deadline_is_the_clients_within_bounds() {
    let server = TestServer::start(
        "[routing]\ntimeout_ms = 30000\nmax_timeout_ms = 60000\n\n[[providers]]\nid = \"slow\"\ntype = \"mock\"\nlatency_ms = 10000\n",
    )
    .await;
    let send = |timeout: &'static str| {
        client()
            .post(server.url("/v1/chat/completions"))
            .header("x-llm-timeout-ms", timeout)
            .json(&chat("slow/echo", false))
            .send()
    };
    let started = std::time::Instant::now();
    let (code, _, _) = error_of(send("200").await.unwrap(), 504).await;
    assert_eq!(code, "timeout");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    for bad in ["0", "soon", "600000"] {
        let (code, param, _) = error_of(send(bad).await.unwrap(), 400).await;
        assert_eq!(
            (code.as_str(), param.as_deref()),
            ("invalid_request", Some("x-llm-timeout-ms"))
        );
    }
}

#[tokio::test]
async fn an_open_circuit_is_visible_and_skipped() {
    let server = TestServer::start(CONFIG).await;
    // 4 failed attempts on `down` (min_calls = 4): its circuit opens.
    for _ in 0..2 {
        assert_eq!(post(&server, chat("primary", false)).await.status(), 200);
    }
    let providers = get_json(&client(), &server.url("/llm/providers/down")).await;
    let deployment = &providers["deployments"][0];
    assert_eq!(deployment["model"], "echo", "{providers}");
    assert_eq!(deployment["circuit"]["state"], "open", "{providers}");
    assert!(deployment["circuit"]["retry_at_ms"].as_u64().is_some());
    // Skipped now: one attempt, straight to the fallback.
    let skipped = post(&server, chat("primary", false)).await;
    assert_eq!(header(&skipped, "x-llm-attempts"), Some("1"));
    assert_eq!(header(&skipped, "x-llm-fallback"), Some("backup"));
    // Asked for directly, the open deployment answers 503 with Retry-After.
    let direct = post(&server, chat("down/echo", false)).await;
    assert!(direct.headers().contains_key("retry-after"));
    let (code, _, _) = error_of(direct, 503).await;
    assert_eq!(code, "provider_unavailable");

    let details = get_json(&client(), &server.url("/llm/health/details")).await;
    let down = details["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|provider| provider["id"] == "down")
        .unwrap();
    assert_eq!(down["deployments"][0]["circuit"]["state"], "open", "{down}");
}
