//! Configuration: the raw shape users write, its loading, and the validated [`Config`].
//!
//! Layers, later ones winning: the embedded defaults, a TOML file, then `LLM__SECTION__KEY` environment
//! variables. Unknown keys are refused. Secrets are written as `env:VAR` references (or literals) and
//! held as [`secrecy::SecretString`], never printed.

mod load;
mod presets;
mod provider_specs;
mod raw;
mod routing;
mod secret;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use llm_core::ProviderId;
use llm_provider_anthropic::AnthropicSettings;
use llm_provider_gemini::GeminiSettings;
use llm_provider_mock::MockSettings;
use llm_provider_openai::OpenAiSettings;
use llm_ratelimit::Rule;
use llm_validation::{FilterRuleConfig, PayloadLimits};

use crate::auth::Authenticator;
use secrecy::SecretString;

pub use load::{ConfigSource, ENV_PREFIX, from_toml, load, provider_from_json};
pub use raw::RawConfig;
pub use routing::RoutingConfig;

use crate::routing::balancer::Strategy;

/// A configuration problem, naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The sources could not be read or did not match the expected shape (unknown key, bad type).
    #[error("{0}")]
    Parse(Box<figment::Error>),
    /// A value is present but not acceptable.
    #[error("{key}: {message}")]
    Invalid {
        /// The dotted key, e.g. `providers[1].base_url`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Listener and HTTP limits.
    pub server: ServerConfig,
    /// Health probing.
    pub health: HealthConfig,
    /// Providers in configured order (the order bare model names are looked up in).
    pub providers: Vec<ProviderConfig>,
    /// Public model names and where they are served.
    pub models: BTreeMap<String, ModelAlias>,
    /// The response cache.
    pub cache: CacheConfig,
    /// Redis, when configured.
    pub redis: Option<RedisConfig>,
    /// Rate-limit rules; a request must pass every rule that matches it.
    pub rate_limits: Vec<Rule>,
    /// Identity and token estimation for rate limits.
    pub limits: LimitSettings,
    /// Client keys and the admin key, as hashes.
    pub auth: Authenticator,
    /// Payload caps and token limits.
    pub validation: ValidationConfig,
    /// Content filter rules (checked to compile).
    pub content_filters: Vec<FilterRuleConfig>,
    /// OpenTelemetry trace export.
    pub telemetry: TelemetryConfig,
    /// Retries, deadlines and circuit breakers.
    pub routing: RoutingConfig,
}

/// OpenTelemetry trace export; it takes effect only in a build with llm-server's `otlp` feature.
#[derive(Clone, Debug, PartialEq)]
pub struct TelemetryConfig {
    /// The collector's OTLP/HTTP base URL, http or https, with no trailing `/`: spans go to
    /// `<otlp_endpoint>/v1/traces`. `None`: no export.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// The share of traces exported, 0.0 to 1.0.
    pub sample_ratio: f64,
}

/// Payload caps and token limits.
#[derive(Clone, Debug, Default)]
pub struct ValidationConfig {
    /// Caps on the request's shape and size.
    pub payload: PayloadLimits,
    /// The largest prompt per model name (as clients write it).
    pub max_prompt_tokens: BTreeMap<String, u64>,
    /// Context windows per upstream model, over the built-in table.
    pub context_windows: BTreeMap<String, u64>,
}

/// Identity and token estimation for rate limits.
#[derive(Clone, Debug)]
pub struct LimitSettings {
    /// The header naming the user when client authentication is off (lower case).
    pub user_header: String,
    /// The output tokens reserved for a request that sets no `max_tokens`.
    pub default_output_tokens: u64,
}

