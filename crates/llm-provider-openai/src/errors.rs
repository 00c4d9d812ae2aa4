//! OpenAI's failures mapped onto the gateway's taxonomy: HTTP statuses with their error bodies and
//! error events inside a stream. Transport failures, deadlines and Retry-After headers are the shared
//! toolkit's (`llm-provider-http`).
//!
//! Messages are client-safe: a 401 never echoes the upstream text (it may quote part of the key),
//! and rate-limit texts, which describe the gateway's own account, are replaced by our own.

use std::time::SystemTime;

use llm_core::{ErrorKind, LlmError, ProviderId};
use llm_provider_http::reqwest::header::HeaderMap;
use llm_provider_http::retry_after;

use crate::wire::{self, ErrorDetail};

/// The error for a non-success HTTP response: the [`StatusMapper`](llm_provider_http::StatusMapper)
/// of OpenAI-style upstreams.
pub(crate) fn from_status(provider: &ProviderId, status: u16, headers: &HeaderMap, body: &[u8]) -> LlmError {
    let detail = wire::parse_error_body(body).unwrap_or_default();
    let kind = kind_for_status(status, &detail);
    let fallback = format!("the upstream provider answered HTTP {status}");
    build(provider, kind, &detail, fallback).with_retry_after(retry_after(headers, SystemTime::now()))
}

/// The error for an `{"error": {...}}` event received mid-stream.
pub(crate) fn from_stream_error(provider: &ProviderId, detail: &ErrorDetail) -> LlmError {
    let kind = kind_for_detail(detail)
        .or_else(|| {
            let status = detail.code.as_deref()?.parse::<u16>().ok()?;
            (400..600)
                .contains(&status)
                .then(|| kind_for_status(status, detail))
        })
        .unwrap_or(ErrorKind::UpstreamProtocol);
    build(
        provider,
        kind,
        detail,
        "the upstream provider sent an error event".to_owned(),
    )
}

/// An error of `kind` with a client-safe message and, for request errors, the offending param.
fn build(provider: &ProviderId, kind: ErrorKind, detail: &ErrorDetail, fallback: String) -> LlmError {
    let message = match kind {
        ErrorKind::Authentication => "the upstream provider rejected the gateway's credentials".to_owned(),
        ErrorKind::RateLimited => "the upstream provider rate-limited the request".to_owned(),
        ErrorKind::QuotaExceeded => "the upstream provider's quota for the gateway is exhausted".to_owned(),
        _ => detail.message.clone().unwrap_or(fallback),
    };
    let error = LlmError::from_provider(provider, kind, message);
    match (&detail.param, kind) {
        (Some(param), ErrorKind::InvalidRequest | ErrorKind::ContextLengthExceeded) => {
            error.with_param(param)
        }
        _ => error,
    }
}

fn kind_for_status(status: u16, detail: &ErrorDetail) -> ErrorKind {
    match status {
        400 | 413 | 422 if has_label(detail, &["context_length_exceeded"]) => {
            ErrorKind::ContextLengthExceeded
        }
        400 | 413 | 422 => ErrorKind::InvalidRequest,
        401 => ErrorKind::Authentication,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        429 if has_label(detail, &["insufficient_quota"]) => ErrorKind::QuotaExceeded,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::ProviderUnavailable,
        _ => ErrorKind::UpstreamProtocol,
    }
}

/// The kind an error object names by its `type` or `code`, when it names a known one.
fn kind_for_detail(detail: &ErrorDetail) -> Option<ErrorKind> {
    if has_label(detail, &["insufficient_quota"]) {
        Some(ErrorKind::QuotaExceeded)
    } else if has_label(
        detail,
        &[
            "rate_limit_exceeded",
            "rate_limit_error",
            "rate_limit",
            "requests",
            "tokens",
        ],
    ) {
        Some(ErrorKind::RateLimited)
    } else if has_label(
        detail,
        &[
            "server_error",
            "service_unavailable",
            "overloaded",
            "overloaded_error",
            "internal_error",
            "api_error",
        ],
    ) {
        Some(ErrorKind::ProviderUnavailable)
    } else if has_label(detail, &["context_length_exceeded"]) {
        Some(ErrorKind::ContextLengthExceeded)
    } else {
        None
    }
}

fn has_label(detail: &ErrorDetail, labels: &[&str]) -> bool {
    [&detail.kind, &detail.code]
        .into_iter()
        .flatten()
        .any(|label| labels.contains(&label.as_str()))
}

#[cfg(test)]
#[path = "errors_tests.rs"]
mod tests;
