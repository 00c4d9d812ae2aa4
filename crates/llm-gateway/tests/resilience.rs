//! Retries, fallbacks, balancing, circuit breakers and deadlines through a real `Gateway` over mock
//! providers whose failures are scripted; each mock counts the calls it received.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use llm_core::{ChatRequest, ErrorKind, Provider, RequestId};
use llm_gateway::config::from_toml;
use llm_gateway::{Completion, Gateway, RequestContext};
use llm_provider_mock::{MockProvider, MockSettings, ScriptedFailure};

/// Providers `a`, `b` and `c` (replaced by scripted mocks in each test) and models over them.
fn config(extra: &str) -> String {
    format!(
        r#"
[routing]
max_retries = 2
backoff_initial_ms = 1
backoff_max_ms = 5

[routing.circuit_breaker]
min_calls = 4
failure_ratio = 0.5
window_secs = 60
open_secs = 1

[[providers]]
id = "a"
type = "mock"

[[providers]]
id = "b"
type = "mock"

[[providers]]
id = "c"
type = "mock"

[models.primary]
deployments = [{{ provider = "a", model = "echo" }}]
fallbacks = ["backup"]

[models.backup]
deployments = [{{ provider = "b", model = "echo" }}]

{extra}
"#
    )
}

async fn gateway(extra: &str) -> Gateway {
    Gateway::new(&from_toml(&config(extra), &|_| None).unwrap())
        .await
        .unwrap()
}

/// Replaces provider `id` with a mock that behaves as `script` says; returns it to count its calls.
fn install(gateway: &Gateway, id: &str, script: impl FnOnce(&mut MockSettings)) -> Arc<MockProvider> {
    let mut settings = MockSettings::new(id);
    script(&mut settings);
    let mock = Arc::new(MockProvider::new(settings));
    gateway
        .registry()
        .replace(mock.clone() as Arc<dyn Provider>, true)
        .unwrap();
    mock
}

fn failing(kind: ErrorKind) -> impl FnOnce(&mut MockSettings) {
    move |settings| settings.failure = Some(ScriptedFailure::new(kind))
}

fn ctx() -> RequestContext {
    RequestContext::new(RequestId::generate())
}

async fn complete(gateway: &Gateway, model: &str) -> Result<Completion, llm_core::LlmError> {
    gateway
        .complete(&ctx(), ChatRequest::from_prompt(model, "hello there"))
        .await
}

#[tokio::test]
async fn a_transient_failure_is_retried_then_answers() {
    let gateway = gateway("").await;
    let a = install(&gateway, "a", |settings| {
        settings.failure = Some(ScriptedFailure {
            times: Some(2),
            ..ScriptedFailure::new(ErrorKind::ProviderUnavailable)
        });
    });
    let done = complete(&gateway, "primary").await.unwrap();
    assert_eq!(done.provider.as_str(), "a");
    assert_eq!(done.attempts, 3);
    assert_eq!(done.fallback, None);
    assert_eq!(a.calls(), 3);
}

#[tokio::test]
async fn a_spent_retry_budget_falls_back() {
    let gateway = gateway("").await;
    let a = install(&gateway, "a", failing(ErrorKind::Timeout));
    let b = install(&gateway, "b", |_| {});
    let done = complete(&gateway, "primary").await.unwrap();
    assert_eq!(done.provider.as_str(), "b");
    assert_eq!(done.fallback.as_deref(), Some("backup"));
    assert_eq!(done.attempts, 4, "1 + 2 retries on a, then b");
    assert_eq!((a.calls(), b.calls()), (3, 1));
    assert_eq!(
        done.response.choices[0].message.content.as_deref(),
        Some("hello there")
    );
}

