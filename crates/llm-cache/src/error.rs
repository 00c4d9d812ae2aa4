//! The cache's one error type.
//!
//! Messages name the failing operation and the cause, never a cached value or a secret.

use std::time::Duration;

/// Why a cache operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The backend did not answer within the command timeout.
    #[error("cache command timed out after {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The backend refused the command, is unreachable or is misconfigured.
    #[error("cache backend error: {0}")]
    Backend(String),
    /// An answer could not be serialised.
    #[error("cache encoding error: {0}")]
    Encoding(String),
}

impl From<llm_redis::RedisError> for CacheError {
    fn from(error: llm_redis::RedisError) -> Self {
        match error {
            llm_redis::RedisError::Timeout(timeout) => Self::Timeout(timeout),
            llm_redis::RedisError::Backend(message) => Self::Backend(message),
        }
    }
}
