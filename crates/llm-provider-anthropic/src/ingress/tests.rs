use llm_core::{ChatChunk, ChatResponse, Delta, FunctionCallDelta, ToolCallDelta, Usage};
use serde_json::json;

use super::*;

fn anthropic_request() -> Value {
    json!({
        "model": "claude-sonnet",
        "max_tokens": 300,
        "system": [{"type": "text", "text": "Be exact."}, {"type": "text", "text": "Use tools."}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Weather where this photo was taken?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/AAA="}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/b.png"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Looks like Oslo.", "signature": "s1"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "toolu_b", "name": "get_time", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "12 C"},
                {"type": "tool_result", "tool_use_id": "toolu_b", "content": [{"type": "text", "text": "noon"}], "is_error": false},
                {"type": "text", "text": "Thanks"}
            ]},
            {"role": "assistant", "content": "You are welcome."}
        ],
        "temperature": 0.5, "top_p": 0.9, "top_k": 40, "stop_sequences": ["###"], "stream": true,
        "tools": [{"name": "get_weather", "description": "Weather by city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "metadata": {"user_id": "user-7"},
        "service_tier": "auto"
    })
}

#[test]
fn anthropic_request_becomes_the_canonical_request() {
    let request: MessagesRequest = serde_json::from_value(anthropic_request()).unwrap();
    assert!(request.is_stream());
    let canonical = serde_json::to_value(request.into_chat_request().unwrap()).unwrap();
    assert_eq!(
        canonical,
        json!({
            "model": "claude-sonnet",
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "Be exact."}, {"type": "text", "text": "Use tools."}]},
                {"role": "user", "content": [
                    {"type": "text", "text": "Weather where this photo was taken?"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/AAA="}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/b.png"}}
                ]},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "toolu_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
                    {"id": "toolu_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
                ]},
                {"role": "tool", "content": "12 C", "tool_call_id": "toolu_a"},
                {"role": "tool", "content": [{"type": "text", "text": "noon"}], "tool_call_id": "toolu_b"},
                {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
                {"role": "assistant", "content": "You are welcome."}
            ],
            "temperature": 0.5, "top_p": 0.9, "max_tokens": 300, "stop": ["###"], "user": "user-7",
            "stream": true, "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "tool_choice": "required", "parallel_tool_calls": false,
            "top_k": 40, "service_tier": "auto"
        })
    );
}

