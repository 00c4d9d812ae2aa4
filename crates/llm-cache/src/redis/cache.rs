//! [`RedisCache`]: answers stored as JSON under `SET PX`, hits counted by Lua scripts.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fred::bytes::Bytes;
use fred::prelude::{ClientLike, Config, KeysInterface, Pool, ReconnectPolicy};
use fred::types::Builder;
use fred::types::config::UnresponsiveConfig;

use super::scripts::Scripts;
use super::settings::{RedisSettings, check_url, redact_url};
use crate::answer::CachedAnswer;
use crate::backend::ResponseCache;
use crate::error::CacheError;
use crate::key::CacheKey;

/// Time allowed to open a TCP (and TLS) connection, per attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnect backoff: 100 ms doubling up to 5 s, attempts unlimited.
const RECONNECT_MIN_MS: u32 = 100;
const RECONNECT_MAX_MS: u32 = 5_000;

/// A Redis-backed cache.
///
/// Each entry is two keys sharing a hash tag: `{<cache key>}` holds the answer as JSON and
/// `{<cache key>}:meta` its hit count and stored TTL (the cache key starts with its namespace). The pool reconnects with exponential
/// backoff for as long as it lives, including when Redis was down at start, and no call waits past
/// the command timeout.
pub struct RedisCache {
    pool: Pool,
    timeout: Duration,
    scripts: Scripts,
    shown_url: String,
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCache")
            .field("url", &self.shown_url)
            .field("pool_size", &self.pool.size())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisCache {
    /// Builds the pool and starts connecting.
    ///
    /// Waits at most `command_timeout` for the first connection; when Redis is not reachable yet this
    /// still succeeds (with a warning) and the pool keeps reconnecting in the background, so the cache
    /// comes back by itself. Only a malformed URL or configuration is an error.
    pub async fn connect(settings: RedisSettings) -> Result<Self, CacheError> {
        check_url(&settings.url)?;
        let shown_url = redact_url(&settings.url);
        let mut config = Config::from_url(&settings.url)
            .map_err(|error| CacheError::Backend(format!("invalid redis url: {}", error.details())))?;
        config.fail_fast = false;
        let timeout = settings.command_timeout.max(Duration::from_millis(1));

        let mut builder = Builder::from_config(config);
        builder
            .set_policy(ReconnectPolicy::new_exponential(
                0,
                RECONNECT_MIN_MS,
                RECONNECT_MAX_MS,
                2,
            ))
            .with_performance_config(|performance| performance.default_command_timeout = timeout)
            .with_connection_config(|connection| {
                connection.connection_timeout = CONNECT_TIMEOUT;
                connection.internal_command_timeout = CONNECT_TIMEOUT;
                // A connection that stops answering (a half-open socket) is dropped and redialled.
                connection.unresponsive = UnresponsiveConfig {
                    max_timeout: Some((timeout * 10).max(Duration::from_secs(5))),
                    interval: Duration::from_secs(1),
                };
            });
        let pool = builder.build_pool(settings.pool_size.max(1)).map_err(|error| {
            CacheError::Backend(format!("redis client setup failed: {}", error.details()))
        })?;
        // The connection task runs for the pool's lifetime and ends when the pool quits (on drop).
        drop(pool.connect());
        match tokio::time::timeout(timeout, pool.wait_for_connect()).await {
            Ok(Ok(())) => tracing::info!(url = %shown_url, "redis cache connected"),
            Ok(Err(error)) => tracing::warn!(
                url = %shown_url, error = %error.details(),
                "redis cache not connected yet; retrying in the background"
            ),
            Err(_) => tracing::warn!(
                url = %shown_url, timeout_ms = timeout.as_millis(),
                "redis cache not reachable yet; retrying in the background"
            ),
        }
        Ok(Self {
            pool,
            timeout,
            scripts: Scripts::new(),
            shown_url,
        })
    }

    /// The Redis key holding the answer of `key` (its companion is this plus `:meta`).
    pub fn storage_key(&self, key: &CacheKey) -> String {
        format!("{{{}}}", key.as_str())
    }

    fn storage_keys(&self, key: &CacheKey) -> Vec<String> {
        let value_key = self.storage_key(key);
        let meta_key = format!("{value_key}:meta");
        vec![value_key, meta_key]
    }

    /// Runs one command under the command timeout and records its duration.
    async fn run<T>(
        &self,
        command: &'static str,
        call: impl Future<Output = Result<T, fred::error::Error>>,
    ) -> Result<T, CacheError> {
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, call).await;
        metrics::histogram!("llm_redis_command_duration_seconds", "command" => command)
            .record(started.elapsed().as_secs_f64());
        match outcome {
            Err(_) => Err(CacheError::Timeout(self.timeout)),
            Ok(Err(error)) if *error.kind() == fred::error::ErrorKind::Timeout => {
                Err(CacheError::Timeout(self.timeout))
            }
            Ok(Err(error)) => Err(CacheError::Backend(format!(
                "redis {command}: {:?}: {}",
                error.kind(),
                error.details()
            ))),
            Ok(Ok(value)) => Ok(value),
        }
    }
}

