//! Gemini's failures mapped onto the gateway's taxonomy: HTTP statuses with their `google.rpc.Status`
//! bodies, error events and prompt blocks inside a stream, and `RetryInfo` retry delays. Transport
//! failures, our own deadlines and `Retry-After` headers are `llm-provider-http`'s.
//!
//! | upstream | kind |
//! | --- | --- |
//! | 400 `INVALID_ARGUMENT` / `FAILED_PRECONDITION` / `OUT_OF_RANGE`, 413 | `invalid_request` (`context_length_exceeded` when the token count exceeds the limit) |
//! | 400 with `API_KEY_INVALID` (Gemini's answer to a bad key), 401 `UNAUTHENTICATED` | `authentication` |
//! | 403 `PERMISSION_DENIED` | `authentication` when it is about the API key, else `permission_denied` |
//! | 404 `NOT_FOUND` | `not_found` |
//! | 408, 504 `DEADLINE_EXCEEDED` | `timeout` (Google's own deadline passed; retryable like any timeout) |
//! | 429 `RESOURCE_EXHAUSTED` | `rate_limited`, retry after `retry-after`, else `RetryInfo.retryDelay` |
//! | other 5xx (`INTERNAL`, `UNAVAILABLE`) | `provider_unavailable` |
//! | anything else | `upstream_protocol` |
//!
//! Messages are client-safe: authentication, permission and rate-limit texts are replaced by our own
//! (Google's may quote the key as `api_key:AIza...`), and any kept text is scrubbed of key-like words.

use std::time::{Duration, SystemTime};

use llm_core::{ErrorKind, ErrorOrigin, LlmError, ProviderId};
use llm_provider_http::protocol;
use llm_provider_http::reqwest::header::HeaderMap;

use crate::wire::{self, ErrorStatus, RequestError, ResponseFault, StreamFault};

const RETRY_INFO: &str = "type.googleapis.com/google.rpc.RetryInfo";
const ERROR_INFO: &str = "type.googleapis.com/google.rpc.ErrorInfo";

/// The error for a non-success HTTP response: the [`llm_provider_http::StatusMapper`] of this crate.
pub(crate) fn from_status(provider: &ProviderId, status: u16, headers: &HeaderMap, body: &[u8]) -> LlmError {
    let detail = wire::parse_error_body(body).unwrap_or_default();
    let kind = kind_for(Some(status), &detail);
    let header_wait = llm_provider_http::retry_after(headers, SystemTime::now());
    build(
        provider,
        kind,
        &detail,
        format!("the upstream provider answered HTTP {status}"),
    )
    .with_retry_after(header_wait.or_else(|| retry_delay(&detail)))
}

/// The error for an error object sent in place of a response (inside a stream, or in a 200 body).
pub(crate) fn from_status_object(provider: &ProviderId, detail: &ErrorStatus) -> LlmError {
    let kind = kind_for(None, detail);
    build(
        provider,
        kind,
        detail,
        "the upstream provider sent an error event".to_owned(),
    )
    .with_retry_after(retry_delay(detail))
}

/// A request Gemini cannot be sent; the caller's fault, found before any request was made.
pub(crate) fn from_request(provider: &ProviderId, error: RequestError) -> LlmError {
    LlmError::from_provider(provider, ErrorKind::InvalidRequest, error.message)
        .with_param(error.param)
        .with_origin(ErrorOrigin::Caller)
}

/// The prompt was refused by Gemini's safety filters.
pub(crate) fn prompt_blocked(provider: &ProviderId, reason: &str) -> LlmError {
    LlmError::from_provider(
        provider,
        ErrorKind::ContentFiltered,
        format!("prompt blocked: {}", scrub(reason)),
    )
}

/// A `generateContent` body with no answer in it.
pub(crate) fn from_response_fault(provider: &ProviderId, fault: ResponseFault) -> LlmError {
    match fault {
        ResponseFault::PromptBlocked(reason) => prompt_blocked(provider, &reason),
        ResponseFault::NoCandidates => protocol(provider, "the upstream answer has no candidates"),
        ResponseFault::Error(detail) => from_status_object(provider, &detail),
    }
}

/// A stream that cannot go on.
pub(crate) fn from_stream_fault(provider: &ProviderId, fault: StreamFault) -> LlmError {
    match fault {
        StreamFault::PromptBlocked(reason) => prompt_blocked(provider, &reason),
        StreamFault::Error(detail) => from_status_object(provider, &detail),
        StreamFault::Malformed(cause) => protocol(
            provider,
            "the upstream stream sent an event that is not valid JSON",
        )
        .with_cause(cause),
        StreamFault::Unfinished => protocol(provider, "the stream ended before a finish reason"),
        StreamFault::Oversized => protocol(provider, "the upstream stream sent an oversized line"),
    }
}

