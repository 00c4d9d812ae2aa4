//! Reading the layers: embedded defaults, a TOML file, then `LLM__SECTION__KEY` environment variables.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

use super::raw::{RawConfig, RawProvider};
use super::{Config, ConfigError, ProviderConfig, validate};

/// The prefix of configuration environment variables; `__` separates nested keys.
pub const ENV_PREFIX: &str = "LLM__";

/// Where the configuration comes from.
#[derive(Clone, Debug, Default)]
pub struct ConfigSource {
    /// A TOML file; must exist when given.
    pub file: Option<PathBuf>,
}

/// Loads and validates the configuration from the embedded defaults, the file and the process
/// environment.
pub fn load(source: &ConfigSource) -> Result<Config, ConfigError> {
    let env = |name: &str| std::env::var(name).ok();
    let mut figment = Figment::from(Serialized::defaults(RawConfig::embedded(&env)));
    if let Some(path) = &source.file {
        if !path.is_file() {
            return Err(ConfigError::invalid(
                "--config",
                format!("{} is not a readable file", path.display()),
            ));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__"));
    let raw: RawConfig = figment
        .extract()
        .map_err(|error| ConfigError::Parse(Box::new(error)))?;
    validate::validate(raw, &env)
}

/// Parses and validates a TOML document alone (no environment layer), for tests and tools.
pub fn from_toml(document: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let raw: RawConfig = Figment::from(Serialized::defaults(RawConfig::embedded(env)))
        .merge(Toml::string(document))
        .extract()
        .map_err(|error| ConfigError::Parse(Box::new(error)))?;
    validate::validate(raw, env)
}

/// A provider block sent to the admin API, in the `[[providers]]` shape as JSON; `env:VAR` secrets
/// are read from this process's environment. Errors name the key (`provider.base_url`).
pub fn provider_from_json(body: &[u8]) -> Result<ProviderConfig, ConfigError> {
    let raw: RawProvider =
        serde_json::from_slice(body).map_err(|error| ConfigError::invalid("provider", error.to_string()))?;
    let env = |name: &str| std::env::var(name).ok();
    super::provider_specs::validate_provider("provider", &raw, &env)
}
