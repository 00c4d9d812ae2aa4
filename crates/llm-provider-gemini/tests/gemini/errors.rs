//! Upstream HTTP errors as the gateway sees them from `complete` and `stream`.

use std::time::Duration;

use llm_core::{ErrorKind, ErrorOrigin, LlmError, Provider};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::common::{GENERATE_PATH, KEY, MODEL, STREAM_PATH, request, server_and_provider};

async fn complete_against(template: ResponseTemplate) -> LlmError {
    let (server, provider) = server_and_provider().await;
    Mock::given(method("POST"))
        .and(path(GENERATE_PATH))
        .respond_with(template)
        .mount(&server)
        .await;
    provider.complete(MODEL, &request()).await.unwrap_err()
}

fn google_error(code: u16, status: &str, message: &str, details: Value) -> Value {
    json!({"error": {"code": code, "message": message, "status": status, "details": details}})
}

#[tokio::test]
async fn every_status_maps_to_its_kind() {
    let table = [
        (400, "INVALID_ARGUMENT", ErrorKind::InvalidRequest),
        (400, "FAILED_PRECONDITION", ErrorKind::InvalidRequest),
        (401, "UNAUTHENTICATED", ErrorKind::Authentication),
        (403, "PERMISSION_DENIED", ErrorKind::PermissionDenied),
        (404, "NOT_FOUND", ErrorKind::NotFound),
        (429, "RESOURCE_EXHAUSTED", ErrorKind::RateLimited),
        (500, "INTERNAL", ErrorKind::ProviderUnavailable),
        (503, "UNAVAILABLE", ErrorKind::ProviderUnavailable),
        (504, "DEADLINE_EXCEEDED", ErrorKind::Timeout),
        (409, "ABORTED", ErrorKind::UpstreamProtocol),
    ];
    for (status, name, kind) in table {
        let body = google_error(status, name, "upstream words", json!([]));
        let error = complete_against(ResponseTemplate::new(status).set_body_json(body)).await;
        assert_eq!(error.kind(), kind, "status {status}");
        assert_eq!(error.origin(), ErrorOrigin::Provider, "status {status}");
        assert_eq!(error.provider().map(|p| p.as_str()), Some("gem"));
    }
}

#[tokio::test]
async fn invalid_request_keeps_the_upstream_message() {
    let body = google_error(
        400,
        "INVALID_ARGUMENT",
        "Invalid value at 'generation_config.temperature' (TYPE_FLOAT), \"hot\"",
        json!([]),
    );
    let error = complete_against(ResponseTemplate::new(400).set_body_json(body)).await;
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert!(error.message().contains("generation_config.temperature"));
    assert!(!error.retryable());
}

#[tokio::test]
async fn a_long_prompt_is_context_length_exceeded() {
    let body = google_error(
        400,
        "INVALID_ARGUMENT",
        "The input token count (1500000) exceeds the maximum number of tokens allowed (1048576).",
        json!([]),
    );
    let error = complete_against(ResponseTemplate::new(400).set_body_json(body)).await;
    assert_eq!(error.kind(), ErrorKind::ContextLengthExceeded);
}

#[tokio::test]
async fn an_invalid_key_is_authentication_without_echoing_anything() {
    let body = google_error(
        400,
        "INVALID_ARGUMENT",
        &format!("API key not valid: {KEY}"),
        json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
            "domain": "googleapis.com"}]),
    );
    let error = complete_against(ResponseTemplate::new(400).set_body_json(body)).await;
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert!(!error.message().contains(KEY));
    assert!(!format!("{error:?}").contains(KEY));

    let suspended = google_error(
        403,
        "PERMISSION_DENIED",
        &format!("Consumer 'api_key:{KEY}' has been suspended."),
        json!([]),
    );
    let error = complete_against(ResponseTemplate::new(403).set_body_json(suspended)).await;
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert!(!error.message().contains(KEY));
}

#[tokio::test]
async fn rate_limits_carry_the_retry_delay() {
    let details = json!([
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
            {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
             "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "59s"}
    ]);
    let body = google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota.",
        details,
    );
    let error = complete_against(ResponseTemplate::new(429).set_body_json(body.clone())).await;
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(59)));
    assert!(error.retryable());

    let with_header = ResponseTemplate::new(429)
        .set_body_json(body)
        .insert_header("retry-after", "12");
    let error = complete_against(with_header).await;
    assert_eq!(error.retry_after(), Some(Duration::from_secs(12)));
}

#[tokio::test]
async fn an_error_status_fails_the_stream_before_it_starts() {
    let (server, provider) = server_and_provider().await;
    let body = google_error(
        503,
        "UNAVAILABLE",
        "The model is overloaded. Please try again later.",
        json!([]),
    );
    Mock::given(method("POST"))
        .and(path(STREAM_PATH))
        .respond_with(ResponseTemplate::new(503).set_body_json(body))
        .mount(&server)
        .await;

    let error = provider.stream(MODEL, &request()).await.err().unwrap();

    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    assert_eq!(
        error.message(),
        "The model is overloaded. Please try again later."
    );
    assert!(error.retryable());
}

#[tokio::test]
async fn a_non_json_error_body_still_maps_by_status() {
    let error =
        complete_against(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>")).await;
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    assert_eq!(error.message(), "the upstream provider answered HTTP 502");
}
