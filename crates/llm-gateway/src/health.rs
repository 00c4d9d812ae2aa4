//! Provider health: free periodic probes, the readiness verdict, and the detailed report that adds
//! each provider's real traffic (its [`TrafficWindow`](crate::traffic::TrafficWindow)) and Redis.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use llm_core::{ErrorKind, LlmError, ProviderId};
use serde::Serialize;

use crate::registry::{HealthStatus, ProviderEntry, ProviderHealthRecord, ProviderRegistry};
use crate::routing::deployment::{DeploymentSnapshot, DeploymentStates};
use crate::traffic::TrafficSummary;

/// A provider's error rate over the window at or above which it is `degraded` though its probe passes.
pub const DEGRADED_ERROR_RATE: f64 = 0.5;
/// Calls the window needs before its error rate judges a provider.
pub const DEGRADED_MIN_CALLS: usize = 5;

/// The gateway's overall health.
#[derive(Clone, Debug, Serialize)]
pub struct OverallHealth {
    /// `ok` (every enabled provider healthy), `degraded` (some), `unavailable` (none) or `starting`
    /// (not probed yet).
    pub status: &'static str,
    /// Whether the gateway can serve: at least one enabled provider is healthy.
    pub ready: bool,
    /// Each provider's last result (`null` before its first probe).
    pub providers: Vec<ProviderHealthView>,
}

/// One provider in the health report.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderHealthView {
    pub id: ProviderId,
    pub enabled: bool,
    pub health: Option<ProviderHealthRecord>,
}

impl OverallHealth {
    /// Judges the registry's current records.
    pub fn of(registry: &ProviderRegistry) -> Self {
        let entries = registry.snapshot();
        let providers: Vec<ProviderHealthView> = entries
            .iter()
            .map(|entry| ProviderHealthView {
                id: entry.id().clone(),
                enabled: entry.is_enabled(),
                health: entry.health(),
            })
            .collect();
        let enabled: Vec<&ProviderHealthView> = providers.iter().filter(|view| view.enabled).collect();
        let healthy = enabled
            .iter()
            .filter(|view| matches!(&view.health, Some(record) if record.status == HealthStatus::Healthy))
            .count();
        let probed = enabled.iter().filter(|view| view.health.is_some()).count();
        let status = if healthy > 0 && healthy == enabled.len() {
            "ok"
        } else if healthy > 0 {
            "degraded"
        } else if probed < enabled.len() {
            "starting"
        } else {
            "unavailable"
        };
        Self {
            status,
            ready: healthy > 0,
            providers,
        }
    }
}

/// One provider in the detailed health report: its probe and its real traffic.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderDetails {
    pub id: ProviderId,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub enabled: bool,
    /// `healthy`, `degraded` (the probe passes but recent calls fail at `DEGRADED_ERROR_RATE` or
    /// more), `unhealthy` (the last probe failed), `unknown` (not probed yet) or `disabled`.
    pub state: &'static str,
    /// The last free probe.
    pub probe: Option<ProviderHealthRecord>,
    /// Recent calls from real traffic.
    pub traffic: TrafficSummary,
    /// Each of its deployments that has been routed to, with its circuit breaker.
    pub deployments: Vec<DeploymentSnapshot>,
}

impl ProviderDetails {
    /// Reads one provider's probe, traffic window and deployments.
    pub fn of(entry: &ProviderEntry, deployments: &DeploymentStates) -> Self {
        let probe = entry.health();
        let traffic = entry.traffic().summary();
        let state = if !entry.is_enabled() {
            "disabled"
        } else {
            match probe.as_ref().map(|record| record.status) {
                None => "unknown",
                Some(HealthStatus::Unhealthy) => "unhealthy",
                Some(HealthStatus::Healthy)
                    if traffic.requests >= DEGRADED_MIN_CALLS
                        && traffic.error_rate >= DEGRADED_ERROR_RATE =>
                {
                    "degraded"
                }
                Some(HealthStatus::Healthy) => "healthy",
            }
        };
        Self {
            id: entry.id().clone(),
            kind: entry.provider().kind(),
            enabled: entry.is_enabled(),
            state,
            probe,
            traffic,
            deployments: deployments.snapshots(entry.id().as_str()),
        }
    }
}

/// Probes every provider with its free health call, on an interval.
#[derive(Clone, Debug)]
pub struct HealthMonitor {
    registry: Arc<ProviderRegistry>,
    interval: Duration,
    timeout: Duration,
}

impl HealthMonitor {
    /// A monitor over `registry`.
    pub fn new(registry: Arc<ProviderRegistry>, interval: Duration, timeout: Duration) -> Self {
        Self {
            registry,
            interval,
            timeout,
        }
    }

    /// Probes every provider once, concurrently, each bounded by the probe timeout.
    pub async fn probe_all(&self) {
        let entries = self.registry.snapshot();
        join_all(entries.iter().map(|entry| probe(entry, self.timeout))).await;
    }

    /// Runs probe rounds forever; the caller aborts the task on shutdown.
    pub async fn run(self) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            self.probe_all().await;
        }
    }
}

/// Probes one provider and records the outcome; a healthy provider with no model list gets one.
pub(crate) async fn probe(entry: &ProviderEntry, timeout: Duration) {
    let started = tokio::time::Instant::now();
    let outcome = match tokio::time::timeout(timeout, entry.provider().health()).await {
        Ok(report) => report.error,
        Err(_) => Some(LlmError::from_provider(
            entry.id(),
            ErrorKind::Timeout,
            format!("health probe took longer than {} ms", timeout.as_millis()),
        )),
    };
    entry.set_health(ProviderHealthRecord::from_outcome(
        started.elapsed(),
        outcome.as_ref(),
    ));
    if outcome.is_none() && entry.models().is_empty() {
        refresh_models(entry, timeout).await;
    }
}

/// Fetches the provider's model list, keeping the old one on failure.
pub(crate) async fn refresh_models(entry: &ProviderEntry, timeout: Duration) {
    match tokio::time::timeout(timeout, entry.provider().models()).await {
        Ok(Ok(models)) => entry.set_models(models),
        Ok(Err(error)) => tracing::warn!(provider = %entry.id(), %error, "listing models failed"),
        Err(_) => tracing::warn!(provider = %entry.id(), "listing models timed out"),
    }
}
