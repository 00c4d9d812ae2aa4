//! The configuration as users write it (TOML or environment), before validation.

use std::collections::BTreeMap;

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
    Openai(RawOpenAi),
    OpenaiCompatible(RawOpenAi),
    Mock(RawMock),
}

impl RawProvider {
    /// The configured id.
    pub fn id(&self) -> &str {
        match self {
            Self::Openai(raw) | Self::OpenaiCompatible(raw) => &raw.id,
            Self::Mock(raw) => &raw.id,
        }
    }
}

/// An `openai` or `openai_compatible` provider.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOpenAi {
    pub id: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// `env:VAR` or a literal key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
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

/// A mock's scripted failure: an error code and, for streams, after how many chunks.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFailure {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_chunks: Option<usize>,
}

/// `[models.NAME]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModelAlias {
    pub deployments: Vec<RawDeployment>,
}

/// One `{ provider, model }` deployment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeployment {
    pub provider: String,
    pub model: String,
}

impl RawConfig {
    /// The embedded defaults: the mock provider, plus OpenAI when `OPENAI_API_KEY` is set (at
    /// `OPENAI_BASE_URL` when that is set too), read through `env`.
    pub fn embedded(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut providers = vec![RawProvider::Mock(RawMock::with_id("mock"))];
        if env("OPENAI_API_KEY").is_some_and(|key| !key.is_empty()) {
            providers.push(RawProvider::Openai(RawOpenAi {
                id: "openai".to_owned(),
                enabled: true,
                api_key: Some("env:OPENAI_API_KEY".to_owned()),
                base_url: env("OPENAI_BASE_URL").filter(|url| !url.is_empty()),
                ..RawOpenAi::default()
            }));
        }
        Self {
            providers,
            ..Self::default()
        }
    }
}
