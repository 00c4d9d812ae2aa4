//! Upstream HTTP errors as the gateway sees them from `complete`.

use std::time::Duration;

use llm_core::{ErrorKind, ErrorOrigin, LlmError, Provider};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::common::{KEY, MESSAGES_PATH, request, server_and_provider};

async fn complete_against(template: ResponseTemplate) -> LlmError {
    let (server, provider) = server_and_provider().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(template)
        .mount(&server)
        .await;
    provider.complete("claude-test", &request()).await.unwrap_err()
}

fn anthropic_error(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_test_1"})
}

#[tokio::test]
async fn every_documented_error_maps_to_its_kind() {
    let table = [
        (400, "invalid_request_error", ErrorKind::InvalidRequest, false),
        (401, "authentication_error", ErrorKind::Authentication, false),
        (403, "permission_error", ErrorKind::PermissionDenied, false),
        (404, "not_found_error", ErrorKind::NotFound, false),
        (413, "request_too_large", ErrorKind::InvalidRequest, false),
        (429, "rate_limit_error", ErrorKind::RateLimited, true),
        (500, "api_error", ErrorKind::ProviderUnavailable, true),
        (529, "overloaded_error", ErrorKind::ProviderUnavailable, true),
    ];
    for (status, kind_name, kind, retryable) in table {
        let body = anthropic_error(kind_name, "upstream words");
        let error = complete_against(ResponseTemplate::new(status).set_body_json(body)).await;
        assert_eq!(error.kind(), kind, "{status} {kind_name}");
        assert_eq!(error.retryable(), retryable, "{status} {kind_name}");
        assert_eq!(error.origin(), ErrorOrigin::Provider, "{status}");
        assert_eq!(error.provider().map(|p| p.as_str()), Some("claude"));
    }
}

#[tokio::test]
async fn other_5xx_without_an_anthropic_body_are_unavailable() {
    for status in [502, 503, 504] {
        let error =
            complete_against(ResponseTemplate::new(status).set_body_string("<html>bad gateway</html>")).await;
        assert_eq!(error.kind(), ErrorKind::ProviderUnavailable, "{status}");
        assert_eq!(
            error.message(),
            format!("the upstream provider answered HTTP {status}")
        );
        assert!(error.retryable());
    }
}

#[tokio::test]
async fn invalid_request_keeps_the_message_and_prompt_too_long_is_context_length() {
    let body = anthropic_error("invalid_request_error", "max_tokens: Field required");
    let error = complete_against(ResponseTemplate::new(400).set_body_json(body)).await;
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(error.message(), "max_tokens: Field required");

    let body = anthropic_error(
        "invalid_request_error",
        "prompt is too long: 210000 tokens > 200000 maximum",
    );
    let error = complete_against(ResponseTemplate::new(400).set_body_json(body)).await;
    assert_eq!(error.kind(), ErrorKind::ContextLengthExceeded);
    assert_eq!(
        error.message(),
        "prompt is too long: 210000 tokens > 200000 maximum"
    );
    assert_eq!(error.param(), Some("messages"));
    assert!(!error.retryable());
}

#[tokio::test]
async fn unauthorized_does_not_echo_what_the_upstream_said() {
    let body = anthropic_error("authentication_error", &format!("invalid x-api-key {KEY}"));
    let error = complete_against(ResponseTemplate::new(401).set_body_json(body)).await;
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert!(!error.message().contains("x-api-key"), "{}", error.message());
    assert!(!format!("{error:?}").contains(KEY));
    assert!(!error.to_string().contains(KEY));
}

#[tokio::test]
async fn rate_limits_carry_retry_after_and_hide_the_account_details() {
    let body = anthropic_error(
        "rate_limit_error",
        "This request would exceed your organization's rate limit (org: 1234)",
    );
    let error = complete_against(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "7")
            .set_body_json(body.clone()),
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    assert!(!error.message().contains("org:"), "{}", error.message());
    assert!(error.retryable());

    let error = complete_against(
        ResponseTemplate::new(429)
            .insert_header("retry-after-ms", "1500")
            .insert_header("retry-after", "7")
            .set_body_json(body),
    )
    .await;
    assert_eq!(error.retry_after(), Some(Duration::from_millis(1500)));
}

#[tokio::test]
async fn overloaded_529_is_retryable_with_its_retry_after() {
    let body = anthropic_error("overloaded_error", "Overloaded");
    let error = complete_against(
        ResponseTemplate::new(529)
            .insert_header("retry-after", "2")
            .set_body_json(body),
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    assert_eq!(error.message(), "Overloaded");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
    assert!(error.retryable());
}
