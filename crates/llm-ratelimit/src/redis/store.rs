//! [`RedisLimitStore`]: decisions as one EVALSHA round trip, every call bounded by the command timeout.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use fred::prelude::{ClientLike, Config, Pool, ReconnectPolicy};
use fred::types::Builder;
use fred::types::config::UnresponsiveConfig;

use super::script::{EXPIRY_MARGIN_MS, Scripts};
use super::settings::{RedisLimitSettings, check_url, redact_url};
use crate::error::LimitError;
use crate::store::{Adjustment, Charge, Verdict};

/// Time allowed to open a TCP (and TLS) connection, per attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnect backoff: 100 ms doubling up to 5 s, attempts unlimited.
const RECONNECT_MIN_MS: u32 = 100;
const RECONNECT_MAX_MS: u32 = 5_000;

/// Rate limit buckets in Redis (single node, cluster or sentinel), shared by every gateway instance that
/// uses the same Redis and namespace.
///
/// All keys share the hash tag `{<namespace>:rl}`, so every decision's keys are in one cluster slot and
/// one script can check and write them atomically. The pool reconnects with exponential backoff for as
/// long as it lives, including when Redis was down at start.
pub struct RedisLimitStore {
    pool: Pool,
    timeout: Duration,
    scripts: Scripts,
    prefix: String,
    shown_url: String,
}

impl fmt::Debug for RedisLimitStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimitStore")
            .field("url", &self.shown_url)
            .field("pool_size", &self.pool.size())
            .field("timeout", &self.timeout)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisLimitStore {
    /// Builds the pool and starts connecting.
    ///
    /// Waits at most `command_timeout` for the first connection; when Redis is not reachable yet this
    /// still succeeds (with a warning) and the pool keeps reconnecting in the background. Only a
    /// malformed URL or configuration is an error.
    pub async fn connect(settings: RedisLimitSettings) -> Result<Self, LimitError> {
        check_url(&settings.url)?;
        let shown_url = redact_url(&settings.url);
        let mut config = Config::from_url(&settings.url)
            .map_err(|error| LimitError::Store(format!("invalid redis url: {}", error.details())))?;
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
        let pool = builder
            .build_pool(settings.pool_size.max(1))
            .map_err(|error| LimitError::Store(format!("redis client setup failed: {}", error.details())))?;
        // The connection task runs for the pool's lifetime and ends when the pool quits (on drop).
        drop(pool.connect());
        match tokio::time::timeout(timeout, pool.wait_for_connect()).await {
            Ok(Ok(())) => tracing::info!(url = %shown_url, "redis rate limit store connected"),
            Ok(Err(error)) => tracing::warn!(
                url = %shown_url, error = %error.details(),
                "redis rate limit store not connected yet; retrying in the background"
            ),
            Err(_) => tracing::warn!(
                url = %shown_url, timeout_ms = timeout.as_millis(),
                "redis rate limit store not reachable yet; retrying in the background"
            ),
        }
        Ok(Self {
            pool,
            timeout,
            scripts: Scripts::new(),
            prefix: key_prefix(&settings.namespace),
            shown_url,
        })
    }

    /// The Redis key of a bucket: the namespace's hash tag, then the store-independent key.
    fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Checks and, if all admit, charges every bucket: one EVALSHA (plus a load after NOSCRIPT).
    pub(crate) async fn admit(&self, charges: &[Charge]) -> Result<Verdict, LimitError> {
        let keys: Vec<String> = charges.iter().map(|charge| self.redis_key(&charge.key)).collect();
        let mut args = Vec::with_capacity(1 + 2 * charges.len());
        args.push(EXPIRY_MARGIN_MS.to_string());
        for charge in charges {
            args.push(charge.increment_us.to_string());
            args.push(charge.burst_us.to_string());
        }
        let client = self.pool.next();
        let call = self
            .scripts
            .admit
            .evalsha_with_reload::<Vec<i64>, _, _>(client, keys, args);
        let answer = self.run("ratelimit_admit", call).await?;
        let Some((&admitted, debts)) = answer.split_first() else {
            return Err(LimitError::Store(
                "redis ratelimit_admit: empty answer".to_owned(),
            ));
        };
        if debts.len() != charges.len() {
            return Err(LimitError::Store(format!(
                "redis ratelimit_admit: {} debts for {} keys",
                debts.len(),
                charges.len()
            )));
        }
        Ok(Verdict {
            admitted: admitted == 1,
            debts: debts
                .iter()
                .map(|debt| u64::try_from(*debt).unwrap_or(0))
                .collect(),
        })
    }

    /// Charges or refunds buckets after the fact: one EVALSHA.
    pub(crate) async fn adjust(&self, adjustments: &[Adjustment]) -> Result<(), LimitError> {
        if adjustments.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = adjustments
            .iter()
            .map(|adjustment| self.redis_key(&adjustment.key))
            .collect();
        let mut args = Vec::with_capacity(1 + adjustments.len());
        args.push(EXPIRY_MARGIN_MS.to_string());
        args.extend(
            adjustments
                .iter()
                .map(|adjustment| adjustment.delta_us.to_string()),
        );
        let client = self.pool.next();
        let call = self
            .scripts
            .adjust
            .evalsha_with_reload::<i64, _, _>(client, keys, args);
        self.run("ratelimit_adjust", call).await.map(drop)
    }

    /// Runs one command under the command timeout and records its duration.
    async fn run<T>(
        &self,
        command: &'static str,
        call: impl Future<Output = Result<T, fred::error::Error>>,
    ) -> Result<T, LimitError> {
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, call).await;
        metrics::histogram!("llm_redis_command_duration_seconds", "command" => command)
            .record(started.elapsed().as_secs_f64());
        match outcome {
            Err(_) => Err(LimitError::Timeout(self.timeout)),
            Ok(Err(error)) if *error.kind() == fred::error::ErrorKind::Timeout => {
                Err(LimitError::Timeout(self.timeout))
            }
            Ok(Err(error)) => Err(LimitError::Store(format!(
                "redis {command}: {:?}: {}",
                error.kind(),
                error.details()
            ))),
            Ok(Ok(value)) => Ok(value),
        }
    }
}

/// `{<namespace>:rl}:`, with `{`, `}` and `%` of the namespace percent-encoded so the hash tag holds.
fn key_prefix(namespace: &str) -> String {
    let mut tag = String::with_capacity(namespace.len() + 3);
    for c in namespace.chars() {
        match c {
            '{' => tag.push_str("%7B"),
            '}' => tag.push_str("%7D"),
            '%' => tag.push_str("%25"),
            _ => tag.push(c),
        }
    }
    format!("{{{tag}:rl}}:")
}

impl Drop for RedisLimitStore {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_namespace_cannot_break_the_hash_tag() {
        assert_eq!(key_prefix("llm"), "{llm:rl}:");
        assert_eq!(key_prefix("team:a"), "{team:a:rl}:");
        assert_eq!(key_prefix("a}b{c%"), "{a%7Db%7Bc%25:rl}:");
    }
}
