//! The engine's own pipeline (validate -> route -> provider call) over the instant mock provider.

// Benchmarks abort loudly on setup failure: a gateway that cannot be built is a broken bench.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use llm_core::{ChatRequest, Message, RequestId, Role};
use llm_gateway::config::from_toml;
use llm_gateway::{Gateway, RequestContext};

/// The embedded default alone: the mock provider `mock` serving `echo`, no environment consulted.
const CONFIG: &str = "";

/// A short conversation whose last user message the mock echoes back.
fn request(model: &str) -> ChatRequest {
    let mut request = ChatRequest::from_prompt(
        model,
        "Summarise the incident timeline for the checkout latency regression in three bullet points.",
    );
    request.messages.insert(
        0,
        Message::text(
            Role::System,
            "You are a concise senior site-reliability engineer.",
        ),
    );
    request.max_completion_tokens = Some(256);
    request
}

fn bench_gateway(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = from_toml(CONFIG, &|_| None).unwrap();
    let gateway = runtime.block_on(Gateway::new(&config)).unwrap();

    let mut group = c.benchmark_group("gateway");
    for model in ["echo", "mock/echo"] {
        let request = request(model);
        let probe =
            runtime.block_on(gateway.complete(&RequestContext::new(RequestId::generate()), request.clone()));
        assert!(probe.is_ok(), "complete({model}) must succeed: {probe:?}");
        let chunks = runtime.block_on(async {
            let opened = gateway
                .stream(&RequestContext::new(RequestId::generate()), request.clone())
                .await;
            opened.unwrap().chunks.count().await
        });
        assert_eq!(chunks, 7, "role, 4 content pieces, finish and usage");

        group.bench_function(format!("complete/{model}"), |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let ctx = RequestContext::new(RequestId::generate());
                    gateway.complete(&ctx, black_box(request.clone())).await
                })
            })
        });
        group.bench_function(format!("stream_open_drain/{model}"), |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let ctx = RequestContext::new(RequestId::generate());
                    match gateway.stream(&ctx, black_box(request.clone())).await {
                        Ok(opened) => opened.chunks.count().await,
                        Err(_) => 0,
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_gateway);
criterion_main!(benches);
