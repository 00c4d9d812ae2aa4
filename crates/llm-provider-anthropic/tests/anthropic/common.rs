//! Shared fixtures: settings, a canonical request, Anthropic response and SSE event builders.

use std::time::Duration;

use futures::StreamExt;
use llm_core::{ChatChunk, ChatRequest, ChunkStream, LlmError};
use llm_provider_anthropic::{AnthropicProvider, AnthropicSettings};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const KEY: &str = "sk-ant-test-GATEWAY-KEY-0123456789";
pub const BETA: &str = "tools-2099-01-01";
pub const MESSAGES_PATH: &str = "/v1/messages";

pub fn settings(base_url: String) -> AnthropicSettings {
    let mut settings = AnthropicSettings::new("claude".into(), base_url);
    settings.api_key = Some(KEY.to_owned());
    settings
        .extra_headers
        .push(("anthropic-beta".to_owned(), BETA.to_owned()));
    settings.timeouts.first_byte = Duration::from_secs(4);
    settings.timeouts.idle = Duration::from_secs(4);
    settings.timeouts.request = Duration::from_secs(4);
    settings
}

pub async fn server_and_provider() -> (MockServer, AnthropicProvider) {
    let server = MockServer::start().await;
    let provider = AnthropicProvider::new(settings(server.uri())).unwrap();
    (server, provider)
}

/// A request the way an OpenAI client would write it: an alias as model, its own stream flags, and
/// fields that mean nothing to Anthropic.
pub fn request() -> ChatRequest {
    serde_json::from_value(json!({
        "model": "client-alias",
        "messages": [
            {"role": "system", "content": "You answer tersely."},
            {"role": "user", "content": "Capital of Norway?"}
        ],
        "temperature": 0.2,
        "stream": false,
        "stream_options": {"include_usage": false},
        "logit_bias": {"1734": -100}
    }))
    .unwrap()
}

pub async fn mount_json(server: &MockServer, status: u16, body: Value) {
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

pub async fn mount_sse(server: &MockServer, body: String) {
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/event-stream"))
        .mount(server)
        .await;
}

/// A complete Anthropic message with `content` blocks.
pub fn message(content: Value, stop_reason: &str, usage: Value) -> Value {
    json!({
        "id": "msg_test_1", "type": "message", "role": "assistant", "model": "claude-test-20250101",
        "content": content, "stop_reason": stop_reason, "stop_sequence": null, "usage": usage
    })
}

pub fn message_start(usage: Value) -> Value {
    json!({"type": "message_start", "message": {"id": "msg_stream_1", "type": "message", "role": "assistant",
        "model": "claude-test-20250101", "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage}})
}

pub fn text_start(index: u32) -> Value {
    json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
}

pub fn text_delta(index: u32, text: &str) -> Value {
    json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}})
}

pub fn tool_start(index: u32, id: &str, name: &str) -> Value {
    json!({"type": "content_block_start", "index": index,
        "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})
}

pub fn json_delta(index: u32, partial: &str) -> Value {
    json!({"type": "content_block_delta", "index": index,
        "delta": {"type": "input_json_delta", "partial_json": partial}})
}

pub fn block_stop(index: u32) -> Value {
    json!({"type": "content_block_stop", "index": index})
}

pub fn message_delta(stop_reason: &str, output_tokens: u64) -> Value {
    json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
        "usage": {"output_tokens": output_tokens}})
}

pub fn message_stop() -> Value {
    json!({"type": "message_stop"})
}

pub fn ping() -> Value {
    json!({"type": "ping"})
}

/// The SSE body for `events`, each named after its `type` as Anthropic does.
pub fn sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|event| format!("event: {}\ndata: {event}\n\n", event["type"].as_str().unwrap()))
        .collect()
}

/// A short text answer: `Oslo.` in two deltas, stopping with `stop_reason`.
pub fn text_stream(stop_reason: &str) -> Vec<Value> {
    vec![
        message_start(json!({"input_tokens": 21, "output_tokens": 1})),
        text_start(0),
        ping(),
        text_delta(0, "Os"),
        text_delta(0, "lo."),
        block_stop(0),
        message_delta(stop_reason, 3),
        message_stop(),
    ]
}

pub async fn collect(stream: ChunkStream) -> Vec<Result<ChatChunk, LlmError>> {
    stream.collect().await
}

/// The only request the server received.
pub async fn sent_request(server: &MockServer) -> Request {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    requests.into_iter().next().unwrap()
}

/// The JSON body of the only request the server received.
pub async fn sent_body(server: &MockServer) -> Value {
    serde_json::from_slice(&sent_request(server).await.body).unwrap()
}
