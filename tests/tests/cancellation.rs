//! Cancellation, end to end: a client that disconnects (plain HTTP, a stream, a GraphQL subscription)
//! cancels the upstream call promptly. The mock provider logs `mock call cancelled` when the call it is
//! serving is dropped; a test-owned raw HTTP upstream reports when the gateway closes its connection.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::graphql::{STREAM, connect, input, receive, send};
use support::{Launch, STEP, SseReader, TestServer, client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

/// What the raw upstream does with a chat request.
#[derive(Clone, Copy)]
enum Upstream {
    /// Answers SSE headers and one chunk, then keeps the stream open without another byte.
    OneChunkThenSilence,
    /// Reads the request and never answers.
    Silence,
}

/// An OpenAI-compatible upstream on 127.0.0.1 that reports `()` on the channel each time the gateway
/// closes the connection of a chat request (the model listing and probes are answered and ignored).
/// The second channel reports each chat request as it arrives.
async fn raw_upstream(behaviour: Upstream) -> (String, mpsc::Receiver<()>, mpsc::Receiver<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (closed_tx, closed) = mpsc::channel(8);
    let (arrived_tx, arrived) = mpsc::channel(8);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let closed_tx = closed_tx.clone();
            let arrived_tx = arrived_tx.clone();
            tokio::spawn(async move {
                let (mut reader, mut writer) = socket.into_split();
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                    match reader.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                if head.starts_with(b"GET") {
                    let body = r#"{"object":"list","data":[{"id":"m","object":"model","created":1,"owned_by":"t"}]}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = writer.write_all(answer.as_bytes()).await;
                    return;
                }
                let _ = arrived_tx.send(()).await;
                if let Upstream::OneChunkThenSilence = behaviour {
                    let data = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\
                                \"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"first \"},\
                                \"finish_reason\":null}]}\n\n";
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{data}\r\n",
                        data.len()
                    );
                    if writer.write_all(answer.as_bytes()).await.is_err() {
                        let _ = closed_tx.send(()).await;
                        return;
                    }
                }
                // Read (and discard the rest of the request) until the gateway hangs up.
                loop {
                    match reader.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => continue,
                    }
                }
                let _ = closed_tx.send(()).await;
            });
        }
    });
    (base, closed, arrived)
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
    let (base, mut closed, mut arrived) = raw_upstream(Upstream::OneChunkThenSilence).await;
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
        "first ",
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
    let (base, mut closed, mut arrived) = raw_upstream(Upstream::Silence).await;
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