#[test]
fn a_canonical_request_from_the_ingress_goes_back_to_anthropic_unchanged() {
    let mut original = anthropic_request();
    let request: MessagesRequest = serde_json::from_value(original.clone()).unwrap();
    let canonical = request.into_chat_request().unwrap();
    let upstream = crate::wire::messages_body("claude-sonnet", &canonical, 1, true).unwrap();
    let upstream = serde_json::to_value(upstream).unwrap();
    // What the canonical shape cannot hold: thinking, is_error, system as blocks, single-string turns.
    original["messages"][1]["content"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    original["messages"][2]["content"][1]
        .as_object_mut()
        .unwrap()
        .remove("is_error");
    original["system"] = json!("Be exact.\nUse tools.");
    original["messages"][3]["content"] = json!([{"type": "text", "text": "You are welcome."}]);
    assert_eq!(upstream, original);
}

#[test]
fn misplaced_blocks_are_invalid_requests_naming_the_block() {
    let cases = [
        (
            json!([{"role": "user", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]}]),
            "messages[0].content[0]",
        ),
        (
            json!([{"role": "user", "content": "hi"}, {"role": "assistant", "content": [
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]}]),
            "messages[1].content[0]",
        ),
        (
            json!([{"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]),
            "messages[0].content[0]",
        ),
        (
            json!([{"role": "user", "content": [{"type": "document", "source": {}}]}]),
            "messages[0].content[0]",
        ),
    ];
    for (messages, param) in cases {
        let request: MessagesRequest =
            serde_json::from_value(json!({"model": "m", "max_tokens": 5, "messages": messages})).unwrap();
        let error = request.into_chat_request().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        assert_eq!(error.param(), Some(param));
    }
    let request: MessagesRequest =
        serde_json::from_value(json!({"model": "m", "messages": [], "tool_choice": {"type": "tool"}}))
            .unwrap();
    assert_eq!(
        request.into_chat_request().unwrap_err().param(),
        Some("tool_choice.name")
    );
    let bad_role = json!({"model": "m", "messages": [{"role": "system", "content": "x"}]});
    assert!(serde_json::from_value::<MessagesRequest>(bad_role).is_err());
}

#[test]
fn missing_max_tokens_and_plain_strings_are_accepted() {
    let request: MessagesRequest = serde_json::from_value(
        json!({"model": "m", "system": "terse", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    assert!(!request.is_stream());
    let canonical = request.into_chat_request().unwrap();
    assert_eq!(canonical.max_tokens, None);
    assert_eq!(canonical.stream_options, None);
    assert_eq!(
        serde_json::to_value(&canonical.messages).unwrap(),
        json!([{"role": "system", "content": "terse"}, {"role": "user", "content": "hi"}])
    );
}

fn canonical_response() -> ChatResponse {
    serde_json::from_value(json!({
        "id": "chatcmpl-9", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
            "content": "Let me look.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "not json"}}
            ]}}],
        "usage": {"prompt_tokens": 130, "completion_tokens": 9, "total_tokens": 139,
            "prompt_tokens_details": {"cached_tokens": 100}}
    }))
    .unwrap()
}

#[test]
fn canonical_response_becomes_an_anthropic_message() {
    let message = serde_json::to_value(messages_response(&canonical_response())).unwrap();
    assert_eq!(
        message,
        json!({
            "id": "chatcmpl-9", "type": "message", "role": "assistant", "model": "gpt-4o",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 30, "output_tokens": 9, "cache_read_input_tokens": 100}
        })
    );
    let mut plain = canonical_response();
    plain.choices[0].message.tool_calls = None;
    plain.choices[0].finish_reason = Some(FinishReason::Length);
    plain.usage = None;
    let message = serde_json::to_value(messages_response(&plain)).unwrap();
    assert_eq!(message["stop_reason"], json!("max_tokens"));
    assert_eq!(message["usage"], json!({"input_tokens": 0, "output_tokens": 0}));
}

fn chunk(delta: Delta, finish: Option<FinishReason>) -> ChatChunk {
    ChatChunk::with_delta("chatcmpl-s", "gpt-4o", 1, delta, finish)
}

fn names_and_data(events: Vec<StreamEvent>) -> Vec<(String, Value)> {
    events
        .into_iter()
        .map(|event| {
            assert_eq!(event.data["type"], json!(event.name));
            (event.name.to_owned(), event.data)
        })
        .collect()
}

fn start_event() -> (String, Value) {
    (
        "message_start".to_owned(),
        json!({"type": "message_start", "message": {"id": "chatcmpl-s", "type": "message", "role": "assistant",
            "model": "gpt-4o", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0}}}),
    )
}

#[test]
fn text_stream_encodes_as_one_text_block() {
    let mut encoder = MessagesStreamEncoder::new();
    let mut events = Vec::new();
    let role = Delta {
        role: Some(llm_core::Role::Assistant),
        content: Some(String::new()),
        ..Delta::default()
    };
    events.extend(encoder.push(&chunk(role, None)));
    events.extend(encoder.push(&chunk(Delta::text("Hel"), None)));
    events.extend(encoder.push(&chunk(Delta::text("lo"), None)));
    events.extend(encoder.push(&chunk(Delta::default(), Some(FinishReason::Stop))));
    events.extend(encoder.push(&ChatChunk::usage_only(
        "chatcmpl-s",
        "gpt-4o",
        1,
        Usage::new(12, 2),
    )));
    events.extend(encoder.finish());
    assert!(encoder.finish().is_empty());
    let text_delta = |text: &str| {
        (
            "content_block_delta".to_owned(),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        )
    };
    assert_eq!(
        names_and_data(events),
        vec![
            start_event(),
            (
                "content_block_start".to_owned(),
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
            ),
            text_delta("Hel"),
            text_delta("lo"),
            (
                "content_block_stop".to_owned(),
                json!({"type": "content_block_stop", "index": 0})
            ),
            (
                "message_delta".to_owned(),
                json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                    "usage": {"input_tokens": 12, "output_tokens": 2}})
            ),
            ("message_stop".to_owned(), json!({"type": "message_stop"})),
        ]
    );
}

