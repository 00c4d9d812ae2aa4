//! The OpenAI adapter's hot path: serializing a request body and parsing a streamed answer.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llm_core::sse::SseParser;
use llm_core::{ChatChunk, ChatRequest};
use llm_provider_openai::wire::{ChatCompletionBody, StreamData, parse_stream_data};
use serde_json::json;

fn realistic_request() -> ChatRequest {
    let history: Vec<_> = (0..6)
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
        {"type": "image_url", "image_url": {"url": "https://example.com/dashboards/latency.png", "detail": "low"}}
    ]}));
    serde_json::from_value(json!({
        "model": "fast",
        "messages": messages,
        "temperature": 0.2,
        "max_completion_tokens": 512,
        "tools": [{"type": "function", "function": {"name": "query_metrics", "description": "Run a PromQL query",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}, "range": {"type": "string"}},
                "required": ["query"]}}}],
        "tool_choice": "auto",
        "user": "team-a",
        "metadata": {"ticket": "OPS-1234"}
    }))
    .unwrap_or_default()
}

fn parse_stream(bytes: &[u8]) -> Vec<ChatChunk> {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    // Network reads arrive in pieces; 1 KiB is a typical TLS record payload.
    for piece in bytes.chunks(1024) {
        if parser.push(piece, &mut events).is_err() {
            return Vec::new();
        }
    }
    events
        .iter()
        .filter_map(|event| match parse_stream_data(&event.data) {
            StreamData::Chunk(chunk) => Some(*chunk),
            _ => None,
        })
        .collect()
}

fn bench_wire(c: &mut Criterion) {
    let request = realistic_request();
    c.bench_function("openai/serialize_request_body", |b| {
        b.iter(|| ChatCompletionBody::new(black_box("gpt-4o-mini"), black_box(&request), true).to_vec())
    });

    let stream = llm_provider_http::testing::realistic_openai_stream();
    assert_eq!(parse_stream(&stream).len(), 22, "the bench stream must parse");
    c.bench_function("openai/parse_sse_stream_22_chunks", |b| {
        b.iter(|| parse_stream(black_box(&stream)))
    });
}

criterion_group!(benches, bench_wire);
criterion_main!(benches);
