use super::*;
use serde_json::json;

fn body_of(request: Value) -> Result<Value, RequestError> {
    let request: ChatRequest = serde_json::from_value(request).unwrap();
    let body = GenerateContentRequest::from_chat(&request)?;
    Ok(serde_json::from_slice(&body.to_vec().unwrap()).unwrap())
}

#[test]
fn full_conversation_maps_roles_parts_tools_and_config() {
    let body = body_of(json!({
        "model": "client-alias",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.JPG?size=large"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/render"}}
            ]},
            {"role": "developer", "content": "Use metric units."},
            {"role": "assistant", "content": "Let me check.", "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"cat\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "weigh", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "{\"species\":\"cat\"}"},
            {"role": "tool", "tool_call_id": "call_b", "content": "about 4 kg"},
            {"role": "user", "content": "Thanks"}
        ],
        "temperature": 0.5, "top_p": 0.9, "max_tokens": 100, "max_completion_tokens": 200,
        "stop": ["END"], "n": 2, "seed": 7, "presence_penalty": 0.1, "frequency_penalty": 0.2,
        "user": "u-1", "logit_bias": {"1": 5},
        "tools": [{"type": "function", "function": {"name": "lookup", "description": "Search",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "additionalProperties": false}}},
            {"type": "function", "function": {"name": "weigh"}}],
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}}}
    }))
    .unwrap();
    assert_eq!(
        body,
        json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Use metric units."}]},
            "contents": [
                {"role": "user", "parts": [
                    {"text": "What is in this picture?"},
                    {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                    {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.JPG?size=large"}},
                    {"fileData": {"fileUri": "https://example.com/render"}}
                ]},
                {"role": "model", "parts": [
                    {"text": "Let me check."},
                    {"functionCall": {"name": "lookup", "args": {"q": "cat"}}},
                    {"functionCall": {"name": "weigh", "args": {}}}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "lookup", "response": {"result": {"species": "cat"}}}},
                    {"functionResponse": {"name": "weigh", "response": {"result": "about 4 kg"}}},
                    {"text": "Thanks"}
                ]}
            ],
            "tools": [{"functionDeclarations": [
                {"name": "lookup", "description": "Search", "parametersJsonSchema":
                    {"type": "object", "properties": {"q": {"type": "string"}}, "additionalProperties": false}},
                {"name": "weigh"}
            ]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["lookup"]}},
            "generationConfig": {
                "temperature": 0.5, "topP": 0.9, "maxOutputTokens": 200, "stopSequences": ["END"],
                "candidateCount": 2, "seed": 7, "presencePenalty": 0.1, "frequencyPenalty": 0.2,
                "responseMimeType": "application/json", "responseJsonSchema": {"type": "object"}
            }
        })
    );
}

#[test]
fn minimal_request_has_no_optional_sections() {
    let body =
        body_of(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 9}))
            .unwrap();
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": 9}})
    );
    let body = body_of(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})).unwrap();
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    );
}

#[test]
fn tool_choice_modes_and_json_object() {
    let tools = json!([{"type": "function", "function": {"name": "f"}}]);
    for (choice, mode) in [("none", "NONE"), ("auto", "AUTO"), ("required", "ANY")] {
        let body = body_of(
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
            "tools": tools, "tool_choice": choice, "response_format": {"type": "json_object"}}),
        )
        .unwrap();
        assert_eq!(
            body["toolConfig"],
            json!({"functionCallingConfig": {"mode": mode}})
        );
        assert_eq!(
            body["generationConfig"],
            json!({"responseMimeType": "application/json"})
        );
    }
    let text = body_of(
        json!({"model": "m", "messages": [{"role": "user", "content": "x"}],
        "tool_choice": "auto", "response_format": {"type": "text"}}),
    )
    .unwrap();
    assert_eq!(text.get("toolConfig"), None);
    assert_eq!(text.get("generationConfig"), None);
}

#[test]
fn refusals_name_the_parameter() {
    let user = json!({"role": "user", "content": "x"});
    let cases = [
        (
            json!({"model": "m", "messages": [user, {"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}]}),
            "messages[1].tool_calls[0].function.arguments",
        ),
        (
            json!({"model": "m", "messages": [user, {"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}),
            "messages[1].tool_calls[0].function.arguments",
        ),
        (
            json!({"model": "m", "messages": [user, {"role": "tool", "tool_call_id": "nobody", "content": "1"}]}),
            "messages[1].tool_call_id",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}]}]}),
            "messages[0].content[0].image_url.url",
        ),
        (
            json!({"model": "m", "messages": [{"role": "system", "content": [
                {"type": "image_url", "image_url": {"url": "https://e.com/a.png"}}]}, user]}),
            "messages[0].content",
        ),
        (
            json!({"model": "m", "messages": [user], "tool_choice": "sometimes"}),
            "tool_choice",
        ),
        (
            json!({"model": "m", "messages": [user], "tool_choice": "required"}),
            "tool_choice",
        ),
        (
            json!({"model": "m", "messages": [user], "seed": 5_000_000_000_i64}),
            "seed",
        ),
        (
            json!({"model": "m", "messages": [user], "tools": [{"type": "retrieval", "function": {"name": "f"}}]}),
            "tools[0].type",
        ),
    ];
    for (request, param) in cases {
        let error = body_of(request).unwrap_err();
        assert_eq!(error.param, param, "{error}");
    }
}

#[test]
fn tool_result_name_comes_from_the_nearest_earlier_call_or_the_message_name() {
    let body = body_of(json!({"model": "m", "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "old", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": ""},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "new", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
        {"role": "tool", "tool_call_id": "unknown", "name": "named", "content": "true"}
    ]}))
    .unwrap();
    let contents = body["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 5);
    assert_eq!(
        contents[2]["parts"][0]["functionResponse"],
        json!({"name": "old", "response": {"result": ""}})
    );
    assert_eq!(
        contents[4]["parts"],
        json!([{"functionResponse": {"name": "new", "response": {"result": 42}}},
               {"functionResponse": {"name": "named", "response": {"result": true}}}])
    );
}
