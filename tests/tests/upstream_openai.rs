//! The gateway in front of an OpenAI-compatible upstream (a local mock server), end to end.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use support::{SseReader, TestServer, client, error_of, post_json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(upstream: &MockServer) -> String {
    format!(
        r#"
[[providers]]
id = "up"
type = "openai_compatible"
base_url = "{}/v1"
api_key = "sk-upstream-secret"

[models.smart]
deployments = [{{ provider = "up", model = "gpt-4o-mini" }}]
"#,
        upstream.uri()
    )
}

async fn upstream() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [{"id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "openai"}]
        })))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn completion_is_forwarded_with_upstream_model_and_unknown_fields() {
    let upstream = upstream().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-upstream-secret"))
        .and(body_partial_json(json!({"model": "gpt-4o-mini", "metadata": {"team": "a"}, "temperature": 0.0})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-up", "object": "chat.completion", "created": 7, "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "from upstream"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
            "system_fingerprint": "fp_1"
        })))
        .expect(1)
        .mount(&upstream)
        .await;
    let server = TestServer::start(&config(&upstream)).await;
    let body = json!({"model": "smart", "temperature": 0, "metadata": {"team": "a"},
        "messages": [{"role": "user", "content": "hi"}]});
    let response = post_json(&client(), &server.url("/v1/chat/completions"), body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-llm-provider"], "up");
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["id"], "chatcmpl-up");
    assert_eq!(answer["choices"][0]["message"]["content"], "from upstream");
    assert_eq!(answer["system_fingerprint"], "fp_1");
    assert_eq!(answer["usage"]["total_tokens"], 6);
}

#[tokio::test]
async fn bare_model_names_route_by_the_upstream_model_list() {
    let upstream = upstream().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(json!({"model": "gpt-4o-mini"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c", "object": "chat.completion", "created": 7, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]
        })))
        .mount(&upstream)
        .await;
    let server = TestServer::start(&config(&upstream)).await;
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let response = post_json(&client(), &server.url("/llm/complete"), body).await;
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["content"], "ok");
    assert_eq!(answer["provider"], "up");
}

#[tokio::test]
async fn upstream_stream_passes_through_chunk_by_chunk() {
    let upstream = upstream().await;
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        json!({"id": "s1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let frames = [
        chunk(json!({"role": "assistant", "content": ""}), json!(null)),
        chunk(json!({"content": "Hel"}), json!(null)),
        chunk(json!({"content": "lo"}), json!(null)),
        chunk(json!({}), json!("stop")),
        json!({"id": "s1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
            "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}),
    ];
    let mut sse = String::new();
    for frame in &frames {
        sse.push_str(&format!("data: {frame}\n\n"));
    }
    sse.push_str("data: [DONE]\n\n");
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(sse),
        )
        .mount(&upstream)
        .await;
    let server = TestServer::start(&config(&upstream)).await;
    let body = json!({"model": "up/gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "hi"}]});
    let events = SseReader::new(post_json(&client(), &server.url("/v1/chat/completions"), body).await)
        .collect()
        .await;
    assert_eq!(events.len(), frames.len() + 1);
    for (event, frame) in events.iter().zip(&frames) {
        assert_eq!(&event.json(), frame);
    }
    assert_eq!(events.last().unwrap().data, "[DONE]");
}

#[tokio::test]
async fn upstream_429_stays_429_with_retry_after() {
    let upstream = upstream().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "7")
                .set_body_json(
                    json!({"error": {"message": "Rate limit reached for requests", "type": "requests",
                    "param": null, "code": "rate_limit_exceeded"}}),
                ),
        )
        .mount(&upstream)
        .await;
    let server = TestServer::start(&config(&upstream)).await;
    let body = json!({"model": "smart", "messages": [{"role": "user", "content": "hi"}]});
    let response = post_json(&client(), &server.url("/v1/chat/completions"), body).await;
    assert_eq!(response.headers()["retry-after"], "7");
    let (code, _, _) = error_of(response, 429).await;
    assert_eq!(code, "rate_limit_exceeded");
}

#[tokio::test]
async fn upstream_auth_failure_never_echoes_key_material() {
    let upstream = upstream().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "message": "Incorrect API key provided: sk-upstr*****cret.", "type": "invalid_request_error",
            "param": null, "code": "invalid_api_key"}})))
        .mount(&upstream)
        .await;
    let server = TestServer::start(&config(&upstream)).await;
    let body = json!({"model": "smart", "messages": [{"role": "user", "content": "hi"}]});
    let response = post_json(&client(), &server.url("/v1/chat/completions"), body).await;
    let (code, _, body) = error_of(response, 401).await;
    assert_eq!(code, "authentication");
    assert!(!body.to_string().contains("sk-upstr"), "{body}");
    assert!(!server.all_logs().contains("sk-upstream-secret"));
}
