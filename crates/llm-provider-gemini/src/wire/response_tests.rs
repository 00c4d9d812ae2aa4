use super::*;
use serde_json::json;

fn response(body: Value) -> Result<ChatResponse, ResponseFault> {
    parse_response(&serde_json::to_vec(&body).unwrap())
        .unwrap()
        .into_chat_response("gemini-requested")
}

#[test]
fn text_answer_with_usage_thoughts_and_cache() {
    let chat = response(json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "thinking about it", "thought": true},
            {"text": "Oslo is "}, {"text": "the capital."}
        ]}, "finishReason": "STOP", "index": 0, "safetyRatings": []}],
        "usageMetadata": {"promptTokenCount": 11, "candidatesTokenCount": 5, "thoughtsTokenCount": 20,
            "cachedContentTokenCount": 4, "totalTokenCount": 36},
        "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"
    }))
    .unwrap();
    assert_eq!(chat.id, "resp-1");
    assert_eq!(chat.model, "gemini-2.5-flash");
    assert_eq!(chat.first_text(), "Oslo is the capital.");
    assert_eq!(chat.first_finish_reason(), Some(FinishReason::Stop));
    let usage = chat.usage.unwrap();
    assert_eq!(
        (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        (11, 25, 36)
    );
    assert_eq!(usage.prompt_tokens_details, Some(json!({"cached_tokens": 4})));
    assert_eq!(
        usage.completion_tokens_details,
        Some(json!({"reasoning_tokens": 20}))
    );
}

#[test]
fn function_calls_become_tool_calls_with_unique_ids() {
    let chat = response(json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "sig"},
        {"functionCall": {"name": "now"}}
    ]}, "finishReason": "STOP"}]}))
    .unwrap();
    assert!(chat.id.starts_with("chatcmpl-"));
    assert_eq!(chat.model, "gemini-requested");
    let choice = &chat.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(choice.message.content, None);
    let calls = choice.message.tool_calls.as_ref().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].function.name, "get_weather");
    assert_eq!(calls[0].function.arguments, r#"{"city":"Oslo"}"#);
    assert_eq!(calls[1].function.arguments, "{}");
    assert!(
        calls
            .iter()
            .all(|call| call.id.starts_with("call_") && call.kind == "function")
    );
    assert_ne!(calls[0].id, calls[1].id);
    let again = response(json!({"candidates": [{"content": {"parts": [
        {"functionCall": {"name": "now", "args": {}}}]}, "finishReason": "STOP"}]}))
    .unwrap();
    assert_ne!(
        again.choices[0].message.tool_calls.as_ref().unwrap()[0].id,
        calls[0].id
    );
}

#[test]
fn every_finish_reason_maps() {
    let table = [
        ("STOP", FinishReason::Stop),
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("BLOCKLIST", FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("SPII", FinishReason::ContentFilter),
        ("IMAGE_SAFETY", FinishReason::ContentFilter),
        ("IMAGE_PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("IMAGE_RECITATION", FinishReason::ContentFilter),
        ("LANGUAGE", FinishReason::Stop),
        ("OTHER", FinishReason::Stop),
        ("MALFORMED_FUNCTION_CALL", FinishReason::Stop),
        ("UNEXPECTED_TOOL_CALL", FinishReason::Stop),
        ("TOO_MANY_TOOL_CALLS", FinishReason::Stop),
        ("NO_IMAGE", FinishReason::Stop),
        ("SOMETHING_NEW", FinishReason::Stop),
    ];
    for (raw, expected) in table {
        assert_eq!(finish_reason(raw, false), expected, "{raw}");
    }
    assert_eq!(finish_reason("MAX_TOKENS", true), FinishReason::Length);
    assert_eq!(finish_reason("SAFETY", true), FinishReason::ContentFilter);
}

#[test]
fn candidates_keep_their_index_and_a_filtered_one_has_empty_content() {
    let chat = response(json!({"candidates": [
        {"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP", "index": 0},
        {"finishReason": "SAFETY", "index": 1}
    ]}))
    .unwrap();
    assert_eq!(chat.choices.len(), 2);
    assert_eq!(chat.choices[1].index, 1);
    assert_eq!(chat.choices[1].message.content.as_deref(), Some(""));
    assert_eq!(chat.choices[1].finish_reason, Some(FinishReason::ContentFilter));
}

#[test]
fn faults_without_an_answer() {
    let blocked = response(json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}));
    assert_eq!(
        blocked.unwrap_err(),
        ResponseFault::PromptBlocked("PROHIBITED_CONTENT".into())
    );
    assert_eq!(response(json!({})).unwrap_err(), ResponseFault::NoCandidates);
    let error = response(json!({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}));
    assert!(matches!(error, Err(ResponseFault::Error(status)) if status.code == Some(503)));
}

#[test]
fn error_bodies_object_or_array() {
    let body = br#"{"error": {"code": 429, "message": "slow", "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "x"}]}}"#;
    let status = parse_error_body(body).unwrap();
    assert_eq!(status.code, Some(429));
    assert_eq!(status.details.len(), 1);
    let listed = parse_error_body(br#"[{"error": {"code": 400, "message": "bad"}}]"#).unwrap();
    assert_eq!(listed.message.as_deref(), Some("bad"));
    assert_eq!(parse_error_body(b"<html>"), None);
}

#[test]
fn model_list_keeps_chat_models_without_prefix() {
    let body = json!({"models": [
        {"name": "models/gemini-2.0-flash", "inputTokenLimit": 1_048_576, "outputTokenLimit": 8192,
            "supportedGenerationMethods": ["generateContent", "countTokens"]},
        {"name": "models/text-embedding-004", "inputTokenLimit": 2048, "supportedGenerationMethods": ["embedContent"]},
        {"name": "models/legacy"}
    ], "nextPageToken": "page-2"});
    let (models, next) = parse_models(&serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(
        models,
        vec![
            ModelInfo {
                id: "gemini-2.0-flash".into(),
                owned_by: None,
                context_window: Some(1_048_576)
            },
            ModelInfo::named("legacy"),
        ]
    );
    assert_eq!(next.as_deref(), Some("page-2"));
    let (_, last) = parse_models(br#"{"models": [], "nextPageToken": ""}"#).unwrap();
    assert_eq!(last, None);
}
