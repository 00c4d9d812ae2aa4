//! The configuration as users write it (TOML or environment), before validation.

use std::collections::BTreeMap;

use llm_validation::FilterRuleConfig;
use serde::{Deserialize, Serialize};

/// The whole raw configuration. Unknown keys are refused at every level.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub health: RawHealth,
    #[serde(default)]
    pub providers: Vec<RawProvider>,
    #[serde(default)]
    pub models: BTreeMap<String, RawModelAlias>,
    #[serde(default)]
    pub cache: RawCache,
    #[serde(default)]
    pub redis: RawRedis,
    #[serde(default)]
    pub rate_limits: Vec<RawRateLimit>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub auth: RawAuth,
    #[serde(default)]
    pub validation: RawValidation,
    #[serde(default)]
    /// `[[content_filters]]`, in the validation crate's own shape.
    pub content_filters: Vec<FilterRuleConfig>,
    #[serde(default)]
    pub telemetry: RawTelemetry,
    #[serde(default)]
    pub routing: super::routing::RawRouting,
}

/// `[telemetry]`: OpenTelemetry trace export (only in a build with the `otlp` feature).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    /// The collector's OTLP/HTTP base URL (`/v1/traces` is appended); absent or empty: no export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute of exported spans.
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// The share of traces exported, 0.0 to 1.0.
    #[serde(default = "default_sample_ratio")]
    pub sample_ratio: f64,
}

impl Default for RawTelemetry {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: default_service_name(),
            sample_ratio: default_sample_ratio(),
        }
    }
}

fn default_service_name() -> String {
    "llm-gateway".to_owned()
}
fn default_sample_ratio() -> f64 {
    1.0
}

/// `[validation]`: payload caps and token limits. Absent values keep the built-in defaults.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawValidation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_messages: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_message_bytes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_request_text_bytes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stop: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_n: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tools: Option<usize>,
    /// The largest prompt per model name (as clients write it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub max_prompt_tokens: BTreeMap<String, u64>,
    /// Context windows per upstream model name, added to (or overriding) the built-in table.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context_windows: BTreeMap<String, u64>,
}

/// `[auth]`: the admin key and the client keys.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// Guards the admin API (`env:VAR` or literal); absent: the admin API refuses every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_key: Option<String>,
    /// Client keys; none: clients need no key (loopback only, unless `--allow-unauthenticated`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<RawClientKey>,
}

/// `[[auth.keys]]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClientKey {
    /// The key's name: the user identity for rate limits.
    pub name: String,
    /// The key (`env:VAR` or literal); it is hashed at load and only the hash is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The key's SHA-256 in hex, so the configuration never holds the key itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_sha256: Option<String>,
    /// Model names the key may use; absent or empty: every model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// The most prompt tokens one request with this key may send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prompt_tokens: Option<u64>,
}

/// `[[rate_limits]]`: one rule.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// `global`, `user`, `provider`, `model` or a combination such as `user+model`.
    pub scope: String,
    /// `requests` or `tokens`.
    #[serde(default = "default_unit")]
    pub unit: String,
    pub limit: u64,
    /// `1s`, `1m`, `1h`, `1d` (or `second`, `minute`, `hour`, `day`).
    pub window: String,
    /// `local` (decide on this instance when Redis fails) or `deny` (answer 503).
    #[serde(default = "default_on_redis_error")]
    pub on_redis_error: String,
}

fn default_unit() -> String {
    "requests".to_owned()
}
fn default_on_redis_error() -> String {
    "local".to_owned()
}

/// `[limits]`: who the user is, and how tokens are estimated before the answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// The header naming the user when client authentication is off.
    #[serde(default = "default_user_header")]
    pub user_header: String,
    /// The output tokens reserved for a request that sets no `max_tokens`.
    #[serde(default = "default_output_tokens")]
    pub default_output_tokens: u64,
}

impl Default for RawLimits {
    fn default() -> Self {
        Self {
            user_header: default_user_header(),
            default_output_tokens: default_output_tokens(),
        }
    }
}

fn default_user_header() -> String {
    "x-llm-user".to_owned()
}
fn default_output_tokens() -> u64 {
    1_024
}

