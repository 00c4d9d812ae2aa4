//! The gateway's added cost per request: the in-process HTTP path (actix service, no network) against
//! calling the mock provider directly.
//!
//! Layers, cheapest first, all answering the same body from the instant mock provider:
//! - `direct/provider_complete`: `Provider::complete` alone, the floor;
//! - `direct/parse_complete_serialize`: JSON body -> `ChatRequest` -> provider -> JSON answer, the
//!   work any server must do;
//! - `engine/gateway_complete`: `Gateway::complete` (validate, route, provider);
//! - `http/*`: the whole actix service: routing, header middleware, body limit, JSON, engine, response.
//!
//! `metrics_cost/*` runs the same HTTP requests with no metrics recorder (every `metrics` call a
//! no-op) and with the Prometheus recorder the server installs (same buckets), and times one
//! scrape's rendering: the price of observability on the hot path.

// Benchmarks abort loudly on setup failure: a route that does not answer 200 is a broken bench.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::rt::System;
use actix_web::test::{TestRequest, init_service, read_body};
use actix_web::web::Data;
use actix_web::{App, Error};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use llm_api::ApiState;
use llm_core::{ChatRequest, Provider, RequestId};
use llm_gateway::config::from_toml;
use llm_gateway::{Gateway, RequestContext};
use llm_provider_mock::{MockProvider, MockSettings};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

/// What an OpenAI SDK sends for a short chat turn.
const CHAT_BODY: &str = r#"{"model":"mock/echo","messages":[{"role":"system","content":"You are a concise senior site-reliability engineer."},{"role":"user","content":"Summarise the incident timeline for the checkout latency regression in three bullet points."}],"temperature":0.2,"max_completion_tokens":256,"user":"team-payments"}"#;

/// The same turn through the simple REST API.
const SIMPLE_BODY: &str = r#"{"model":"mock/echo","prompt":"Summarise the incident timeline for the checkout latency regression in three bullet points.","temperature":0.2,"max_completion_tokens":256}"#;

/// Sends one request and reads the whole body; returns the status and the body length.
async fn exchange<S, R, B>(app: &S, request: R) -> (StatusCode, usize)
where
    S: Service<R, Response = ServiceResponse<B>, Error = Error>,
    B: actix_web::body::MessageBody,
{
    match app.call(request).await {
        Ok(response) => {
            let status = response.status();
            (status, read_body(response).await.len())
        }
        Err(error) => (error.as_response_error().status_code(), 0),
    }
}

fn bench_end_to_end(c: &mut Criterion) {
    let system = System::new();
    let config = from_toml("", &|_| None).unwrap();
    let gateway = Arc::new(system.block_on(Gateway::new(&config)).unwrap());
    let state = ApiState {
        gateway: gateway.clone(),
        max_body_bytes: config.server.max_body_bytes,
        metrics: None,
        process: llm_api::ProcessMonitor::default(),
    };
    let app = system.block_on(init_service(
        App::new()
            .app_data(Data::new(state))
            .configure(llm_api::configure),
    ));
    // actix-web does not re-export `actix_http::Request`, so the builder is a closure, not a fn.
    let post = |path: &str, body: &'static str| {
        TestRequest::post()
            .uri(path)
            .insert_header(ContentType::json())
            .set_payload(body)
            .to_request()
    };
    let provider = MockProvider::new(MockSettings::new("mock"));
    let request: ChatRequest = serde_json::from_str(CHAT_BODY).unwrap();

    let mut streamed = serde_json::from_str::<serde_json::Value>(CHAT_BODY).unwrap();
    streamed["stream"] = serde_json::Value::Bool(true);
    let stream_body: &'static str = Box::leak(streamed.to_string().into_boxed_str());

    for (path, body) in [
        ("/v1/chat/completions", CHAT_BODY),
        ("/v1/chat/completions", stream_body),
        ("/llm/complete", SIMPLE_BODY),
    ] {
        let (status, length) = system.block_on(exchange(&app, post(path, body)));
        assert_eq!(status, StatusCode::OK, "{path} must answer 200");
        assert!(length > 0, "{path} must answer a body");
    }

    let mut group = c.benchmark_group("end_to_end");
    group.bench_function("direct/provider_complete", |b| {
        b.iter(|| system.block_on(provider.complete("echo", black_box(&request))))
    });
    group.bench_function("direct/parse_complete_serialize", |b| {
        b.iter(|| {
            system.block_on(async {
                let request: ChatRequest = serde_json::from_str(black_box(CHAT_BODY)).ok()?;
                let response = provider.complete("echo", &request).await.ok()?;
                serde_json::to_vec(&response).ok()
            })
        })
    });
    group.bench_function("engine/gateway_complete", |b| {
        b.iter(|| {
            system.block_on(async {
                let ctx = RequestContext::new(RequestId::generate());
                gateway.complete(&ctx, black_box(request.clone())).await
            })
        })
    });
    // Building the test request is setup; the measurement is the service call and reading the body.
    for (name, path, body) in [
        ("http/v1_chat_completions", "/v1/chat/completions", CHAT_BODY),
        (
            "http/v1_chat_completions_stream",
            "/v1/chat/completions",
            stream_body,
        ),
        ("http/llm_complete", "/llm/complete", SIMPLE_BODY),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || post(path, body),
                |request| system.block_on(exchange(&app, request)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();

    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), llm_api::DURATION_BUCKETS)
        .unwrap()
        .build_recorder();
    let scrape = recorder.handle();
    let mut group = c.benchmark_group("metrics_cost");
    for (name, body) in [
        ("v1_chat_completions", CHAT_BODY),
        ("v1_chat_completions_stream", stream_body),
    ] {
        group.bench_function(format!("{name}/no_recorder"), |b| {
            b.iter_batched(
                || post("/v1/chat/completions", body),
                |request| system.block_on(exchange(&app, request)),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(format!("{name}/prometheus"), |b| {
            b.iter_batched(
                || post("/v1/chat/completions", body),
                |request| {
                    metrics::with_local_recorder(&recorder, || system.block_on(exchange(&app, request)))
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.bench_function("render_scrape", |b| b.iter(|| scrape.render()));
    group.finish();
}

criterion_group!(benches, bench_end_to_end);
criterion_main!(benches);