fn build(provider: &ProviderId, kind: ErrorKind, detail: &ErrorStatus, fallback: String) -> LlmError {
    let message = match kind {
        ErrorKind::Authentication => "the upstream provider rejected the gateway's credentials".to_owned(),
        ErrorKind::PermissionDenied => "the upstream provider denied the gateway permission".to_owned(),
        ErrorKind::RateLimited => "the upstream provider rate-limited the request".to_owned(),
        _ => detail.message.as_deref().map(scrub).unwrap_or(fallback),
    };
    LlmError::from_provider(provider, kind, message)
}

/// The kind for an HTTP status (when there is one) and the status object's `code` and `status`.
fn kind_for(http: Option<u16>, detail: &ErrorStatus) -> ErrorKind {
    let code = http
        .filter(|code| (400..600).contains(code))
        .or(detail.code.filter(|code| (400..600).contains(code)))
        .or_else(|| code_for_status(detail.status.as_deref()?));
    match code {
        Some(400 | 413) if about_api_key(detail) => ErrorKind::Authentication,
        Some(400 | 413) if context_too_long(detail) => ErrorKind::ContextLengthExceeded,
        Some(400 | 413) => ErrorKind::InvalidRequest,
        Some(401) => ErrorKind::Authentication,
        Some(403) if about_api_key(detail) => ErrorKind::Authentication,
        Some(403) => ErrorKind::PermissionDenied,
        Some(404) => ErrorKind::NotFound,
        Some(408 | 504) => ErrorKind::Timeout,
        Some(429) => ErrorKind::RateLimited,
        Some(500..=599) => ErrorKind::ProviderUnavailable,
        _ => ErrorKind::UpstreamProtocol,
    }
}

/// The HTTP code Google pairs with a canonical status name.
fn code_for_status(status: &str) -> Option<u16> {
    Some(match status {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => 400,
        "UNAUTHENTICATED" => 401,
        "PERMISSION_DENIED" => 403,
        "NOT_FOUND" => 404,
        "RESOURCE_EXHAUSTED" => 429,
        "INTERNAL" | "UNKNOWN" | "DATA_LOSS" => 500,
        "UNAVAILABLE" => 503,
        "DEADLINE_EXCEEDED" => 504,
        _ => return None,
    })
}

/// Whether the error is about the API key (`ErrorInfo.reason` `API_KEY_*`, or the message says so).
fn about_api_key(detail: &ErrorStatus) -> bool {
    let reason_says = detail.details.iter().any(|entry| {
        entry.get("@type").and_then(|kind| kind.as_str()) == Some(ERROR_INFO)
            && entry
                .get("reason")
                .and_then(|reason| reason.as_str())
                .is_some_and(|reason| reason.starts_with("API_KEY"))
    });
    reason_says
        || detail.message.as_deref().is_some_and(|message| {
            let message = message.to_ascii_lowercase();
            message.contains("api key") || message.contains("api_key")
        })
}

/// Whether a 400 says the prompt has more tokens than the model takes.
fn context_too_long(detail: &ErrorStatus) -> bool {
    detail.message.as_deref().is_some_and(|message| {
        let message = message.to_ascii_lowercase();
        (message.contains("token count") && message.contains("exceed"))
            || message.contains("exceeds the maximum number of tokens")
    })
}

/// `RetryInfo.retryDelay` (`"59s"`, `"1.5s"`) from the status details.
fn retry_delay(detail: &ErrorStatus) -> Option<Duration> {
    detail
        .details
        .iter()
        .filter(|entry| entry.get("@type").and_then(|kind| kind.as_str()) == Some(RETRY_INFO))
        .find_map(|entry| {
            let delay = entry.get("retryDelay")?.as_str()?.trim().strip_suffix('s')?;
            Duration::try_from_secs_f64(delay.parse::<f64>().ok()?).ok()
        })
}

/// Upstream text with every word that looks like a Google API key (`AIza...`, `api_key:...`)
/// replaced.
fn scrub(text: &str) -> String {
    let looks_secret = |word: &str| word.contains("AIza") || word.to_ascii_lowercase().contains("api_key:");
    if !text.split_whitespace().any(looks_secret) {
        return text.to_owned();
    }
    text.split(' ')
        .map(|word| if looks_secret(word) { "<redacted>" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[path = "errors_tests.rs"]
mod tests;
