//! Round trips: the same OpenAI-shaped request through OpenAI, Anthropic and Gemini upstreams (local
//! mock servers speaking each vendor's documented shape) yields the same canonical answer, streamed
//! or not, tool calls and usage included.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::{SseReader, TestServer, client, post_json};
use wiremock::matchers::{body_partial_json, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TEXT: [&str; 2] = ["The capital ", "of Norway is Oslo."];
const TOOLS: [(&str, &str); 2] = [
    ("get_weather", r#"{"city":"Oslo"}"#),
    ("get_time", r#"{"zone":"CET"}"#),
];

/// What one vendor answers, plain and streamed.
struct Answers {
    text: Value,
    tools: Value,
    text_stream: String,
    tools_stream: String,
}

fn sse(frames: &[(Option<&str>, Value)], done: bool) -> String {
    let mut body = String::new();
    for (event, data) in frames {
        if let Some(event) = event {
            body.push_str(&format!("event: {event}\n"));
        }
        body.push_str(&format!("data: {data}\n\n"));
    }
    if done {
        body.push_str("data: [DONE]\n\n");
    }
    body
}

fn openai_answers() -> Answers {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let usage = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x",
        "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}});
    let mut tool_frames = vec![(
        None,
        chunk(json!({"role": "assistant", "content": null}), Value::Null),
    )];
    for (index, (name, arguments)) in TOOLS.iter().enumerate() {
        let (head, tail) = arguments.split_at(5);
        tool_frames.push((
            None,
            chunk(
                json!({"tool_calls": [{"index": index, "id": format!("call_{index}"), "type": "function",
            "function": {"name": name, "arguments": head}}]}),
                Value::Null,
            ),
        ));
        tool_frames.push((
            None,
            chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": tail}}]}),
                Value::Null,
            ),
        ));
    }
    tool_frames.push((None, chunk(json!({}), json!("tool_calls"))));
    tool_frames.push((None, usage.clone()));
    Answers {
        text: json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-x",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT.concat()}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}}),
        tools: json!({"id": "c2", "object": "chat.completion", "created": 1, "model": "gpt-x",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                "tool_calls": TOOLS.iter().enumerate().map(|(i, (name, arguments))| json!({"id": format!("call_{i}"),
                    "type": "function", "function": {"name": name, "arguments": arguments}})).collect::<Vec<_>>()}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}}),
        text_stream: sse(
            &[
                (
                    None,
                    chunk(json!({"role": "assistant", "content": ""}), Value::Null),
                ),
                (None, chunk(json!({"content": TEXT[0]}), Value::Null)),
                (None, chunk(json!({"content": TEXT[1]}), Value::Null)),
                (None, chunk(json!({}), json!("stop"))),
                (None, usage),
            ],
            true,
        ),
        tools_stream: sse(&tool_frames, true),
    }
}

