//! Anthropic's failures mapped onto the gateway's taxonomy: HTTP statuses with their error bodies,
//! and `event: error` inside a stream. Transport failures, deadlines and Retry-After headers are the
//! shared toolkit's (`llm_provider_http`).
//!
//! The error `type` decides first, the status second. Messages are client-safe: a 401 never echoes
//! the upstream text, and rate-limit texts, which describe the gateway's own account, are replaced.

use std::time::SystemTime;

use llm_core::{ErrorKind, LlmError, ProviderId};
use llm_provider_http::reqwest::header::HeaderMap;
use llm_provider_http::retry_after;

use crate::types::ErrorObject;
use crate::wire;

/// The error for a non-success HTTP response: the provider's [`llm_provider_http::StatusMapper`].
pub(crate) fn from_status(provider: &ProviderId, status: u16, headers: &HeaderMap, body: &[u8]) -> LlmError {
    let detail = wire::parse_error_body(body)
        .map(|envelope| envelope.error)
        .unwrap_or_default();
    let kind = kind_for_type(&detail).unwrap_or_else(|| kind_for_status(status));
    let fallback = format!("the upstream provider answered HTTP {status}");
    build(provider, kind, &detail, fallback).with_retry_after(retry_after(headers, SystemTime::now()))
}

/// The error for an `event: error` received after the response had started.
pub(crate) fn from_stream_error(provider: &ProviderId, detail: &ErrorObject) -> LlmError {
    let kind = kind_for_type(detail).unwrap_or(ErrorKind::ProviderUnavailable);
    build(
        provider,
        kind,
        detail,
        "the upstream provider sent an error event".to_owned(),
    )
}

fn build(provider: &ProviderId, kind: ErrorKind, detail: &ErrorObject, fallback: String) -> LlmError {
    let message = match kind {
        ErrorKind::Authentication => "the upstream provider rejected the gateway's credentials".to_owned(),
        ErrorKind::RateLimited => "the upstream provider rate-limited the request".to_owned(),
        ErrorKind::QuotaExceeded => {
            "the upstream provider's spending limit for the gateway is reached".to_owned()
        }
        _ if detail.message.is_empty() => fallback,
        _ => detail.message.clone(),
    };
    let error = LlmError::from_provider(provider, kind, message);
    if kind == ErrorKind::ContextLengthExceeded {
        error.with_param("messages")
    } else {
        error
    }
}

/// The kind Anthropic's error `type` names, when it names a known one.
fn kind_for_type(detail: &ErrorObject) -> Option<ErrorKind> {
    let kind = match detail.kind.as_str() {
        "invalid_request_error" if is_prompt_too_long(&detail.message) => ErrorKind::ContextLengthExceeded,
        "invalid_request_error" | "request_too_large" => ErrorKind::InvalidRequest,
        "authentication_error" => ErrorKind::Authentication,
        "permission_error" => ErrorKind::PermissionDenied,
        "not_found_error" => ErrorKind::NotFound,
        "billing_error" => ErrorKind::QuotaExceeded,
        "rate_limit_error" if is_spend_limit(detail) => ErrorKind::QuotaExceeded,
        "rate_limit_error" => ErrorKind::RateLimited,
        "api_error" | "overloaded_error" => ErrorKind::ProviderUnavailable,
        "timeout_error" => ErrorKind::Timeout,
        _ => return None,
    };
    Some(kind)
}

fn is_prompt_too_long(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("prompt is too long") || message.contains("context window")
}

fn is_spend_limit(detail: &ErrorObject) -> bool {
    detail
        .details
        .as_ref()
        .and_then(|details| details.get("error_code"))
        .and_then(|code| code.as_str())
        .is_some_and(|code| code.contains("spend_limit"))
}

fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        400 | 409 | 413 | 422 => ErrorKind::InvalidRequest,
        401 => ErrorKind::Authentication,
        402 => ErrorKind::QuotaExceeded,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::ProviderUnavailable,
        _ => ErrorKind::UpstreamProtocol,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn status(status: u16, body: serde_json::Value) -> LlmError {
        let body = serde_json::to_vec(&body).unwrap();
        from_status(&"claude".into(), status, &HeaderMap::new(), &body)
    }

    fn envelope(kind: &str, message: &str) -> serde_json::Value {
        json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"})
    }

    #[test]
    fn type_wins_over_status() {
        let error = status(500, envelope("overloaded_error", "Overloaded"));
        assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
        let error = status(400, envelope("rate_limit_error", "slow"));
        assert_eq!(error.kind(), ErrorKind::RateLimited);
        let error = status(504, envelope("timeout_error", "took too long"));
        assert_eq!(error.kind(), ErrorKind::Timeout);
        let error = status(402, envelope("billing_error", "pay up"));
        assert_eq!(error.kind(), ErrorKind::QuotaExceeded);
    }

    #[test]
    fn spend_limit_is_a_quota_not_a_rate_limit() {
        let body = json!({"type": "error", "error": {"type": "rate_limit_error", "message": "spend",
            "details": {"error_code": "enforced_spend_limit_reached"}}});
        let error = status(429, body);
        assert_eq!(error.kind(), ErrorKind::QuotaExceeded);
        assert!(!error.retryable());
    }

    #[test]
    fn unknown_or_missing_bodies_fall_back_to_the_status() {
        assert_eq!(status(503, json!("oops")).kind(), ErrorKind::ProviderUnavailable);
        assert_eq!(status(418, json!({})).kind(), ErrorKind::UpstreamProtocol);
        let error = status(409, envelope("conflict_error", "busy"));
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        assert_eq!(error.message(), "busy");
        let error = from_status(
            &"claude".into(),
            502,
            &HeaderMap::new(),
            b"<html>bad gateway</html>",
        );
        assert_eq!(error.message(), "the upstream provider answered HTTP 502");
    }

    #[test]
    fn stream_errors_map_by_type() {
        let overloaded = ErrorObject {
            kind: "overloaded_error".into(),
            message: "Overloaded".into(),
            details: None,
        };
        let error = from_stream_error(&"claude".into(), &overloaded);
        assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
        assert!(error.retryable());
        let strange = ErrorObject {
            kind: "brand_new_error".into(),
            ..ErrorObject::default()
        };
        let error = from_stream_error(&"claude".into(), &strange);
        assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
        assert_eq!(error.message(), "the upstream provider sent an error event");
    }
}
