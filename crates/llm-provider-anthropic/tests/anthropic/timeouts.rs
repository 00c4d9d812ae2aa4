//! Deadlines and unreachable upstreams. Every test stays on 127.0.0.1 and well under 5 s.

use std::time::{Duration, Instant};

use llm_core::{ErrorKind, Provider};
use llm_provider_anthropic::AnthropicProvider;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{MESSAGES_PATH, collect, request, settings, sse, text_stream};

const SHORT: Duration = Duration::from_millis(200);
const LONG: Duration = Duration::from_secs(2);

async fn slow_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({}))
                .set_delay(LONG),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn no_headers_within_the_first_byte_timeout() {
    let server = slow_server().await;
    let mut settings = settings(server.uri());
    settings.timeouts.first_byte = SHORT;
    let provider = AnthropicProvider::new(settings).unwrap();

    let started = Instant::now();
    let error = provider.complete("claude-test", &request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    let error = provider.stream("claude-test", &request()).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < LONG, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_complete_answer_must_finish_within_the_request_timeout() {
    let server = slow_server().await;
    let mut settings = settings(server.uri());
    settings.timeouts.request = SHORT;
    let provider = AnthropicProvider::new(settings).unwrap();

    let started = Instant::now();
    let error = provider.complete("claude-test", &request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.retryable());
    assert!(started.elapsed() < LONG, "took {:?}", started.elapsed());
}

/// Answers one request with SSE headers and the first events of an answer (up to the text "Os"), then
/// keeps the connection open and silent.
async fn stalling_upstream() -> String {
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
        let event = sse(&text_stream("end_turn")[..4]);
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
        let response = format!("{head}{:x}\r\n{event}\r\n", event.len());
        socket.write_all(response.as_bytes()).await.unwrap();
        socket.flush().await.unwrap();
        // Stay connected and silent until the client gives up.
        while socket.read(&mut buffer).await.is_ok_and(|read| read > 0) {}
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_silent_stream_times_out_after_the_idle_timeout() {
    let mut settings = settings(stalling_upstream().await);
    settings.timeouts.idle = SHORT;
    let provider = AnthropicProvider::new(settings).unwrap();

    let started = Instant::now();
    let items = collect(provider.stream("claude-test", &request()).await.unwrap()).await;

    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().text_delta(), Some(""));
    assert_eq!(items[1].as_ref().unwrap().text_delta(), Some("Os"));
    assert_eq!(items[2].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    assert!(started.elapsed() >= SHORT);
    assert!(started.elapsed() < LONG, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_refused_connection_means_the_provider_is_unavailable() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let provider = AnthropicProvider::new(settings(format!("http://127.0.0.1:{port}"))).unwrap();

    let error = provider.complete("claude-test", &request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    assert!(error.retryable());
    let error = provider.stream("claude-test", &request()).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    let health = provider.health().await;
    assert!(!health.healthy);
}
