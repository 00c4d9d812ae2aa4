//! The crate's error types: [`RuleError`] for configuration, [`LimitError`] for store failures.
//!
//! Messages name what is wrong and where, never a password or a subject's key material.

use std::time::Duration;

/// Why a rule (or one of its parts) could not be built from configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A scope that is not `global` or a `+`-joined set of `user`, `provider` and `model`.
    #[error(
        "invalid rate limit scope {0:?}: use global, or user, provider and model joined by '+' (e.g. user+model)"
    )]
    Scope(String),
    /// A unit other than `requests` or `tokens`.
    #[error("invalid rate limit unit {0:?}: use requests or tokens")]
    Unit(String),
    /// A store-error policy other than `local` or `deny`.
    #[error("invalid store error policy {0:?}: use local or deny")]
    OnStoreError(String),
    /// A window that does not parse.
    #[error(
        "invalid rate limit window {0:?}: use a whole number with s, m, h or d (e.g. 30s, 1m, 1h, 1d), or second, minute, hour, day"
    )]
    Window(String),
    /// A window shorter than a second or longer than a year.
    #[error("rate limit window {} ms is out of range: use 1s to 365d", .0.as_millis())]
    WindowRange(Duration),
    /// A zero limit.
    #[error("rate limit limit must be at least 1")]
    ZeroLimit,
    /// More than one unit per microsecond of window: the limiter's clock cannot resolve it.
    #[error("rate limit {limit} per {} ms is too fine: at most one per microsecond of window", .window.as_millis())]
    TooFine { limit: u64, window: Duration },
}

/// Why a limit store could not decide.
#[derive(Clone, Debug, thiserror::Error)]
pub enum LimitError {
    /// The store did not answer within the command timeout.
    #[error("rate limit store timed out after {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The store refused the command, is unreachable or is misconfigured.
    #[error("rate limit store error: {0}")]
    Store(String),
}

impl From<llm_redis::RedisError> for LimitError {
    fn from(error: llm_redis::RedisError) -> Self {
        match error {
            llm_redis::RedisError::Timeout(timeout) => Self::Timeout(timeout),
            llm_redis::RedisError::Backend(message) => Self::Store(message),
        }
    }
}