fn anthropic_answers() -> Answers {
    let start = json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
        "model": "claude-x", "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 1}}});
    let end = |reason: &str| {
        [
            (
                Some("message_delta"),
                json!({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": null},
                "usage": {"output_tokens": 7}}),
            ),
            (Some("message_stop"), json!({"type": "message_stop"})),
        ]
    };
    let mut text_frames = vec![
        (Some("message_start"), start.clone()),
        (
            Some("content_block_start"),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (Some("ping"), json!({"type": "ping"})),
    ];
    for piece in TEXT {
        text_frames.push((
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": piece}}),
        ));
    }
    text_frames.push((
        Some("content_block_stop"),
        json!({"type": "content_block_stop", "index": 0}),
    ));
    text_frames.extend(end("end_turn"));
    let mut tool_frames = vec![(Some("message_start"), start)];
    for (index, (name, arguments)) in TOOLS.iter().enumerate() {
        let (head, tail) = arguments.split_at(5);
        tool_frames.push((Some("content_block_start"), json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": format!("toolu_{index}"), "name": name, "input": {}}})));
        for part in ["", head, tail] {
            tool_frames.push((
                Some("content_block_delta"),
                json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": part}}),
            ));
        }
        tool_frames.push((
            Some("content_block_stop"),
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    tool_frames.extend(end("tool_use"));
    let message = |content: Value, reason: &str| {
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x", "content": content,
            "stop_reason": reason, "stop_sequence": null, "usage": {"input_tokens": 12, "output_tokens": 7}})
    };
    Answers {
        text: message(json!([{"type": "text", "text": TEXT.concat()}]), "end_turn"),
        tools: message(
            json!(TOOLS.iter().enumerate().map(|(i, (name, arguments))| json!({"type": "tool_use",
                "id": format!("toolu_{i}"), "name": name, "input": serde_json::from_str::<Value>(arguments).unwrap()}))
                .collect::<Vec<_>>()),
            "tool_use",
        ),
        text_stream: sse(&text_frames, false),
        tools_stream: sse(&tool_frames, false),
    }
}

fn gemini_answers() -> Answers {
    let usage = json!({"promptTokenCount": 12, "candidatesTokenCount": 7, "totalTokenCount": 19});
    let calls: Vec<Value> = TOOLS
        .iter()
        .map(|(name, arguments)| json!({"functionCall": {"name": name, "args": serde_json::from_str::<Value>(arguments).unwrap()}}))
        .collect();
    let response = |parts: Value, finish: Option<&str>, usage: Option<&Value>| {
        let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
        if let Some(finish) = finish {
            candidate["finishReason"] = json!(finish);
        }
        let mut body = json!({"candidates": [candidate], "modelVersion": "gemini-x", "responseId": "r1"});
        if let Some(usage) = usage {
            body["usageMetadata"] = usage.clone();
        }
        body
    };
    Answers {
        text: response(json!([{"text": TEXT.concat()}]), Some("STOP"), Some(&usage)),
        tools: response(json!(calls), Some("STOP"), Some(&usage)),
        text_stream: sse(
            &[
                (None, response(json!([{"text": TEXT[0]}]), None, None)),
                (
                    None,
                    response(json!([{"text": TEXT[1]}]), Some("STOP"), Some(&usage)),
                ),
            ],
            false,
        ),
        tools_stream: sse(
            &[(None, response(json!(calls), Some("STOP"), Some(&usage)))],
            false,
        ),
    }
}

async fn upstreams() -> (MockServer, MockServer, MockServer) {
    let (openai, anthropic, gemini) = (
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
    );
    for (server, answers, plain_path, stream_path, stream_flag) in [
        (
            &openai,
            openai_answers(),
            "/v1/chat/completions",
            "/v1/chat/completions",
            true,
        ),
        (
            &anthropic,
            anthropic_answers(),
            "/v1/messages",
            "/v1/messages",
            true,
        ),
        (
            &gemini,
            gemini_answers(),
            "/v1beta/models/gemini-x:generateContent",
            "/v1beta/models/gemini-x:streamGenerateContent",
            false,
        ),
    ] {
        let is_tools =
            |request: &wiremock::Request| String::from_utf8_lossy(&request.body).contains("get_weather");
        let streamed = move || {
            let builder = Mock::given(method("POST")).and(path(stream_path));
            if stream_flag {
                builder.and(body_partial_json(json!({"stream": true})))
            } else {
                builder
            }
        };
        let sse_response =
            |body: String| ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/event-stream");
        streamed()
            .and(is_tools)
            .respond_with(sse_response(answers.tools_stream))
            .with_priority(1)
            .mount(server)
            .await;
        streamed()
            .respond_with(sse_response(answers.text_stream))
            .with_priority(2)
            .mount(server)
            .await;
        let plain = || Mock::given(method("POST")).and(path(plain_path));
        plain()
            .and(is_tools)
            .respond_with(ResponseTemplate::new(200).set_body_json(answers.tools))
            .with_priority(3)
            .mount(server)
            .await;
        plain()
            .respond_with(ResponseTemplate::new(200).set_body_json(answers.text))
            .with_priority(4)
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("models$"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": [], "models": []})),
            )
            .mount(server)
            .await;
    }
    (openai, anthropic, gemini)
}

fn config(openai: &MockServer, anthropic: &MockServer, gemini: &MockServer) -> String {
    format!(
        r#"
[[providers]]
id = "oai"
type = "openai_compatible"
base_url = "{}/v1"
api_key = "k-openai"

[[providers]]
id = "claude"
type = "anthropic"
base_url = "{}"
api_key = "k-anthropic"

[[providers]]
id = "gem"
type = "gemini"
base_url = "{}"
api_key = "k-gemini"
"#,
        openai.uri(),
        anthropic.uri(),
        gemini.uri()
    )
}

const MODELS: [&str; 3] = ["oai/gpt-x", "claude/claude-x", "gem/gemini-x"];

fn request(model: &str, tools: bool, stream: bool) -> Value {
    let mut body = json!({"model": model, "temperature": 0, "max_tokens": 64,
        "messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "What is the capital of Norway?"}]});
    if tools {
        body["tools"] = json!(
            TOOLS
                .iter()
                .map(|(name, _)| json!({"type": "function", "function": {"name": name,
            "parameters": {"type": "object", "properties": {}}}}))
                .collect::<Vec<_>>()
        );
    }
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// The parts of an answer that must not depend on the provider.
#[derive(Debug, PartialEq)]
struct Canonical {
    content: String,
    tool_calls: Vec<(String, Value)>,
    finish_reason: String,
    usage: Value,
}

fn canonical_of(answer: &Value) -> Canonical {
    let choice = &answer["choices"][0];
    let message = &choice["message"];
    Canonical {
        content: message["content"].as_str().unwrap_or_default().to_owned(),
        tool_calls: message["tool_calls"].as_array().map_or_else(Vec::new, |calls| {
            calls
                .iter()
                .map(|call| {
                    assert_eq!(call["type"], "function");
                    assert!(call["id"].as_str().is_some_and(|id| !id.is_empty()));
                    let arguments =
                        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
                    (call["function"]["name"].as_str().unwrap().to_owned(), arguments)
                })
                .collect()
        }),
        finish_reason: choice["finish_reason"].as_str().unwrap().to_owned(),
        usage: json!({"prompt_tokens": answer["usage"]["prompt_tokens"], "completion_tokens": answer["usage"]["completion_tokens"],
            "total_tokens": answer["usage"]["total_tokens"]}),
    }
}

/// Reassembles a streamed answer the way an OpenAI SDK does, checking the framing on the way.
async fn canonical_of_stream(response: reqwest::Response) -> Canonical {
    assert_eq!(response.status(), 200);
    let events = SseReader::new(response).collect().await;
    assert_eq!(events.last().unwrap().data, "[DONE]", "{events:?}");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|event| event.json())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let usage_chunk = chunks.last().unwrap();
    assert_eq!(
        usage_chunk["choices"],
        json!([]),
        "usage comes last, alone: {usage_chunk}"
    );
    let mut content = String::new();
    let mut calls: Vec<(String, String)> = Vec::new();
    let mut finish_reason = String::new();
    for chunk in &chunks[..chunks.len() - 1] {
        assert!(chunk.get("usage").is_none() || chunk["usage"].is_null());
        let choice = &chunk["choices"][0];
        if let Some(text) = choice["delta"]["content"].as_str() {
            content.push_str(text);
        }
        for call in choice["delta"]["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().unwrap() as usize;
            if index == calls.len() {
                assert!(
                    call["id"].as_str().is_some_and(|id| !id.is_empty()),
                    "a new call carries its id: {call}"
                );
                calls.push((
                    call["function"]["name"].as_str().unwrap().to_owned(),
                    String::new(),
                ));
            }
            assert!(
                index < calls.len(),
                "tool call indices are dense and ordered: {chunks:?}"
            );
            if let Some(arguments) = call["function"]["arguments"].as_str() {
                calls[index].1.push_str(arguments);
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            finish_reason = reason.to_owned();
        }
    }
    Canonical {
        content,
        tool_calls: calls
            .into_iter()
            .map(|(name, arguments)| (name, serde_json::from_str(&arguments).unwrap()))
            .collect(),
        finish_reason,
        usage: usage_chunk["usage"].clone(),
    }
}

fn expected(tools: bool) -> Canonical {
    Canonical {
        content: if tools { String::new() } else { TEXT.concat() },
        tool_calls: if tools {
            TOOLS
                .iter()
                .map(|(name, arguments)| ((*name).to_owned(), serde_json::from_str(arguments).unwrap()))
                .collect()
        } else {
            Vec::new()
        },
        finish_reason: if tools { "tool_calls" } else { "stop" }.to_owned(),
        usage: json!({"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}),
    }
}

#[tokio::test]
async fn every_provider_gives_the_same_canonical_answer() {
    let (openai, anthropic, gemini) = upstreams().await;
    let server = TestServer::start(&config(&openai, &anthropic, &gemini)).await;
    let client = client();
    let url = server.url("/v1/chat/completions");
    for tools in [false, true] {
        for model in MODELS {
            let response = post_json(&client, &url, request(model, tools, false)).await;
            assert_eq!(response.status(), 200, "{model}");
            let answer: Value = response.json().await.unwrap();
            assert_eq!(
                canonical_of(&answer),
                expected(tools),
                "{model} tools={tools}: {answer}"
            );
        }
    }
}

#[tokio::test]
async fn every_provider_streams_the_same_canonical_answer() {
    let (openai, anthropic, gemini) = upstreams().await;
    let server = TestServer::start(&config(&openai, &anthropic, &gemini)).await;
    let client = client();
    let url = server.url("/v1/chat/completions");
    for tools in [false, true] {
        for model in MODELS {
            let streamed =
                canonical_of_stream(post_json(&client, &url, request(model, tools, true)).await).await;
            assert_eq!(streamed, expected(tools), "{model} tools={tools}");
        }
    }
}
