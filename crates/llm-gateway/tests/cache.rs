//! The response cache and single flight in the pipeline, over the mock provider.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use futures::StreamExt;
use llm_core::{ChatChunk, ChatRequest, RequestId};
use llm_gateway::config::from_toml;
use llm_gateway::{CacheDirective, CacheStatus, Gateway, RequestContext};

const PROVIDERS: &str = r#"
[[providers]]
id = "mock"
type = "mock"
models = ["echo", "never"]
chunks = 3

[[providers]]
id = "slow"
type = "mock"
latency_ms = 300

[[providers]]
id = "broken"
type = "mock"
failure = { kind = "provider_unavailable", after_chunks = 1 }
"#;

/// A gateway whose cache runs in `mode`, with `mock/never` never cached.
async fn gateway(mode: &str) -> Gateway {
    let document =
        format!("[cache]\nmode = \"{mode}\"\nper_model = {{ \"mock/never\" = \"off\" }}\n{PROVIDERS}");
    let config = from_toml(&document, &|_| None).unwrap();
    Gateway::new(&config).await.unwrap()
}

fn ctx(cache: CacheDirective) -> RequestContext {
    let mut ctx = RequestContext::new(RequestId::generate());
    ctx.cache = cache;
    ctx
}

fn request(model: &str, temperature: f64) -> ChatRequest {
    let mut request = ChatRequest::from_prompt(model, "the same question");
    request.temperature = Some(temperature);
    request
}

async fn complete(gateway: &Gateway, request: ChatRequest, cache: CacheDirective) -> (String, CacheStatus) {
    let done = gateway.complete(&ctx(cache), request).await.unwrap();
    (done.response.id, done.cache)
}

async fn stream(gateway: &Gateway, request: ChatRequest) -> (Vec<ChatChunk>, CacheStatus) {
    let opened = gateway
        .stream(&ctx(CacheDirective::default()), request)
        .await
        .unwrap();
    let status = opened.cache;
    let chunks: Vec<_> = opened.chunks.map(Result::unwrap).collect().await;
    (chunks, status)
}

#[tokio::test]
async fn deterministic_requests_hit_and_others_bypass() {
    let gateway = gateway("deterministic").await;
    let all = CacheDirective::default();
    let (first, status) = complete(&gateway, request("mock/echo", 0.0), all).await;
    assert_eq!(status, CacheStatus::Miss);
    assert_eq!(
        complete(&gateway, request("mock/echo", 0.0), all).await,
        (first.clone(), CacheStatus::Hit)
    );
    let (a, status_a) = complete(&gateway, request("mock/echo", 0.7), all).await;
    let (b, status_b) = complete(&gateway, request("mock/echo", 0.7), all).await;
    assert_eq!((status_a, status_b), (CacheStatus::Bypass, CacheStatus::Bypass));
    assert_ne!(a, b, "nobody gets a repeated answer they didn't ask for");
    let mut seeded = request("mock/echo", 0.9);
    seeded.seed = Some(7);
    assert_eq!(complete(&gateway, seeded.clone(), all).await.1, CacheStatus::Miss);
    assert_eq!(complete(&gateway, seeded, all).await.1, CacheStatus::Hit);
    assert_eq!(gateway.cache().stats().hits, 2);
}

