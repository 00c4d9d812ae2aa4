//! The Redis connection toolkit shared by the cache and the rate limiter.
//!
//! Both `llm-cache` and `llm-ratelimit` reach Redis the same way, and this crate holds that one way:
//! [`RedisSettings`] and URL checks that never echo a password ([`redact_url`], [`check_url`]), the
//! fred [`RedisPool`] (a reconnect policy with unlimited attempts, `fail_fast = false`, a first
//! connect bounded by the command timeout, and every command run under that timeout by
//! [`RedisPool::run`]), and the [`ThrottledErrorLog`] that keeps a dead Redis from flooding the logs.
//! Errors are a [`RedisError`] that each caller turns into its own error type. With the `testing`
//! feature, [`testing`] finds a Redis for tests or starts a test-owned redis-server. It depends on no
//! other gateway crate.

mod diagnostics;
mod error;
mod error_log;
mod pool;
mod settings;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use diagnostics::RedisDiagnostics;
pub use error::RedisError;
pub use error_log::ThrottledErrorLog;
pub use pool::RedisPool;
pub use settings::{RedisSettings, SCHEMES, check_url, redact_url};
