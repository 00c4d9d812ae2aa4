//! SSE encoding of the OpenAI-compatible API: one frame per chunk and a whole 50-chunk body.

// Benchmarks abort loudly on setup failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use llm_api::{encode_openai_chunk, openai_sse};
use llm_core::{
    ChatChunk, ChunkStream, Delta, FinishReason, FunctionCallDelta, LlmError, Role, ToolCallDelta, Usage,
};
use tokio::runtime::Runtime;

const ID: &str = "chatcmpl-AB12cd34EF56gh78";
const MODEL: &str = "gpt-4o-mini-2024-07-18";
const CREATED: u64 = 1_760_000_000;

fn text_chunk(text: &str) -> ChatChunk {
    ChatChunk::with_delta(ID, MODEL, CREATED, Delta::text(text), None)
}

fn tool_call_chunk() -> ChatChunk {
    let delta = Delta {
        tool_calls: Some(vec![ToolCallDelta {
            index: 0,
            id: Some("call_c41d0e".to_owned()),
            kind: Some("function".to_owned()),
            function: Some(FunctionCallDelta {
                name: Some("query_metrics".to_owned()),
                arguments: Some(
                    r#"{"query":"max(db_pool_in_use{service=\"checkout\"})","range":"2h"}"#.to_owned(),
                ),
            }),
        }]),
        ..Delta::default()
    };
    ChatChunk::with_delta(ID, MODEL, CREATED, delta, None)
}

/// A 50-chunk answer: role, 47 text deltas, finish, usage.
fn answer_chunks() -> Vec<ChatChunk> {
    let mut chunks = Vec::with_capacity(50);
    chunks.push(ChatChunk::with_delta(
        ID,
        MODEL,
        CREATED,
        Delta {
            role: Some(Role::Assistant),
            content: Some(String::new()),
            ..Delta::default()
        },
        None,
    ));
    chunks.extend((0..47).map(|at| text_chunk(&format!(" word{at}"))));
    chunks.push(ChatChunk::with_delta(
        ID,
        MODEL,
        CREATED,
        Delta::default(),
        Some(FinishReason::Stop),
    ));
    chunks.push(ChatChunk::usage_only(ID, MODEL, CREATED, Usage::new(612, 47)));
    chunks
}

fn chunk_stream(chunks: &[ChatChunk]) -> ChunkStream {
    let items: Vec<Result<ChatChunk, LlmError>> = chunks.iter().cloned().map(Ok).collect();
    Box::pin(futures::stream::iter(items))
}

/// Drains the SSE body, returning the bytes it would write.
fn drain(runtime: &Runtime, chunks: ChunkStream, include_usage: bool) -> usize {
    runtime.block_on(
        openai_sse(chunks, include_usage).fold(0, |total, frame| async move {
            total + frame.map_or(0, |bytes| bytes.len())
        }),
    )
}

fn bench_frames(c: &mut Criterion) {
    let text = text_chunk(" the connection pool");
    let tool = tool_call_chunk();
    let mut group = c.benchmark_group("api/encode_openai_chunk");
    group.throughput(Throughput::Bytes(encode_openai_chunk(&text).len() as u64));
    group.bench_function("text", |b| b.iter(|| encode_openai_chunk(black_box(&text))));
    group.throughput(Throughput::Bytes(encode_openai_chunk(&tool).len() as u64));
    group.bench_function("tool_call", |b| b.iter(|| encode_openai_chunk(black_box(&tool))));
    group.finish();
}

fn bench_body(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let chunks = answer_chunks();
    let with_usage = drain(&runtime, chunk_stream(&chunks), true);
    let without_usage = drain(&runtime, chunk_stream(&chunks), false);
    assert!(
        with_usage > without_usage,
        "the usage chunk is only sent when asked for"
    );

    // Building the input stream (cloning 50 chunks) is setup, outside the measurement.
    let mut group = c.benchmark_group("api/openai_sse_50_chunks");
    for (name, include_usage, bytes) in [
        ("include_usage", true, with_usage),
        ("no_usage", false, without_usage),
    ] {
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(name, |b| {
            b.iter_batched(
                || chunk_stream(&chunks),
                |stream| drain(&runtime, black_box(stream), include_usage),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_frames, bench_body);
criterion_main!(benches);
