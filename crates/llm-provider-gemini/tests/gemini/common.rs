//! Shared fixtures: settings, a canonical request, Gemini response and SSE builders.

use std::time::Duration;

use futures::StreamExt;
use llm_core::{ChatChunk, ChatRequest, ChunkStream, LlmError};
use llm_provider_gemini::{GeminiProvider, GeminiSettings};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const KEY: &str = "AIzaSy-test-GATEWAY-KEY-0123456789";
pub const MODEL: &str = "gemini-2.0-flash";
pub const GENERATE_PATH: &str = "/v1beta/models/gemini-2.0-flash:generateContent";
pub const STREAM_PATH: &str = "/v1beta/models/gemini-2.0-flash:streamGenerateContent";

pub fn settings(base_url: String) -> GeminiSettings {
    let mut settings = GeminiSettings::new("gem".into(), base_url);
    settings.api_key = Some(KEY.to_owned());
    settings
        .extra_headers
        .push(("x-goog-user-project".to_owned(), "blue-project".to_owned()));
    settings.timeouts.first_byte = Duration::from_secs(4);
    settings.timeouts.idle = Duration::from_secs(4);
    settings.timeouts.request = Duration::from_secs(4);
    settings
}

pub async fn server_and_provider() -> (MockServer, GeminiProvider) {
    let server = MockServer::start().await;
    let provider = GeminiProvider::new(settings(server.uri())).unwrap();
    (server, provider)
}

/// A request the way a client would write it: an alias as model and fields Gemini has no use for.
pub fn request() -> ChatRequest {
    serde_json::from_value(json!({
        "model": "client-alias",
        "messages": [
            {"role": "system", "content": "You answer tersely."},
            {"role": "user", "content": "Capital of Wyoming?"}
        ],
        "temperature": 0.2,
        "max_tokens": 50,
        "stream": false,
        "logit_bias": {"1734": -100}
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

/// Serves `body` as the SSE stream, only when asked with `alt=sse`.
pub async fn mount_sse(server: &MockServer, body: String) {
    Mock::given(method("POST"))
        .and(path(STREAM_PATH))
        .and(query_param("alt", "sse"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/event-stream"))
        .mount(server)
        .await;
}

/// A `GenerateContentResponse` with one candidate of `parts`.
pub fn answer(parts: Value, finish_reason: Option<&str>, usage: Option<Value>) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    if let Some(finish_reason) = finish_reason {
        candidate["finishReason"] = json!(finish_reason);
    }
    let mut response = json!({"candidates": [candidate], "modelVersion": "gemini-2.0-flash-001",
        "responseId": "resp-T1"});
    if let Some(usage) = usage {
        response["usageMetadata"] = usage;
    }
    response
}

pub fn usage(prompt: u64, candidates: u64) -> Value {
    json!({"promptTokenCount": prompt, "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates})
}

pub fn call(name: &str, args: Value) -> Value {
    json!({"functionCall": {"name": name, "args": args}})
}

/// The SSE body for `events`, each a `data:` line followed by a blank line, with `separator` line ends.
pub fn sse(events: &[Value], separator: &str) -> String {
    events
        .iter()
        .map(|event| format!("data: {event}{separator}{separator}"))
        .collect()
}

pub async fn collect(stream: ChunkStream) -> Vec<Result<ChatChunk, LlmError>> {
    stream.collect().await
}

/// The only request the server received.
pub async fn sent(server: &MockServer) -> wiremock::Request {
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    requests.remove(0)
}