/// `[cache]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    /// `memory` or `redis`; absent: `redis` when `redis.url` is set, else `memory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// `deterministic`, `always` or `off`.
    #[serde(default = "default_cache_mode")]
    pub mode: String,
    #[serde(default = "default_cache_ttl_secs")]
    pub ttl_secs: u64,
    /// The most a client (`x-llm-cache-ttl`) or adaptive TTL may extend an entry's life to.
    #[serde(default = "default_cache_max_ttl_secs")]
    pub max_ttl_secs: u64,
    /// Grow an entry's TTL with its hits, up to `max_ttl_secs`.
    #[serde(default)]
    pub adaptive_ttl: bool,
    #[serde(default = "default_memory_max_bytes")]
    pub memory_max_bytes: u64,
    /// Prefix of every key, so deployments sharing a Redis can keep apart.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// How long identical requests wait for the one in flight before calling the provider themselves.
    #[serde(default = "default_single_flight_wait_ms")]
    pub single_flight_wait_ms: u64,
    /// Cache mode per model name (as clients write it), overriding `mode`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_model: BTreeMap<String, String>,
}

impl Default for RawCache {
    fn default() -> Self {
        Self {
            backend: None,
            mode: default_cache_mode(),
            ttl_secs: default_cache_ttl_secs(),
            max_ttl_secs: default_cache_max_ttl_secs(),
            adaptive_ttl: false,
            memory_max_bytes: default_memory_max_bytes(),
            namespace: default_namespace(),
            single_flight_wait_ms: default_single_flight_wait_ms(),
            per_model: BTreeMap::new(),
        }
    }
}

fn default_cache_mode() -> String {
    "deterministic".to_owned()
}
fn default_cache_ttl_secs() -> u64 {
    300
}
fn default_cache_max_ttl_secs() -> u64 {
    3_600
}
/// 8 MiB (a few thousand short answers): the memory backend serves one instance (development, small
/// deployments); a shared or larger cache belongs in Redis. The process holds about 1.6 times the
/// budget (allocator and table overhead), which keeps the embedded default under 50 MiB under load.
fn default_memory_max_bytes() -> u64 {
    8 * 1024 * 1024
}
fn default_namespace() -> String {
    "llmgw".to_owned()
}
fn default_single_flight_wait_ms() -> u64 {
    30_000
}

/// `[redis]`: absent or without `url`, the cache stays in memory.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedis {
    /// `redis://`, `rediss://` or `redis-cluster://`; may be `env:VAR` (it can hold a password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// No request waits on Redis longer than this.
    #[serde(default = "default_redis_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_redis_pool_size")]
    pub pool_size: usize,
}

impl Default for RawRedis {
    fn default() -> Self {
        Self {
            url: None,
            timeout_ms: default_redis_timeout_ms(),
            pool_size: default_redis_pool_size(),
        }
    }
}

fn default_redis_timeout_ms() -> u64 {
    200
}
fn default_redis_pool_size() -> usize {
    4
}

/// `[server]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    #[serde(default = "default_bind")]
    pub bind: String,
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    #[serde(default = "default_shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            bind: default_bind(),
            max_body_bytes: default_max_body_bytes(),
            shutdown_grace_secs: default_shutdown_grace_secs(),
        }
    }
}

fn default_bind() -> String {
    "127.0.0.1:8080".to_owned()
}
fn default_max_body_bytes() -> u64 {
    4 * 1024 * 1024
}
fn default_shutdown_grace_secs() -> u64 {
    30
}

/// `[health]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    #[serde(default = "default_probe_interval_secs")]
    pub probe_interval_secs: u64,
    #[serde(default = "default_probe_timeout_ms")]
    pub probe_timeout_ms: u64,
}

impl Default for RawHealth {
    fn default() -> Self {
        Self {
            probe_interval_secs: default_probe_interval_secs(),
            probe_timeout_ms: default_probe_timeout_ms(),
        }
    }
}

fn default_probe_interval_secs() -> u64 {
    30
}
fn default_probe_timeout_ms() -> u64 {
    5_000
}
fn enabled() -> bool {
    true
}

