//! The exact body, URL and headers Gemini receives for a full conversation.

use llm_core::{ChatRequest, Provider};
use serde_json::{Value, json};

use crate::common::{
    GENERATE_PATH, KEY, MODEL, STREAM_PATH, answer, collect, mount_json, mount_sse, sent,
    server_and_provider, sse,
};

fn conversation() -> ChatRequest {
    serde_json::from_value(json!({
        "model": "client-alias",
        "messages": [
            {"role": "system", "content": "You control the lights."},
            {"role": "user", "content": [
                {"type": "text", "text": "Match the lights to this photo."},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg==", "detail": "low"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_x1", "type": "function", "function": {"name": "set_light_color", "arguments": "{\"rgb_hex\":\"ffaa00\"}"}},
                {"id": "call_x2", "type": "function", "function": {"name": "enable_lights", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_x2", "content": "Lights are on."},
            {"role": "tool", "tool_call_id": "call_x1", "content": "{\"ok\": true}"},
            {"role": "assistant", "content": "Done: warm orange."},
            {"role": "user", "content": "Dimmer, please."}
        ],
        "temperature": 0.7,
        "top_p": 0.95,
        "max_completion_tokens": 256,
        "stop": "STOP-HERE",
        "seed": 42,
        "n": 1,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.25,
        "stream": true,
        "stream_options": {"include_usage": true},
        "user": "team-a",
        "tools": [
            {"type": "function", "function": {"name": "set_light_color", "description": "Set the color.",
                "parameters": {"type": "object", "properties": {"rgb_hex": {"type": "string"}}, "required": ["rgb_hex"]}}},
            {"type": "function", "function": {"name": "enable_lights", "description": "Turn the lights on."}}
        ],
        "tool_choice": "auto",
        "response_format": {"type": "json_schema", "json_schema": {"name": "reply", "strict": true,
            "schema": {"type": "object", "properties": {"done": {"type": "boolean"}}, "additionalProperties": false}}},
        "metadata": {"ticket": "T-1"}
    }))
    .unwrap()
}

fn expected_body() -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": "You control the lights."}]},
        "contents": [
            {"role": "user", "parts": [
                {"text": "Match the lights to this photo."},
                {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}}
            ]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "set_light_color", "args": {"rgb_hex": "ffaa00"}}},
                {"functionCall": {"name": "enable_lights", "args": {}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "enable_lights", "response": {"result": "Lights are on."}}},
                {"functionResponse": {"name": "set_light_color", "response": {"result": {"ok": true}}}}
            ]},
            {"role": "model", "parts": [{"text": "Done: warm orange."}]},
            {"role": "user", "parts": [{"text": "Dimmer, please."}]}
        ],
        "tools": [{"functionDeclarations": [
            {"name": "set_light_color", "description": "Set the color.", "parametersJsonSchema":
                {"type": "object", "properties": {"rgb_hex": {"type": "string"}}, "required": ["rgb_hex"]}},
            {"name": "enable_lights", "description": "Turn the lights on."}
        ]}],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {
            "temperature": 0.7,
            "topP": 0.95,
            "maxOutputTokens": 256,
            "stopSequences": ["STOP-HERE"],
            "candidateCount": 1,
            "seed": 42,
            "presencePenalty": 0.5,
            "frequencyPenalty": 0.25,
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object", "properties": {"done": {"type": "boolean"}},
                "additionalProperties": false}
        }
    })
}

#[tokio::test]
async fn complete_sends_the_whole_conversation_in_gemini_shape() {
    let (server, provider) = server_and_provider().await;
    mount_json(
        &server,
        GENERATE_PATH,
        200,
        answer(json!([{"text": "{\"done\":true}"}]), Some("STOP"), None),
    )
    .await;

    provider.complete(MODEL, &conversation()).await.unwrap();

    let request = sent(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), GENERATE_PATH);
    assert_eq!(request.url.query(), None);
    assert_eq!(request.headers.get("x-goog-api-key").unwrap(), KEY);
    assert_eq!(request.headers.get("accept").unwrap(), "application/json");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, expected_body());
}

#[tokio::test]
async fn stream_sends_the_same_body_to_the_sse_endpoint() {
    let (server, provider) = server_and_provider().await;
    mount_sse(
        &server,
        sse(&[answer(json!([{"text": "ok"}]), Some("STOP"), None)], "\r\n"),
    )
    .await;

    let items = collect(provider.stream(MODEL, &conversation()).await.unwrap()).await;
    assert!(items.iter().all(Result::is_ok));

    let request = sent(&server).await;
    assert_eq!(request.url.path(), STREAM_PATH);
    assert_eq!(request.url.query(), Some("alt=sse"));
    assert_eq!(request.headers.get("x-goog-api-key").unwrap(), KEY);
    assert_eq!(request.headers.get("accept").unwrap(), "text/event-stream");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, expected_body());
}

#[tokio::test]
async fn an_unanswerable_request_is_refused_before_sending() {
    let (server, provider) = server_and_provider().await;
    let mut request = conversation();
    request.messages[2].tool_calls.as_mut().unwrap()[0]
        .function
        .arguments = "{\"rgb_hex\":".into();

    let error = provider.complete(MODEL, &request).await.unwrap_err();

    assert_eq!(error.kind(), llm_core::ErrorKind::InvalidRequest);
    assert_eq!(
        error.param(),
        Some("messages[2].tool_calls[0].function.arguments")
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
