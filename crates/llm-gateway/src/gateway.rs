//! The engine: one pipeline for every API.
//!
//! validate -> admit -> cache lookup -> route -> call provider -> account -> cache store.
//!
//! Validation, admission (rate limits) and the cache are separate crates that plug into the marked
//! steps; routing and the provider call live here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use llm_cache::{AnswerCache, CachePolicy, MemoryCache, RedisCache, RedisSettings, ResponseCache};
use llm_core::{ChatResponse, ChunkStream, LlmError, ProviderId, QuotaHeaders, RequestId};
use llm_ratelimit::{RateLimiter, RedisLimitSettings, RedisLimitStore};
use llm_redis::{RedisDiagnostics, RedisPool};
use llm_validation::{ContentFilter, TokenCounter};
use secrecy::ExposeSecret;

use crate::auth::{Authenticator, ClientAuth, Principal};
use crate::config::{
    CacheBackend, CacheConfig, Config, LimitSettings, ProviderConfig, RoutingConfig, ValidationConfig,
};
use crate::health::{HealthMonitor, OverallHealth, ProviderDetails, probe};
use crate::providers::build_provider;
use crate::registry::{ProviderEntry, ProviderRegistry, ProviderSnapshot};
use crate::response_cache::{CacheDirective, CacheStatus};
use crate::router::Router;
use crate::routing::deployment::DeploymentStates;
use crate::single_flight::SingleFlight;

/// Per-request facts the API layer hands to the engine.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The request id (echoed in `x-request-id`).
    pub request_id: RequestId,
    /// When the request reached the gateway.
    pub received_at: Instant,
    /// What the client asked of the response cache.
    pub cache: CacheDirective,
    /// Who is calling, for per-user rate limits.
    pub caller: Caller,
    /// The authenticated client key, when client keys are configured.
    pub principal: Option<Principal>,
    /// The deadline the client asked for (`x-llm-timeout-ms`), checked against
    /// `routing.max_timeout_ms`; `None`: `routing.timeout_ms`.
    pub timeout: Option<Duration>,
}

/// What the API layer knows about the caller. The user for rate limits is, in order: the
/// authenticated identity, the configured user header, the request's `user` field, the address.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// The authenticated client's identity.
    pub identity: Option<String>,
    /// The value of the configured user header (`limits.user_header`).
    pub user_header: Option<String>,
    /// The client's IP address.
    pub address: Option<String>,
}

impl RequestContext {
    /// A context for a request arriving now, with no cache directive.
    pub fn new(request_id: RequestId) -> Self {
        Self {
            request_id,
            received_at: Instant::now(),
            cache: CacheDirective::default(),
            caller: Caller::default(),
            principal: None,
            timeout: None,
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
    /// What the response cache did.
    pub cache: CacheStatus,
    /// Time spent waiting on the provider.
    pub upstream_latency: Duration,
    /// The request's rate-limit state, when limits apply to it.
    pub quota: Option<QuotaHeaders>,
    /// Provider attempts made (0 for a cache hit).
    pub attempts: u32,
    /// The fallback model that answered, when the requested one could not.
    pub fallback: Option<String>,
}

impl Completion {
    /// Whether the answer came from the cache.
    pub fn cached(&self) -> bool {
        self.cache == CacheStatus::Hit
    }
}

/// A streamed answer, opened.
pub struct CompletionStream {
    /// The provider that answers.
    pub provider: ProviderId,
    /// The upstream model name.
    pub model: String,
    /// What the response cache did.
    pub cache: CacheStatus,
    /// Time spent waiting on the provider until the stream opened.
    pub upstream_latency: Duration,
    /// The request's rate-limit state, when limits apply to it.
    pub quota: Option<QuotaHeaders>,
    /// Provider attempts made before the stream's first content (0 for a cache hit).
    pub attempts: u32,
    /// The fallback model that answers, when the requested one could not.
    pub fallback: Option<String>,
    /// The chunks; a failure mid-stream is an `Err` item, after which the stream ends.
    pub chunks: ChunkStream,
}

/// The gateway engine. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Gateway {
    pub(crate) registry: Arc<ProviderRegistry>,
    pub(crate) router: Router,
    monitor: HealthMonitor,
    probe_timeout: Duration,
    pub(crate) cache: Arc<AnswerCache>,
    pub(crate) cache_config: CacheConfig,
    pub(crate) flights: SingleFlight,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) limits: LimitSettings,
    pub(crate) routing: RoutingConfig,
    auth: Authenticator,
    pub(crate) validation: ValidationConfig,
    pub(crate) tokens: TokenCounter,
    pub(crate) filter: CompiledFilter,
    /// A one-connection pool for health details, when Redis is configured.
    diagnostics_redis: Option<RedisPool>,
}

