use super::*;
use llm_core::ErrorOrigin;
use llm_provider_http::reqwest::header::HeaderValue;
use std::time::Duration;

fn provider() -> ProviderId {
    "openai".into()
}

fn body(kind: &str, code: Option<&str>, param: Option<&str>, message: &str) -> Vec<u8> {
    serde_json::json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
        .to_string()
        .into_bytes()
}

fn map(status: u16, body: &[u8]) -> LlmError {
    from_status(&provider(), status, &HeaderMap::new(), body)
}

#[test]
fn statuses_map_to_kinds() {
    let plain = body("invalid_request_error", None, None, "upstream says no");
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
        (418, ErrorKind::UpstreamProtocol),
        (302, ErrorKind::UpstreamProtocol),
    ];
    for (status, kind) in table {
        for payload in [&plain[..], b"<html>oops</html>", b""] {
            let error = map(status, payload);
            assert_eq!(error.kind(), kind, "status {status}");
            assert_eq!(error.origin(), ErrorOrigin::Provider, "status {status}");
            assert_eq!(error.provider(), Some(&provider()));
        }
    }
}

#[test]
fn invalid_request_keeps_message_and_param() {
    let error = map(
        400,
        &body(
            "invalid_request_error",
            Some("invalid_value"),
            Some("temperature"),
            "temperature too high",
        ),
    );
    assert_eq!(error.message(), "temperature too high");
    assert_eq!(error.param(), Some("temperature"));
    let context = map(
        400,
        &body(
            "invalid_request_error",
            Some("context_length_exceeded"),
            Some("messages"),
            "too long",
        ),
    );
    assert_eq!(context.kind(), ErrorKind::ContextLengthExceeded);
    assert_eq!(context.param(), Some("messages"));
    let html = map(400, b"<html>bad</html>");
    assert_eq!(html.message(), "the upstream provider answered HTTP 400");
    assert_eq!(html.param(), None);
}

#[test]
fn unauthorized_never_echoes_the_upstream_text() {
    let error = map(
        401,
        &body(
            "invalid_request_error",
            Some("invalid_api_key"),
            None,
            "Incorrect API key provided: sk-abc***wxyz.",
        ),
    );
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert!(!error.message().contains("sk-abc"), "{}", error.message());
    assert!(error.message().contains("credentials"));
}

#[test]
fn too_many_requests_keeps_retry_after_and_spots_quota() {
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", HeaderValue::from_static("20"));
    let limited = from_status(
        &provider(),
        429,
        &headers,
        &body(
            "requests",
            Some("rate_limit_exceeded"),
            None,
            "org-secret123 limit",
        ),
    );
    assert_eq!(limited.kind(), ErrorKind::RateLimited);
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(20)));
    assert!(limited.retryable());
    assert!(!limited.message().contains("org-secret123"));
    let quota = map(
        429,
        &body(
            "insufficient_quota",
            Some("insufficient_quota"),
            None,
            "You exceeded your current quota",
        ),
    );
    assert_eq!(quota.kind(), ErrorKind::QuotaExceeded);
    assert!(!quota.retryable());
    // OpenAI also sends the finer `retry-after-ms`, which wins over `retry-after`.
    headers.insert("retry-after-ms", HeaderValue::from_static("250"));
    let precise = from_status(&provider(), 429, &headers, b"");
    assert_eq!(precise.retry_after(), Some(Duration::from_millis(250)));
}

#[test]
fn stream_error_events_map_by_type_and_code() {
    let detail = |kind: Option<&str>, code: Option<&str>| ErrorDetail {
        message: Some("upstream text".into()),
        kind: kind.map(Into::into),
        param: None,
        code: code.map(Into::into),
    };
    let cases = [
        (detail(Some("server_error"), None), ErrorKind::ProviderUnavailable),
        (
            detail(Some("requests"), Some("rate_limit_exceeded")),
            ErrorKind::RateLimited,
        ),
        (detail(None, Some("rate_limit")), ErrorKind::RateLimited),
        (detail(Some("insufficient_quota"), None), ErrorKind::QuotaExceeded),
        (
            detail(Some("BadRequestError"), Some("400")),
            ErrorKind::InvalidRequest,
        ),
        (
            detail(Some("InternalServerError"), Some("500")),
            ErrorKind::ProviderUnavailable,
        ),
        (detail(Some("mystery"), None), ErrorKind::UpstreamProtocol),
        (ErrorDetail::default(), ErrorKind::UpstreamProtocol),
    ];
    for (detail, kind) in cases {
        let error = from_stream_error(&provider(), &detail);
        assert_eq!(error.kind(), kind, "{detail:?}");
        assert_eq!(error.origin(), ErrorOrigin::Provider);
    }
    let unavailable = from_stream_error(&provider(), &detail(Some("server_error"), None));
    assert_eq!(unavailable.message(), "upstream text");
}
