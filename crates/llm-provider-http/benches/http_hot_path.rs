//! The upstream HTTP toolkit's per-request hot path, without a network: the SSE driver
//! (`chunk_stream_from`, what `chunk_stream` runs over a response body) opened on an in-memory body of
//! 22 OpenAI-style chunk events and `[DONE]` arriving in 64-byte pieces and drained to its end, once
//! with a translator that only wraps each event's data (the driver and SSE framing alone) and once
//! with one that parses each event as a JSON chunk (as a vendor translator does); building a streaming
//! request with `UpstreamClient::post_json` (not sent); and parsing an endpoint URL with a query
//! (`endpoint`, per request for templated and Gemini URLs).

// Benchmarks abort loudly on setup failure: a fixture that does not stream or build is a broken bench.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::{StreamExt, stream};
use llm_core::sse::SseEvent;
use llm_core::{ChatChunk, Delta, LlmError, ProviderId};
use llm_provider_http::reqwest::Url;
use llm_provider_http::reqwest::header::HeaderMap;
use llm_provider_http::{
    EventTranslator, HttpTimeouts, Progress, UpstreamClient, chunk_stream_from, endpoint, protocol,
};
use serde_json::json;
use tokio::runtime::Runtime;

/// Bytes per body piece handed to the driver: small reads, so events straddle pieces.
const PIECE: usize = 64;

/// Each event's data as a text delta: what the driver costs with a translator doing next to nothing.
struct Wrap;

impl EventTranslator for Wrap {
    fn push(&mut self, event: &SseEvent, out: &mut Vec<ChatChunk>) -> Result<Progress, LlmError> {
        if event.data == "[DONE]" {
            return Ok(Progress::Finished);
        }
        out.push(ChatChunk::with_delta(
            "chatcmpl-bench",
            "gpt-4o-mini",
            1_760_000_000,
            Delta::text(event.data.as_str()),
            None,
        ));
        Ok(Progress::More)
    }

    fn finish(&mut self, _out: &mut Vec<ChatChunk>) -> Result<(), LlmError> {
        Err(protocol(&ProviderId::new("bench"), "stream ended before [DONE]"))
    }
}

/// Each event parsed as a JSON chunk, `[DONE]` ending the stream: a vendor translator's usual work.
struct Json;

impl EventTranslator for Json {
    fn push(&mut self, event: &SseEvent, out: &mut Vec<ChatChunk>) -> Result<Progress, LlmError> {
        if event.data == "[DONE]" {
            return Ok(Progress::Finished);
        }
        let chunk = serde_json::from_str(&event.data)
            .map_err(|error| protocol(&ProviderId::new("bench"), "not a JSON chunk").with_cause(error))?;
        out.push(chunk);
        Ok(Progress::More)
    }

    fn finish(&mut self, _out: &mut Vec<ChatChunk>) -> Result<(), LlmError> {
        Err(protocol(&ProviderId::new("bench"), "stream ended before [DONE]"))
    }
}

/// Opens the driver over `pieces` and drains it; the number of chunks, or the first error.
///
/// The driver needs a 'static body, so callers hand over a clone of the piece list: one small
/// allocation, and a reference count per `Bytes`, as handing on a network read is.
async fn drain<T: EventTranslator>(pieces: Vec<Bytes>, translator: T) -> Result<usize, LlmError> {
    let body = stream::iter(pieces.into_iter().map(Ok::<_, Infallible>));
    let mut chunks = chunk_stream_from(
        ProviderId::new("bench"),
        body,
        Duration::from_secs(60),
        translator,
    );
    let mut count = 0;
    while let Some(item) = chunks.next().await {
        black_box(item?);
        count += 1;
    }
    Ok(count)
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn bench_stream(c: &mut Criterion) {
    let runtime = runtime();
    let body = llm_provider_http::testing::realistic_openai_stream();
    let pieces: Vec<Bytes> = body.chunks(PIECE).map(Bytes::copy_from_slice).collect();
    assert_eq!(runtime.block_on(drain(pieces.clone(), Wrap)).unwrap(), 22);
    assert_eq!(runtime.block_on(drain(pieces.clone(), Json)).unwrap(), 22);

    let mut group = c.benchmark_group("http");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("chunk_stream_22_events_64b_pieces/driver_only", |b| {
        b.iter(|| runtime.block_on(drain(black_box(&pieces).clone(), Wrap)))
    });
    group.bench_function("chunk_stream_22_events_64b_pieces/json_chunks", |b| {
        b.iter(|| runtime.block_on(drain(black_box(&pieces).clone(), Json)))
    });
    group.finish();
}

fn bench_request(c: &mut Criterion) {
    // reqwest's client needs a runtime context only to send; building the request needs none.
    let id = ProviderId::new("bench");
    let mut headers = HeaderMap::new();
    headers.insert("authorization", "Bearer sk-bench".parse().unwrap());
    let client = UpstreamClient::new(id.clone(), HttpTimeouts::DEFAULT, headers, |id, status, _, _| {
        protocol(id, format!("status {status}"))
    })
    .unwrap();
    let url: Url = endpoint(&id, "https://api.openai.com/v1/chat/completions", &[]).unwrap();
    // A chat request body of about 1.4 KB.
    let body = serde_json::to_vec(&json!({
        "model": "gpt-4o-mini",
        "stream": true,
        "messages": (0..12)
            .map(|turn| json!({"role": if turn % 2 == 0 { "user" } else { "assistant" },
                "content": format!("Turn {turn}: how do I rotate a log file without losing lines written during the rotation?")}))
            .collect::<Vec<_>>(),
    }))
    .unwrap();
    assert!(client.post_json(url.clone(), body.clone(), true).build().is_ok());

    let mut group = c.benchmark_group("http");
    group.bench_function(format!("post_json_build_{}b_body", body.len()), |b| {
        b.iter(|| {
            client
                .post_json(black_box(url.clone()), black_box(body.clone()), true)
                .build()
                .unwrap()
        })
    });

    let query = [("api-version".to_owned(), "2024-10-21".to_owned())];
    let address = "https://bench.openai.azure.com/openai/deployments/gpt-4o-mini/chat/completions";
    assert!(endpoint(&id, address, &query).is_ok());
    group.bench_function("endpoint_with_query", |b| {
        b.iter(|| endpoint(black_box(&id), black_box(address), black_box(&query)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_stream, bench_request);
criterion_main!(benches);
