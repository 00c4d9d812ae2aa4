//! Anthropic's Messages API as an ingress, end to end over raw HTTP: the event sequence, errors in
//! Anthropic's shape, and a failure mid-stream that never reaches `message_stop`.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use support::{SseReader, TestServer, client, post_json};

const CONFIG: &str = r#"
[[providers]]
id = "mock"
type = "mock"
chunks = 2

[[providers]]
id = "broken"
type = "mock"
chunks = 4
failure = { kind = "provider_unavailable", after_chunks = 1 }
"#;

fn body(model: &str, stream: bool) -> serde_json::Value {
    json!({"model": model, "max_tokens": 50, "stream": stream, "system": "be brief",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "abcd"}]}]})
}

#[tokio::test]
async fn a_message_comes_back_in_anthropic_shape() {
    let server = TestServer::start(CONFIG).await;
    let response = post_json(&client(), &server.url("/v1/messages"), body("mock/echo", false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-llm-provider"], "mock");
    assert!(response.headers().contains_key("x-request-id"));
    let message: serde_json::Value = response.json().await.unwrap();
    assert_eq!(message["type"], "message");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["content"], json!([{"type": "text", "text": "abcd"}]));
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["usage"]["input_tokens"], 3);
    assert_eq!(message["usage"]["output_tokens"], 1);
}

#[tokio::test]
async fn a_stream_follows_anthropic_event_order() {
    let server = TestServer::start(CONFIG).await;
    let response = post_json(&client(), &server.url("/v1/messages"), body("mock/echo", true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = SseReader::new(response).collect().await;
    let names: Vec<_> = events.iter().map(|e| e.event.clone().unwrap()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    for event in &events {
        assert_eq!(
            event.json()["type"],
            event.event.clone().unwrap(),
            "data.type names the event"
        );
    }
    let text: String = events
        .iter()
        .filter_map(|e| e.json()["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, "abcd");
    let delta = events[5].json();
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["output_tokens"], 1);
}

#[tokio::test]
async fn a_failure_mid_stream_is_an_anthropic_error_event_and_never_message_stop() {
    let server = TestServer::start(CONFIG).await;
    let response = post_json(&client(), &server.url("/v1/messages"), body("broken/echo", true)).await;
    let events = SseReader::new(response).collect().await;
    let last = events.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"));
    assert_eq!(last.json()["type"], "error");
    assert_eq!(last.json()["error"]["type"], "overloaded_error");
    assert!(events.iter().all(|e| e.event.as_deref() != Some("message_stop")));
}

#[tokio::test]
async fn errors_before_the_answer_use_anthropic_shape() {
    let server = TestServer::start(CONFIG).await;
    let client = client();
    let url = server.url("/v1/messages");
    let unknown = post_json(&client, &url, body("nobody/serves", false)).await;
    assert_eq!(unknown.status(), 404);
    let error: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "not_found_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nobody/serves")
    );

    let malformed = client.post(&url).body("{").send().await.unwrap();
    assert_eq!(malformed.status(), 400);
    let error: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error");
}