/// The content filter, compiled once.
pub(crate) struct CompiledFilter(pub(crate) ContentFilter);

impl std::fmt::Debug for CompiledFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledFilter")
            .field("empty", &self.0.is_empty())
            .finish()
    }
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
        let tokens = warmed_token_counter(&registry, &config.models);
        Ok(Self {
            router: Router::new(
                config.models.clone(),
                registry.clone(),
                Arc::new(DeploymentStates::new(config.routing.breaker.clone())),
            ),
            routing: config.routing.clone(),
            registry,
            monitor,
            probe_timeout: config.health.probe_timeout,
            cache: Arc::new(build_cache(config).await?),
            cache_config: config.cache.clone(),
            flights: SingleFlight::default(),
            limiter: Arc::new(build_limiter(config).await?),
            limits: config.limits.clone(),
            auth: config.auth.clone(),
            validation: config.validation.clone(),
            tokens,
            filter: CompiledFilter(
                ContentFilter::new(config.content_filters.clone())
                    .map_err(|error| LlmError::internal(format!("content_filters: {error}")))?,
            ),
            diagnostics_redis: diagnostics_redis(config).await?,
        })
    }

    /// Checks a client's key.
    pub fn authenticate(&self, presented: Option<&str>) -> ClientAuth {
        self.auth.client(presented)
    }

    /// Whether a presented key is the admin key.
    pub fn is_admin(&self, presented: Option<&str>) -> bool {
        self.auth.admin(presented)
    }

    /// Whether an admin key is configured.
    pub fn has_admin_key(&self) -> bool {
        self.auth.has_admin()
    }

    /// The header that names the user when client authentication is off (lower case).
    pub fn user_header(&self) -> &str {
        &self.limits.user_header
    }

    /// The response cache.
    pub fn cache(&self) -> &AnswerCache {
        &self.cache
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

    /// Each provider's probe and recent traffic, in configured order.
    pub fn provider_details(&self) -> Vec<ProviderDetails> {
        self.registry
            .snapshot()
            .iter()
            .map(|entry| ProviderDetails::of(entry, self.router.deployments()))
            .collect()
    }

    /// Redis as a PING and `INFO memory` see it now (bounded by the Redis timeout); `None` when no
    /// Redis is configured.
    pub async fn redis_diagnostics(&self) -> Option<RedisDiagnostics> {
        match &self.diagnostics_redis {
            Some(pool) => Some(pool.diagnose().await),
            None => None,
        }
    }

    /// Every provider, without secrets.
    pub fn providers(&self) -> Vec<ProviderSnapshot> {
        self.registry
            .snapshot()
            .iter()
            .map(|entry| self.provider_snapshot(entry))
            .collect()
    }

    /// One provider without secrets, with its deployments' state.
    pub fn provider_snapshot(&self, entry: &ProviderEntry) -> ProviderSnapshot {
        let mut snapshot = entry.snapshot();
        snapshot.deployments = self.router.deployments().snapshots(entry.id().as_str());
        snapshot
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

    /// Replaces a provider's configuration at run time (same id); requests already on it finish.
    pub async fn replace_provider(&self, config: &ProviderConfig) -> Result<(), LlmError> {
        let provider = build_provider(config)?;
        let entry = self.registry.replace(provider, config.enabled)?;
        self.router.deployments().remove_provider(config.id.as_str());
        probe(&entry, self.probe_timeout).await;
        Ok(())
    }

    /// Removes a provider at run time; requests already on it finish.
    pub fn remove_provider(&self, id: &str) -> Result<(), LlmError> {
        self.registry.remove(id)?;
        self.router.deployments().remove_provider(id);
        Ok(())
    }
}

/// The configured cache backend behind its fault-tolerant front.
async fn build_cache(config: &Config) -> Result<AnswerCache, LlmError> {
    let backend: Arc<dyn ResponseCache> = match (config.cache.backend, &config.redis) {
        (CacheBackend::Redis, Some(redis)) => {
            let settings = RedisSettings {
                url: redis.url.expose_secret().to_owned(),
                pool_size: redis.pool_size,
                command_timeout: redis.timeout,
            };
            Arc::new(
                RedisCache::connect(settings)
                    .await
                    .map_err(|error| LlmError::internal(format!("redis: {error}")))?,
            )
        }
        (CacheBackend::Redis, None) | (CacheBackend::Memory, _) => {
            Arc::new(MemoryCache::new(config.cache.memory_max_bytes))
        }
    };
    let policy = CachePolicy {
        adaptive_ttl: config.cache.adaptive_ttl.then_some(config.cache.max_ttl),
        log_period: Duration::from_secs(30),
    };
    Ok(AnswerCache::new(backend, policy))
}

/// The rate limiter over the configured rules, deciding on Redis when it is configured.
async fn build_limiter(config: &Config) -> Result<RateLimiter, LlmError> {
    let redis = match (&config.redis, config.rate_limits.is_empty()) {
        (Some(redis), false) => {
            let settings = RedisLimitSettings {
                url: redis.url.expose_secret().to_owned(),
                pool_size: redis.pool_size,
                command_timeout: redis.timeout,
                namespace: config.cache.namespace.clone(),
            };
            Some(
                RedisLimitStore::connect(settings)
                    .await
                    .map_err(|error| LlmError::internal(format!("redis: {error}")))?,
            )
        }
        _ => None,
    };
    Ok(RateLimiter::new(config.rate_limits.clone(), redis))
}

/// The pool health details use, when Redis is configured.
async fn diagnostics_redis(config: &Config) -> Result<Option<RedisPool>, LlmError> {
    let Some(redis) = &config.redis else {
        return Ok(None);
    };
    let settings = RedisSettings {
        url: redis.url.expose_secret().to_owned(),
        pool_size: 1,
        command_timeout: redis.timeout,
    };
    RedisPool::connect(&settings, "redis diagnostics")
        .await
        .map(Some)
        .map_err(|error| LlmError::internal(format!("redis: {error}")))
}

/// The tokenizer, with the tables the configured models need loaded at start rather than on the
/// first request: the providers' listed models and the aliases' upstream models.
fn warmed_token_counter(
    registry: &ProviderRegistry,
    aliases: &std::collections::BTreeMap<String, crate::config::ModelAlias>,
) -> TokenCounter {
    let counter = TokenCounter::new();
    let listed: Vec<String> = registry
        .snapshot()
        .iter()
        .flat_map(|entry| {
            entry
                .models()
                .iter()
                .map(|model| model.id.clone())
                .collect::<Vec<_>>()
        })
        .collect();
    let deployed = aliases.values().flat_map(|alias| {
        alias
            .deployments
            .iter()
            .map(|deployment| deployment.model.as_str())
    });
    counter.warm_up_for(listed.iter().map(String::as_str).chain(deployed));
    counter
}
