//! `complete` and `models` against a wiremock upstream answering in Anthropic's shape.

use llm_core::{ChatRequest, ErrorKind, FinishReason, Provider, Role, Usage};
use llm_provider_anthropic::AnthropicProvider;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{
    BETA, KEY, message, mount_json, request, sent_body, sent_request, server_and_provider, settings,
};

#[tokio::test]
async fn plain_text_answer_with_headers_and_body() {
    let (server, provider) = server_and_provider().await;
    let answer = message(
        json!([{"type": "text", "text": "Oslo."}]),
        "end_turn",
        json!({"input_tokens": 21, "output_tokens": 3}),
    );
    mount_json(&server, 200, answer).await;

    let response = provider.complete("claude-test", &request()).await.unwrap();

    assert_eq!(response.first_text(), "Oslo.");
    assert_eq!(response.first_finish_reason(), Some(FinishReason::Stop));
    assert_eq!(response.id, "msg_test_1");
    assert_eq!(response.model, "claude-test-20250101");
    assert_eq!(response.choices[0].message.role, Role::Assistant);
    assert_eq!(response.choices[0].message.tool_calls, None);
    assert_eq!(response.usage, Some(Usage::new(21, 3)));

    let sent = sent_request(&server).await;
    let header = |name: &str| {
        sent.headers
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    assert_eq!(header("x-api-key").as_deref(), Some(KEY));
    assert_eq!(header("anthropic-version").as_deref(), Some("2023-06-01"));
    assert_eq!(header("anthropic-beta").as_deref(), Some(BETA));
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(header("authorization"), None);
    assert_eq!(
        serde_json::from_slice::<Value>(&sent.body).unwrap(),
        json!({"model": "claude-test", "system": "You answer tersely.", "max_tokens": 4096, "temperature": 0.2,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Capital of Norway?"}]}]})
    );
}

/// Everything a multi-turn, multi-part, tool-using OpenAI conversation holds.
fn conversation() -> ChatRequest {
    serde_json::from_value(json!({
        "model": "client-alias",
        "messages": [
            {"role": "system", "content": "Be exact."},
            {"role": "user", "content": [
                {"type": "text", "text": "Where was this taken, and what is the weather?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}}
            ]},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/2.jpg"}}]},
            {"role": "developer", "content": [{"type": "text", "text": "Prefer metric units."}]},
            {"role": "assistant", "content": "Checking both.", "tool_calls": [
                {"id": "toolu_w", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
                {"id": "toolu_t", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "toolu_w", "content": "12 C, rain"},
            {"role": "tool", "tool_call_id": "toolu_t", "content": "14:05"},
            {"role": "user", "content": "And tomorrow?"}
        ],
        "top_p": 0.8,
        "stop": ["\n\nHuman:", "END"],
        "user": "user-42",
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
            {"type": "function", "function": {"name": "get_time"}}
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "response_format": {"type": "text"},
        "seed": 7
    }))
    .unwrap()
}

#[tokio::test]
async fn multi_part_conversation_body_is_exactly_anthropic_shaped() {
    let server = MockServer::start().await;
    let mut settings = settings(server.uri());
    settings.default_max_tokens = 1234;
    let provider = AnthropicProvider::new(settings).unwrap();
    mount_json(
        &server,
        200,
        message(
            json!([{"type": "text", "text": "Rain again."}]),
            "end_turn",
            json!({"input_tokens": 1, "output_tokens": 1}),
        ),
    )
    .await;

    provider.complete("claude-test", &conversation()).await.unwrap();

    assert_eq!(
        sent_body(&server).await,
        json!({
            "model": "claude-test",
            "system": "Be exact.\n\nPrefer metric units.",
            "max_tokens": 1234,
            "top_p": 0.8,
            "stop_sequences": ["\n\nHuman:", "END"],
            "metadata": {"user_id": "user-42"},
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Where was this taken, and what is the weather?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/2.jpg"}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Checking both."},
                    {"type": "tool_use", "id": "toolu_w", "name": "get_weather", "input": {"city": "Oslo"}},
                    {"type": "tool_use", "id": "toolu_t", "name": "get_time", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_w", "content": "12 C, rain"},
                    {"type": "tool_result", "tool_use_id": "toolu_t", "content": "14:05"},
                    {"type": "text", "text": "And tomorrow?"}
                ]}
            ],
            "tools": [
                {"name": "get_weather", "description": "Weather now",
                    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}
            ],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": true}
        })
    );
}

#[tokio::test]
async fn invalid_tool_call_arguments_are_refused_before_sending() {
    let (server, provider) = server_and_provider().await;
    let mut conversation = conversation();
    conversation.messages[4].tool_calls.as_mut().unwrap()[1]
        .function
        .arguments = "{\"x\":".to_owned();

    let error = provider.complete("claude-test", &conversation).await.unwrap_err();

    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        error.param(),
        Some("messages[4].tool_calls[1].function.arguments")
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn one_and_two_tool_calls_become_tool_calls_in_order() {
    for count in [1, 2] {
        let (server, provider) = server_and_provider().await;
        let mut content = vec![
            json!({"type": "text", "text": "Let me check."}),
            json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                "input": {"location": "Oslo, NO", "units": ["c"]}}),
        ];
        if count == 2 {
            content.push(json!({"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}}));
        }
        let usage = json!({"input_tokens": 600, "output_tokens": 70});
        mount_json(&server, 200, message(Value::Array(content), "tool_use", usage)).await;

        let response = provider.complete("claude-test", &request()).await.unwrap();

        assert_eq!(response.first_finish_reason(), Some(FinishReason::ToolCalls));
        assert_eq!(response.first_text(), "Let me check.");
        let calls = serde_json::to_value(response.choices[0].message.tool_calls.as_ref().unwrap()).unwrap();
        let mut expected = vec![
            json!({"id": "toolu_1", "type": "function", "function": {"name": "get_weather",
            "arguments": "{\"location\":\"Oslo, NO\",\"units\":[\"c\"]}"}}),
        ];
        if count == 2 {
            expected.push(json!({"id": "toolu_2", "type": "function",
                "function": {"name": "get_time", "arguments": "{}"}}));
        }
        assert_eq!(calls, Value::Array(expected));
    }
}

#[tokio::test]
async fn tool_use_only_answer_has_null_content() {
    let (server, provider) = server_and_provider().await;
    let content = json!([{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]);
    mount_json(
        &server,
        200,
        message(
            content,
            "tool_use",
            json!({"input_tokens": 1, "output_tokens": 1}),
        ),
    )
    .await;

    let response = provider.complete("claude-test", &request()).await.unwrap();

    let out = serde_json::to_value(&response).unwrap();
    assert_eq!(out["choices"][0]["message"]["content"], Value::Null);
}

#[tokio::test]
async fn every_stop_reason_maps_to_a_finish_reason() {
    let (server, provider) = server_and_provider().await;
    let table = [
        ("end_turn", FinishReason::Stop),
        ("stop_sequence", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("tool_use", FinishReason::ToolCalls),
        ("refusal", FinishReason::ContentFilter),
        ("pause_turn", FinishReason::Stop),
        ("model_context_window_exceeded", FinishReason::Length),
    ];
    for (stop_reason, expected) in table {
        server.reset().await;
        let usage = json!({"input_tokens": 5, "output_tokens": 5});
        mount_json(
            &server,
            200,
            message(json!([{"type": "text", "text": "x"}]), stop_reason, usage),
        )
        .await;
        let response = provider.complete("claude-test", &request()).await.unwrap();
        assert_eq!(response.first_finish_reason(), Some(expected), "{stop_reason}");
    }
}

#[tokio::test]
async fn cache_tokens_count_as_prompt_tokens_and_are_itemised() {
    let (server, provider) = server_and_provider().await;
    let usage = json!({"input_tokens": 12, "output_tokens": 40, "cache_read_input_tokens": 3000,
        "cache_creation_input_tokens": 500, "cache_creation": {"ephemeral_5m_input_tokens": 500},
        "service_tier": "standard"});
    mount_json(
        &server,
        200,
        message(json!([{"type": "text", "text": "ok"}]), "end_turn", usage),
    )
    .await;

    let response = provider.complete("claude-test", &request()).await.unwrap();

    assert_eq!(
        serde_json::to_value(response.usage.unwrap()).unwrap(),
        json!({"prompt_tokens": 3512, "completion_tokens": 40, "total_tokens": 3552,
            "prompt_tokens_details": {"cached_tokens": 3000, "cache_creation_tokens": 500}})
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_message_is_a_protocol_error() {
    let (server, provider) = server_and_provider().await;
    mount_json(&server, 200, json!({"hello": "world"})).await;

    let error = provider.complete("claude-test", &request()).await.unwrap_err();

    assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
    assert!(error.retryable());
}

#[tokio::test]
async fn models_are_listed_and_health_uses_them() {
    let (server, provider) = server_and_provider().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(query_param("limit", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                {"type": "model", "id": "claude-opus-test", "display_name": "Claude Opus Test", "created_at": "2025-05-14T00:00:00Z"},
                {"type": "model", "id": "claude-haiku-test", "display_name": "Claude Haiku Test", "created_at": "2024-10-22T00:00:00Z"}
            ],
            "has_more": false, "first_id": "claude-opus-test", "last_id": "claude-haiku-test"
        })))
        .mount(&server)
        .await;

    let models = provider.models().await.unwrap();
    let ids: Vec<_> = models.iter().map(|model| model.id.as_str()).collect();
    assert_eq!(ids, ["claude-opus-test", "claude-haiku-test"]);
    assert_eq!(models[0].owned_by.as_deref(), Some("anthropic"));
    assert!(provider.health().await.healthy);
    assert_eq!(provider.kind(), "anthropic");
    assert_eq!(provider.id().as_str(), "claude");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].headers.get("x-api-key").unwrap(), KEY);
}