#[tokio::test]
async fn caller_errors_are_never_retried_nor_fall_back() {
    for kind in [
        ErrorKind::InvalidRequest,
        ErrorKind::ContextLengthExceeded,
        ErrorKind::ContentFiltered,
    ] {
        let gateway = gateway("").await;
        let a = install(&gateway, "a", failing(kind));
        let b = install(&gateway, "b", |_| {});
        let error = complete(&gateway, "primary").await.unwrap_err();
        assert_eq!(error.kind(), kind);
        assert_eq!((a.calls(), b.calls()), (1, 0), "{kind:?}");
    }
}

#[tokio::test]
async fn an_authentication_failure_moves_on_without_retrying() {
    let gateway = gateway("").await;
    let a = install(&gateway, "a", failing(ErrorKind::Authentication));
    let b = install(&gateway, "b", |_| {});
    let done = complete(&gateway, "primary").await.unwrap();
    assert_eq!(done.provider.as_str(), "b");
    assert_eq!(done.attempts, 2);
    assert_eq!((a.calls(), b.calls()), (1, 1));
}

#[tokio::test]
async fn an_upstream_retry_after_is_honoured() {
    let gateway = gateway("").await;
    let a = install(&gateway, "a", |settings| {
        settings.failure = Some(ScriptedFailure {
            times: Some(1),
            retry_after: Some(Duration::from_millis(150)),
            ..ScriptedFailure::new(ErrorKind::RateLimited)
        });
    });
    let started = std::time::Instant::now();
    let done = complete(&gateway, "primary").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((done.provider.as_str(), done.attempts, a.calls()), ("a", 2, 2));
}

#[tokio::test]
async fn a_stream_failing_before_content_falls_back_invisibly() {
    let gateway = gateway("").await;
    let a = install(&gateway, "a", |settings| {
        settings.failure = Some(ScriptedFailure {
            after_chunks: Some(0),
            ..ScriptedFailure::new(ErrorKind::ProviderUnavailable)
        });
    });
    install(&gateway, "b", |settings| settings.chunk_count = 3);
    let opened = gateway
        .stream(&ctx(), ChatRequest::from_prompt("primary", "one two three"))
        .await
        .unwrap();
    assert_eq!(opened.provider.as_str(), "b");
    assert_eq!(opened.fallback.as_deref(), Some("backup"));
    assert_eq!(a.calls(), 3);
    let items: Vec<_> = opened.chunks.collect().await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let text: String = items
        .iter()
        .filter_map(|item| item.as_ref().ok())
        .filter_map(|chunk| chunk.choices.first()?.delta.content.clone())
        .collect();
    assert_eq!(text, "one two three");
}

#[tokio::test]
async fn a_stream_failing_after_content_ends_with_the_error() {
    let gateway = gateway("").await;
    let a = install(&gateway, "a", |settings| {
        settings.chunk_count = 4;
        settings.failure = Some(ScriptedFailure {
            after_chunks: Some(2),
            ..ScriptedFailure::new(ErrorKind::ProviderUnavailable)
        });
    });
    let b = install(&gateway, "b", |_| {});
    let opened = gateway
        .stream(&ctx(), ChatRequest::from_prompt("primary", "one two three four"))
        .await
        .unwrap();
    assert_eq!((opened.provider.as_str(), opened.attempts), ("a", 1));
    let items: Vec<_> = opened.chunks.collect().await;
    let contents = items.iter().filter(|item| item.is_ok()).count();
    assert!(contents >= 2, "{items:?}");
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(last.kind(), ErrorKind::ProviderUnavailable);
    assert_eq!((a.calls(), b.calls()), (1, 0), "content was sent: no fallback");
}

/// The circuit state of provider `id`'s `echo` deployment as `/llm/providers` shows it.
fn circuit(gateway: &Gateway, id: &str) -> String {
    let snapshot = gateway
        .providers()
        .into_iter()
        .find(|provider| provider.id.as_str() == id)
        .unwrap();
    let deployment = snapshot.deployments.iter().find(|d| d.model == "echo").unwrap();
    deployment.circuit.state.as_str().to_owned()
}

