//! The engine's own pipeline (validate -> route -> provider call) over the instant mock provider, and
//! the routing hot path: a balancer pick among deployments and a deployment call's begin/finish
//! (circuit breaker admission, in-flight count, latency EWMA).

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

fn bench_routing(c: &mut Criterion) {
    use llm_gateway::routing::{BreakerSettings, Candidate, DeploymentStates, Rng, Strategy, pick};
    use std::time::Duration;

    let states = DeploymentStates::new(BreakerSettings::default());
    let deployments: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|provider| states.get_or_create(provider, "gpt-4o"))
        .collect();
    let mut rng = Rng::seeded(42);
    let mut group = c.benchmark_group("routing");
    for strategy in [
        Strategy::Weighted,
        Strategy::LeastInflight,
        Strategy::LatencyAware,
    ] {
        group.bench_function(format!("pick/{}", strategy.as_str()), |b| {
            b.iter(|| {
                let candidates: Vec<Candidate<'_>> = deployments
                    .iter()
                    .zip([3, 2, 1])
                    .map(|(state, weight)| Candidate { weight, state })
                    .collect();
                pick(strategy, black_box(&candidates), &mut rng)
            })
        });
    }
    group.bench_function("deployment_call/begin_finish", |b| {
        b.iter(|| {
            if let Some(call) = deployments[0].begin() {
                call.finish(black_box(Duration::from_millis(3)), None);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_gateway, bench_routing);
criterion_main!(benches);
