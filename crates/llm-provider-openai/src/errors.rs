//! OpenAI's failures mapped onto the gateway's taxonomy: HTTP statuses with their error bodies,
//! error events inside a stream, transport failures and Retry-After headers.
//!
//! Messages are client-safe: a 401 never echoes the upstream text (it may quote part of the key),
//! and rate-limit texts, which describe the gateway's own account, are replaced by our own.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use llm_core::{ErrorKind, LlmError, ProviderId};
use reqwest::header::HeaderMap;

use crate::wire::{self, ErrorDetail};

/// The error for a non-success HTTP response.
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

/// The error for a request that never got response headers.
pub(crate) fn from_transport(provider: &ProviderId, error: reqwest::Error) -> LlmError {
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

/// The error for a body that could not be read to its end.
pub(crate) fn from_body(provider: &ProviderId, error: reqwest::Error) -> LlmError {
    let kind = if error.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::UpstreamProtocol
    };
    LlmError::from_provider(provider, kind, "the upstream response body was cut short")
        .with_cause(error.without_url())
}

/// A deadline of ours passed.
pub(crate) fn timeout(provider: &ProviderId, what: &str, after: Duration) -> LlmError {
    LlmError::from_provider(
        provider,
        ErrorKind::Timeout,
        format!("{what} within {} ms", after.as_millis()),
    )
}

/// The upstream broke the protocol.
pub(crate) fn protocol(provider: &ProviderId, message: impl Into<String>) -> LlmError {
    LlmError::from_provider(provider, ErrorKind::UpstreamProtocol, message)
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

/// How long the upstream asks us to wait: `retry-after-ms`, else `retry-after` in seconds or as an
/// HTTP-date.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    let millis = header("retry-after-ms").and_then(|value| value.parse::<f64>().ok());
    if let Some(wait) = millis.and_then(|millis| Duration::try_from_secs_f64(millis / 1000.0).ok()) {
        return Some(wait);
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the HTTP-date every server sends.
fn parse_http_date(value: &str) -> Option<SystemTime> {
    let mut parts = value.split_ascii_whitespace();
    let _weekday = parts.next()?;
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|field| field.parse::<i64>().ok());
    let (hours, minutes, seconds) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hours * 3_600 + minutes * 60 + seconds;
    UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = if year >= 0 { year } else { year - 399 } / 400;
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
#[path = "errors_tests.rs"]
mod tests;
