//! The seed's simple REST API, end to end: `/llm/complete` and `/llm/complete/stream`.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use support::{SseReader, TestServer, client, error_of, post_json};

const CONFIG: &str = r#"
[[providers]]
id = "mock"
type = "mock"
chunks = 2

[[providers]]
id = "broken"
type = "mock"
chunks = 4
failure = { kind = "timeout", after_chunks = 1 }
"#;

#[tokio::test]
async fn complete_with_a_prompt_answers_the_simple_shape() {
    let server = TestServer::start(CONFIG).await;
    let response = post_json(
        &client(),
        &server.url("/llm/complete"),
        json!({"model": "echo", "prompt": "hi there", "temperature": 0}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-llm-provider"], "mock");
    assert!(response.headers().contains_key("x-request-id"));
    assert!(response.headers().contains_key("x-llm-overhead-ms"));
    let body: serde_json::Value = response.json().await.unwrap();
    let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "cached",
            "content",
            "finish_reason",
            "id",
            "latency_ms",
            "model",
            "provider",
            "usage"
        ]
    );
    assert_eq!(body["content"], "hi there");
    assert_eq!(body["model"], "echo");
    assert_eq!(body["provider"], "mock");
    assert_eq!(body["finish_reason"], "stop");
    assert_eq!(body["cached"], false);
    assert!(body["latency_ms"].is_u64());
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4})
    );
}

#[tokio::test]
async fn complete_accepts_messages_and_max_tokens() {
    let server = TestServer::start(CONFIG).await;
    let body =
        json!({"model": "mock/echo", "max_tokens": 1, "messages": [{"role": "user", "content": "one two"}]});
    let answer: serde_json::Value = post_json(&client(), &server.url("/llm/complete"), body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["content"], "one");
    assert_eq!(answer["finish_reason"], "length");
}

#[tokio::test]
async fn complete_refuses_ambiguous_or_missing_input() {
    let server = TestServer::start(CONFIG).await;
    let client = client();
    let url = server.url("/llm/complete");
    let both = json!({"model": "echo", "prompt": "a", "messages": [{"role": "user", "content": "b"}]});
    assert_eq!(
        error_of(post_json(&client, &url, both).await, 400)
            .await
            .1
            .as_deref(),
        Some("prompt")
    );
    let neither = json!({"model": "echo"});
    assert_eq!(
        error_of(post_json(&client, &url, neither).await, 400)
            .await
            .1
            .as_deref(),
        Some("messages")
    );
    let not_text = json!({"model": "echo", "prompt": 5});
    assert_eq!(
        error_of(post_json(&client, &url, not_text).await, 400)
            .await
            .1
            .as_deref(),
        Some("prompt")
    );
    let unknown = json!({"model": "nope", "prompt": "x"});
    assert_eq!(
        error_of(post_json(&client, &url, unknown).await, 404).await.0,
        "not_found"
    );
}

#[tokio::test]
async fn complete_stream_sends_deltas_then_done_with_usage() {
    let server = TestServer::start(CONFIG).await;
    let response = post_json(
        &client(),
        &server.url("/llm/complete/stream"),
        json!({"model": "echo", "prompt": "abcd"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = SseReader::new(response).collect().await;
    let names: Vec<_> = events.iter().map(|e| e.event.clone().unwrap()).collect();
    assert_eq!(names, ["delta", "delta", "done"]);
    assert_eq!(events[0].json(), json!({"content": "ab"}));
    assert_eq!(events[1].json(), json!({"content": "cd"}));
    let done = events[2].json();
    assert_eq!(done["finish_reason"], "stop");
    assert_eq!(done["provider"], "mock");
    assert_eq!(done["model"], "echo");
    assert_eq!(done["cached"], false);
    assert_eq!(
        done["usage"],
        json!({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
    );
    assert!(done["id"].as_str().unwrap().starts_with("chatcmpl-"));
}

#[tokio::test]
async fn complete_stream_failure_is_an_error_event_not_done() {
    let server = TestServer::start(CONFIG).await;
    let response = post_json(
        &client(),
        &server.url("/llm/complete/stream"),
        json!({"model": "broken/echo", "prompt": "abcdefgh"}),
    )
    .await;
    let events = SseReader::new(response).collect().await;
    let names: Vec<_> = events.iter().map(|e| e.event.clone().unwrap()).collect();
    assert_eq!(names, ["delta", "error"]);
    assert_eq!(events[1].json()["error"]["code"], "timeout");
}
