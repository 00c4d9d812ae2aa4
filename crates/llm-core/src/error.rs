//! The one error taxonomy: a closed set of kinds, each with a stable code, an origin and a retry policy.
//!
//! Retries, fallbacks, HTTP statuses and metric labels are all derived from [`ErrorKind`]; nothing else
//! in the gateway invents its own error classes.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::ids::ProviderId;
use crate::quota::QuotaHeaders;

/// The closed set of failure kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is malformed or has an invalid parameter.
    InvalidRequest,
    /// Missing or wrong credentials.
    Authentication,
    /// The caller is known but not allowed to do this.
    PermissionDenied,
    /// Unknown model, provider or resource.
    NotFound,
    /// The prompt does not fit the model's context window or a configured maximum.
    ContextLengthExceeded,
    /// A content rule blocked the request or the answer.
    ContentFiltered,
    /// A rate limit (the gateway's own or an upstream's) rejected the request.
    RateLimited,
    /// A spending or usage quota is exhausted.
    QuotaExceeded,
    /// The provider could not serve the request (5xx, overloaded, unreachable).
    ProviderUnavailable,
    /// A deadline passed (connect, first byte, between chunks, overall).
    Timeout,
    /// The upstream answered something that breaks its protocol (bad JSON, a cut stream).
    UpstreamProtocol,
    /// A bug or broken invariant inside the gateway.
    Internal,
}

impl ErrorKind {
    /// Every kind, for exhaustive tests and metric pre-registration.
    pub const ALL: [ErrorKind; 12] = [
        Self::InvalidRequest,
        Self::Authentication,
        Self::PermissionDenied,
        Self::NotFound,
        Self::ContextLengthExceeded,
        Self::ContentFiltered,
        Self::RateLimited,
        Self::QuotaExceeded,
        Self::ProviderUnavailable,
        Self::Timeout,
        Self::UpstreamProtocol,
        Self::Internal,
    ];

    /// The stable snake_case code sent to clients and used as a metric label.
    pub const fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::Authentication => "authentication",
            Self::PermissionDenied => "permission_denied",
            Self::NotFound => "not_found",
            Self::ContextLengthExceeded => "context_length_exceeded",
            Self::ContentFiltered => "content_filtered",
            Self::RateLimited => "rate_limit_exceeded",
            Self::QuotaExceeded => "quota_exceeded",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::Timeout => "timeout",
            Self::UpstreamProtocol => "upstream_protocol",
            Self::Internal => "internal",
        }
    }

    /// The kind whose [`code`](Self::code) is `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// Where an error of this kind comes from when nothing more specific is known.
    pub const fn default_origin(self) -> ErrorOrigin {
        match self {
            Self::InvalidRequest | Self::NotFound | Self::ContextLengthExceeded => ErrorOrigin::Caller,
            Self::Authentication | Self::PermissionDenied => ErrorOrigin::Caller,
            Self::ContentFiltered | Self::RateLimited | Self::QuotaExceeded => ErrorOrigin::Policy,
            Self::ProviderUnavailable | Self::Timeout | Self::UpstreamProtocol => ErrorOrigin::Provider,
            Self::Internal => ErrorOrigin::Gateway,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Who is responsible for an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorOrigin {
    /// The client sent something wrong.
    Caller,
    /// A gateway policy (limits, filters, permissions) refused the request.
    Policy,
    /// The upstream provider failed or refused.
    Provider,
    /// The gateway itself failed.
    Gateway,
}

impl ErrorOrigin {
    /// The snake_case name used in logs and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Caller => "caller",
            Self::Policy => "policy",
            Self::Provider => "provider",
            Self::Gateway => "gateway",
        }
    }
}

/// A failure anywhere in the gateway, carrying its kind, a client-safe message and retry hints.
///
/// The message is shown to clients: it must never contain secrets.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct LlmError {
    kind: ErrorKind,
    origin: ErrorOrigin,
    message: String,
    param: Option<String>,
    retry_after: Option<Duration>,
    provider: Option<ProviderId>,
    quota: Option<Box<QuotaHeaders>>,
    #[source]
    cause: Option<Arc<dyn StdError + Send + Sync>>,
}

impl LlmError {
    /// A new error with the kind's default origin.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            origin: kind.default_origin(),
            message: message.into(),
            param: None,
            retry_after: None,
            provider: None,
            quota: None,
            cause: None,
        }
    }

    /// An error reported by (or about) an upstream provider.
    pub fn from_provider(provider: &ProviderId, kind: ErrorKind, message: impl Into<String>) -> Self {
        let mut error = Self::new(kind, message);
        error.origin = ErrorOrigin::Provider;
        error.provider = Some(provider.clone());
        error
    }

    /// Shorthand for an `invalid_request` naming the offending parameter.
    pub fn invalid_param(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message).with_param(param)
    }

    /// Shorthand for an `internal` error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Names the request parameter at fault.
    #[must_use]
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Sets when the caller may retry.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Overrides the origin.
    #[must_use]
    pub fn with_origin(mut self, origin: ErrorOrigin) -> Self {
        self.origin = origin;
        self
    }

    /// Attaches the rate-limit state of the request (sent as `x-ratelimit-*` headers).
    #[must_use]
    pub fn with_quota(mut self, quota: QuotaHeaders) -> Self {
        self.quota = (!quota.is_empty()).then(|| Box::new(quota));
        self
    }

    /// The rate-limit state of the request, when it is limited.
    pub fn quota(&self) -> Option<&QuotaHeaders> {
        self.quota.as_deref()
    }

    /// Attaches the underlying cause (kept for logs, never shown to clients).
    #[must_use]
    pub fn with_cause(mut self, cause: impl StdError + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Who is responsible.
    pub fn origin(&self) -> ErrorOrigin {
        self.origin
    }

    /// The client-safe message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The offending request parameter, if any.
    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }

    /// When the caller may retry, if known.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The provider involved, if any.
    pub fn provider(&self) -> Option<&ProviderId> {
        self.provider.as_ref()
    }

    /// The stable code (shorthand for `kind().code()`).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// Whether the same request may succeed if tried again (on this or another deployment).
    ///
    /// Transient provider failures are retryable; so is an upstream 429. The gateway's own rate
    /// limits, the caller's mistakes and policy refusals are not.
    pub fn retryable(&self) -> bool {
        match self.kind {
            ErrorKind::ProviderUnavailable | ErrorKind::Timeout | ErrorKind::UpstreamProtocol => true,
            ErrorKind::RateLimited => self.origin == ErrorOrigin::Provider,
            ErrorKind::InvalidRequest
            | ErrorKind::Authentication
            | ErrorKind::PermissionDenied
            | ErrorKind::NotFound
            | ErrorKind::ContextLengthExceeded
            | ErrorKind::ContentFiltered
            | ErrorKind::QuotaExceeded
            | ErrorKind::Internal => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut codes: Vec<_> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
        );
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn only_upstream_rate_limits_are_retryable() {
        let own = LlmError::new(ErrorKind::RateLimited, "slow down");
        assert!(!own.retryable());
        let upstream = LlmError::from_provider(&"openai".into(), ErrorKind::RateLimited, "429")
            .with_retry_after(Some(Duration::from_secs(3)));
        assert!(upstream.retryable());
        assert_eq!(upstream.retry_after(), Some(Duration::from_secs(3)));
        assert!(LlmError::new(ErrorKind::Timeout, "t").retryable());
        assert!(!LlmError::invalid_param("temperature", "too hot").retryable());
    }
}
