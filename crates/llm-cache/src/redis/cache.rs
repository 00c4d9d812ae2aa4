//! [`RedisCache`]: answers stored as JSON under `SET PX`, hits counted by Lua scripts.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fred::bytes::Bytes;
use fred::prelude::{ClientLike, KeysInterface};
use llm_redis::{RedisPool, RedisSettings};

use super::scripts::Scripts;
use crate::answer::CachedAnswer;
use crate::backend::ResponseCache;
use crate::error::CacheError;
use crate::key::CacheKey;

/// A Redis-backed cache.
///
/// Each entry is two keys sharing a hash tag: `{<cache key>}` holds the answer as JSON and
/// `{<cache key>}:meta` its hit count and stored TTL (the cache key starts with its namespace). The pool reconnects with exponential
/// backoff for as long as it lives, including when Redis was down at start, and no call waits past
/// the command timeout.
pub struct RedisCache {
    pool: RedisPool,
    scripts: Scripts,
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCache")
            .field("url", &self.pool.shown_url())
            .field("pool_size", &self.pool.size())
            .field("timeout", &self.pool.timeout())
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
        Ok(Self {
            pool: RedisPool::connect(&settings, "redis cache").await?,
            scripts: Scripts::new(),
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
}

#[async_trait]
impl ResponseCache for RedisCache {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, key: &CacheKey) -> Result<Option<Arc<CachedAnswer>>, CacheError> {
        let value_key = self.storage_key(key);
        let stored: Option<Bytes> = self
            .pool
            .run("get", self.pool.next().get(value_key.as_str()))
            .await?;
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
        Ok(self.pool.run("store", call).await?)
    }

    async fn del(&self, key: &CacheKey) -> Result<bool, CacheError> {
        let client = self.pool.next();
        let call = self.scripts.delete.evalsha_with_reload::<u64, _, Vec<String>>(
            client,
            self.storage_keys(key),
            Vec::new(),
        );
        Ok(self.pool.run("delete", call).await? > 0)
    }

    async fn exists(&self, key: &CacheKey) -> Result<bool, CacheError> {
        let value_key = self.storage_key(key);
        let found: u64 = self
            .pool
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
        Ok(self.pool.run("record_hit", call).await?)
    }

    async fn ping(&self) -> Result<Duration, CacheError> {
        let started = Instant::now();
        let outcome: Result<String, CacheError> = self
            .pool
            .run("ping", self.pool.next().ping(None))
            .await
            .map_err(CacheError::from);
        let up = if outcome.is_ok() { 1.0 } else { 0.0 };
        metrics::gauge!("llm_redis_up").set(up);
        outcome.map(|_| started.elapsed())
    }
}
