//! Turning a [`RawConfig`] into a [`Config`] that is valid by construction.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use llm_core::{ErrorKind, ProviderId};
use llm_provider_mock::{MockSettings, ScriptedFailure};

use super::raw::{RawConfig, RawMock, RawModelAlias, RawOpenAi, RawProvider};
use super::secret::resolve_secret;
use super::{
    Config, ConfigError, Deployment, HealthConfig, ModelAlias, OpenAiSpec, ProviderConfig, ProviderSpec,
    ServerConfig,
};

const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Validates every section, naming the first key at fault.
pub(crate) fn validate(raw: RawConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let bind: SocketAddr = raw.server.bind.parse().map_err(|_| {
        ConfigError::invalid(
            "server.bind",
            format!("`{}` is not an address like 127.0.0.1:8080", raw.server.bind),
        )
    })?;
    if raw.server.max_body_bytes == 0 {
        return Err(ConfigError::invalid("server.max_body_bytes", "must be above 0"));
    }
    let max_body_bytes = usize::try_from(raw.server.max_body_bytes)
        .map_err(|_| ConfigError::invalid("server.max_body_bytes", "too large"))?;
    if raw.health.probe_interval_secs == 0 {
        return Err(ConfigError::invalid(
            "health.probe_interval_secs",
            "must be above 0",
        ));
    }
    if raw.health.probe_timeout_ms == 0 {
        return Err(ConfigError::invalid("health.probe_timeout_ms", "must be above 0"));
    }

    let mut seen = BTreeSet::new();
    let mut providers = Vec::with_capacity(raw.providers.len());
    for (index, provider) in raw.providers.iter().enumerate() {
        let key = format!("providers[{index}]");
        validate_id(&format!("{key}.id"), provider.id())?;
        if !seen.insert(provider.id().to_owned()) {
            return Err(ConfigError::invalid(
                format!("{key}.id"),
                format!("duplicate provider id `{}`", provider.id()),
            ));
        }
        providers.push(validate_provider(&key, provider, env)?);
    }
    if providers.is_empty() {
        return Err(ConfigError::invalid(
            "providers",
            "at least one provider is needed",
        ));
    }

    let mut models = BTreeMap::new();
    for (name, alias) in raw.models {
        let alias = validate_alias(&name, alias, &seen)?;
        models.insert(name, alias);
    }

    Ok(Config {
        server: ServerConfig {
            bind,
            max_body_bytes,
            shutdown_grace: Duration::from_secs(raw.server.shutdown_grace_secs),
        },
        health: HealthConfig {
            probe_interval: Duration::from_secs(raw.health.probe_interval_secs),
            probe_timeout: Duration::from_millis(raw.health.probe_timeout_ms),
        },
        providers,
        models,
    })
}

fn validate_id(key: &str, id: &str) -> Result<(), ConfigError> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("`{id}` must be 1-64 characters of letters, digits, `-`, `_` or `.`"),
        ))
    }
}

