//! The provider registry: the providers the gateway can route to, added and removed at run time.
//!
//! Reads take a snapshot (`Arc` clone) so the request path never waits on an administrator.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use std::time::Duration;

use llm_core::{ErrorKind, LlmError, ModelInfo, Provider, ProviderId, unix_time_secs};
use serde::Serialize;

use crate::routing::deployment::DeploymentSnapshot;
use crate::traffic::TrafficWindow;

/// A provider's state as the last probe saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
}

/// The result of a provider's last probe.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderHealthRecord {
    pub status: HealthStatus,
    pub latency_ms: u64,
    /// Unix seconds.
    pub checked_at: u64,
    /// The error code and message when unhealthy (client-safe).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ProviderHealthRecord {
    pub(crate) fn from_outcome(latency: Duration, error: Option<&LlmError>) -> Self {
        Self {
            status: if error.is_none() {
                HealthStatus::Healthy
            } else {
                HealthStatus::Unhealthy
            },
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            checked_at: unix_time_secs(),
            error: error.map(|error| format!("{}: {}", error.code(), error.message())),
        }
    }
}

/// One registered provider with its run-time state.
pub struct ProviderEntry {
    provider: Arc<dyn Provider>,
    enabled: AtomicBool,
    models: RwLock<Arc<Vec<ModelInfo>>>,
    health: RwLock<Option<ProviderHealthRecord>>,
    traffic: TrafficWindow,
}

impl std::fmt::Debug for ProviderEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderEntry")
            .field("id", self.id())
            .field("kind", &self.provider.kind())
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

impl ProviderEntry {
    fn new(provider: Arc<dyn Provider>, enabled: bool) -> Self {
        Self {
            provider,
            enabled: AtomicBool::new(enabled),
            models: RwLock::new(Arc::new(Vec::new())),
            health: RwLock::new(None),
            traffic: TrafficWindow::default(),
        }
    }

    /// The provider's id.
    pub fn id(&self) -> &ProviderId {
        self.provider.id()
    }

    /// The provider itself.
    pub fn provider(&self) -> &Arc<dyn Provider> {
        &self.provider
    }

    /// Whether it may be routed to.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// The models it last listed.
    pub fn models(&self) -> Arc<Vec<ModelInfo>> {
        self.models.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Whether it last listed `model`.
    pub fn serves(&self, model: &str) -> bool {
        self.models().iter().any(|info| info.id == model)
    }

    /// Replaces the model list.
    pub fn set_models(&self, models: Vec<ModelInfo>) {
        *self.models.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(models);
    }

    /// The last health probe result.
    pub fn health(&self) -> Option<ProviderHealthRecord> {
        self.health.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Records a health probe result.
    pub fn set_health(&self, record: ProviderHealthRecord) {
        *self.health.write().unwrap_or_else(PoisonError::into_inner) = Some(record);
    }

    /// Its recent calls from real traffic.
    pub fn traffic(&self) -> &TrafficWindow {
        &self.traffic
    }

    /// A serializable view without secrets.
    pub fn snapshot(&self) -> ProviderSnapshot {
        ProviderSnapshot {
            id: self.id().clone(),
            kind: self.provider.kind(),
            enabled: self.is_enabled(),
            models: self.models().iter().map(|model| model.id.clone()).collect(),
            health: self.health(),
            deployments: Vec::new(),
        }
    }
}

/// What listings show of a provider: never its key or URL.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderSnapshot {
    pub id: ProviderId,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub enabled: bool,
    pub models: Vec<String>,
    pub health: Option<ProviderHealthRecord>,
    /// Each (provider, upstream model) that has been routed to: calls in flight, latency and its
    /// circuit breaker.
    pub deployments: Vec<DeploymentSnapshot>,
}

/// The registered providers, in configured order.
#[derive(Debug, Default)]
pub struct ProviderRegistry {
    entries: RwLock<Arc<Vec<Arc<ProviderEntry>>>>,
}

impl ProviderRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// All entries at this instant.
    pub fn snapshot(&self) -> Arc<Vec<Arc<ProviderEntry>>> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<Arc<ProviderEntry>> {
        self.snapshot()
            .iter()
            .find(|entry| entry.id().as_str() == id)
            .cloned()
    }

    /// Adds a provider; its id must be new.
    pub fn insert(&self, provider: Arc<dyn Provider>, enabled: bool) -> Result<Arc<ProviderEntry>, LlmError> {
        let entry = Arc::new(ProviderEntry::new(provider, enabled));
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.iter().any(|existing| existing.id() == entry.id()) {
            return Err(LlmError::invalid_param(
                "id",
                format!("provider `{}` already exists", entry.id()),
            ));
        }
        let mut next = Vec::with_capacity(entries.len() + 1);
        next.extend(entries.iter().cloned());
        next.push(entry.clone());
        *entries = Arc::new(next);
        Ok(entry)
    }

    /// Replaces the provider with the same id, keeping its place in the order.
    pub fn replace(
        &self,
        provider: Arc<dyn Provider>,
        enabled: bool,
    ) -> Result<Arc<ProviderEntry>, LlmError> {
        let entry = Arc::new(ProviderEntry::new(provider, enabled));
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let position = entries
            .iter()
            .position(|existing| existing.id() == entry.id())
            .ok_or_else(|| not_found(entry.id().as_str()))?;
        let mut next: Vec<_> = entries.iter().cloned().collect();
        next[position] = entry.clone();
        *entries = Arc::new(next);
        Ok(entry)
    }

    /// Removes a provider; requests already holding it finish normally.
    pub fn remove(&self, id: &str) -> Result<Arc<ProviderEntry>, LlmError> {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let position = entries
            .iter()
            .position(|entry| entry.id().as_str() == id)
            .ok_or_else(|| not_found(id))?;
        let mut next: Vec<_> = entries.iter().cloned().collect();
        let removed = next.remove(position);
        *entries = Arc::new(next);
        Ok(removed)
    }

    /// Enables or disables a provider.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<(), LlmError> {
        let entry = self.get(id).ok_or_else(|| not_found(id))?;
        entry.enabled.store(enabled, Ordering::Release);
        Ok(())
    }
}

fn not_found(id: &str) -> LlmError {
    LlmError::new(ErrorKind::NotFound, format!("provider `{id}` does not exist"))
}
