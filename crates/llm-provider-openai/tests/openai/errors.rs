//! Upstream HTTP errors as the gateway sees them from `complete`.

use std::time::Duration;

use llm_core::{ErrorKind, ErrorOrigin, LlmError, Provider};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::common::{CHAT_PATH, request, server_and_provider};

async fn complete_against(template: ResponseTemplate) -> LlmError {
    let (server, provider) = server_and_provider().await;
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .respond_with(template)
        .mount(&server)
        .await;
    provider.complete("gpt-4o", &request()).await.unwrap_err()
}

fn openai_error(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> serde_json::Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
}

#[tokio::test]
async fn every_status_maps_to_its_kind() {
    let table = [
        (400, ErrorKind::InvalidRequest),
        (401, ErrorKind::Authentication),
        (403, ErrorKind::PermissionDenied),
        (404, ErrorKind::NotFound),
        (408, ErrorKind::Timeout),
        (413, ErrorKind::InvalidRequest),
        (422, ErrorKind::InvalidRequest),
        (429, ErrorKind::RateLimited),
        (500, ErrorKind::ProviderUnavailable),
        (502, ErrorKind::ProviderUnavailable),
        (503, ErrorKind::ProviderUnavailable),
        (504, ErrorKind::ProviderUnavailable),
        (409, ErrorKind::UpstreamProtocol),
    ];
    for (status, kind) in table {
        let body = openai_error("upstream words", "some_error", None, None);
        let error = complete_against(ResponseTemplate::new(status).set_body_json(body)).await;
        assert_eq!(error.kind(), kind, "status {status}");
        assert_eq!(error.origin(), ErrorOrigin::Provider, "status {status}");
        assert_eq!(error.provider().map(|p| p.as_str()), Some("oai"));
    }
}

#[tokio::test]
async fn invalid_request_keeps_the_upstream_message_and_param() {
    let body = openai_error(
        "Invalid value for 'temperature': must be <= 2.",
        "invalid_request_error",
        Some("temperature"),
        Some("invalid_value"),
    );
    let error = complete_against(ResponseTemplate::new(400).set_body_json(body)).await;
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(error.message(), "Invalid value for 'temperature': must be <= 2.");
    assert_eq!(error.param(), Some("temperature"));
    assert!(!error.retryable());

    let body = openai_error(
        "This model's maximum context length is 8192 tokens.",
        "invalid_request_error",
        Some("messages"),
        Some("context_length_exceeded"),
    );
    let error = complete_against(ResponseTemplate::new(400).set_body_json(body)).await;
    assert_eq!(error.kind(), ErrorKind::ContextLengthExceeded);
    assert_eq!(error.param(), Some("messages"));
}

#[tokio::test]
async fn unauthorized_does_not_echo_what_the_upstream_said_about_the_key() {
    let body = openai_error(
        "Incorrect API key provided: sk-test-GA*****6789.",
        "invalid_request_error",
        None,
        Some("invalid_api_key"),
    );
    let error = complete_against(ResponseTemplate::new(401).set_body_json(body)).await;
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert!(!error.message().contains("sk-"), "{}", error.message());
    assert!(!error.to_string().contains("GA*****6789"), "{error}");
    assert!(error.message().contains("credentials"));
}

#[tokio::test]
async fn rate_limits_keep_retry_after() {
    let body = openai_error(
        "Rate limit reached for gpt-4o in organization org-x on requests per min.",
        "requests",
        None,
        Some("rate_limit_exceeded"),
    );
    let error = complete_against(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "20")
            .set_body_json(body.clone()),
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(20)));
    assert!(error.retryable());

    let error = complete_against(
        ResponseTemplate::new(429)
            .insert_header("retry-after-ms", "1500")
            .set_body_json(body.clone()),
    )
    .await;
    assert_eq!(error.retry_after(), Some(Duration::from_millis(1500)));

    let error = complete_against(ResponseTemplate::new(429).set_body_json(body)).await;
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), None);
}

#[tokio::test]
async fn exhausted_quota_is_not_a_rate_limit() {
    let body = openai_error(
        "You exceeded your current quota.",
        "insufficient_quota",
        None,
        Some("insufficient_quota"),
    );
    let error = complete_against(ResponseTemplate::new(429).set_body_json(body)).await;
    assert_eq!(error.kind(), ErrorKind::QuotaExceeded);
    assert!(!error.retryable());
}

#[tokio::test]
async fn non_json_error_bodies_still_map_by_status() {
    let error =
        complete_against(ResponseTemplate::new(502).set_body_raw("<html>Bad Gateway</html>", "text/html"))
            .await;
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    assert!(!error.message().contains("<html>"));
    let error = complete_against(ResponseTemplate::new(404).set_body_string("Not Found")).await;
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn a_redirect_is_never_followed() {
    let elsewhere = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"unexpected": true})))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let location = format!("{}/v1/chat/completions", elsewhere.uri());
    let error =
        complete_against(ResponseTemplate::new(307).insert_header("location", location.as_str())).await;
    assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
    elsewhere.verify().await;
}