/// Validates one provider's settings; `key` is its position, e.g. `providers[2]`.
pub(crate) fn validate_provider(
    key: &str,
    provider: &RawProvider,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProviderConfig, ConfigError> {
    let (id, enabled, spec) = match provider {
        RawProvider::Openai(raw) => (&raw.id, raw.enabled, openai_spec(key, raw, false, env)?),
        RawProvider::OpenaiCompatible(raw) => (&raw.id, raw.enabled, openai_spec(key, raw, true, env)?),
        RawProvider::Mock(raw) => (&raw.id, raw.enabled, mock_spec(key, raw)?),
    };
    Ok(ProviderConfig {
        id: ProviderId::new(id.as_str()),
        enabled,
        spec,
    })
}

fn openai_spec(
    key: &str,
    raw: &RawOpenAi,
    compatible: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProviderSpec, ConfigError> {
    let base_url = match (&raw.base_url, compatible) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, false) => OPENAI_BASE_URL.to_owned(),
        (None, true) => {
            return Err(ConfigError::invalid(
                format!("{key}.base_url"),
                "is required for type openai_compatible",
            ));
        }
    };
    if !(base_url.starts_with("https://") || base_url.starts_with("http://"))
        || base_url.contains(char::is_whitespace)
    {
        return Err(ConfigError::invalid(
            format!("{key}.base_url"),
            format!("`{base_url}` is not an http(s) URL"),
        ));
    }
    let api_key = match &raw.api_key {
        Some(reference) => Some(resolve_secret(&format!("{key}.api_key"), reference, env)?),
        None if compatible => None,
        None => {
            return Err(ConfigError::invalid(
                format!("{key}.api_key"),
                "is required for type openai (write `env:OPENAI_API_KEY`)",
            ));
        }
    };
    for name in raw.headers.keys() {
        let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(ConfigError::invalid(
                format!("{key}.headers"),
                format!("`{name}` is not a header name"),
            ));
        }
    }
    let millis = |value: Option<u64>, default: u64, field: &str| match value {
        Some(0) => Err(ConfigError::invalid(format!("{key}.{field}"), "must be above 0")),
        Some(ms) => Ok(Duration::from_millis(ms)),
        None => Ok(Duration::from_millis(default)),
    };
    Ok(ProviderSpec::OpenAi(OpenAiSpec {
        compatible,
        base_url,
        api_key,
        organization: raw.organization.clone(),
        headers: raw.headers.clone(),
        connect_timeout: millis(raw.connect_timeout_ms, 5_000, "connect_timeout_ms")?,
        first_byte_timeout: millis(raw.first_byte_timeout_ms, 60_000, "first_byte_timeout_ms")?,
        idle_timeout: millis(raw.idle_timeout_ms, 60_000, "idle_timeout_ms")?,
        request_timeout: millis(raw.request_timeout_ms, 600_000, "request_timeout_ms")?,
    }))
}

fn mock_spec(key: &str, raw: &RawMock) -> Result<ProviderSpec, ConfigError> {
    let mut settings = MockSettings::new(raw.id.as_str());
    if let Some(models) = &raw.models {
        if models.is_empty() || models.iter().any(String::is_empty) {
            return Err(ConfigError::invalid(
                format!("{key}.models"),
                "needs non-empty model names",
            ));
        }
        settings.models = models.clone();
    }
    if raw.chunks == 0 {
        return Err(ConfigError::invalid(format!("{key}.chunks"), "must be above 0"));
    }
    settings.chunk_count = raw.chunks;
    settings.latency = Duration::from_millis(raw.latency_ms);
    settings.chunk_delay = Duration::from_millis(raw.chunk_delay_ms);
    settings.healthy = raw.healthy;
    if let Some(failure) = &raw.failure {
        let kind = ErrorKind::from_code(&failure.kind).ok_or_else(|| {
            let known: Vec<&str> = ErrorKind::ALL.iter().map(|kind| kind.code()).collect();
            ConfigError::invalid(
                format!("{key}.failure.kind"),
                format!("`{}` is not one of {}", failure.kind, known.join(", ")),
            )
        })?;
        settings.failure = Some(ScriptedFailure {
            kind,
            after_chunks: failure.after_chunks,
        });
    }
    Ok(ProviderSpec::Mock(settings))
}

fn validate_alias(
    name: &str,
    alias: RawModelAlias,
    providers: &BTreeSet<String>,
) -> Result<ModelAlias, ConfigError> {
    let key = format!("models.{name}");
    if name.is_empty() {
        return Err(ConfigError::invalid("models", "a model name must not be empty"));
    }
    if alias.deployments.is_empty() {
        return Err(ConfigError::invalid(
            format!("{key}.deployments"),
            "needs at least one deployment",
        ));
    }
    let mut deployments = Vec::with_capacity(alias.deployments.len());
    for (index, deployment) in alias.deployments.into_iter().enumerate() {
        if !providers.contains(&deployment.provider) {
            return Err(ConfigError::invalid(
                format!("{key}.deployments[{index}].provider"),
                format!("`{}` is not a configured provider id", deployment.provider),
            ));
        }
        if deployment.model.is_empty() {
            return Err(ConfigError::invalid(
                format!("{key}.deployments[{index}].model"),
                "must not be empty",
            ));
        }
        deployments.push(Deployment {
            provider: ProviderId::new(deployment.provider.as_str()),
            model: deployment.model,
        });
    }
    Ok(ModelAlias { deployments })
}
