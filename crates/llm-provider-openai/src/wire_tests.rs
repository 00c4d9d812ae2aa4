use super::*;
use llm_core::{FinishReason, Role};
use serde_json::json;

fn request() -> ChatRequest {
    serde_json::from_value(json!({
        "model": "client-alias",
        "messages": [
            {"role": "system", "content": "answer in French"},
            {"role": "user", "content": [
                {"type": "text", "text": "describe"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_9", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":1}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_9", "content": "found", "x_message_note": 1}
        ],
        "temperature": 0.3,
        "max_completion_tokens": 64,
        "stop": ["\n\n"],
        "stream": true,
        "stream_options": {"include_usage": false},
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
        "tool_choice": "required",
        "reasoning_effort": "low",
        "metadata": {"team": "blue"}
    }))
    .unwrap()
}

#[test]
fn complete_body_replaces_model_drops_stream_and_forwards_extras() {
    let request = request();
    let body: Value = serde_json::from_slice(
        &ChatCompletionBody::new("gpt-4o-mini", &request, false)
            .to_vec()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["model"], json!("gpt-4o-mini"));
    assert!(body.get("stream").is_none(), "{body}");
    assert!(body.get("stream_options").is_none(), "{body}");
    assert_eq!(body["reasoning_effort"], json!("low"));
    assert_eq!(body["metadata"], json!({"team": "blue"}));
    assert_eq!(body["messages"][3]["x_message_note"], json!(1));
    assert_eq!(
        body["messages"][1]["content"][1]["image_url"]["url"],
        json!("data:image/png;base64,AAAA")
    );
    assert_eq!(body["messages"][2]["tool_calls"][0]["id"], json!("call_9"));
    assert_eq!(body["stop"], json!(["\n\n"]));
    assert_eq!(body["tool_choice"], json!("required"));
    assert_eq!(body["temperature"], json!(0.3));
    assert_eq!(body["max_completion_tokens"], json!(64));
}

#[test]
fn stream_body_always_asks_for_usage() {
    let request = request();
    let body: Value = serde_json::from_slice(
        &ChatCompletionBody::new("gpt-4o", &request, true)
            .to_vec()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["model"], json!("gpt-4o"));
}

#[test]
fn extra_entries_named_like_modelled_fields_are_not_sent_twice() {
    let mut request = ChatRequest::from_prompt("m", "hi");
    request.extra.insert("stream".into(), json!(true));
    request.extra.insert("model".into(), json!("sneaky"));
    request.extra.insert("logit_bias".into(), json!({"1": 5}));
    let text = String::from_utf8(ChatCompletionBody::new("real", &request, false).to_vec().unwrap()).unwrap();
    assert_eq!(text.matches("\"model\"").count(), 1, "{text}");
    assert!(!text.contains("stream"), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["model"], json!("real"));
    assert_eq!(body["logit_bias"], json!({"1": 5}));
}

#[test]
fn response_keeps_unknown_fields() {
    let body = json!({
        "id": "chatcmpl-x1", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-mini-2024",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Bonjour", "annotations": []},
            "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        "service_tier": "flex"
    });
    let response = parse_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(response.first_text(), "Bonjour");
    assert_eq!(response.choices[0].message.role, Role::Assistant);
    assert_eq!(response.choices[0].message.extra["annotations"], json!([]));
    assert_eq!(response.extra["service_tier"], json!("flex"));
    assert_eq!(response.usage.unwrap().total_tokens, 7);
    assert!(parse_response(b"<html>").is_err());
}

#[test]
fn stream_data_is_classified() {
    assert!(matches!(parse_stream_data("[DONE]"), StreamData::Done));
    assert!(matches!(parse_stream_data(" [DONE] "), StreamData::Done));
    assert!(matches!(parse_stream_data(""), StreamData::Skip));
    let chunk = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"#;
    match parse_stream_data(chunk) {
        StreamData::Chunk(chunk) => assert_eq!(chunk.finish_reason(), Some(FinishReason::Length)),
        other => panic!("{other:?}"),
    }
    match parse_stream_data(
        r#"{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}"#,
    ) {
        StreamData::Error(detail) => {
            assert_eq!(detail.message.as_deref(), Some("overloaded"));
            assert_eq!(detail.kind.as_deref(), Some("server_error"));
            assert_eq!(detail.code, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_stream_data(r#"{"id":"c1","choices":[{"#),
        StreamData::Malformed(_)
    ));
    assert!(matches!(
        parse_stream_data(r#"{"unrelated":true}"#),
        StreamData::Malformed(_)
    ));
}

#[test]
fn error_bodies_of_every_shape() {
    let openai = parse_error_body(br#"{"error":{"message":"bad temp","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}"#).unwrap();
    assert_eq!(openai.param.as_deref(), Some("temperature"));
    assert_eq!(openai.code.as_deref(), Some("invalid_value"));
    let numeric =
        parse_error_body(br#"{"error":{"message":"m","type":"BadRequestError","code":400}}"#).unwrap();
    assert_eq!(numeric.code.as_deref(), Some("400"));
    let text = parse_error_body(br#"{"error":"model not loaded"}"#).unwrap();
    assert_eq!(text.message.as_deref(), Some("model not loaded"));
    let fastapi = parse_error_body(br#"{"detail":"Not Found"}"#).unwrap();
    assert_eq!(fastapi.message.as_deref(), Some("Not Found"));
    assert_eq!(parse_error_body(b"Bad Gateway"), None);
    assert_eq!(parse_error_body(b"{}"), None);
}

#[test]
fn models_list_with_context_windows() {
    let body = json!({"object": "list", "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "system"},
        {"id": "llama-3-8b", "object": "model", "owned_by": "vllm", "max_model_len": 8192}
    ]});
    let models = parse_models(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        models,
        vec![
            ModelInfo {
                id: "gpt-4o-mini".into(),
                owned_by: Some("system".into()),
                context_window: None
            },
            ModelInfo {
                id: "llama-3-8b".into(),
                owned_by: Some("vllm".into()),
                context_window: Some(8192)
            },
        ]
    );
    assert!(parse_models(br#"{"object":"list"}"#).is_err());
}
