//! Deadlines and unreachable upstreams. Every test stays on 127.0.0.1 and well under 5 s.

use llm_provider_http::testing::{closed_port, slow_upstream, stalling_sse_upstream};
use std::time::{Duration, Instant};

use llm_core::{ErrorKind, Provider};
use llm_provider_openai::OpenAiProvider;
use serde_json::json;

use crate::common::{chunk, collect, request, settings};

const SHORT: Duration = Duration::from_millis(200);
const LONG: Duration = Duration::from_secs(2);

#[tokio::test]
async fn no_headers_within_the_first_byte_timeout() {
    let server = slow_upstream(json!({}), LONG).await;
    let mut settings = settings(format!("{}/v1", server.uri()));
    settings.timeouts.first_byte = SHORT;
    let provider = OpenAiProvider::new(settings).unwrap();

    let started = Instant::now();
    let error = provider.complete("gpt-4o", &request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    let error = provider.stream("gpt-4o", &request()).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < LONG, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_complete_answer_must_finish_within_the_request_timeout() {
    let server = slow_upstream(json!({}), LONG).await;
    let mut settings = settings(format!("{}/v1", server.uri()));
    settings.timeouts.request = SHORT;
    let provider = OpenAiProvider::new(settings).unwrap();

    let started = Instant::now();
    let error = provider.complete("gpt-4o", &request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.retryable());
    assert!(started.elapsed() < LONG, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_silent_stream_times_out_after_the_idle_timeout() {
    let event = format!("data: {}\n\n", chunk(json!({"content": "Os"}), None));
    let mut settings = settings(format!("{}/v1", stalling_sse_upstream(event).await));
    settings.timeouts.idle = SHORT;
    let provider = OpenAiProvider::new(settings).unwrap();

    let started = Instant::now();
    let items = collect(provider.stream("gpt-4o", &request()).await.unwrap()).await;

    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().text_delta(), Some("Os"));
    assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    assert!(started.elapsed() >= SHORT);
    assert!(started.elapsed() < LONG, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_refused_connection_means_the_provider_is_unavailable() {
    let port = closed_port().await;
    let provider = OpenAiProvider::new(settings(format!("http://127.0.0.1:{port}/v1"))).unwrap();

    let error = provider.complete("gpt-4o", &request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    assert!(error.retryable());
    let error = provider.stream("gpt-4o", &request()).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    let health = provider.health().await;
    assert!(!health.healthy);
}
