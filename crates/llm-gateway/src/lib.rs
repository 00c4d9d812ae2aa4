//! The LLM gateway engine: what teams embed in their own Rust services.
//!
//! It owns the configuration (layered defaults, TOML file and `LLM__SECTION__KEY` environment, validated
//! into a [`Config`] that is valid by construction), the [`ProviderRegistry`] (providers added and
//! removed at run time), the [`Router`] that turns a client's model name into a [`RoutePlan`]
//! (deployments, then fallbacks), the [`routing`] primitives (balancer, circuit breakers, deployment
//! state), the [`HealthMonitor`] that probes providers for free, each provider's real-traffic window
//! ([`traffic`]), and [`Gateway`], whose `complete` and `stream` run every request through one
//! pipeline:
//!
//! validate -> route (balancer pick) -> admit -> cache lookup (single flight) -> call provider
//! (retries, other deployments, fallbacks, within the request's deadline) -> settle -> cache store ->
//! output filter.
//!
//! Validation (llm-validation), admission (llm-ratelimit) and the cache (llm-cache) are their own
//! crates; client keys are checked here (`auth`). Routing comes before admission because limits are
//! kept per provider and model. This crate knows no HTTP server framework (no actix, no juniper); the
//! API layer sits on top of it.

mod admission;
mod attempts;
pub mod auth;
pub mod config;
mod gateway;
mod health;
mod metering;
mod observed;
mod output_filter;
mod pipeline;
mod prepare;
mod providers;
mod registry;
mod response_cache;
mod router;
pub mod routing;
mod single_flight;
mod stream_gate;
pub mod traffic;

pub use auth::{ClientAuth, Principal};
pub use config::{CacheMode, Config, ConfigError, ProviderConfig, ProviderSpec};
pub use gateway::{Caller, Completion, CompletionStream, Gateway, RequestContext};
pub use health::{HealthMonitor, OverallHealth, ProviderDetails, ProviderHealthView};
pub use llm_redis::RedisDiagnostics;
pub use providers::build_provider;
pub use registry::{HealthStatus, ProviderEntry, ProviderHealthRecord, ProviderRegistry, ProviderSnapshot};
pub use response_cache::{CacheDirective, CacheStatus};
pub use router::{Candidate, Route, RouteGroup, RoutePlan, Router};