#[async_trait]
impl ResponseCache for RedisCache {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &CacheKey) -> Result<Option<Arc<CachedAnswer>>, CacheError> {
        let value_key = self.storage_key(key);
        let stored: Option<Bytes> = self.run("get", self.pool.next().get(value_key.as_str())).await?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        match serde_json::from_slice::<CachedAnswer>(&stored) {
            Ok(answer) => Ok(Some(Arc::new(answer))),
            Err(error) => {
                tracing::warn!(
                    key = key.as_str(), %error,
                    "unreadable cached answer; treating it as a miss and deleting it"
                );
                if let Err(error) = self.del(key).await {
                    tracing::warn!(key = key.as_str(), %error, "could not delete the unreadable answer");
                }
                Ok(None)
            }
        }
    }

    async fn set(&self, key: &CacheKey, answer: Arc<CachedAnswer>, ttl: Duration) -> Result<(), CacheError> {
        let encoded =
            serde_json::to_vec(answer.as_ref()).map_err(|error| CacheError::Encoding(error.to_string()))?;
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let client = self.pool.next();
        let call = self.scripts.store.evalsha_with_reload::<(), _, _>(
            client,
            self.storage_keys(key),
            vec![
                fred::types::Value::Bytes(Bytes::from(encoded)),
                ttl_ms.to_string().into(),
            ],
        );
        self.run("store", call).await
    }

    async fn del(&self, key: &CacheKey) -> Result<bool, CacheError> {
        let client = self.pool.next();
        let call = self.scripts.delete.evalsha_with_reload::<u64, _, Vec<String>>(
            client,
            self.storage_keys(key),
            Vec::new(),
        );
        Ok(self.run("delete", call).await? > 0)
    }

    async fn exists(&self, key: &CacheKey) -> Result<bool, CacheError> {
        let value_key = self.storage_key(key);
        let found: u64 = self
            .run("exists", self.pool.next().exists(value_key.as_str()))
            .await?;
        Ok(found > 0)
    }

    async fn record_hit(&self, key: &CacheKey, adaptive_max: Option<Duration>) -> Result<u64, CacheError> {
        let max_ms = adaptive_max.map_or(0, |max| u64::try_from(max.as_millis()).unwrap_or(u64::MAX).max(1));
        let client = self.pool.next();
        let call = self.scripts.record_hit.evalsha_with_reload::<u64, _, _>(
            client,
            self.storage_keys(key),
            vec![max_ms.to_string()],
        );
        self.run("record_hit", call).await
    }

    async fn ping(&self) -> Result<Duration, CacheError> {
        let started = Instant::now();
        let outcome: Result<String, CacheError> = self.run("ping", self.pool.next().ping(None)).await;
        let up = if outcome.is_ok() { 1.0 } else { 0.0 };
        metrics::gauge!("llm_redis_up").set(up);
        outcome.map(|_| started.elapsed())
    }
}

impl Drop for RedisCache {
    fn drop(&mut self) {
        // Stop the pool's connection and reconnect tasks; best effort, bounded in time.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            let timeout = self.timeout;
            runtime.spawn(async move {
                let _ = tokio::time::timeout(timeout, pool.quit()).await;
            });
        }
    }
}
