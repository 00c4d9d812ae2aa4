//! Test support for provider crates (feature `testing`): upstreams that misbehave in time.
//!
//! Every provider crate proves its deadlines against the same three upstreams: one that answers
//! only after a delay, one that starts a stream and then falls silent, and a port nobody listens on.

// Test support: failing loudly is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server answering every POST with `body` (JSON, status 200), but only after `delay`.
pub async fn slow_upstream(body: serde_json::Value, delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body).set_delay(delay))
        .mount(&server)
        .await;
    server
}

/// Answers one request with SSE headers and `events` (already framed), then keeps the connection
/// open and silent until the client gives up. Returns `http://127.0.0.1:PORT`.
pub async fn stalling_sse_upstream(events: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buffer = [0_u8; 4096];
        while !request.windows(4).any(|window| window == b"\r\n\r\n") {
            let read = socket.read(&mut buffer).await.unwrap();
            assert!(read > 0, "client closed before sending headers");
            request.extend_from_slice(&buffer[..read]);
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        let response = format!("{head}{:x}\r\n{events}\r\n", events.len());
        socket.write_all(response.as_bytes()).await.unwrap();
        socket.flush().await.unwrap();
        while socket.read(&mut buffer).await.is_ok_and(|read| read > 0) {}
    });
    format!("http://{address}")
}

/// A port on 127.0.0.1 that refuses connections (it was free a moment ago).
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// A realistic OpenAI chat stream for benches: 22 chunk events (the role, 19 words, the finish and
/// the usage) framed as SSE, then `data: [DONE]`.
pub fn realistic_openai_stream() -> Vec<u8> {
    let words = [
        "Rotating",
        " logs",
        " safely",
        " means",
        " the",
        " writer",
        " must",
        " either",
        " reopen",
        " its",
        " file",
        " or",
        " the",
        " rotator",
        " must",
        " copy",
        " then",
        " truncate",
        ".",
    ];
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        serde_json::json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_760_000_000,
            "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    let mut events = vec![chunk(
        serde_json::json!({"role": "assistant", "content": ""}),
        None,
    )];
    events.extend(
        words
            .iter()
            .map(|word| chunk(serde_json::json!({"content": word}), None)),
    );
    events.push(chunk(serde_json::json!({}), Some("stop")));
    events.push(
        serde_json::json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_760_000_000,
        "model": "gpt-4o-mini-2024-07-18", "choices": [],
        "usage": {"prompt_tokens": 412, "completion_tokens": 20, "total_tokens": 432}}),
    );
    let mut body: String = events.iter().map(|event| format!("data: {event}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    body.into_bytes()
}
