//! The Gemini adapter's hot path: serializing a request body and translating a streamed answer.
//!
//! Bench setup builds its fixtures with `unwrap`/`expect`: a broken fixture must stop the bench.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use llm_core::ChatRequest;
use llm_provider_gemini::translate_stream_bytes;
use llm_provider_gemini::wire::GenerateContentRequest;
use serde_json::{Value, json};

fn realistic_request() -> ChatRequest {
    let history: Vec<Value> = (0..6)
        .flat_map(|turn| {
            [
                json!({"role": "user", "content": format!("Question {turn}: how do I rotate a log file without losing lines written during the rotation?")}),
                json!({"role": "assistant", "content": format!("Answer {turn}: use copytruncate or have the writer reopen its file on SIGHUP; both keep every line.")}),
            ]
        })
        .collect();
    let mut messages =
        vec![json!({"role": "system", "content": "You are a concise senior site-reliability engineer."})];
    messages.extend(history);
    messages.push(json!({"role": "user", "content": [
        {"type": "text", "text": "And what does this dashboard show?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/dashboards/latency.png"}}
    ]}));
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "query_metrics", "arguments": "{\"query\":\"histogram_quantile(0.99, rate(http_latency_bucket[5m]))\",\"range\":\"1h\"}"}}]}));
    messages.push(
        json!({"role": "tool", "tool_call_id": "call_1", "content": "{\"p99_ms\": [120, 118, 340, 122]}"}),
    );
    serde_json::from_value(json!({
        "model": "fast",
        "messages": messages,
        "temperature": 0.2,
        "max_completion_tokens": 512,
        "tools": [{"type": "function", "function": {"name": "query_metrics", "description": "Run a PromQL query",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "range": {"type": "string"}},
                "required": ["query"]}}}],
        "tool_choice": "auto",
        "user": "team-a"
    }))
    .expect("the bench request parses")
}

/// ~30 events: a thought, 26 text pieces, a function call and a finishing event with usage, CRLF framed
/// like Google's servers send them.
fn realistic_stream() -> Vec<u8> {
    let words = "Rotating logs safely means the writer must either reopen its file on a signal or the rotator \
                 must copy then truncate; I will check the latency";
    let event = |parts: Value, finish: Option<&str>, usage: Value| {
        let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
        if let Some(finish) = finish {
            candidate["finishReason"] = json!(finish);
        }
        json!({"candidates": [candidate], "usageMetadata": usage, "modelVersion": "gemini-2.5-flash",
            "responseId": "bench-response-1"})
    };
    let running = json!({"promptTokenCount": 412, "totalTokenCount": 412});
    let mut events = vec![event(
        json!([{"text": "Considering log rotation", "thought": true}]),
        None,
        running.clone(),
    )];
    events.extend(
        words
            .split_inclusive(' ')
            .map(|word| event(json!([{"text": word}]), None, running.clone())),
    );
    events.push(event(
        json!([{"functionCall": {"name": "query_metrics", "args": {"query": "rate(http_requests_total[5m])", "range": "1h"}}}]),
        None,
        running,
    ));
    events.push(event(
        json!([]),
        Some("STOP"),
        json!({"promptTokenCount": 412, "candidatesTokenCount": 31, "thoughtsTokenCount": 40, "totalTokenCount": 483}),
    ));
    events
        .iter()
        .map(|event| format!("data: {event}\r\n\r\n"))
        .collect::<String>()
        .into_bytes()
}

fn bench_wire(c: &mut Criterion) {
    let request = realistic_request();
    c.bench_function("gemini/serialize_request_body", |b| {
        b.iter(|| {
            GenerateContentRequest::from_chat(black_box(&request))
                .unwrap()
                .to_vec()
        })
    });

    let stream = realistic_stream();
    let chunks = translate_stream_bytes("gemini-2.5-flash", &stream)
        .expect("the bench stream translates")
        .len();
    let events = stream.windows(6).filter(|window| window == b"data: ").count();
    let mut group = c.benchmark_group("gemini/translate_stream");
    group.throughput(Throughput::Elements(u64::try_from(chunks).unwrap()));
    group.bench_function(format!("{events}_events_{chunks}_chunks"), |b| {
        b.iter(|| translate_stream_bytes(black_box("gemini-2.5-flash"), black_box(&stream)))
    });
    group.finish();
}

criterion_group!(benches, bench_wire);
criterion_main!(benches);