/// The response cache.
#[derive(Clone, Debug)]
pub struct CacheConfig {
    /// Where entries live.
    pub backend: CacheBackend,
    /// Which requests may use the cache.
    pub mode: CacheMode,
    /// An entry's life unless the client asks otherwise.
    pub ttl: Duration,
    /// The longest life a client or adaptive TTL may give an entry.
    pub max_ttl: Duration,
    /// Grow an entry's TTL with its hits, up to `max_ttl`.
    pub adaptive_ttl: bool,
    /// The memory backend's byte budget.
    pub memory_max_bytes: u64,
    /// Key prefix.
    pub namespace: String,
    /// How long followers wait for an identical request in flight.
    pub single_flight_wait: Duration,
    /// Mode per model name, overriding `mode`.
    pub per_model: BTreeMap<String, CacheMode>,
}

/// Where cache entries live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheBackend {
    /// In this process (moka), bounded by bytes.
    Memory,
    /// In Redis, shared by every instance.
    Redis,
}

/// Which requests may use the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheMode {
    /// Only requests with temperature 0 or a seed: nobody gets a repeated answer they didn't ask for.
    Deterministic,
    /// Every request.
    Always,
    /// None.
    Off,
}

impl CacheMode {
    fn parse(key: &str, value: &str) -> Result<Self, ConfigError> {
        match value {
            "deterministic" => Ok(Self::Deterministic),
            "always" => Ok(Self::Always),
            "off" => Ok(Self::Off),
            other => Err(ConfigError::invalid(
                key,
                format!("`{other}` is not one of deterministic, always, off"),
            )),
        }
    }
}

/// Redis connection settings.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// The URL (it may hold a password).
    pub url: SecretString,
    /// No request waits on Redis longer than this.
    pub timeout: Duration,
    /// Connections in the pool.
    pub pool_size: usize,
}

/// Listener and HTTP limits.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to listen.
    pub bind: SocketAddr,
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
    /// How long in-flight requests and streams may run on after a shutdown signal.
    pub shutdown_grace: Duration,
}

/// Health probing.
#[derive(Clone, Debug)]
pub struct HealthConfig {
    /// Time between probe rounds.
    pub probe_interval: Duration,
    /// Longest a single probe may take.
    pub probe_timeout: Duration,
}

/// One configured provider.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// Its id.
    pub id: ProviderId,
    /// Disabled providers are listed but never routed to.
    pub enabled: bool,
    /// The resolved key, handed to the provider only when it is built.
    pub api_key: Option<SecretString>,
    /// Type-specific settings (their `api_key` is filled in from [`api_key`](Self::api_key)).
    pub spec: ProviderSpec,
}

/// Type-specific provider settings, in each provider crate's own terms.
#[derive(Clone, Debug)]
pub enum ProviderSpec {
    /// OpenAI or an OpenAI-compatible server, with the preset it came from.
    OpenAi {
        /// The provider's settings.
        settings: OpenAiSettings,
        /// `preset = "..."` of an `openai_compatible` block.
        preset: Option<&'static str>,
    },
    /// Anthropic's Messages API.
    Anthropic(AnthropicSettings),
    /// Google Gemini.
    Gemini(GeminiSettings),
    /// The deterministic mock.
    Mock(MockSettings),
}

/// Where a public model name is served, in order of preference.
#[derive(Clone, Debug)]
pub struct ModelAlias {
    /// Where the model is served; the balancer picks among those available.
    pub deployments: Vec<Deployment>,
    /// How the balancer picks.
    pub strategy: Strategy,
    /// Model names tried in order when every deployment of this one failed (their own fallbacks
    /// are not followed).
    pub fallbacks: Vec<String>,
}

/// A provider and the upstream model name there, with its share of traffic and optional limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// The provider id.
    pub provider: ProviderId,
    /// The upstream model name.
    pub model: String,
    /// Its share of traffic among the model's deployments (0: only when the others are out).
    pub weight: u32,
    /// Calls in flight at most.
    pub max_inflight: Option<u32>,
    /// Requests per minute at most, on this instance.
    pub rpm: Option<u32>,
}

impl Config {
    /// The embedded default configuration, as `make run` serves it with no config file.
    pub fn embedded_default() -> Result<Self, ConfigError> {
        load(&ConfigSource::default())
    }
}
