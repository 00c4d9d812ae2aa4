use super::*;
use serde_json::json;

fn status_error(status: u16, body: serde_json::Value) -> LlmError {
    from_status(
        &"gem".into(),
        status,
        &HeaderMap::new(),
        &serde_json::to_vec(&body).unwrap(),
    )
}

fn google(code: u16, status: &str, message: &str) -> serde_json::Value {
    json!({"error": {"code": code, "message": message, "status": status}})
}

#[test]
fn statuses_and_status_names_map_to_kinds() {
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
        (499, "CANCELLED", ErrorKind::UpstreamProtocol),
    ];
    for (code, status, kind) in table {
        assert_eq!(
            status_error(code, google(code, status, "words")).kind(),
            kind,
            "{code}"
        );
        let object = ErrorStatus {
            status: Some(status.to_owned()),
            ..ErrorStatus::default()
        };
        assert_eq!(
            from_status_object(&"gem".into(), &object).kind(),
            kind,
            "{status}"
        );
    }
}

#[test]
fn key_errors_are_authentication_and_never_echo_the_text() {
    let invalid = json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT", "details": [{"@type": ERROR_INFO, "reason": "API_KEY_INVALID"}]}});
    let error = status_error(400, invalid);
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert!(!error.message().contains("API key not valid"));
    let suspended = google(
        403,
        "PERMISSION_DENIED",
        "Consumer 'api_key:AIzaSyFAKE123' has been suspended.",
    );
    let error = status_error(403, suspended);
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert!(!error.message().contains("AIza"));
}

#[test]
fn kept_messages_are_scrubbed_and_context_length_is_recognised() {
    let error = status_error(
        404,
        google(404, "NOT_FOUND", "models/x not found for key AIzaSyFAKE123 today"),
    );
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(error.message(), "models/x not found for key <redacted> today");
    let long = google(
        400,
        "INVALID_ARGUMENT",
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
    );
    let error = status_error(400, long);
    assert_eq!(error.kind(), ErrorKind::ContextLengthExceeded);
    assert!(error.message().contains("1048576"));
    let plain = status_error(400, google(400, "INVALID_ARGUMENT", "temperature must be <= 2"));
    assert_eq!(plain.message(), "temperature must be <= 2");
    assert_eq!(plain.origin(), ErrorOrigin::Provider);
}

#[test]
fn retry_delay_from_header_or_retry_info() {
    let body = json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": RETRY_INFO, "retryDelay": "59s"}]}});
    assert_eq!(
        status_error(429, body.clone()).retry_after(),
        Some(Duration::from_secs(59))
    );
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", "3".parse().unwrap());
    let error = from_status(&"gem".into(), 429, &headers, &serde_json::to_vec(&body).unwrap());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    assert!(error.retryable());
    let fractional =
        json!({"error": {"code": 429, "details": [{"@type": RETRY_INFO, "retryDelay": "1.5s"}]}});
    assert_eq!(
        status_error(429, fractional).retry_after(),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(status_error(429, json!({})).retry_after(), None);
}

#[test]
fn unparseable_bodies_fall_back_to_the_status() {
    let error = from_status(&"gem".into(), 502, &HeaderMap::new(), b"<html>bad gateway</html>");
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    assert_eq!(error.message(), "the upstream provider answered HTTP 502");
}