fn call(index: u32, head: Option<(&str, &str)>, arguments: &str) -> ChatChunk {
    let delta = Delta {
        tool_calls: Some(vec![ToolCallDelta {
            index,
            id: head.map(|(id, _)| id.to_owned()),
            kind: head.map(|_| "function".to_owned()),
            function: Some(FunctionCallDelta {
                name: head.map(|(_, name)| name.to_owned()),
                arguments: Some(arguments.to_owned()),
            }),
        }]),
        ..Delta::default()
    };
    chunk(delta, None)
}

#[test]
fn two_tool_calls_encode_as_two_tool_use_blocks() {
    let mut encoder = MessagesStreamEncoder::new();
    let mut events = Vec::new();
    for chunk in [
        chunk(Delta::text("On it."), None),
        call(0, Some(("call_a", "get_weather")), ""),
        call(0, None, "{\"city\":"),
        call(0, None, "\"Oslo\"}"),
        call(1, Some(("call_b", "get_time")), "{}"),
        chunk(Delta::default(), Some(FinishReason::ToolCalls)),
    ] {
        events.extend(encoder.push(&chunk));
    }
    let mut usage = Usage::new(50, 20);
    usage.prompt_tokens_details = Some(json!({"cached_tokens": 30, "cache_creation_tokens": 5}));
    events.extend(encoder.push(&ChatChunk::usage_only("chatcmpl-s", "gpt-4o", 1, usage)));
    events.extend(encoder.finish());
    let json_delta = |index: u32, partial: &str| {
        (
            "content_block_delta".to_owned(),
            json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": partial}}),
        )
    };
    let tool_start = |index: u32, id: &str, name: &str| {
        (
            "content_block_start".to_owned(),
            json!({"type": "content_block_start", "index": index,
                "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
        )
    };
    let stop = |index: u32| {
        (
            "content_block_stop".to_owned(),
            json!({"type": "content_block_stop", "index": index}),
        )
    };
    assert_eq!(
        names_and_data(events),
        vec![
            start_event(),
            (
                "content_block_start".to_owned(),
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
            ),
            (
                "content_block_delta".to_owned(),
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "On it."}})
            ),
            stop(0),
            tool_start(1, "call_a", "get_weather"),
            json_delta(1, "{\"city\":"),
            json_delta(1, "\"Oslo\"}"),
            stop(1),
            tool_start(2, "call_b", "get_time"),
            json_delta(2, "{}"),
            stop(2),
            (
                "message_delta".to_owned(),
                json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                    "usage": {"input_tokens": 15, "output_tokens": 20,
                        "cache_creation_input_tokens": 5, "cache_read_input_tokens": 30}})
            ),
            ("message_stop".to_owned(), json!({"type": "message_stop"})),
        ]
    );
}

#[test]
fn reasons_kinds_and_error_events() {
    let reasons = [
        (FinishReason::Stop, "end_turn"),
        (FinishReason::Length, "max_tokens"),
        (FinishReason::ToolCalls, "tool_use"),
        (FinishReason::FunctionCall, "tool_use"),
        (FinishReason::ContentFilter, "refusal"),
    ];
    for (reason, expected) in reasons {
        assert_eq!(stop_reason(reason), expected);
    }
    let types: Vec<_> = ErrorKind::ALL.into_iter().map(error_type).collect();
    assert_eq!(
        types,
        [
            "invalid_request_error",
            "authentication_error",
            "permission_error",
            "not_found_error",
            "invalid_request_error",
            "invalid_request_error",
            "rate_limit_error",
            "billing_error",
            "overloaded_error",
            "timeout_error",
            "api_error",
            "api_error",
        ]
    );
    let error = LlmError::new(ErrorKind::ProviderUnavailable, "every deployment failed");
    assert_eq!(
        StreamEvent::error(&error).to_sse(),
        "event: error\ndata: {\"error\":{\"message\":\"every deployment failed\",\"type\":\"overloaded_error\"},\"type\":\"error\"}\n\n"
    );
    assert_eq!(
        serde_json::to_value(error_body(&error)).unwrap(),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "every deployment failed"}})
    );
}
