//! The Anthropic adapter's hot paths: an upstream SSE stream translated into canonical chunks, and
//! canonical chunks encoded as Anthropic stream events for `POST /v1/messages` clients.

// A bench is a test harness: a fixture that fails to build should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use llm_core::{ChatChunk, Delta, FunctionCallDelta, Role, ToolCallDelta, Usage};
use llm_provider_anthropic::ingress::MessagesStreamEncoder;
use llm_provider_anthropic::stream::translate_sse;
use serde_json::{Value, json};

const WORDS: [&str; 24] = [
    "Rotating",
    " logs",
    " safely",
    " means",
    " the",
    " writer",
    " must",
    " either",
    " reopen",
    " its",
    " file",
    " or",
    " the",
    " rotator",
    " must",
    " copy",
    " then",
    " truncate",
    ";",
    " let",
    " me",
    " check",
    " yours",
    ".",
];

/// 40 events: start, a text block of 24 deltas, a tool_use block of 6 fragments, pings, the end.
fn realistic_stream() -> Vec<u8> {
    let mut events: Vec<Value> = vec![
        json!({"type": "message_start", "message": {"id": "msg_bench", "type": "message", "role": "assistant",
            "model": "claude-bench-20250101", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 412, "output_tokens": 1, "cache_read_input_tokens": 2048,
                "cache_creation_input_tokens": 0}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "ping"}),
    ];
    events.extend(WORDS.iter().map(|word| {
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}})
    }));
    events.push(json!({"type": "content_block_stop", "index": 0}));
    events.push(json!({"type": "ping"}));
    events.push(json!({"type": "content_block_start", "index": 1,
        "content_block": {"type": "tool_use", "id": "toolu_bench", "name": "query_metrics", "input": {}}}));
    for fragment in [
        "",
        "{\"query\": \"rate(",
        "log_lines_total",
        "[5m])\", ",
        "\"range\": ",
        "\"1h\"}",
    ] {
        events.push(json!({"type": "content_block_delta", "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": fragment}}));
    }
    events.push(json!({"type": "content_block_stop", "index": 1}));
    events.push(json!({"type": "ping"}));
    events.push(
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
        "usage": {"output_tokens": 64}}),
    );
    events.push(json!({"type": "message_stop"}));
    assert_eq!(events.len(), 40);
    events
        .iter()
        .map(|event| format!("event: {}\ndata: {event}\n\n", event["type"].as_str().unwrap()))
        .collect::<String>()
        .into_bytes()
}

/// The canonical chunks of a similar answer as another provider streams them.
fn canonical_chunks() -> Vec<ChatChunk> {
    let chunk =
        |delta: Delta| ChatChunk::with_delta("chatcmpl-bench", "gpt-4o-mini", 1_760_000_000, delta, None);
    let role = Delta {
        role: Some(Role::Assistant),
        content: Some(String::new()),
        ..Delta::default()
    };
    let mut chunks = vec![chunk(role)];
    let more = [" Your", " rotation", " config", " is", " below", ":"];
    chunks.extend(WORDS.iter().chain(&more).map(|word| chunk(Delta::text(*word))));
    let fragments = [
        "",
        "{\"query\": \"rate(",
        "log_lines_total",
        "[5m])\", ",
        "\"range\": ",
        "\"1h\"}",
    ];
    for (at, fragment) in fragments.iter().enumerate() {
        let head = at == 0;
        chunks.push(chunk(Delta {
            tool_calls: Some(vec![ToolCallDelta {
                index: 0,
                id: head.then(|| "call_bench".to_owned()),
                kind: head.then(|| "function".to_owned()),
                function: Some(FunctionCallDelta {
                    name: head.then(|| "query_metrics".to_owned()),
                    arguments: Some((*fragment).to_owned()),
                }),
            }]),
            ..Delta::default()
        }));
    }
    let mut finish = chunk(Delta::default());
    finish.choices[0].finish_reason = Some(llm_core::FinishReason::ToolCalls);
    chunks.push(finish);
    chunks.push(ChatChunk::usage_only(
        "chatcmpl-bench",
        "gpt-4o-mini",
        1_760_000_000,
        Usage::new(2460, 64),
    ));
    chunks
}

fn encode(chunks: &[ChatChunk]) -> usize {
    let mut encoder = MessagesStreamEncoder::new();
    let mut bytes = 0;
    for chunk in chunks {
        bytes += encoder
            .push(chunk)
            .iter()
            .map(|event| event.to_sse().len())
            .sum::<usize>();
    }
    bytes
        + encoder
            .finish()
            .iter()
            .map(|event| event.to_sse().len())
            .sum::<usize>()
}

fn bench_stream(c: &mut Criterion) {
    let stream = realistic_stream();
    let chunks = translate_sse(&stream, 1_760_000_000).expect("the bench stream must translate");
    assert_eq!(
        chunks.len(),
        33,
        "role, 24 texts, tool head, 5 fragments, finish, usage"
    );
    let mut group = c.benchmark_group("anthropic");
    group.throughput(Throughput::Elements(chunks.len() as u64));
    group.bench_function("translate_sse_40_events", |b| {
        b.iter(|| translate_sse(black_box(&stream), 1_760_000_000))
    });

    let canonical = canonical_chunks();
    assert_eq!(canonical.len(), 39);
    assert!(encode(&canonical) > 0);
    group.throughput(Throughput::Elements(canonical.len() as u64));
    group.bench_function("ingress_encode_39_chunks", |b| {
        b.iter(|| encode(black_box(&canonical)))
    });
    group.finish();
}

criterion_group!(benches, bench_stream);
criterion_main!(benches);
