//! The engine: one pipeline for every API.
//!
//! validate -> admit -> cache lookup -> route -> call provider -> account -> cache store.
//!
//! Validation, admission (rate limits) and the cache are separate crates that plug into the marked
//! steps; routing and the provider call live here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use llm_core::{ChatRequest, ChatResponse, ChunkStream, LlmError, ModelRef, ProviderId, RequestId};

use crate::config::{Config, ProviderConfig};
use crate::health::{HealthMonitor, OverallHealth, probe};
use crate::providers::build_provider;
use crate::registry::{ProviderRegistry, ProviderSnapshot};
use crate::router::{Route, Router};

/// Per-request facts the API layer hands to the engine.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The request id (echoed in `x-request-id`).
    pub request_id: RequestId,
    /// When the request reached the gateway.
    pub received_at: Instant,
}

impl RequestContext {
    /// A context for a request arriving now.
    pub fn new(request_id: RequestId) -> Self {
        Self {
            request_id,
            received_at: Instant::now(),
        }
    }
}

/// A complete answer and how it was obtained.
#[derive(Clone, Debug)]
pub struct Completion {
    /// The answer in the canonical shape.
    pub response: ChatResponse,
    /// The provider that answered.
    pub provider: ProviderId,
    /// Whether it came from the response cache.
    pub cached: bool,
    /// Time spent waiting on the provider.
    pub upstream_latency: Duration,
}

/// A streamed answer, opened.
pub struct CompletionStream {
    /// The provider that answers.
    pub provider: ProviderId,
    /// The upstream model name.
    pub model: String,
    /// Whether it is replayed from the response cache.
    pub cached: bool,
    /// Time spent waiting on the provider until the stream opened.
    pub upstream_latency: Duration,
    /// The chunks; a failure mid-stream is an `Err` item, after which the stream ends.
    pub chunks: ChunkStream,
}

/// The gateway engine. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Gateway {
    registry: Arc<ProviderRegistry>,
    router: Router,
    monitor: HealthMonitor,
    probe_timeout: Duration,
}

impl Gateway {
    /// Builds every configured provider and probes each once (bounded by the probe timeout), so the
    /// gateway starts with health and model lists known.
    pub async fn new(config: &Config) -> Result<Self, LlmError> {
        let registry = Arc::new(ProviderRegistry::new());
        for provider in &config.providers {
            registry.insert(build_provider(provider)?, provider.enabled)?;
        }
        let monitor = HealthMonitor::new(
            registry.clone(),
            config.health.probe_interval,
            config.health.probe_timeout,
        );
        monitor.probe_all().await;
        Ok(Self {
            router: Router::new(config.models.clone(), registry.clone()),
            registry,
            monitor,
            probe_timeout: config.health.probe_timeout,
        })
    }

    /// The provider registry.
    pub fn registry(&self) -> &Arc<ProviderRegistry> {
        &self.registry
    }

    /// The router.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The health monitor, to be run (`HealthMonitor::run`) where shutdown can stop it.
    pub fn health_monitor(&self) -> HealthMonitor {
        self.monitor.clone()
    }

    /// The overall health verdict.
    pub fn health(&self) -> OverallHealth {
        OverallHealth::of(&self.registry)
    }

    /// Every provider, without secrets.
    pub fn providers(&self) -> Vec<ProviderSnapshot> {
        self.registry
            .snapshot()
            .iter()
            .map(|entry| entry.snapshot())
            .collect()
    }

    /// Model names a client can use: the aliases, then `provider/model` for every enabled provider.
    pub fn model_names(&self) -> Vec<(String, String)> {
        let mut names: Vec<(String, String)> = self
            .router
            .aliases()
            .keys()
            .map(|alias| (alias.clone(), "llm-gateway".to_owned()))
            .collect();
        for entry in self.registry.snapshot().iter().filter(|entry| entry.is_enabled()) {
            for model in entry.models().iter() {
                names.push((format!("{}/{}", entry.id(), model.id), entry.id().to_string()));
            }
        }
        names
    }

    /// Adds a provider at run time and probes it once.
    pub async fn add_provider(&self, config: &ProviderConfig) -> Result<(), LlmError> {
        let entry = self.registry.insert(build_provider(config)?, config.enabled)?;
        probe(&entry, self.probe_timeout).await;
        Ok(())
    }

    /// Removes a provider at run time; requests already on it finish.
    pub fn remove_provider(&self, id: &str) -> Result<(), LlmError> {
        self.registry.remove(id).map(|_| ())
    }

    /// A complete answer.
    pub async fn complete(&self, ctx: &RequestContext, request: ChatRequest) -> Result<Completion, LlmError> {
        let route = self.prepare(ctx, &request)?;
        // cache lookup: the response cache plugs in here.
        let started = Instant::now();
        let response = route
            .entry
            .provider()
            .complete(&route.upstream_model, &request)
            .await?;
        // account + cache store: usage correction and the cache write plug in here.
        Ok(Completion {
            response,
            provider: route.entry.id().clone(),
            cached: false,
            upstream_latency: started.elapsed(),
        })
    }

    /// A streamed answer.
    pub async fn stream(
        &self,
        ctx: &RequestContext,
        request: ChatRequest,
    ) -> Result<CompletionStream, LlmError> {
        let route = self.prepare(ctx, &request)?;
        // cache lookup: a cached answer is replayed as a stream here.
        let started = Instant::now();
        let chunks = route
            .entry
            .provider()
            .stream(&route.upstream_model, &request)
            .await?;
        Ok(CompletionStream {
            provider: route.entry.id().clone(),
            model: route.upstream_model,
            cached: false,
            upstream_latency: started.elapsed(),
            chunks,
        })
    }

    /// validate -> admit -> route: everything before the provider call.
    fn prepare(&self, ctx: &RequestContext, request: &ChatRequest) -> Result<Route, LlmError> {
        validate_basics(request)?;
        // admit: rate limits plug in here, before anything is spent.
        let route = self.router.resolve(&ModelRef::parse(&request.model))?;
        tracing::debug!(request_id = %ctx.request_id, provider = %route.entry.id(), model = %route.upstream_model, "routed");
        Ok(route)
    }
}

/// The structural checks every request must pass before it is routed.
fn validate_basics(request: &ChatRequest) -> Result<(), LlmError> {
    if request.model.trim().is_empty() {
        return Err(LlmError::invalid_param("model", "`model` must not be empty"));
    }
    if request.messages.is_empty() {
        return Err(LlmError::invalid_param(
            "messages",
            "`messages` must not be empty",
        ));
    }
    Ok(())
}
