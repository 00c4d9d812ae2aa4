//! Failures every HTTP provider shares, mapped onto the error taxonomy. Messages never carry a URL
//! (it may hold a key) or a header value.

use std::time::{Duration, SystemTime};

use llm_core::{ErrorKind, LlmError, ProviderId};
use reqwest::header::HeaderMap;

/// A request that never got response headers.
pub fn from_transport(provider: &ProviderId, error: reqwest::Error) -> LlmError {
    let (kind, message) = if error.is_timeout() {
        (ErrorKind::Timeout, "the upstream provider did not answer in time")
    } else if error.is_connect() {
        (
            ErrorKind::ProviderUnavailable,
            "could not connect to the upstream provider",
        )
    } else {
        (
            ErrorKind::ProviderUnavailable,
            "the request to the upstream provider failed",
        )
    };
    LlmError::from_provider(provider, kind, message).with_cause(error.without_url())
}

/// A body that could not be read to its end.
pub fn from_body(provider: &ProviderId, error: reqwest::Error) -> LlmError {
    let kind = if error.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::UpstreamProtocol
    };
    LlmError::from_provider(provider, kind, "the upstream response body was cut short")
        .with_cause(error.without_url())
}

/// A deadline of ours passed: `what` did not happen within `after`.
pub fn timeout(provider: &ProviderId, what: &str, after: Duration) -> LlmError {
    LlmError::from_provider(
        provider,
        ErrorKind::Timeout,
        format!("{what} within {} ms", after.as_millis()),
    )
}

/// The upstream broke its protocol.
pub fn protocol(provider: &ProviderId, message: impl Into<String>) -> LlmError {
    LlmError::from_provider(provider, ErrorKind::UpstreamProtocol, message)
}

/// How long the upstream asks us to wait (`retry-after-ms`, else `retry-after`).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    llm_core::retry_after::parse(header("retry-after-ms"), header("retry-after"), now)
}
