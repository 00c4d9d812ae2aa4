//! The mock provider through its public API, as the gateway sees it.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures::StreamExt;
use llm_core::{ChatRequest, ErrorKind, FinishReason, Provider, Role, Usage};
use llm_provider_mock::{MockProvider, MockSettings, ScriptedFailure};

fn request(text: &str) -> ChatRequest {
    ChatRequest::from_prompt("echo", text)
}

#[tokio::test]
async fn complete_echoes_with_usage() {
    let provider = MockProvider::new(MockSettings::new("mock"));
    let response = provider
        .complete("echo", &request("hello there world"))
        .await
        .unwrap();
    assert_eq!(response.first_text(), "hello there world");
    assert_eq!(response.first_finish_reason(), Some(FinishReason::Stop));
    assert_eq!(response.usage, Some(Usage::new(3, 3)));
    assert_eq!(response.model, "echo");
}

#[tokio::test]
async fn max_tokens_truncates_with_length() {
    let provider = MockProvider::new(MockSettings::new("mock"));
    let mut req = request("one two three four");
    req.max_tokens = Some(2);
    let response = provider.complete("echo", &req).await.unwrap();
    assert_eq!(response.first_text(), "one two");
    assert_eq!(response.first_finish_reason(), Some(FinishReason::Length));
}

#[tokio::test]
async fn stream_yields_role_pieces_finish_and_usage() {
    let mut settings = MockSettings::new("mock");
    settings.chunk_count = 3;
    let provider = MockProvider::new(settings);
    let chunks: Vec<_> = provider
        .stream("echo", &request("abcdef"))
        .await
        .unwrap()
        .collect()
        .await;
    let chunks: Vec<_> = chunks.into_iter().map(Result::unwrap).collect();
    assert_eq!(chunks.len(), 6);
    assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
    let text: String = chunks.iter().filter_map(|c| c.text_delta()).collect();
    assert_eq!(text, "abcdef");
    assert_eq!(chunks[1].text_delta(), Some("ab"));
    assert_eq!(chunks[4].finish_reason(), Some(FinishReason::Stop));
    assert_eq!(chunks[5].usage, Some(Usage::new(1, 1)));
    assert!(chunks[5].choices.is_empty());
}

#[tokio::test]
async fn scripted_failure_after_chunks_ends_with_error() {
    let mut settings = MockSettings::new("mock");
    settings.chunk_count = 4;
    settings.failure = Some(ScriptedFailure::new(ErrorKind::ProviderUnavailable).after_chunks(2));
    let provider = MockProvider::new(settings);
    let items: Vec<_> = provider
        .stream("echo", &request("abcdefgh"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 4);
    assert!(items[..3].iter().all(Result::is_ok));
    let error = items[3].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    assert!(error.retryable());
    assert!(provider.complete("echo", &request("x")).await.is_err());
}

#[tokio::test]
async fn scripted_failure_before_answer() {
    let mut settings = MockSettings::new("mock");
    settings.failure = Some(ScriptedFailure::new(ErrorKind::RateLimited));
    let provider = MockProvider::new(settings);
    let error = provider.stream("echo", &request("x")).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
}

#[tokio::test(start_paused = true)]
async fn latency_and_chunk_delay_are_applied() {
    let mut settings = MockSettings::new("mock");
    settings.latency = Duration::from_millis(300);
    settings.chunk_delay = Duration::from_millis(100);
    settings.chunk_count = 2;
    let provider = MockProvider::new(settings);
    let started = tokio::time::Instant::now();
    let stream = provider.stream("echo", &request("ab")).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(300));
    let items: Vec<_> = stream.collect().await;
    // role chunk, 2 pieces, finish, usage: 4 gaps of 100 ms.
    assert_eq!(items.len(), 5);
    assert_eq!(started.elapsed(), Duration::from_millis(700));
}

#[tokio::test]
async fn lists_models_and_reports_health() {
    let mut settings = MockSettings::new("mock");
    settings.healthy = false;
    let provider = MockProvider::new(settings);
    assert_eq!(provider.models().await.unwrap()[0].id, "echo");
    assert!(!provider.health().await.healthy);
}

#[tokio::test]
async fn rate_limited_failure_carries_the_scripted_retry_after() {
    let mut settings = MockSettings::new("mock");
    settings.failure =
        Some(ScriptedFailure::new(ErrorKind::RateLimited).retry_after(Duration::from_millis(20)));
    let provider = MockProvider::new(settings);
    let error = provider.complete("echo", &request("x")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(Duration::from_millis(20)));
}

