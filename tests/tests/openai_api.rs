//! The OpenAI-compatible API, end to end: `/v1/chat/completions` (streamed and not) and `/v1/models`.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use support::{SseReader, TestServer, client, error_of, post_json};

const CONFIG: &str = r#"
[[providers]]
id = "mock"
type = "mock"
chunks = 3

[[providers]]
id = "broken"
type = "mock"
chunks = 4
failure = { kind = "provider_unavailable", after_chunks = 2 }

[[providers]]
id = "limited"
type = "mock"
failure = { kind = "rate_limit_exceeded" }

[models.fast]
deployments = [{ provider = "mock", model = "echo" }]
"#;

fn chat(model: &str, text: &str) -> serde_json::Value {
    json!({"model": model, "messages": [{"role": "system", "content": "be kind"}, {"role": "user", "content": text}]})
}

#[tokio::test]
async fn non_streaming_completion_has_openai_shape_and_gateway_headers() {
    let server = TestServer::start(CONFIG).await;
    let response = client()
        .post(server.url("/v1/chat/completions"))
        .header("x-request-id", "req-123")
        .json(&chat("fast", "hello brave world"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["x-request-id"], "req-123");
    assert_eq!(headers["x-llm-provider"], "mock");
    assert!(
        headers["x-llm-overhead-ms"]
            .to_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            >= 0.0
    );
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "echo");
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(body["created"].as_u64().unwrap() > 0);
    assert_eq!(body["choices"][0]["index"], 0);
    assert_eq!(
        body["choices"][0]["message"],
        json!({"role": "assistant", "content": "hello brave world"})
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})
    );
}

#[tokio::test]
async fn request_ids_are_generated_when_absent() {
    let server = TestServer::start(CONFIG).await;
    let response = post_json(
        &client(),
        &server.url("/v1/chat/completions"),
        chat("mock/echo", "x"),
    )
    .await;
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[tokio::test]
async fn streaming_with_usage_sends_every_chunk_then_usage_then_done() {
    let server = TestServer::start(CONFIG).await;
    let mut body = chat("mock/echo", "abcdef");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let response = post_json(&client(), &server.url("/v1/chat/completions"), body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["x-llm-provider"], "mock");
    let events = SseReader::new(response).collect().await;
    assert_eq!(events.len(), 7, "{events:?}");
    assert!(events.iter().all(|event| event.event.is_none()));
    let chunks: Vec<_> = events[..6].iter().map(|event| event.json()).collect();
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["id"], chunks[0]["id"]);
        assert_eq!(chunk["model"], "echo");
    }
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let pieces: Vec<_> = chunks[1..4]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].clone())
        .collect();
    assert_eq!(pieces, [json!("ab"), json!("cd"), json!("ef")]);
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[4]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[5]["choices"], json!([]));
    assert_eq!(
        chunks[5]["usage"],
        json!({"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4})
    );
    assert!(chunks[..5].iter().all(|c| c.get("usage").is_none()));
    assert_eq!(events[6].data, "[DONE]");
}

#[tokio::test]
async fn streaming_without_usage_hides_the_usage_chunk() {
    let server = TestServer::start(CONFIG).await;
    let mut body = chat("mock/echo", "abc");
    body["stream"] = json!(true);
    let events = SseReader::new(post_json(&client(), &server.url("/v1/chat/completions"), body).await)
        .collect()
        .await;
    assert_eq!(events.last().unwrap().data, "[DONE]");
    assert_eq!(events.len(), 6, "role, 3 pieces, finish, [DONE]: {events:?}");
    assert!(events.iter().all(|event| !event.data.contains("usage")));
}

#[tokio::test]
async fn a_failure_mid_stream_is_an_error_event_and_never_done() {
    let server = TestServer::start(CONFIG).await;
    let mut body = chat("broken/echo", "abcdefgh");
    body["stream"] = json!(true);
    let response = post_json(&client(), &server.url("/v1/chat/completions"), body).await;
    assert_eq!(response.status(), 200);
    let events = SseReader::new(response).collect().await;
    assert_eq!(events.len(), 4, "role, 2 pieces, error: {events:?}");
    let error = events[3].json();
    assert_eq!(error["error"]["code"], "provider_unavailable");
    assert_eq!(error["error"]["type"], "server_error");
    assert!(events.iter().all(|event| event.data != "[DONE]"));
}

#[tokio::test]
async fn provider_errors_before_the_answer_keep_their_status() {
    let server = TestServer::start(CONFIG).await;
    let client = client();
    let response = post_json(
        &client,
        &server.url("/v1/chat/completions"),
        chat("limited/echo", "x"),
    )
    .await;
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["x-llm-provider"], "limited");
    let (code, _, body) = error_of(response, 429).await;
    assert_eq!(code, "rate_limit_exceeded");
    assert_eq!(body["error"]["type"], "rate_limit_error");

    let mut streamed = chat("limited/echo", "x");
    streamed["stream"] = json!(true);
    let response = post_json(&client, &server.url("/v1/chat/completions"), streamed).await;
    assert_eq!(error_of(response, 429).await.0, "rate_limit_exceeded");
}

#[tokio::test]
async fn bad_requests_get_openai_errors_with_the_right_status() {
    let server = TestServer::start(CONFIG).await;
    let client = client();
    let url = server.url("/v1/chat/completions");

    let malformed = client.post(&url).body("{\"model\": ").send().await.unwrap();
    assert_eq!(error_of(malformed, 400).await.0, "invalid_request");

    let empty = client.post(&url).send().await.unwrap();
    assert_eq!(error_of(empty, 400).await.1.as_deref(), Some("body"));

    let bad_role = post_json(
        &client,
        &url,
        json!({"model": "fast", "messages": [{"role": "wizard", "content": "x"}]}),
    )
    .await;
    assert_eq!(
        error_of(bad_role, 400).await.1.as_deref(),
        Some("messages[0].role")
    );

    let no_messages = post_json(&client, &url, json!({"model": "fast", "messages": []})).await;
    assert_eq!(error_of(no_messages, 400).await.1.as_deref(), Some("messages"));

    let unknown_model = post_json(&client, &url, chat("no-such-model", "x")).await;
    let (code, param, _) = error_of(unknown_model, 404).await;
    assert_eq!((code.as_str(), param.as_deref()), ("not_found", Some("model")));

    let wrong_method = client.get(&url).send().await.unwrap();
    assert_eq!(error_of(wrong_method, 405).await.0, "method_not_allowed");

    let nowhere = client.get(server.url("/v1/nowhere")).send().await.unwrap();
    assert_eq!(error_of(nowhere, 404).await.0, "unknown_url");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_and_the_limit_comes_from_the_environment() {
    let server = TestServer::launch(support::Launch {
        config: CONFIG,
        env: vec![("LLM__SERVER__MAX_BODY_BYTES", "2048".to_owned())],
        ..Default::default()
    })
    .await;
    let client = client();
    let url = server.url("/v1/chat/completions");
    let big = chat("fast", &"x".repeat(4096));
    let (code, _, _) = error_of(post_json(&client, &url, big).await, 413).await;
    assert_eq!(code, "request_too_large");
    let small = post_json(&client, &url, chat("fast", "fits")).await;
    assert_eq!(small.status(), 200);
}

#[tokio::test]
async fn models_lists_aliases_and_provider_models() {
    let server = TestServer::start(CONFIG).await;
    let response = client().get(server.url("/v1/models")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["object"], "list");
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fast", "mock/echo", "broken/echo", "limited/echo"]);
    assert_eq!(body["data"][1]["object"], "model");
    assert_eq!(body["data"][1]["owned_by"], "mock");
}
