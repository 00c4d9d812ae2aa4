use super::*;
use llm_core::ErrorKind;
use serde_json::json;

fn canonical(body: Value) -> ChatRequest {
    serde_json::from_value(body).unwrap()
}

fn body(request: &ChatRequest) -> Value {
    serde_json::to_value(messages_body("claude-x", request, 1000, false).unwrap()).unwrap()
}

#[test]
fn tool_choice_and_parallel_calls_map_to_anthropic_choices() {
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    let cases = [
        (json!("auto"), None, json!({"type": "auto"})),
        (json!("none"), None, json!({"type": "none"})),
        (json!("required"), None, json!({"type": "any"})),
        (
            json!({"type": "function", "function": {"name": "f"}}),
            Some(false),
            json!({"type": "tool", "name": "f", "disable_parallel_tool_use": true}),
        ),
        (
            Value::Null,
            Some(false),
            json!({"type": "auto", "disable_parallel_tool_use": true}),
        ),
        (json!("none"), Some(false), json!({"type": "none"})),
    ];
    for (choice, parallel, expected) in cases {
        let mut request = canonical(json!({"model": "m", "messages": [], "tools": tools}));
        request.tool_choice = (!choice.is_null()).then(|| choice.clone());
        request.parallel_tool_calls = parallel;
        assert_eq!(body(&request)["tool_choice"], expected, "{choice} {parallel:?}");
        assert_eq!(
            body(&request)["tools"],
            json!([{"name": "f", "input_schema": {"type": "object", "properties": {}}}])
        );
    }
    let request = canonical(json!({"model": "m", "messages": [], "tools": tools}));
    assert!(body(&request).get("tool_choice").is_none());
    // Without tools Anthropic refuses a tool_choice: none is sent.
    let request = canonical(json!({"model": "m", "messages": [], "tool_choice": "required"}));
    assert!(body(&request).get("tool_choice").is_none());
    let request =
        canonical(json!({"model": "m", "messages": [], "tools": tools, "tool_choice": "sometimes"}));
    let error = messages_body("m", &request, 1, false).unwrap_err();
    assert_eq!(error.param(), Some("tool_choice"));
}

#[test]
fn bad_arguments_images_and_tool_messages_name_their_param() {
    let call = |arguments: &str| {
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}]})
    };
    let cases = [
        (call("{\"a\":"), "messages[1].tool_calls[0].function.arguments"),
        (call("[1]"), "messages[1].tool_calls[0].function.arguments"),
        (
            json!({"role": "user", "content": [{"type": "text", "text": "x"},
                {"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}}]}),
            "messages[1].content[1].image_url.url",
        ),
        (
            json!({"role": "tool", "content": "42"}),
            "messages[1].tool_call_id",
        ),
    ];
    for (message, param) in cases {
        let request =
            canonical(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}, message]}));
        let error = messages_body("m", &request, 1, false).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        assert_eq!(error.param(), Some(param));
    }
    let request = canonical(json!({"model": "m", "messages": [], "n": 2}));
    assert_eq!(
        messages_body("m", &request, 1, false).unwrap_err().param(),
        Some("n")
    );
    let request = canonical(json!({"model": "m", "messages": [], "top_k": "many"}));
    assert_eq!(
        messages_body("m", &request, 1, false).unwrap_err().param(),
        Some("top_k")
    );
}

#[test]
fn empty_arguments_mean_an_empty_input_and_empty_texts_are_dropped() {
    let request = canonical(json!({"model": "m", "messages": [
        {"role": "user", "content": ""},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}]},
        {"role": "assistant", "content": null}
    ]}));
    assert_eq!(
        body(&request)["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "c", "name": "f", "input": {}}]}
        ])
    );
}

#[test]
fn only_anthropic_extras_are_forwarded() {
    let request = canonical(
        json!({"model": "m", "messages": [], "top_k": 5, "logit_bias": {"1": 2},
        "metadata": {"team": "a"}, "thinking": {"type": "enabled", "budget_tokens": 1024},
        "max_completion_tokens": 77, "max_tokens": 9, "user": "u-1", "stop": "END"}),
    );
    let body = body(&request);
    assert_eq!(
        body,
        json!({"model": "claude-x", "messages": [], "max_tokens": 77, "top_k": 5, "stop_sequences": ["END"],
            "metadata": {"user_id": "u-1"}, "thinking": {"type": "enabled", "budget_tokens": 1024}})
    );
}

#[test]
fn response_joins_text_turns_tool_use_into_calls_and_drops_thinking() {
    let message = parse_response(
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "text", "text": "Let me "},
                {"type": "text", "text": "check."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}, "caller": {"type": "direct"}},
                {"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 20, "service_tier": "standard"}})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let response = chat_response(message);
    let out = serde_json::to_value(&response).unwrap();
    assert_eq!(out["choices"][0]["message"]["content"], json!("Let me check."));
    assert_eq!(
        out["choices"][0]["message"]["tool_calls"],
        json!([{"id": "toolu_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}])
    );
    assert_eq!(out["choices"][0]["finish_reason"], json!("tool_calls"));
    assert_eq!(
        out["usage"],
        json!({"prompt_tokens": 130, "completion_tokens": 5, "total_tokens": 135,
            "prompt_tokens_details": {"cached_tokens": 100, "cache_creation_tokens": 20}})
    );
    assert_eq!(response.id, "msg_1");
    assert_eq!(response.object, "chat.completion");
}

#[test]
fn every_stop_reason_has_a_finish_reason() {
    let cases = [
        ("end_turn", FinishReason::Stop),
        ("stop_sequence", FinishReason::Stop),
        ("pause_turn", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("model_context_window_exceeded", FinishReason::Length),
        ("tool_use", FinishReason::ToolCalls),
        ("refusal", FinishReason::ContentFilter),
        ("a_reason_from_the_future", FinishReason::Stop),
    ];
    for (wire, expected) in cases {
        let reason: StopReason = serde_json::from_value(json!(wire)).unwrap();
        assert_eq!(finish_reason(reason), expected, "{wire}");
    }
}

#[test]
fn models_and_error_bodies_parse() {
    let models = parse_models(
        br#"{"data": [{"type": "model", "id": "claude-a", "display_name": "Claude A", "created_at": "2025-01-01T00:00:00Z"}],
            "has_more": false, "first_id": "claude-a", "last_id": "claude-a"}"#,
    )
    .unwrap();
    assert_eq!(models.len(), 1);
    assert_eq!(models[0].id, "claude-a");
    let envelope =
        parse_error_body(br#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#).unwrap();
    assert_eq!(envelope.error.kind, "api_error");
    assert!(parse_error_body(b"<html>").is_none());
}

#[test]
fn tool_results_lead_their_merged_user_turn() {
    let request = canonical(json!({"model": "m", "messages": [
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "user", "content": "by the way"},
        {"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "done"}]}
    ]}));
    assert_eq!(
        body(&request)["messages"][1],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "c", "content": [{"type": "text", "text": "done"}]},
            {"type": "text", "text": "by the way"}
        ]})
    );
}
