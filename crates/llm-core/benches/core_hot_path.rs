//! Hot path of the canonical types: (de)serializing requests, responses and chunks, and SSE parsing.

// Benchmarks abort loudly on setup failure: a fixture that does not parse is a broken bench.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use llm_core::sse::{SseEvent, SseParser};
use llm_core::{ChatChunk, ChatRequest, ChatResponse};

/// A realistic agent turn: system, user, assistant tool call, tool result, follow-up user message,
/// two tools, a handful of parameters and two fields the gateway does not model.
const REQUEST_JSON: &str = r#"{
  "model": "openai/gpt-4o-mini",
  "messages": [
    {"role": "system", "content": "You are a concise senior site-reliability engineer. Answer with commands first, then one sentence of explanation. Never invent metric names; query them."},
    {"role": "user", "content": "The checkout service p99 latency doubled after the 14:00 deploy. What changed, and is the database involved?"},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_9f2a1c", "type": "function", "function": {"name": "query_metrics", "arguments": "{\"query\":\"histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{service=\\\"checkout\\\"}[5m])) by (le))\",\"range\":\"2h\"}"}},
      {"id": "call_7be04d", "type": "function", "function": {"name": "list_deploys", "arguments": "{\"service\":\"checkout\",\"since\":\"2025-10-09T12:00:00Z\"}"}}
    ]},
    {"role": "tool", "tool_call_id": "call_9f2a1c", "content": "{\"series\":[{\"t\":\"13:55\",\"v\":0.412},{\"t\":\"14:05\",\"v\":0.871},{\"t\":\"14:15\",\"v\":0.903}]}"},
    {"role": "tool", "tool_call_id": "call_7be04d", "content": "[{\"version\":\"v2.31.0\",\"at\":\"14:02\",\"author\":\"ci\",\"changes\":[\"bump orm to 5.2\",\"enable eager loading for carts\"]}]"},
    {"role": "user", "content": "Can you check the database connection pool saturation too?"}
  ],
  "tools": [
    {"type": "function", "function": {"name": "query_metrics", "description": "Run a PromQL query over a time range and return the series.",
      "parameters": {"type": "object", "properties": {"query": {"type": "string", "description": "PromQL expression"}, "range": {"type": "string", "description": "Lookback such as 1h or 30m"}}, "required": ["query"], "additionalProperties": false}, "strict": true}},
    {"type": "function", "function": {"name": "list_deploys", "description": "List deployments of a service since a timestamp.",
      "parameters": {"type": "object", "properties": {"service": {"type": "string"}, "since": {"type": "string", "format": "date-time"}}, "required": ["service"], "additionalProperties": false}, "strict": true}}
  ],
  "tool_choice": "auto",
  "parallel_tool_calls": true,
  "temperature": 0.2,
  "top_p": 0.95,
  "max_completion_tokens": 1024,
  "seed": 42,
  "stop": ["\n\nUser:"],
  "user": "team-payments",
  "metadata": {"ticket": "OPS-4312", "env": "prod"},
  "logit_bias": {"50256": -100}
}"#;