#[tokio::test]
async fn the_breaker_opens_skips_half_opens_and_closes() {
    // `a` takes all traffic while it can (b is a standby); its first 5 calls fail.
    let gateway = gateway(
        r#"
[models.pair]
deployments = [{ provider = "a", model = "echo" }, { provider = "b", model = "echo", weight = 0 }]
"#,
    )
    .await;
    let a = install(&gateway, "a", |settings| {
        settings.failure = Some(ScriptedFailure {
            times: Some(5),
            ..ScriptedFailure::new(ErrorKind::ProviderUnavailable)
        });
    });
    let b = install(&gateway, "b", |_| {});
    // First request: a fails 3 times (1 + 2 retries; min_calls = 4, still closed); b answers.
    let done = complete(&gateway, "pair").await.unwrap();
    assert_eq!((done.provider.as_str(), done.attempts, a.calls()), ("b", 4, 3));
    assert_eq!(circuit(&gateway, "a"), "closed");
    // Second: a's 4th failure opens the breaker at once (no retry); b answers.
    let done = complete(&gateway, "pair").await.unwrap();
    assert_eq!((done.provider.as_str(), done.attempts, a.calls()), ("b", 2, 4));
    assert_eq!(circuit(&gateway, "a"), "open");
    // While open, a is skipped: one attempt each, straight to b.
    for _ in 0..5 {
        let done = complete(&gateway, "pair").await.unwrap();
        assert_eq!((done.provider.as_str(), done.attempts), ("b", 1));
    }
    assert_eq!(a.calls(), 4);
    // After open_secs, one probe goes to a; it fails (a's fifth scripted failure): open again.
    let reopened = wait_until_half_open(&gateway).await;
    assert_eq!(reopened, "half_open");
    let done = complete(&gateway, "pair").await.unwrap();
    assert_eq!((done.provider.as_str(), a.calls()), ("b", 5));
    assert_eq!(circuit(&gateway, "a"), "open");
    // The next probe succeeds: closed, and a takes the traffic again.
    wait_until_half_open(&gateway).await;
    let done = complete(&gateway, "pair").await.unwrap();
    assert_eq!((done.provider.as_str(), done.attempts), ("a", 1));
    assert_eq!(circuit(&gateway, "a"), "closed");
    assert_eq!(b.calls(), 8);
}

