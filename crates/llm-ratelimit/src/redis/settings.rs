//! Connection settings of the Redis store; their URL is checked and redacted by `llm-redis`.

use std::fmt;
use std::time::Duration;

use llm_redis::{RedisSettings, redact_url};

/// How to reach Redis, and the namespace of this gateway's limiter keys.
#[derive(Clone)]
pub struct RedisLimitSettings {
    /// `redis://[user:password@]host:port[/db]`, `rediss://...` (TLS) or `redis-cluster://h1:p1,h2:p2`.
    pub url: String,
    /// Connections in the pool; decisions are spread round-robin.
    pub pool_size: usize,
    /// No decision waits longer than this on Redis, whether it is slow, down or unreachable.
    pub command_timeout: Duration,
    /// The first part of every key's hash tag: `{<namespace>:rl}:...`. Gateways sharing limits share it.
    pub namespace: String,
}

impl RedisLimitSettings {
    /// Settings for `url`: a pool of 4, a 200 ms command timeout and the namespace `llm`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 4,
            command_timeout: Duration::from_millis(200),
            namespace: "llm".to_owned(),
        }
    }

    /// The connection part of these settings.
    pub(crate) fn connection(&self) -> RedisSettings {
        RedisSettings {
            url: self.url.clone(),
            pool_size: self.pool_size,
            command_timeout: self.command_timeout,
        }
    }
}

impl fmt::Debug for RedisLimitSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimitSettings")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("command_timeout", &self.command_timeout)
            .field("namespace", &self.namespace)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        let settings = RedisLimitSettings::new("redis://default:hunter2@limits:6379");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("limits:6379"), "{shown}");
    }
}
