//! The toolkit's error type; callers map it into their own.
//!
//! Messages name the failing step and the cause, never a password.

use std::time::Duration;

/// Why a Redis set-up step or command failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedisError {
    /// Redis did not answer within the command timeout.
    #[error("redis command timed out after {} ms", .0.as_millis())]
    Timeout(Duration),
    /// A malformed URL or configuration, or a command Redis refused or could not run; the message
    /// names the step (`invalid redis url: ...`, `redis client setup failed: ...`, `redis <command>: ...`).
    #[error("{0}")]
    Backend(String),
}
