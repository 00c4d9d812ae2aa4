//! [`RedisDiagnostics`]: whether Redis answers, how fast, and how much memory it holds, for
//! `/llm/health/details`.

use std::time::Instant;

use fred::prelude::ClientLike;
use fred::types::InfoKind;
use serde::Serialize;

use crate::pool::RedisPool;

/// Redis as one diagnostics call saw it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RedisDiagnostics {
    /// The URL with its password masked.
    pub url: String,
    /// Whether a PING was answered within the command timeout.
    pub reachable: bool,
    /// The PING's round trip in milliseconds, when answered.
    pub latency_ms: Option<f64>,
    /// `used_memory` from `INFO memory`, in bytes.
    pub used_memory_bytes: Option<u64>,
    /// `maxmemory` from `INFO memory` (0: no limit), in bytes.
    pub max_memory_bytes: Option<u64>,
    /// Why Redis is not reachable.
    pub error: Option<String>,
}

impl RedisPool {
    /// PINGs Redis and reads its memory use; every command bounded by the command timeout.
    pub async fn diagnose(&self) -> RedisDiagnostics {
        let client = self.next();
        let started = Instant::now();
        let ping = self.run::<String>("ping", client.ping(None)).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut report = RedisDiagnostics {
            url: self.shown_url().to_owned(),
            reachable: ping.is_ok(),
            latency_ms: ping.is_ok().then_some(latency_ms),
            used_memory_bytes: None,
            max_memory_bytes: None,
            error: ping.err().map(|error| error.to_string()),
        };
        if report.reachable
            && let Ok(info) = self
                .run::<String>("info", client.info(Some(InfoKind::Memory)))
                .await
        {
            report.used_memory_bytes = info_field(&info, "used_memory");
            report.max_memory_bytes = info_field(&info, "maxmemory");
        }
        report
    }
}

/// A numeric field of an `INFO` reply (`name:value` lines).
fn info_field(info: &str, name: &str) -> Option<u64> {
    info.lines().find_map(|line| {
        let (key, value) = line.trim_end().split_once(':')?;
        (key == name).then(|| value.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::RedisSettings;
    use crate::testing::{free_port, shared_redis_url};
    use std::time::Duration;

    #[test]
    fn info_fields_are_read_by_exact_name() {
        let info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:0\r\n";
        assert_eq!(info_field(info, "used_memory"), Some(1_048_576));
        assert_eq!(info_field(info, "maxmemory"), Some(0));
        assert_eq!(info_field(info, "used_memory_human"), None);
        assert_eq!(info_field(info, "absent"), None);
    }

    #[tokio::test]
    async fn a_live_redis_reports_latency_and_memory() {
        let Some(url) = shared_redis_url("a_live_redis_reports_latency_and_memory").await else {
            return;
        };
        let pool = RedisPool::connect(&RedisSettings::new(url), "test")
            .await
            .unwrap();
        let report = pool.diagnose().await;
        assert!(report.reachable, "{report:?}");
        assert!(report.latency_ms.is_some_and(|ms| ms >= 0.0));
        assert!(
            report.used_memory_bytes.is_some_and(|bytes| bytes > 0),
            "{report:?}"
        );
        assert!(report.max_memory_bytes.is_some());
        assert_eq!(report.error, None);
    }

    #[tokio::test]
    async fn a_dead_redis_is_reported_unreachable_within_the_timeout() {
        let mut settings = RedisSettings::new(format!("redis://:secret@127.0.0.1:{}", free_port()));
        settings.command_timeout = Duration::from_millis(100);
        let pool = RedisPool::connect(&settings, "test").await.unwrap();
        let started = Instant::now();
        let report = pool.diagnose().await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(!report.reachable);
        assert_eq!(report.latency_ms, None);
        assert!(report.error.is_some());
        assert!(!report.url.contains("secret"), "{}", report.url);
    }
}
