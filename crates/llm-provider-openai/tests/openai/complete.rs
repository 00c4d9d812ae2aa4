//! `complete`, `models` and `health` against a wiremock upstream.

use llm_core::{ErrorKind, FinishReason, ModelInfo, Provider};
use llm_provider_openai::{OpenAiProvider, OpenAiSettings};
use serde_json::json;
use wiremock::MockServer;

use crate::common::{CHAT_PATH, KEY, ORG, mount_json, request, sent_body, server_and_provider, settings};

#[tokio::test]
async fn complete_parses_the_answer_and_keeps_unknown_fields() {
    let (server, provider) = server_and_provider().await;
    let answer = json!({
        "id": "chatcmpl-77", "object": "chat.completion", "created": 1_760_000_001, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Oslo.", "refusal": null, "annotations": []},
            "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 21, "completion_tokens": 3, "total_tokens": 24,
            "prompt_tokens_details": {"cached_tokens": 0}},
        "service_tier": "default", "system_fingerprint": "fp_77"
    });
    mount_json(&server, CHAT_PATH, 200, answer).await;

    let response = provider.complete("gpt-4o-mini", &request()).await.unwrap();

    assert_eq!(response.id, "chatcmpl-77");
    assert_eq!(response.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(response.first_text(), "Oslo.");
    assert_eq!(response.first_finish_reason(), Some(FinishReason::Stop));
    let usage = response.usage.unwrap();
    assert_eq!(
        (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        (21, 3, 24)
    );
    assert_eq!(usage.prompt_tokens_details, Some(json!({"cached_tokens": 0})));
    assert_eq!(response.extra["service_tier"], json!("default"));
    assert_eq!(response.system_fingerprint.as_deref(), Some("fp_77"));
    assert_eq!(response.choices[0].message.extra["annotations"], json!([]));
}

#[tokio::test]
async fn complete_sends_the_upstream_model_extras_and_credentials() {
    let (server, provider) = server_and_provider().await;
    mount_json(&server, CHAT_PATH, 200, json!({
        "id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]
    }))
    .await;

    provider.complete("gpt-4o-mini", &request()).await.unwrap();

    assert_eq!(
        sent_body(&server).await,
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You answer tersely."},
                {"role": "user", "content": "Capital of Norway?"}
            ],
            "temperature": 0.2,
            "max_tokens": 50,
            "logit_bias": {"1734": -100},
            "metadata": {"ticket": "T-9"}
        })
    );
    let received = &server.received_requests().await.unwrap()[0];
    let header = |name: &str| {
        received
            .headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    assert_eq!(header("authorization"), Some(format!("Bearer {KEY}")));
    assert_eq!(header("openai-organization").as_deref(), Some(ORG));
    assert_eq!(header("x-team").as_deref(), Some("blue"));
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
}

#[tokio::test]
async fn complete_returns_tool_calls() {
    let (server, provider) = server_and_provider().await;
    mount_json(&server, CHAT_PATH, 200, json!({
        "id": "chatcmpl-tc", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\"}"}},
            {"id": "call_b", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Bergen\"}"}}
        ]}, "logprobs": null, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 60, "completion_tokens": 30, "total_tokens": 90}
    }))
    .await;

    let response = provider.complete("gpt-4o", &request()).await.unwrap();

    assert_eq!(response.first_finish_reason(), Some(FinishReason::ToolCalls));
    assert_eq!(response.choices[0].message.content, None);
    let calls = response.choices[0].message.tool_calls.as_ref().unwrap();
    let summary: Vec<(&str, &str, &str)> = calls
        .iter()
        .map(|call| {
            (
                call.id.as_str(),
                call.function.name.as_str(),
                call.function.arguments.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("call_a", "get_time", "{\"tz\":\"CET\"}"),
            ("call_b", "get_weather", "{\"city\":\"Bergen\"}"),
        ]
    );
}

#[tokio::test]
async fn a_success_status_with_a_broken_body_is_a_protocol_error() {
    let (server, provider) = server_and_provider().await;
    mount_json(&server, CHAT_PATH, 200, json!({"unexpected": true})).await;
    let error = provider.complete("gpt-4o", &request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
    assert!(error.retryable());
}

#[tokio::test]
async fn models_are_listed_and_a_trailing_slash_is_tolerated() {
    let server = MockServer::start().await;
    let provider = OpenAiProvider::new(settings(format!("{}/v1/", server.uri()))).unwrap();
    mount_json(
        &server,
        "/v1/models",
        200,
        json!({"object": "list", "data": [
            {"id": "gpt-4o-mini", "object": "model", "created": 1_721_172_741, "owned_by": "system"},
            {"id": "local-llama", "object": "model", "created": 1, "owned_by": "vllm", "max_model_len": 32768}
        ]}),
    )
    .await;

    let models = provider.models().await.unwrap();

    assert_eq!(
        models,
        vec![
            ModelInfo {
                id: "gpt-4o-mini".into(),
                owned_by: Some("system".into()),
                context_window: None
            },
            ModelInfo {
                id: "local-llama".into(),
                owned_by: Some("vllm".into()),
                context_window: Some(32768)
            },
        ]
    );
    let received = &server.received_requests().await.unwrap()[0];
    assert_eq!(received.url.path(), "/v1/models");
    assert_eq!(
        received.headers.get("authorization").unwrap().to_str().unwrap(),
        format!("Bearer {KEY}")
    );
    assert_eq!(provider.kind(), "openai");
    assert_eq!(provider.id().as_str(), "oai");
}

#[tokio::test]
async fn health_lists_models_and_reports_failures() {
    let (server, provider) = server_and_provider().await;
    mount_json(&server, "/v1/models", 200, json!({"object": "list", "data": []})).await;
    let health = provider.health().await;
    assert!(health.healthy);
    assert!(health.error.is_none());

    let (server, provider) = server_and_provider().await;
    mount_json(
        &server,
        "/v1/models",
        503,
        json!({"error": {"message": "overloaded", "type": "server_error"}}),
    )
    .await;
    let health = provider.health().await;
    assert!(!health.healthy);
    assert_eq!(health.error.unwrap().kind(), ErrorKind::ProviderUnavailable);
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests.iter().all(|request| request.url.path() == "/v1/models"),
        "health must never pay for a completion"
    );
}

#[tokio::test]
async fn no_key_means_no_authorization_header() {
    let server = MockServer::start().await;
    let mut settings = OpenAiSettings::new("local".into(), format!("{}/v1", server.uri()));
    settings.api_key = None;
    let provider = OpenAiProvider::new(settings).unwrap();
    mount_json(&server, "/v1/models", 200, json!({"object": "list", "data": []})).await;
    provider.models().await.unwrap();
    let received = &server.received_requests().await.unwrap()[0];
    assert!(received.headers.get("authorization").is_none());
    assert!(received.headers.get("openai-organization").is_none());
}

#[test]
fn bad_settings_are_refused_without_revealing_the_key() {
    let mut bad_key = OpenAiSettings::new("oai".into(), "https://api.openai.com/v1");
    bad_key.api_key = Some("sk-secret\nvalue".into());
    let error = OpenAiProvider::new(bad_key).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal);
    assert!(!error.to_string().contains("sk-secret"), "{error}");

    for url in ["not a url", "ftp://example.com/v1", ""] {
        let error = OpenAiProvider::new(OpenAiSettings::new("oai".into(), url)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Internal, "{url}");
    }
    let mut bad_header = OpenAiSettings::new("oai".into(), "https://api.openai.com/v1");
    bad_header.extra_headers.push(("bad header".into(), "v".into()));
    assert!(OpenAiProvider::new(bad_header).is_err());
}
