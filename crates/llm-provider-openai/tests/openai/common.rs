//! Shared fixtures: settings, a canonical request, chunk and SSE builders.

use std::time::Duration;

use futures::StreamExt;
use llm_core::{ChatChunk, ChatRequest, ChunkStream, LlmError};
use llm_provider_openai::{OpenAiProvider, OpenAiSettings};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const KEY: &str = "sk-test-GATEWAY-KEY-0123456789";
pub const ORG: &str = "org-gateway-test";
pub const CHAT_PATH: &str = "/v1/chat/completions";

pub fn settings(base_url: String) -> OpenAiSettings {
    let mut settings = OpenAiSettings::new("oai".into(), base_url);
    settings.api_key = Some(KEY.to_owned());
    settings.organization = Some(ORG.to_owned());
    settings
        .extra_headers
        .push(("x-team".to_owned(), "blue".to_owned()));
    settings.timeouts.first_byte = Duration::from_secs(4);
    settings.timeouts.idle = Duration::from_secs(4);
    settings.timeouts.request = Duration::from_secs(4);
    settings
}

pub async fn server_and_provider() -> (MockServer, OpenAiProvider) {
    let server = MockServer::start().await;
    let provider = OpenAiProvider::new(settings(format!("{}/v1", server.uri()))).unwrap();
    (server, provider)
}

/// A request the way a client would write it: an alias as model, its own stream flags, and fields
/// the gateway does not model.
pub fn request() -> ChatRequest {
    serde_json::from_value(json!({
        "model": "client-alias",
        "messages": [
            {"role": "system", "content": "You answer tersely."},
            {"role": "user", "content": "Capital of Norway?"}
        ],
        "temperature": 0.2,
        "max_tokens": 50,
        "stream": false,
        "stream_options": {"include_usage": false},
        "logit_bias": {"1734": -100},
        "metadata": {"ticket": "T-9"}
    }))
    .unwrap()
}

pub async fn mount_json(server: &MockServer, route: &str, status: u16, body: Value) {
    Mock::given(method(if route.ends_with("models") { "GET" } else { "POST" }))
        .and(path(route))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

pub async fn mount_sse(server: &MockServer, body: String) {
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/event-stream"))
        .mount(server)
        .await;
}

/// One `chat.completion.chunk` with a single choice.
pub fn chunk(delta: Value, finish_reason: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-t1", "object": "chat.completion.chunk", "created": 1_760_000_000,
        "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_t1",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]
    })
}

pub fn usage_chunk(prompt: u64, completion: u64) -> Value {
    json!({
        "id": "chatcmpl-t1", "object": "chat.completion.chunk", "created": 1_760_000_000,
        "model": "gpt-4o-mini-2024-07-18", "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
}

/// The SSE body for `events`, each a `data:` line, optionally closed by `data: [DONE]`.
pub fn sse(events: &[Value], done: bool) -> String {
    let mut body: String = events.iter().map(|event| format!("data: {event}\n\n")).collect();
    if done {
        body.push_str("data: [DONE]\n\n");
    }
    body
}

pub async fn collect(stream: ChunkStream) -> Vec<Result<ChatChunk, LlmError>> {
    stream.collect().await
}

/// The JSON body of the only request the server received.
pub async fn sent_body(server: &MockServer) -> Value {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    serde_json::from_slice(&requests[0].body).unwrap()
}