#[tokio::test]
async fn modes_and_client_directives() {
    let always = gateway("always").await;
    let default = CacheDirective::default();
    assert_eq!(
        complete(&always, request("mock/echo", 1.0), default).await.1,
        CacheStatus::Miss
    );
    assert_eq!(
        complete(&always, request("mock/echo", 1.0), default).await.1,
        CacheStatus::Hit
    );

    let gateway = gateway("deterministic").await;
    assert_eq!(
        complete(&gateway, request("mock/never", 0.0), default).await.1,
        CacheStatus::Bypass
    );
    assert_eq!(
        complete(&gateway, request("mock/never", 0.0), default).await.1,
        CacheStatus::Bypass
    );

    let no_cache = CacheDirective {
        read: false,
        ..default
    };
    let (fresh, status) = complete(&gateway, request("mock/echo", 0.0), no_cache).await;
    assert_eq!(status, CacheStatus::Bypass);
    assert_eq!(
        complete(&gateway, request("mock/echo", 0.0), default).await,
        (fresh, CacheStatus::Hit),
        "no-cache still stores"
    );

    let no_store = CacheDirective {
        read: false,
        write: false,
        ttl: None,
    };
    let other = ChatRequest {
        seed: Some(1),
        ..request("mock/echo", 0.5)
    };
    assert_eq!(
        complete(&gateway, other.clone(), no_store).await.1,
        CacheStatus::Bypass
    );
    assert_eq!(
        complete(&gateway, other, default).await.1,
        CacheStatus::Miss,
        "no-store stored nothing"
    );

    let off = gateway_with_mode_off().await;
    assert_eq!(
        complete(&off, request("mock/echo", 0.0), default).await.1,
        CacheStatus::Bypass
    );
}

async fn gateway_with_mode_off() -> Gateway {
    gateway("off").await
}

#[tokio::test]
async fn a_recorded_stream_replays_chunk_for_chunk_and_serves_complete_requests() {
    let gateway = gateway("deterministic").await;
    let (recorded, status) = stream(&gateway, request("mock/echo", 0.0)).await;
    assert_eq!(status, CacheStatus::Miss);
    // The store happens when the stream ends; wait until the entry is there.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while gateway.cache().stats().stores == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream was never stored"
        );
        tokio::task::yield_now().await;
    }
    let (replayed, status) = stream(&gateway, request("mock/echo", 0.0)).await;
    assert_eq!(status, CacheStatus::Hit);
    assert_eq!(replayed, recorded, "same chunks, same ids");
    let (id, status) = complete(&gateway, request("mock/echo", 0.0), CacheDirective::default()).await;
    assert_eq!((id, status), (recorded[0].id.clone(), CacheStatus::Hit));
}

#[tokio::test]
async fn a_complete_answer_is_served_to_a_stream() {
    let gateway = gateway("deterministic").await;
    let done = gateway
        .complete(&ctx(CacheDirective::default()), request("mock/echo", 0.0))
        .await
        .unwrap();
    let (chunks, status) = stream(&gateway, request("mock/echo", 0.0)).await;
    assert_eq!(status, CacheStatus::Hit);
    let text: String = chunks.iter().filter_map(|chunk| chunk.text_delta()).collect();
    assert_eq!(text, done.response.first_text());
    assert_eq!(chunks.last().unwrap().usage, done.response.usage);
}

#[tokio::test]
async fn failed_streams_are_never_stored() {
    let gateway = gateway("deterministic").await;
    for _ in 0..2 {
        let opened = gateway
            .stream(&ctx(CacheDirective::default()), request("broken/echo", 0.0))
            .await
            .unwrap();
        assert_eq!(opened.cache, CacheStatus::Miss);
        let items: Vec<_> = opened.chunks.collect().await;
        assert!(items.last().unwrap().is_err());
    }
    assert_eq!(gateway.cache().stats().stores, 0);
}

#[tokio::test]
async fn identical_requests_in_flight_share_one_provider_call() {
    let gateway = Arc::new(gateway("deterministic").await);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let gateway = gateway.clone();
            tokio::spawn(async move {
                complete(&gateway, request("slow/echo", 0.0), CacheDirective::default()).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    assert!(
        answers.iter().all(|(id, _)| id == "chatcmpl-mock-0"),
        "{answers:?}"
    );
    assert_eq!(
        answers
            .iter()
            .filter(|(_, status)| *status == CacheStatus::Miss)
            .count(),
        1
    );
    // The mock numbers its answers: the next different request is its second call.
    let (next, _) = complete(&gateway, request("slow/echo", 0.5), CacheDirective::default()).await;
    assert_eq!(next, "chatcmpl-mock-1");
}
