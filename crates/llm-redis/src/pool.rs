//! [`RedisPool`]: a fred pool that reconnects by itself, and commands bounded by the command timeout.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use fred::clients::Client;
use fred::prelude::{ClientLike, Config, Pool, ReconnectPolicy};
use fred::types::Builder;
use fred::types::config::UnresponsiveConfig;

use crate::error::RedisError;
use crate::settings::{RedisSettings, check_url, redact_url};

/// Time allowed to open a TCP (and TLS) connection, per attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnect backoff: 100 ms doubling up to 5 s, attempts unlimited.
const RECONNECT_MIN_MS: u32 = 100;
const RECONNECT_MAX_MS: u32 = 5_000;

/// A connection pool to Redis (single node, cluster or sentinel).
///
/// It reconnects with exponential backoff for as long as it lives, including when Redis was down at
/// start; commands run through [`run`](Self::run) never wait past the command timeout. Dropping it
/// stops its connection tasks.
pub struct RedisPool {
    pool: Pool,
    timeout: Duration,
    shown_url: String,
}

impl fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPool")
            .field("url", &self.shown_url)
            .field("pool_size", &self.pool.size())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisPool {
    /// Builds the pool and starts connecting; `role` (e.g. `"redis cache"`) names it in log lines.
    ///
    /// Waits at most `command_timeout` for the first connection; when Redis is not reachable yet this
    /// still succeeds (with a warning) and the pool keeps reconnecting in the background. Only a
    /// malformed URL or configuration is an error.
    pub async fn connect(settings: &RedisSettings, role: &'static str) -> Result<Self, RedisError> {
        check_url(&settings.url)?;
        let shown_url = redact_url(&settings.url);
        let mut config = Config::from_url(&settings.url)
            .map_err(|error| RedisError::Backend(format!("invalid redis url: {}", error.details())))?;
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
            RedisError::Backend(format!("redis client setup failed: {}", error.details()))
        })?;
        // The connection task runs for the pool's lifetime and ends when the pool quits (on drop).
        drop(pool.connect());
        match tokio::time::timeout(timeout, pool.wait_for_connect()).await {
            Ok(Ok(())) => tracing::info!(url = %shown_url, "{role} connected"),
            Ok(Err(error)) => tracing::warn!(
                url = %shown_url, error = %error.details(),
                "{role} not connected yet; retrying in the background"
            ),
            Err(_) => tracing::warn!(
                url = %shown_url, timeout_ms = timeout.as_millis(),
                "{role} not reachable yet; retrying in the background"
            ),
        }
        Ok(Self {
            pool,
            timeout,
            shown_url,
        })
    }

    /// The next client of the pool, round-robin.
    pub fn next(&self) -> &Client {
        self.pool.next()
    }

    /// Connections in the pool.
    pub fn size(&self) -> usize {
        self.pool.size()
    }

    /// The command timeout (at least 1 ms).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The URL with its password masked.
    pub fn shown_url(&self) -> &str {
        &self.shown_url
    }

    /// Runs one command under the command timeout and records its duration
    /// (`llm_redis_command_duration_seconds`, labelled by `command`).
    ///
    /// The command's future is boxed: fred's futures are several KiB, and inlined they would make
    /// every caller's future (up to the request handler's) that large even when Redis is not used.
    pub fn run<'a, T: 'a>(
        &'a self,
        command: &'static str,
        call: impl Future<Output = Result<T, fred::error::Error>> + 'a,
    ) -> impl Future<Output = Result<T, RedisError>> + 'a {
        self.run_boxed(command, Box::pin(call))
    }

    async fn run_boxed<T, F>(&self, command: &'static str, call: Pin<Box<F>>) -> Result<T, RedisError>
    where
        F: Future<Output = Result<T, fred::error::Error>>,
    {
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, call).await;
        metrics::histogram!("llm_redis_command_duration_seconds", "command" => command)
            .record(started.elapsed().as_secs_f64());
        match outcome {
            Err(_) => Err(RedisError::Timeout(self.timeout)),
            Ok(Err(error)) if *error.kind() == fred::error::ErrorKind::Timeout => {
                Err(RedisError::Timeout(self.timeout))
            }
            Ok(Err(error)) => Err(RedisError::Backend(format!(
                "redis {command}: {:?}: {}",
                error.kind(),
                error.details()
            ))),
            Ok(Ok(value)) => Ok(value),
        }
    }
}

impl Drop for RedisPool {
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
    use crate::testing::{OwnedRedis, free_port, shared_redis_url};

    #[tokio::test]
    async fn a_bad_url_is_refused() {
        let error = RedisPool::connect(&RedisSettings::new("localhost:6379"), "test")
            .await
            .unwrap_err();
        assert!(error.to_string().contains("invalid redis url"), "{error}");
    }

    #[tokio::test]
    async fn commands_run_on_a_shared_redis() {
        let Some(url) = shared_redis_url("commands_run_on_a_shared_redis").await else {
            return;
        };
        let pool = RedisPool::connect(&RedisSettings::new(url), "test")
            .await
            .unwrap();
        let pong: String = pool.run("ping", pool.next().ping(None)).await.unwrap();
        assert_eq!(pong, "PONG");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connecting_to_a_dead_redis_succeeds_and_commands_time_out_until_it_is_back() {
        let test = "connecting_to_a_dead_redis_succeeds_and_commands_time_out_until_it_is_back";
        let port = free_port();
        let mut settings = RedisSettings::new(format!("redis://127.0.0.1:{port}"));
        settings.command_timeout = Duration::from_millis(100);
        let pool = RedisPool::connect(&settings, "test").await.unwrap();
        let down = pool.run::<String>("ping", pool.next().ping(None)).await;
        assert!(down.is_err(), "{down:?}");
        let Some(_redis) = OwnedRedis::start(test, port).await else {
            return;
        };
        let back = crate::testing::eventually(Duration::from_secs(10), || async {
            pool.run::<String>("ping", pool.next().ping(None)).await.is_ok()
        })
        .await;
        assert!(back, "the pool did not reconnect");
    }
}