/// `[[providers]]`, tagged by `type`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RawProvider {
    Openai(RawHttpProvider),
    OpenaiCompatible(RawHttpProvider),
    Anthropic(RawHttpProvider),
    Gemini(RawHttpProvider),
    Mock(RawMock),
}

impl RawProvider {
    /// The configured id.
    pub fn id(&self) -> &str {
        match self {
            Self::Openai(raw) | Self::OpenaiCompatible(raw) | Self::Anthropic(raw) | Self::Gemini(raw) => {
                &raw.id
            }
            Self::Mock(raw) => &raw.id,
        }
    }
}

/// A provider reached over HTTP. Which keys a type accepts is checked by validation, so a key that
/// means nothing for the type is an error rather than silently ignored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpProvider {
    pub id: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// `env:VAR` or a literal key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_byte_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout_ms: Option<u64>,
    /// `openai`: the `OpenAI-Organization` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// `openai_compatible`: azure, groq, mistral, together, deepseek, openrouter, vllm, ollama.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Azure's `api-version` query parameter, or Gemini's API version path (`v1beta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `anthropic`: the `anthropic-version` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anthropic_version: Option<String>,
    /// `anthropic`: `max_tokens` when the client gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_max_tokens: Option<u32>,
}

impl RawHttpProvider {
    /// A provider with this id whose key comes from `key_variable`, at `base_url` if given.
    fn from_environment(id: &str, key_variable: &str, base_url: Option<String>) -> Self {
        Self {
            id: id.to_owned(),
            enabled: true,
            api_key: Some(format!("env:{key_variable}")),
            base_url,
            ..Self::default()
        }
    }
}

/// A `mock` provider.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMock {
    pub id: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default = "default_chunks")]
    pub chunks: usize,
    #[serde(default)]
    pub chunk_delay_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<RawFailure>,
    #[serde(default = "enabled")]
    pub healthy: bool,
}

fn default_chunks() -> usize {
    4
}

impl RawMock {
    /// A default mock provider with this id.
    pub fn with_id(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            enabled: true,
            models: None,
            latency_ms: 0,
            chunks: default_chunks(),
            chunk_delay_ms: 0,
            failure: None,
            healthy: true,
        }
    }
}

/// A mock's scripted failure: an error code, for streams after how many chunks, on how many of the
/// first calls (every call when absent), and for `rate_limit_exceeded` the `retry_after` in ms.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFailure {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_chunks: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// `[models.NAME]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModelAlias {
    pub deployments: Vec<RawDeployment>,
    /// `weighted` (default), `least_inflight` or `latency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Other model names tried in order when every deployment of this one failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
}

/// One `{ provider, model }` deployment, with its share of traffic and optional limits.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeployment {
    pub provider: String,
    pub model: String,
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Calls in flight at most; a deployment at its cap is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_inflight: Option<u32>,
    /// Requests per minute at most (this instance); a deployment at its limit is skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
}

fn default_weight() -> u32 {
    1
}

impl RawConfig {
    /// The embedded defaults: the mock provider, plus OpenAI, Anthropic and Gemini when their SDKs'
    /// key variables are set (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GEMINI_API_KEY`), at the
    /// matching `*_BASE_URL` when that is set too, read through `env`.
    pub fn embedded(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| env(name).filter(|value| !value.is_empty());
        let mut providers = vec![RawProvider::Mock(RawMock::with_id("mock"))];
        type Wrap = fn(RawHttpProvider) -> RawProvider;
        let vendors: [(&str, &str, &str, Wrap); 3] = [
            ("openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", RawProvider::Openai),
            (
                "anthropic",
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_BASE_URL",
                RawProvider::Anthropic,
            ),
            ("gemini", "GEMINI_API_KEY", "GEMINI_BASE_URL", RawProvider::Gemini),
        ];
        for (id, key_variable, url_variable, wrap) in vendors {
            if set(key_variable).is_some() {
                providers.push(wrap(RawHttpProvider::from_environment(
                    id,
                    key_variable,
                    set(url_variable),
                )));
            }
        }
        Self {
            providers,
            ..Self::default()
        }
    }
}