#[tokio::test]
async fn without_times_every_call_fails() {
    let mut settings = MockSettings::new("mock");
    settings.failure = Some(ScriptedFailure::new(ErrorKind::ProviderUnavailable));
    let provider = MockProvider::new(settings);
    for _ in 0..5 {
        assert!(provider.complete("echo", &request("x")).await.is_err());
    }
    assert!(provider.stream("echo", &request("x")).await.is_err());
    assert_eq!(provider.calls(), 6);
    assert_eq!(provider.cancelled(), 0);
}

#[tokio::test]
async fn the_first_n_calls_fail_then_calls_succeed_sharing_the_count_across_complete_and_stream() {
    let mut settings = MockSettings::new("mock");
    settings.failure = Some(ScriptedFailure::new(ErrorKind::ProviderUnavailable).times(3));
    let provider = MockProvider::new(settings);
    let first = provider.complete("echo", &request("x")).await.unwrap_err();
    assert_eq!(first.kind(), ErrorKind::ProviderUnavailable);
    let second = provider.stream("echo", &request("x")).await.err().unwrap();
    assert_eq!(second.kind(), ErrorKind::ProviderUnavailable);
    assert!(provider.complete("echo", &request("x")).await.is_err());
    // The fourth call and every later one answers.
    let items: Vec<_> = provider
        .stream("echo", &request("abc"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let response = provider.complete("echo", &request("fine now")).await.unwrap();
    assert_eq!(response.first_text(), "fine now");
    assert_eq!(provider.calls(), 5);
    assert_eq!(provider.cancelled(), 0);
}

#[tokio::test]
async fn times_applies_to_mid_stream_failures_too() {
    let mut settings = MockSettings::new("mock");
    settings.chunk_count = 4;
    settings.failure = Some(
        ScriptedFailure::new(ErrorKind::ProviderUnavailable)
            .after_chunks(1)
            .times(1),
    );
    let provider = MockProvider::new(settings);
    let failed: Vec<_> = provider
        .stream("echo", &request("abcd"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(failed.last().unwrap().is_err());
    let answered: Vec<_> = provider
        .stream("echo", &request("abcd"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(answered.iter().all(Result::is_ok), "{answered:?}");
    assert_eq!(provider.cancelled(), 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_complete_future_during_its_latency_counts_a_cancel() {
    let mut settings = MockSettings::new("mock");
    settings.latency = Duration::from_secs(5);
    let provider = MockProvider::new(settings);
    let request = request("x");
    let outcome = tokio::time::timeout(Duration::from_millis(100), provider.complete("echo", &request)).await;
    assert!(outcome.is_err(), "the call should still be waiting");
    assert_eq!(provider.calls(), 1);
    assert_eq!(provider.cancelled(), 1);
    // A call that runs to its end is no cancel.
    provider.complete("echo", &request).await.unwrap();
    assert_eq!(provider.calls(), 2);
    assert_eq!(provider.cancelled(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_stream_midway_counts_a_cancel() {
    let mut settings = MockSettings::new("mock");
    settings.chunk_count = 10;
    settings.chunk_delay = Duration::from_millis(100);
    let provider = MockProvider::new(settings);
    let mut stream = provider.stream("echo", &request("abcdefghij")).await.unwrap();
    stream.next().await.unwrap().unwrap();
    stream.next().await.unwrap().unwrap();
    assert_eq!(provider.cancelled(), 0);
    drop(stream);
    assert_eq!(provider.calls(), 1);
    assert_eq!(provider.cancelled(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_stream_call_during_its_latency_counts_a_cancel() {
    let mut settings = MockSettings::new("mock");
    settings.latency = Duration::from_secs(5);
    let provider = MockProvider::new(settings);
    let request = request("x");
    let outcome = tokio::time::timeout(Duration::from_millis(100), provider.stream("echo", &request)).await;
    assert!(outcome.is_err(), "the call should still be waiting");
    assert_eq!(provider.cancelled(), 1);
}

#[tokio::test]
async fn streams_read_to_their_end_or_failure_are_not_cancelled() {
    let provider = MockProvider::new(MockSettings::new("mock"));
    let mut stream = provider.stream("echo", &request("abcd")).await.unwrap();
    let mut items = 0;
    // Stop right after the last item, without polling for the end: the call still finished.
    while items < 7 {
        stream.next().await.unwrap().unwrap();
        items += 1;
    }
    drop(stream);
    assert_eq!(provider.cancelled(), 0);

    let mut settings = MockSettings::new("broken");
    settings.failure = Some(ScriptedFailure::new(ErrorKind::ProviderUnavailable).after_chunks(1));
    let provider = MockProvider::new(settings);
    let items: Vec<_> = provider
        .stream("echo", &request("abcd"))
        .await
        .unwrap()
        .collect()
        .await;
    assert!(items.last().unwrap().is_err());
    assert!(provider.complete("echo", &request("x")).await.is_err());
    assert_eq!(provider.calls(), 2);
    assert_eq!(provider.cancelled(), 0);
}