/// Waits (bounded) for `a`'s breaker to let a probe through: it opens for 1 s.
async fn wait_until_half_open(gateway: &Gateway) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let state = circuit(gateway, "a");
        if state == "half_open" {
            return state;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {state}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_weighted_model_splits_traffic_within_tolerance() {
    let gateway = gateway(
        r#"
[models.split]
deployments = [{ provider = "a", model = "echo", weight = 3 }, { provider = "b", model = "echo", weight = 1 }]
"#,
    )
    .await;
    let mut served = BTreeMap::<String, u32>::new();
    for _ in 0..2_000 {
        let done = complete(&gateway, "split").await.unwrap();
        *served.entry(done.provider.to_string()).or_default() += 1;
    }
    let share_a = f64::from(served["a"]) / 2_000.0;
    assert!((share_a - 0.75).abs() < 0.04, "{served:?}");
}

#[tokio::test]
async fn least_inflight_prefers_the_idle_deployment() {
    let gateway = Arc::new(
        gateway(
            r#"
[models.busy]
strategy = "least_inflight"
deployments = [{ provider = "a", model = "echo" }, { provider = "b", model = "echo" }]
"#,
        )
        .await,
    );
    for id in ["a", "b"] {
        install(&gateway, id, |settings| {
            settings.latency = Duration::from_millis(300)
        });
    }
    let held = {
        let gateway = gateway.clone();
        tokio::spawn(async move { complete(&gateway, "busy").await.unwrap() })
    };
    // Wait (bounded) until the first request is in flight somewhere.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let busy = loop {
        let inflight: Vec<(String, u32)> = gateway
            .providers()
            .iter()
            .flat_map(|provider| provider.deployments.iter())
            .map(|deployment| (deployment.provider.clone(), deployment.inflight))
            .collect();
        if let Some((provider, _)) = inflight.iter().find(|(_, count)| *count == 1) {
            break provider.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "{inflight:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let done = complete(&gateway, "busy").await.unwrap();
    assert_ne!(done.provider.as_str(), busy, "the idle deployment takes the call");
    assert_eq!(held.await.unwrap().provider.as_str(), busy);
}

#[tokio::test]
async fn the_request_deadline_bounds_every_attempt() {
    let gateway = gateway("").await;
    install(&gateway, "a", |settings| {
        settings.latency = Duration::from_secs(10)
    });
    install(&gateway, "b", |settings| {
        settings.latency = Duration::from_secs(10)
    });
    let mut context = ctx();
    context.timeout = Some(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let error = gateway
        .complete(&context, ChatRequest::from_prompt("primary", "hi"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    context.timeout = Some(Duration::from_secs(3_600));
    let refused = gateway
        .complete(&context, ChatRequest::from_prompt("primary", "hi"))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidRequest);
    assert_eq!(refused.param(), Some("x-llm-timeout-ms"));
}

#[tokio::test]
async fn a_clients_short_deadline_never_opens_a_circuit() {
    let gateway = gateway("").await;
    let a = install(&gateway, "a", |settings| {
        settings.latency = Duration::from_millis(200)
    });
    for _ in 0..6 {
        let mut context = ctx();
        context.timeout = Some(Duration::from_millis(5));
        let error = gateway
            .complete(&context, ChatRequest::from_prompt("primary", "hi"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Timeout);
    }
    assert_eq!(a.calls(), 6, "one attempt each: the deadline ends the request");
    assert_eq!(circuit(&gateway, "a"), "closed");
    let details = gateway.provider_details();
    let a_details = details
        .iter()
        .find(|provider| provider.id.as_str() == "a")
        .unwrap();
    assert_eq!(a_details.traffic.failures, 0, "{a_details:?}");
    // With time to answer, it answers.
    assert_eq!(
        complete(&gateway, "primary").await.unwrap().provider.as_str(),
        "a"
    );
}

#[tokio::test]
async fn model_names_a_provider_does_not_list_share_one_state() {
    let gateway = gateway("").await;
    for name in ["a/made-up-1", "a/made-up-2", "a/made-up-3", "a/echo"] {
        complete(&gateway, name).await.unwrap();
    }
    let a = gateway
        .providers()
        .into_iter()
        .find(|provider| provider.id.as_str() == "a")
        .unwrap();
    let models: Vec<&str> = a.deployments.iter().map(|d| d.model.as_str()).collect();
    assert_eq!(models, ["*", "echo"], "client-chosen names do not grow the state");
}

#[tokio::test]
async fn a_key_limited_to_one_deployment_is_always_served_there() {
    let gateway = gateway(
        r#"
[models.pair]
deployments = [{ provider = "a", model = "echo" }, { provider = "b", model = "echo" }]
"#,
    )
    .await;
    let mut context = ctx();
    context.principal = Some(llm_gateway::Principal {
        name: "team-a".to_owned(),
        models: vec!["a/echo".to_owned()],
        max_prompt_tokens: None,
    });
    for _ in 0..40 {
        let done = gateway
            .complete(&context, ChatRequest::from_prompt("pair", "hi"))
            .await
            .unwrap();
        assert_eq!(
            done.provider.as_str(),
            "a",
            "the balancer never picks a deployment the key may not use"
        );
    }
    context.principal = Some(llm_gateway::Principal {
        name: "team-c".to_owned(),
        models: vec!["c/echo".to_owned()],
        max_prompt_tokens: None,
    });
    let refused = gateway
        .complete(&context, ChatRequest::from_prompt("pair", "hi"))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
}
