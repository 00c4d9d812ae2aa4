//! `[routing]`: retries, backoff, the request deadline and the circuit breakers; and the balancing
//! and fallback keys of `[models.NAME]`.
//!
//! ```toml
//! [routing]
//! max_retries = 2            # per deployment, on retryable errors only
//! max_attempts = 6           # across deployments and fallbacks
//! backoff_initial_ms = 100   # doubled per retry, full jitter, capped by backoff_max_ms
//! backoff_max_ms = 2000
//! timeout_ms = 120000        # the whole request, retries and stream included
//! max_timeout_ms = 600000    # the largest `x-llm-timeout-ms` a client may ask for
//!
//! [routing.circuit_breaker]
//! failure_ratio = 0.5
//! min_calls = 5
//! window_secs = 30
//! open_secs = 30
//! half_open_probes = 1
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::routing::balancer::Strategy;
use crate::routing::breaker::BreakerSettings;

/// The longest deadline, window or open time accepted: a day.
const MAX_DURATION_MS: u64 = 86_400_000;

/// `[routing]` as written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRouting {
    pub max_retries: u32,
    pub max_attempts: u32,
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    pub timeout_ms: u64,
    pub max_timeout_ms: u64,
    pub circuit_breaker: RawCircuitBreaker,
}

impl Default for RawRouting {
    fn default() -> Self {
        Self {
            max_retries: 2,
            max_attempts: 6,
            backoff_initial_ms: 100,
            backoff_max_ms: 2_000,
            timeout_ms: 120_000,
            max_timeout_ms: 600_000,
            circuit_breaker: RawCircuitBreaker::default(),
        }
    }
}

/// `[routing.circuit_breaker]` as written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCircuitBreaker {
    pub failure_ratio: f64,
    pub min_calls: usize,
    pub window_secs: u64,
    pub open_secs: u64,
    pub half_open_probes: u32,
}

impl Default for RawCircuitBreaker {
    fn default() -> Self {
        Self {
            failure_ratio: 0.5,
            min_calls: 5,
            window_secs: 30,
            open_secs: 30,
            half_open_probes: 1,
        }
    }
}

/// How requests are retried, bounded and protected.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingConfig {
    /// Retries per deployment on retryable errors (attempts there = 1 + this).
    pub max_retries: u32,
    /// Attempts per request across deployments and fallbacks.
    pub max_attempts: u32,
    /// The first retry's backoff ceiling; doubled per retry (full jitter).
    pub backoff_initial: Duration,
    /// The largest backoff.
    pub backoff_max: Duration,
    /// The whole request's deadline unless the client asks for less or more.
    pub timeout: Duration,
    /// The largest deadline a client may ask for with `x-llm-timeout-ms`.
    pub max_timeout: Duration,
    /// Every deployment's circuit breaker.
    pub breaker: BreakerSettings,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        #[allow(clippy::expect_used)] // the defaults are valid; a test checks it
        validate_routing(&RawRouting::default()).expect("the default routing configuration is valid")
    }
}

