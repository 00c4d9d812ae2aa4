//! Deadlines and unreachable upstreams. Every test stays on 127.0.0.1 and well under 5 s.

use llm_provider_http::testing::{closed_port, slow_upstream, stalling_sse_upstream};
use std::time::{Duration, Instant};

use llm_core::{ErrorKind, Provider};
use llm_provider_gemini::GeminiProvider;
use serde_json::json;

use crate::common::{MODEL, answer, collect, request, settings};

const SHORT: Duration = Duration::from_millis(200);
const LONG: Duration = Duration::from_secs(2);

#[tokio::test]
async fn no_headers_within_the_first_byte_timeout() {
    let server = slow_upstream(answer(json!([{"text": "late"}]), Some("STOP"), None), LONG).await;
    let mut settings = settings(server.uri());
    settings.timeouts.first_byte = SHORT;
    let provider = GeminiProvider::new(settings).unwrap();

    let started = Instant::now();
    let error = provider.complete(MODEL, &request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    let error = provider.stream(MODEL, &request()).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < LONG, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_complete_answer_must_finish_within_the_request_timeout() {
    let server = slow_upstream(answer(json!([{"text": "late"}]), Some("STOP"), None), LONG).await;
    let mut settings = settings(server.uri());
    settings.timeouts.request = SHORT;
    let provider = GeminiProvider::new(settings).unwrap();

    let started = Instant::now();
    let error = provider.complete(MODEL, &request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.retryable());
    assert!(started.elapsed() < LONG, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_silent_stream_times_out_after_the_idle_timeout() {
    let mut settings = settings(
        stalling_sse_upstream(format!(
            "data: {}\r\n\r\n",
            answer(json!([{"text": "Chey"}]), None, None)
        ))
        .await,
    );
    settings.timeouts.idle = SHORT;
    let provider = GeminiProvider::new(settings).unwrap();

    let started = Instant::now();
    let items = collect(provider.stream(MODEL, &request()).await.unwrap()).await;

    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().text_delta(), Some("Chey"));
    assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    assert!(started.elapsed() >= SHORT);
    assert!(started.elapsed() < LONG, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_refused_connection_means_the_provider_is_unavailable() {
    let port = closed_port().await;
    let provider = GeminiProvider::new(settings(format!("http://127.0.0.1:{port}"))).unwrap();

    let error = provider.complete(MODEL, &request()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    assert!(error.retryable());
    let error = provider.stream(MODEL, &request()).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    let health = provider.health().await;
    assert!(!health.healthy);
}

#[tokio::test]
async fn bad_settings_are_refused_without_echoing_secrets() {
    let mut bad_url = settings("not a url".to_owned());
    bad_url.api_key = Some("AIza-secret".to_owned());
    let error = GeminiProvider::new(bad_url).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal);
    assert!(!error.message().contains("AIza-secret"));

    let mut bad_version = settings("http://127.0.0.1:1".to_owned());
    bad_version.api_version = "v1beta/models?x=".to_owned();
    assert!(GeminiProvider::new(bad_version).is_err());

    let mut bad_key = settings("http://127.0.0.1:1".to_owned());
    bad_key.api_key = Some("line\nbreak".to_owned());
    let error = GeminiProvider::new(bad_key).unwrap_err();
    assert!(!error.message().contains("line"));
}
