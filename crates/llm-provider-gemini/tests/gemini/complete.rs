//! `complete` and `models` against a wiremock upstream answering in Gemini's shape.

use llm_core::{ErrorKind, ErrorOrigin, FinishReason, ModelInfo, Provider, Role};
use serde_json::json;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use crate::common::{
    GENERATE_PATH, KEY, MODEL, answer, call, mount_json, request, sent, server_and_provider, usage,
};

#[tokio::test]
async fn plain_text_answer_with_usage() {
    let (server, provider) = server_and_provider().await;
    let body = answer(
        json!([{"text": "Cheyenne"}, {"text": " is the capital."}]),
        Some("STOP"),
        Some(
            json!({"promptTokenCount": 9, "candidatesTokenCount": 6, "totalTokenCount": 15,
            "cachedContentTokenCount": 2}),
        ),
    );
    mount_json(&server, GENERATE_PATH, 200, body).await;

    let response = provider.complete(MODEL, &request()).await.unwrap();

    assert_eq!(response.id, "resp-T1");
    assert_eq!(response.object, "chat.completion");
    assert_eq!(response.model, "gemini-2.0-flash-001");
    assert_eq!(response.choices.len(), 1);
    assert_eq!(response.choices[0].message.role, Role::Assistant);
    assert_eq!(response.first_text(), "Cheyenne is the capital.");
    assert_eq!(response.first_finish_reason(), Some(FinishReason::Stop));
    let usage = response.usage.unwrap();
    assert_eq!(
        (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        (9, 6, 15)
    );
    assert_eq!(usage.prompt_tokens_details, Some(json!({"cached_tokens": 2})));

    let request = sent(&server).await;
    assert_eq!(request.headers.get("x-goog-api-key").unwrap(), KEY);
    assert_eq!(
        request.headers.get("x-goog-user-project").unwrap(),
        "blue-project"
    );
    assert_eq!(request.headers.get("content-type").unwrap(), "application/json");
    assert_eq!(request.url.query(), None, "the key must never be in the URL");
}

#[tokio::test]
async fn a_models_prefix_reaches_the_same_endpoint() {
    let (server, provider) = server_and_provider().await;
    mount_json(
        &server,
        GENERATE_PATH,
        200,
        answer(json!([{"text": "ok"}]), Some("STOP"), None),
    )
    .await;

    let response = provider
        .complete("models/gemini-2.0-flash", &request())
        .await
        .unwrap();
    assert_eq!(response.first_text(), "ok");
    assert!(response.usage.is_none());
}

#[tokio::test]
async fn one_and_two_function_calls() {
    for calls in [
        vec![call("get_weather", json!({"city": "Cheyenne", "unit": "C"}))],
        vec![
            call("get_weather", json!({"city": "Cheyenne"})),
            call("get_time", json!({})),
        ],
    ] {
        let (server, provider) = server_and_provider().await;
        let mut parts = vec![json!({"text": "Let me look.", "thought": true})];
        parts.extend(calls.iter().cloned());
        mount_json(
            &server,
            GENERATE_PATH,
            200,
            answer(json!(parts), Some("STOP"), Some(usage(30, 12))),
        )
        .await;

        let response = provider.complete(MODEL, &request()).await.unwrap();

        let choice = &response.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(choice.message.content, None, "thoughts are not content");
        let tool_calls = choice.message.tool_calls.as_ref().unwrap();
        assert_eq!(tool_calls.len(), calls.len());
        for (tool_call, sent_call) in tool_calls.iter().zip(&calls) {
            assert_eq!(tool_call.kind, "function");
            assert!(tool_call.id.starts_with("call_"));
            assert_eq!(json!(tool_call.function.name), sent_call["functionCall"]["name"]);
            let arguments: serde_json::Value = serde_json::from_str(&tool_call.function.arguments).unwrap();
            assert_eq!(arguments, sent_call["functionCall"]["args"]);
        }
        if let [first, second] = tool_calls.as_slice() {
            assert_ne!(first.id, second.id);
        }
    }
}

#[tokio::test]
async fn every_finish_reason_maps() {
    let table = [
        ("STOP", FinishReason::Stop),
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("BLOCKLIST", FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("SPII", FinishReason::ContentFilter),
        ("IMAGE_SAFETY", FinishReason::ContentFilter),
        ("OTHER", FinishReason::Stop),
        ("LANGUAGE", FinishReason::Stop),
        ("MALFORMED_FUNCTION_CALL", FinishReason::Stop),
    ];
    for (raw, expected) in table {
        let (server, provider) = server_and_provider().await;
        mount_json(
            &server,
            GENERATE_PATH,
            200,
            answer(json!([{"text": "Partial"}]), Some(raw), None),
        )
        .await;
        let response = provider.complete(MODEL, &request()).await.unwrap();
        assert_eq!(response.first_finish_reason(), Some(expected), "{raw}");
        assert_eq!(response.first_text(), "Partial", "{raw}");
    }
}

#[tokio::test]
async fn a_blocked_prompt_is_content_filtered() {
    let (server, provider) = server_and_provider().await;
    let blocked = json!({"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "HIGH"}]},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}});
    mount_json(&server, GENERATE_PATH, 200, blocked).await;

    let error = provider.complete(MODEL, &request()).await.unwrap_err();

    assert_eq!(error.kind(), ErrorKind::ContentFiltered);
    assert_eq!(error.message(), "prompt blocked: SAFETY");
    assert_eq!(error.provider().map(|id| id.as_str()), Some("gem"));
    assert!(!error.retryable());
}

#[tokio::test]
async fn a_body_that_is_not_a_response_breaks_the_protocol() {
    let (server, provider) = server_and_provider().await;
    Mock::given(method("POST"))
        .and(path(GENERATE_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"candidates\": [tru"))
        .mount(&server)
        .await;
    let error = provider.complete(MODEL, &request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
    assert!(error.retryable());
}

#[tokio::test]
async fn model_names_that_could_change_the_url_are_refused_before_any_request() {
    let (server, provider) = server_and_provider().await;
    for model in [
        "a/b",
        "models/../x",
        "x?alt=json",
        "x#y",
        "x:countTokens",
        "two words",
        "",
    ] {
        let error = provider.complete(model, &request()).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{model:?}");
        assert_eq!(error.param(), Some("model"));
        assert_eq!(error.origin(), ErrorOrigin::Caller);
        let error = provider.stream(model, &request()).await.err().unwrap();
        assert_eq!(error.param(), Some("model"), "{model:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn models_follow_pages_and_health_uses_them() {
    let (server, provider) = server_and_provider().await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models"))
        .and(query_param_is_missing("pageToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"models": [
            {"name": "models/gemini-2.0-flash", "inputTokenLimit": 1_048_576,
                "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]}
        ], "nextPageToken": "next/page=="})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models"))
        .and(query_param("pageToken", "next/page=="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"models": [
            {"name": "models/gemini-2.5-pro", "inputTokenLimit": 1_048_576,
                "supportedGenerationMethods": ["generateContent"]}
        ]})))
        .mount(&server)
        .await;

    let models = provider.models().await.unwrap();

    let ids: Vec<&str> = models.iter().map(|model| model.id.as_str()).collect();
    assert_eq!(ids, ["gemini-2.0-flash", "gemini-2.5-pro"]);
    assert_eq!(
        models[0],
        ModelInfo {
            id: "gemini-2.0-flash".into(),
            owned_by: None,
            context_window: Some(1_048_576)
        }
    );
    assert!(provider.health().await.healthy);
    assert_eq!(provider.kind(), "gemini");
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|request| request.headers.get("x-goog-api-key").unwrap() == KEY)
    );
    assert!(requests.iter().all(|request| !request.url.as_str().contains(KEY)));
}
