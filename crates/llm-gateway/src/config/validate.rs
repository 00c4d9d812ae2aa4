//! Turning a [`RawConfig`] into a [`Config`] that is valid by construction.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use llm_core::ProviderId;

use super::provider_specs::validate_provider;
use super::raw::{RawConfig, RawModelAlias};
use super::{Config, ConfigError, Deployment, HealthConfig, ModelAlias, ServerConfig};

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
