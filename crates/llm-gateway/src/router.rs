//! Routing: a client's model name -> a provider and the upstream model name there.
//!
//! Order: `provider/model` when the prefix is a registered provider, then the alias table, then the
//! first enabled provider (in configured order) whose model list has the bare name.

use std::collections::BTreeMap;
use std::sync::Arc;

use llm_core::{ErrorKind, LlmError, ModelRef};

use crate::config::ModelAlias;
use crate::registry::{ProviderEntry, ProviderRegistry};

/// Where one request goes.
#[derive(Clone, Debug)]
pub struct Route {
    /// The provider.
    pub entry: Arc<ProviderEntry>,
    /// The model name to send upstream.
    pub upstream_model: String,
}

/// Resolves model names against the alias table and the registry.
#[derive(Debug)]
pub struct Router {
    aliases: BTreeMap<String, ModelAlias>,
    registry: Arc<ProviderRegistry>,
}

impl Router {
    /// A router over `registry` with the configured aliases.
    pub fn new(aliases: BTreeMap<String, ModelAlias>, registry: Arc<ProviderRegistry>) -> Self {
        Self { aliases, registry }
    }

    /// The alias table.
    pub fn aliases(&self) -> &BTreeMap<String, ModelAlias> {
        &self.aliases
    }

    /// Picks the provider and upstream model for `model`.
    pub fn resolve(&self, model: &ModelRef) -> Result<Route, LlmError> {
        if let Some((provider, upstream)) = model.provider_and_model()
            && let Some(entry) = self.registry.get(provider)
        {
            if !entry.is_enabled() {
                return Err(LlmError::new(
                    ErrorKind::ProviderUnavailable,
                    format!("provider `{provider}` is disabled"),
                ));
            }
            return Ok(Route {
                entry,
                upstream_model: upstream.to_owned(),
            });
        }
        let name = model.as_str();
        if let Some(alias) = self.aliases.get(name) {
            return alias
                .deployments
                .iter()
                .find_map(|deployment| {
                    self.registry
                        .get(deployment.provider.as_str())
                        .filter(|entry| entry.is_enabled())
                        .map(|entry| Route {
                            entry,
                            upstream_model: deployment.model.clone(),
                        })
                })
                .ok_or_else(|| {
                    LlmError::new(
                        ErrorKind::ProviderUnavailable,
                        format!("no enabled provider serves model `{name}`"),
                    )
                });
        }
        self.registry
            .snapshot()
            .iter()
            .find(|entry| entry.is_enabled() && entry.serves(name))
            .map(|entry| Route {
                entry: entry.clone(),
                upstream_model: name.to_owned(),
            })
            .ok_or_else(|| {
                LlmError::new(
                    ErrorKind::NotFound,
                    format!("the model `{name}` does not exist or is not served by any provider"),
                )
                .with_param("model")
            })
    }
}