/// Checks `[routing]`, naming the key at fault.
pub(crate) fn validate_routing(raw: &RawRouting) -> Result<RoutingConfig, ConfigError> {
    if raw.max_attempts == 0 {
        return Err(ConfigError::invalid("routing.max_attempts", "must be at least 1"));
    }
    if raw.backoff_initial_ms > raw.backoff_max_ms {
        return Err(ConfigError::invalid(
            "routing.backoff_initial_ms",
            "must not exceed routing.backoff_max_ms",
        ));
    }
    if raw.timeout_ms == 0 {
        return Err(ConfigError::invalid("routing.timeout_ms", "must be at least 1"));
    }
    if raw.max_timeout_ms < raw.timeout_ms {
        return Err(ConfigError::invalid(
            "routing.max_timeout_ms",
            "must be at least routing.timeout_ms",
        ));
    }
    if raw.max_timeout_ms > MAX_DURATION_MS {
        return Err(ConfigError::invalid(
            "routing.max_timeout_ms",
            "must be at most a day (86400000)",
        ));
    }
    let breaker = &raw.circuit_breaker;
    for (key, secs) in [
        ("window_secs", breaker.window_secs),
        ("open_secs", breaker.open_secs),
    ] {
        if secs > MAX_DURATION_MS / 1000 {
            return Err(ConfigError::invalid(
                format!("routing.circuit_breaker.{key}"),
                "must be at most a day (86400)",
            ));
        }
    }
    if !(breaker.failure_ratio > 0.0 && breaker.failure_ratio <= 1.0) {
        return Err(ConfigError::invalid(
            "routing.circuit_breaker.failure_ratio",
            "must be above 0 and at most 1",
        ));
    }
    for (key, value) in [
        ("min_calls", breaker.min_calls as u64),
        ("window_secs", breaker.window_secs),
        ("open_secs", breaker.open_secs),
        ("half_open_probes", u64::from(breaker.half_open_probes)),
    ] {
        if value == 0 {
            return Err(ConfigError::invalid(
                format!("routing.circuit_breaker.{key}"),
                "must be at least 1",
            ));
        }
    }
    Ok(RoutingConfig {
        max_retries: raw.max_retries,
        max_attempts: raw.max_attempts,
        backoff_initial: Duration::from_millis(raw.backoff_initial_ms),
        backoff_max: Duration::from_millis(raw.backoff_max_ms),
        timeout: Duration::from_millis(raw.timeout_ms),
        max_timeout: Duration::from_millis(raw.max_timeout_ms),
        breaker: BreakerSettings {
            failure_ratio: breaker.failure_ratio,
            min_calls: breaker.min_calls,
            window: Duration::from_secs(breaker.window_secs),
            open_for: Duration::from_secs(breaker.open_secs),
            half_open_probes: breaker.half_open_probes,
        },
    })
}

/// A `[models.NAME]` `strategy` value (`weighted` when absent).
pub(crate) fn parse_strategy(key: &str, value: Option<&str>) -> Result<Strategy, ConfigError> {
    value.map_or(Ok(Strategy::Weighted), |name| {
        name.parse().map_err(|_| {
            ConfigError::invalid(
                key,
                format!("`{name}` is not a strategy: use weighted, least_inflight or latency"),
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        let config = RoutingConfig::default();
        assert_eq!(config.max_retries, 2);
        assert_eq!(config.timeout, Duration::from_secs(120));
        assert_eq!(config.breaker.min_calls, 5);
    }

    type Spoil = fn(&mut RawRouting);

    #[test]
    fn bad_values_name_their_key() {
        let cases: [(Spoil, &str); 8] = [
            (
                |raw| {
                    raw.timeout_ms = 1_000;
                    raw.max_timeout_ms = u64::MAX;
                },
                "routing.max_timeout_ms",
            ),
            (
                |raw| raw.circuit_breaker.open_secs = u64::MAX,
                "routing.circuit_breaker.open_secs",
            ),
            (|raw| raw.max_attempts = 0, "routing.max_attempts"),
            (|raw| raw.backoff_initial_ms = 5_000, "routing.backoff_initial_ms"),
            (|raw| raw.max_timeout_ms = 10, "routing.max_timeout_ms"),
            (
                |raw| raw.circuit_breaker.failure_ratio = 1.5,
                "routing.circuit_breaker.failure_ratio",
            ),
            (
                |raw| raw.circuit_breaker.min_calls = 0,
                "routing.circuit_breaker.min_calls",
            ),
            (
                |raw| raw.circuit_breaker.open_secs = 0,
                "routing.circuit_breaker.open_secs",
            ),
        ];
        for (spoil, key) in cases {
            let mut raw = RawRouting::default();
            spoil(&mut raw);
            let error = validate_routing(&raw).unwrap_err().to_string();
            assert!(error.starts_with(key), "{error}");
        }
    }

    #[test]
    fn strategies_parse_by_name() {
        assert_eq!(parse_strategy("k", None).unwrap(), Strategy::Weighted);
        assert_eq!(
            parse_strategy("k", Some("least_inflight")).unwrap(),
            Strategy::LeastInflight
        );
        assert_eq!(
            parse_strategy("k", Some("latency")).unwrap(),
            Strategy::LatencyAware
        );
        assert!(parse_strategy("models.x.strategy", Some("random")).is_err());
    }
}