/// A tool-call answer with usage details and an unmodelled field.
const RESPONSE_JSON: &str = r#"{
  "id": "chatcmpl-AB12cd34EF56gh78", "object": "chat.completion", "created": 1760000000,
  "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_0ba0d124f1", "service_tier": "default",
  "choices": [
    {"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null, "refusal": null,
      "tool_calls": [{"id": "call_c41d0e", "type": "function", "function": {"name": "query_metrics",
        "arguments": "{\"query\":\"max(db_pool_in_use{service=\\\"checkout\\\"}) / max(db_pool_size{service=\\\"checkout\\\"})\",\"range\":\"2h\"}"}}]}}
  ],
  "usage": {"prompt_tokens": 612, "completion_tokens": 48, "total_tokens": 660,
    "prompt_tokens_details": {"cached_tokens": 512, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
}"#;

/// A typical text delta as OpenAI streams it.
const CHUNK_JSON: &str = r#"{"id":"chatcmpl-AB12cd34EF56gh78","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":" the connection pool"},"logprobs":null,"finish_reason":null}]}"#;

/// 30 OpenAI-style SSE events: a role chunk, 27 text deltas, a finish chunk and a usage chunk, then
/// `[DONE]`.
fn sse_stream() -> Vec<u8> {
    let head = r#"{"id":"chatcmpl-AB12cd34EF56gh78","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":"#;
    let words = "The pool saturates at fourteen oh five because eager loading for carts now opens one connection per line item instead of one per request so check the orm upgrade first";
    let mut body = String::new();
    let mut event = |choices: &str, tail: &str| {
        body.push_str("data: ");
        body.push_str(head);
        body.push_str(choices);
        body.push_str(tail);
        body.push_str("}\n\n");
    };
    event(
        r#"[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]"#,
        "",
    );
    for (at, word) in words.split(' ').take(27).enumerate() {
        let text = if at == 0 {
            word.to_owned()
        } else {
            format!(" {word}")
        };
        event(
            &format!(
                r#"[{{"index":0,"delta":{{"content":"{text}"}},"logprobs":null,"finish_reason":null}}]"#
            ),
            "",
        );
    }
    event(
        r#"[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]"#,
        "",
    );
    event(
        "[]",
        r#","usage":{"prompt_tokens":612,"completion_tokens":27,"total_tokens":639}"#,
    );
    body.push_str("data: [DONE]\n\n");
    body.into_bytes()
}

/// Feeds `bytes` in network-sized pieces and returns the events.
fn parse_sse(bytes: &[u8], piece: usize) -> Vec<SseEvent> {
    let mut parser = SseParser::default();
    let mut events = Vec::with_capacity(32);
    for chunk in bytes.chunks(piece) {
        if parser.push(chunk, &mut events).is_err() {
            return Vec::new();
        }
    }
    events
}

fn bench_request(c: &mut Criterion) {
    let request: ChatRequest = serde_json::from_str(REQUEST_JSON).unwrap();
    assert_eq!(request.messages.len(), 6);
    assert_eq!(request.extra.len(), 2, "metadata and logit_bias are kept");
    let serialized = serde_json::to_vec(&request).unwrap();

    let mut group = c.benchmark_group("core/request");
    group.throughput(Throughput::Bytes(REQUEST_JSON.len() as u64));
    group.bench_function("deserialize", |b| {
        b.iter(|| serde_json::from_str::<ChatRequest>(black_box(REQUEST_JSON)))
    });
    group.throughput(Throughput::Bytes(serialized.len() as u64));
    group.bench_function("serialize", |b| {
        b.iter(|| serde_json::to_vec(black_box(&request)))
    });
    group.finish();
}

fn bench_response(c: &mut Criterion) {
    let response: ChatResponse = serde_json::from_str(RESPONSE_JSON).unwrap();
    assert_eq!(response.extra.len(), 1, "service_tier is kept");
    let serialized = serde_json::to_vec(&response).unwrap();

    let mut group = c.benchmark_group("core/response");
    group.throughput(Throughput::Bytes(RESPONSE_JSON.len() as u64));
    group.bench_function("deserialize", |b| {
        b.iter(|| serde_json::from_str::<ChatResponse>(black_box(RESPONSE_JSON)))
    });
    group.throughput(Throughput::Bytes(serialized.len() as u64));
    group.bench_function("serialize", |b| {
        b.iter(|| serde_json::to_vec(black_box(&response)))
    });
    group.finish();
}

fn bench_chunk(c: &mut Criterion) {
    let chunk: ChatChunk = serde_json::from_str(CHUNK_JSON).unwrap();
    assert_eq!(chunk.text_delta(), Some(" the connection pool"));
    let serialized = serde_json::to_vec(&chunk).unwrap();

    let mut group = c.benchmark_group("core/chunk");
    group.throughput(Throughput::Bytes(CHUNK_JSON.len() as u64));
    group.bench_function("deserialize", |b| {
        b.iter(|| serde_json::from_str::<ChatChunk>(black_box(CHUNK_JSON)))
    });
    group.throughput(Throughput::Bytes(serialized.len() as u64));
    group.bench_function("serialize", |b| b.iter(|| serde_json::to_vec(black_box(&chunk))));
    group.finish();
}

fn bench_sse(c: &mut Criterion) {
    let stream = sse_stream();
    let events = parse_sse(&stream, 64);
    assert_eq!(events.len(), 31, "30 chunks and [DONE]");
    for event in &events[..30] {
        serde_json::from_str::<ChatChunk>(&event.data).unwrap();
    }

    let mut group = c.benchmark_group("core/sse");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("parse_30_events_64b_pieces", |b| {
        b.iter(|| parse_sse(black_box(&stream), 64))
    });
    // The whole provider-side decode: frames, then each frame's JSON into a canonical chunk.
    group.bench_function("parse_and_decode_30_chunks_64b_pieces", |b| {
        b.iter(|| {
            parse_sse(black_box(&stream), 64)
                .iter()
                .filter_map(|event| serde_json::from_str::<ChatChunk>(&event.data).ok())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_request, bench_response, bench_chunk, bench_sse);
criterion_main!(benches);
