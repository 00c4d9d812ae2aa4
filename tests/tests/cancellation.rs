//! Cancellation, end to end: a client that disconnects (plain HTTP, a stream, a GraphQL subscription)
//! cancels the upstream call promptly. The mock provider logs `mock call cancelled` when the call it is
//! serving is dropped; a test-owned raw HTTP upstream reports when the gateway closes its connection.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::graphql::{STREAM, connect, input, receive, send};
use support::raw_upstream::{self, Behaviour, RawUpstream};
use support::{Launch, STEP, SseReader, TestServer, client};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How soon after the client leaves the upstream call must be gone.
const PROMPTLY: Duration = Duration::from_secs(3);
/// How often log and channel conditions are polled.
const POLL: Duration = Duration::from_millis(20);

const MOCK_CONFIG: &str = r#"
[[providers]]
id = "slow"
type = "mock"
latency_ms = 5000

[[providers]]
id = "trickle"
type = "mock"
chunks = 50
chunk_delay_ms = 100
"#;

/// A server whose mock providers also log `mock call started` (at debug).
async fn mock_server() -> TestServer {
    TestServer::launch(Launch {
        config: MOCK_CONFIG,
        env: vec![("LLM_LOG", "info,llm_provider_mock=debug".to_owned())],
        ..Launch::default()
    })
    .await
}

/// How many JSON log lines carry `message` for `provider`.
fn count_logs(server: &TestServer, message: &str, provider: &str) -> usize {
    server
        .logs
        .lock()
        .unwrap()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|json| json["fields"]["message"] == message && json["fields"]["provider"] == provider)
        .count()
}

/// Polls the server's logs until `message` for `provider` appears, for at most `within`.
async fn wait_for_log(server: &TestServer, message: &str, provider: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while count_logs(server, message, provider) == 0 {
        assert!(
            Instant::now() < deadline,
            "no `{message}` for {provider} within {within:?}; logs:\n{}",
            server.all_logs()
        );
        tokio::time::sleep(POLL).await;
    }
}

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream,
        "messages": [{"role": "user", "content": "one two three four five six seven eight nine ten"}]})
}

#[tokio::test]
async fn a_dropped_completion_request_cancels_the_provider_call() {
    let server = mock_server().await;
    let url = server.url("/v1/chat/completions");
    let request =
        tokio::spawn(async move { client().post(url).json(&chat("slow/echo", false)).send().await });
    wait_for_log(&server, "mock call started", "slow", STEP).await;
    assert_eq!(count_logs(&server, "mock call cancelled", "slow"), 0);
    // The client gives up: the request future and its connection go away.
    request.abort();
    assert!(request.await.unwrap_err().is_cancelled());
    wait_for_log(&server, "mock call cancelled", "slow", PROMPTLY).await;
}

#[tokio::test]
async fn a_client_timeout_cancels_the_provider_call() {
    let server = mock_server().await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let outcome = impatient
        .post(server.url("/v1/chat/completions"))
        .json(&chat("slow/echo", false))
        .send()
        .await;
    assert!(outcome.unwrap_err().is_timeout());
    // The mock sleeps 5 s; its call must be dropped well before it would have answered.
    wait_for_log(&server, "mock call cancelled", "slow", PROMPTLY).await;
    assert_eq!(count_logs(&server, "mock call started", "slow"), 1);
}

#[tokio::test]
async fn a_dropped_stream_cancels_the_provider_stream() {
    let server = mock_server().await;
    let response = client()
        .post(server.url("/v1/chat/completions"))
        .json(&chat("trickle/echo", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut events = SseReader::new(response);
    let first = events.next().await.unwrap();
    assert_eq!(first.json()["object"], "chat.completion.chunk", "{first:?}");
    assert_eq!(count_logs(&server, "mock call cancelled", "trickle"), 0);
    // 50 chunks 100 ms apart: the stream has about five seconds left when the client goes.
    drop(events);
    wait_for_log(&server, "mock call cancelled", "trickle", PROMPTLY).await;
}

#[tokio::test]
async fn closing_a_subscription_socket_cancels_the_provider_stream() {
    let server = mock_server().await;
    let mut socket = connect(&server, "/graphql/ws", "graphql-transport-ws").await;
    send(&mut socket, json!({"type": "connection_init", "payload": {}})).await;
    assert_eq!(receive(&mut socket).await.unwrap()["type"], "connection_ack");
    let variables = json!({"input": input("trickle/echo", "one two three four five six seven eight")});
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": STREAM, "variables": variables}}),
    )
    .await;
    let first = receive(&mut socket).await.unwrap();
    assert_eq!(first["type"], "next", "{first}");
    assert_eq!(count_logs(&server, "mock call cancelled", "trickle"), 0);
    drop(socket);
    wait_for_log(&server, "mock call cancelled", "trickle", PROMPTLY).await;
}

async fn upstream_server(base: &str) -> TestServer {
    let config =
        format!("[[providers]]\nid = \"up\"\ntype = \"openai_compatible\"\nbase_url = \"{base}/v1\"\n");
    TestServer::start(&config).await
}

/// Waits for one report on `channel` for at most `within`.
async fn expect_report(channel: &mut mpsc::Receiver<()>, within: Duration, what: &str) {
    let report = tokio::time::timeout(within, channel.recv()).await;
    assert!(matches!(report, Ok(Some(()))), "{what} within {within:?}");
}

#[tokio::test]
async fn a_dropped_stream_closes_the_upstream_connection() {
    let RawUpstream {
        base,
        mut closed,
        mut arrived,
    } = raw_upstream::start(Behaviour::OneChunkThenSilence).await;
    let server = upstream_server(&base).await;
    let response = client()
        .post(server.url("/v1/chat/completions"))
        .json(&chat("up/m", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut events = SseReader::new(response);
    let first = events.next().await.unwrap();
    assert_eq!(
        first.json()["choices"][0]["delta"]["content"],
        "more ",
        "{first:?}"
    );
    expect_report(&mut arrived, STEP, "the chat request reached the upstream").await;
    assert!(closed.try_recv().is_err(), "the upstream was closed too early");
    drop(events);
    expect_report(
        &mut closed,
        PROMPTLY,
        "the gateway closed the upstream connection",
    )
    .await;
}

#[tokio::test]
async fn a_dropped_completion_request_closes_the_upstream_connection() {
    let RawUpstream {
        base,
        mut closed,
        mut arrived,
    } = raw_upstream::start(Behaviour::Silence).await;
    let server = upstream_server(&base).await;
    let url = server.url("/v1/chat/completions");
    let request = tokio::spawn(async move { client().post(url).json(&chat("up/m", false)).send().await });
    expect_report(&mut arrived, STEP, "the chat request reached the upstream").await;
    assert!(closed.try_recv().is_err(), "the upstream was closed too early");
    request.abort();
    assert!(request.await.unwrap_err().is_cancelled());
    expect_report(
        &mut closed,
        PROMPTLY,
        "the gateway closed the upstream connection",
    )
    .await;
}
