//! Validation over HTTP: payload rules naming their param, image URLs, context limits with counts,
//! and the content filter on input and on answers, complete and streamed.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::{SseReader, TestServer, client, error_of, post_json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn chat(text: &str) -> Value {
    json!({"model": "mock/echo", "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn payload_rules_name_the_param() {
    let server = TestServer::start("[[providers]]\nid = \"mock\"\ntype = \"mock\"\n").await;
    let client = client();
    let url = server.url("/v1/chat/completions");
    let cases = [
        (json!({"temperature": 2.5}), "temperature"),
        (json!({"top_p": 1.5}), "top_p"),
        (json!({"n": 0}), "n"),
        (json!({"max_tokens": 0}), "max_tokens"),
        (json!({"stop": ["a", "b", "c", "d", "e"]}), "stop"),
        (
            json!({"tools": [{"type": "function", "function": {"name": "bad name!"}}]}),
            "tools[0].function.name",
        ),
    ];
    for (extra, param) in cases {
        let mut body = chat("hi");
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (code, got, _) = error_of(post_json(&client, &url, body).await, 400).await;
        assert_eq!((code.as_str(), got.as_deref()), ("invalid_request", Some(param)));
    }
    for image in [
        "file:///etc/passwd",
        "http://example.com/a.png",
        "https://127.0.0.1/a.png",
        "https://169.254.169.254/x",
    ] {
        let body = json!({"model": "mock/echo", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": image}}]}]});
        let (_, param, _) = error_of(post_json(&client, &url, body).await, 400).await;
        assert_eq!(
            param.as_deref(),
            Some("messages[0].content[1].image_url.url"),
            "{image}"
        );
    }
    let fine = json!({"model": "mock/echo", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]});
    assert_eq!(post_json(&client, &url, fine).await.status(), 200);
}

#[tokio::test]
async fn prompts_over_the_context_window_or_limits_are_refused_with_counts() {
    let config = "[validation]\ncontext_windows = { \"echo\" = 40 }\nmax_prompt_tokens = { \"mock/small\" = 10 }\n\
                  [[providers]]\nid = \"mock\"\ntype = \"mock\"\nmodels = [\"echo\", \"small\"]\n";
    let server = TestServer::start(config).await;
    let client = client();
    let url = server.url("/v1/chat/completions");
    let long = "word ".repeat(200);
    let (code, param, body) = error_of(post_json(&client, &url, chat(&long)).await, 400).await;
    assert_eq!(
        (code.as_str(), param.as_deref()),
        ("context_length_exceeded", Some("messages"))
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("40 tokens"),
        "{body}"
    );
    let small = json!({"model": "mock/small", "messages": [{"role": "user", "content": "one two three four five six seven eight nine ten eleven"}]});
    let (code, _, body) = error_of(post_json(&client, &url, small).await, 400).await;
    assert_eq!(code, "context_length_exceeded");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("10"),
        "{body}"
    );
    assert_eq!(post_json(&client, &url, chat("short")).await.status(), 200);
}

const FILTERS: &str = r#"
[[content_filters]]
name = "secrets"
terms = ["project-bluebird"]
action = "block"
output = true

[[content_filters]]
name = "pii"
builtin = ["email"]
action = "redact"
output = true
"#;

#[tokio::test]
async fn the_input_filter_blocks_and_redacts() {
    let server = TestServer::start(&format!(
        "{FILTERS}\n[[providers]]\nid = \"mock\"\ntype = \"mock\"\n"
    ))
    .await;
    let client = client();
    let url = server.url("/v1/chat/completions");
    let (code, _, body) = error_of(
        post_json(&client, &url, chat("tell me about Project-Bluebird")).await,
        400,
    )
    .await;
    assert_eq!(code, "content_filtered");
    assert!(
        !body.to_string().to_lowercase().contains("bluebird"),
        "the matched text is not echoed"
    );
    let answer: Value = post_json(&client, &url, chat("mail alice@example.com now"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"], "mail [REDACTED] now",
        "the provider only saw the redacted text"
    );
}

async fn upstream_saying(pieces: &[&str]) -> MockServer {
    let server = MockServer::start().await;
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut sse = String::new();
    for piece in pieces {
        sse.push_str(&format!(
            "data: {}\n\n",
            chunk(json!({"content": piece}), Value::Null)
        ));
    }
    sse.push_str(&format!(
        "data: {}\n\ndata: [DONE]\n\n",
        chunk(json!({}), json!("stop"))
    ));
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse.into_bytes(), "text/event-stream"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "c", "object": "chat.completion",
            "created": 1, "model": "m", "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": pieces.concat()}}]}),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

async fn filtered_server(upstream: &MockServer) -> TestServer {
    TestServer::start(&format!(
        "{FILTERS}\n[[providers]]\nid = \"up\"\ntype = \"openai_compatible\"\nbase_url = \"{}/v1\"\n",
        upstream.uri()
    ))
    .await
}

fn ask(stream: bool) -> Value {
    json!({"model": "up/m", "stream": stream, "messages": [{"role": "user", "content": "who to contact?"}]})
}

#[tokio::test]
async fn answers_are_redacted_complete_and_streamed() {
    let upstream = upstream_saying(&["Write to bob@exa", "mple.com", " today."]).await;
    let server = filtered_server(&upstream).await;
    let client = client();
    let url = server.url("/v1/chat/completions");
    let answer: Value = post_json(&client, &url, ask(false)).await.json().await.unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "Write to [REDACTED] today."
    );
    let events = SseReader::new(post_json(&client, &url, ask(true)).await)
        .collect()
        .await;
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let text: String = events[..events.len() - 1]
        .iter()
        .filter_map(|event| {
            event.json()["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        text, "Write to [REDACTED] today.",
        "an address split across deltas is still caught"
    );
}

#[tokio::test]
async fn a_blocked_answer_stops_with_a_content_filter_finish() {
    let upstream = upstream_saying(&["The code name is project-", "bluebird", " and more."]).await;
    let server = filtered_server(&upstream).await;
    let client = client();
    let url = server.url("/v1/chat/completions");
    let answer: Value = post_json(&client, &url, ask(false)).await.json().await.unwrap();
    assert_eq!(answer["choices"][0]["finish_reason"], "content_filter");
    assert!(!answer.to_string().to_lowercase().contains("bluebird"));
    let events = SseReader::new(post_json(&client, &url, ask(true)).await)
        .collect()
        .await;
    let all: String = events.iter().map(|event| event.data.clone()).collect();
    assert!(!all.to_lowercase().contains("bluebird"), "{all}");
    let finish = events.iter().rev().find_map(|event| {
        serde_json::from_str::<Value>(&event.data).ok()?["choices"][0]["finish_reason"]
            .as_str()
            .map(str::to_owned)
    });
    assert_eq!(finish.as_deref(), Some("content_filter"));
}
