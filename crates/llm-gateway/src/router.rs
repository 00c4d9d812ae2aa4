//! Routing: a client's model name -> a [`RoutePlan`]: the deployments that may serve it (the
//! balancer picks among them) and, after them, each configured fallback model's deployments.
//!
//! A name resolves as: `provider/model` when the prefix is a registered provider, then the alias
//! table (`[models.NAME]`: several deployments, a strategy, fallbacks), then the first enabled
//! provider (in configured order) whose model list has the bare name.

use std::collections::BTreeMap;
use std::sync::Arc;

use llm_core::{ErrorKind, LlmError, ModelRef};

use crate::config::ModelAlias;
use crate::registry::{ProviderEntry, ProviderRegistry};
use crate::routing::balancer::Strategy;
use crate::routing::deployment::{DeploymentState, DeploymentStates};
use crate::routing::limits::MinuteBudget;

/// The deployment state shared by the models a provider neither lists nor is deployed with.
pub const UNLISTED_MODEL: &str = "*";

/// Where one request goes.
#[derive(Clone, Debug)]
pub struct Route {
    /// The provider.
    pub entry: Arc<ProviderEntry>,
    /// The model name to send upstream.
    pub upstream_model: String,
}

/// One deployment a group may use.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub route: Route,
    /// Its live state: calls in flight, latency, circuit breaker.
    pub state: Arc<DeploymentState>,
    /// Its share of the group's traffic.
    pub weight: u32,
    /// Calls in flight at most.
    pub max_inflight: Option<u32>,
    /// Its requests-per-minute budget, when it has one.
    pub rpm: Option<Arc<MinuteBudget>>,
}

/// The deployments of one model name.
#[derive(Clone, Debug)]
pub struct RouteGroup {
    /// The model name as the client or the fallback chain wrote it.
    pub model: String,
    /// Whether the name is a `[models]` alias (cache entries are then keyed by the name, so every
    /// deployment shares them).
    pub alias: bool,
    pub strategy: Strategy,
    pub candidates: Vec<Candidate>,
}

/// The requested model's group first, then one group per fallback that resolves now.
#[derive(Clone, Debug)]
pub struct RoutePlan {
    pub groups: Vec<RouteGroup>,
}

/// Resolves model names against the alias table and the registry.
#[derive(Debug)]
pub struct Router {
    aliases: BTreeMap<String, ModelAlias>,
    /// Each alias deployment's requests-per-minute budget, by alias, in deployment order.
    budgets: BTreeMap<String, Vec<Option<Arc<MinuteBudget>>>>,
    registry: Arc<ProviderRegistry>,
    deployments: Arc<DeploymentStates>,
}

impl Router {
    /// A router over `registry` with the configured aliases, keeping each deployment's live state in
    /// `deployments`.
    pub fn new(
        aliases: BTreeMap<String, ModelAlias>,
        registry: Arc<ProviderRegistry>,
        deployments: Arc<DeploymentStates>,
    ) -> Self {
        let budgets = aliases
            .iter()
            .map(|(name, alias)| {
                let budgets = alias
                    .deployments
                    .iter()
                    .map(|deployment| deployment.rpm.map(|rpm| Arc::new(MinuteBudget::new(rpm))))
                    .collect();
                (name.clone(), budgets)
            })
            .collect();
        Self {
            aliases,
            budgets,
            registry,
            deployments,
        }
    }

    /// Whether an alias deploys `model` on `provider`.
    fn deployed(&self, provider: &str, model: &str) -> bool {
        self.aliases.values().any(|alias| {
            alias
                .deployments
                .iter()
                .any(|deployment| deployment.provider.as_str() == provider && deployment.model == model)
        })
    }

    /// Every deployment's live state.
    pub fn deployments(&self) -> &Arc<DeploymentStates> {
        &self.deployments
    }

    /// The alias table.
    pub fn aliases(&self) -> &BTreeMap<String, ModelAlias> {
        &self.aliases
    }

    /// The plan for `model`: its own group (an error when nothing can serve it), then its
    /// fallbacks' groups (those that cannot serve now are left out).
    pub fn plan(&self, model: &ModelRef) -> Result<RoutePlan, LlmError> {
        let mut groups = vec![self.group(model.as_str())?];
        if let Some(alias) = self.aliases.get(model.as_str()) {
            for fallback in &alias.fallbacks {
                match self.group(fallback) {
                    Ok(group) => groups.push(group),
                    Err(error) => tracing::debug!(fallback = %fallback, %error, "fallback left out"),
                }
            }
        }
        Ok(RoutePlan { groups })
    }

    /// The deployments of one name.
    fn group(&self, name: &str) -> Result<RouteGroup, LlmError> {
        let model = ModelRef::parse(name);
        if let Some((provider, upstream)) = model.provider_and_model()
            && let Some(entry) = self.registry.get(provider)
        {
            if !entry.is_enabled() {
                return Err(LlmError::new(
                    ErrorKind::ProviderUnavailable,
                    format!("provider `{provider}` is disabled"),
                ));
            }
            return Ok(self.single(name, entry, upstream));
        }
        if let Some(alias) = self.aliases.get(name) {
            let budgets = self.budgets.get(name);
            let candidates: Vec<Candidate> = alias
                .deployments
                .iter()
                .enumerate()
                .filter_map(|(index, deployment)| {
                    let entry = self
                        .registry
                        .get(deployment.provider.as_str())
                        .filter(|entry| entry.is_enabled())?;
                    Some(Candidate {
                        state: self
                            .deployments
                            .get_or_create(entry.id().as_str(), &deployment.model),
                        route: Route {
                            entry,
                            upstream_model: deployment.model.clone(),
                        },
                        weight: deployment.weight,
                        max_inflight: deployment.max_inflight,
                        rpm: budgets.and_then(|budgets| budgets.get(index)).cloned().flatten(),
                    })
                })
                .collect();
            if candidates.is_empty() {
                return Err(LlmError::new(
                    ErrorKind::ProviderUnavailable,
                    format!("no enabled provider serves model `{name}`"),
                ));
            }
            return Ok(RouteGroup {
                model: name.to_owned(),
                alias: true,
                strategy: alias.strategy,
                candidates,
            });
        }
        self.registry
            .snapshot()
            .iter()
            .find(|entry| entry.is_enabled() && entry.serves(name))
            .map(|entry| self.single(name, entry.clone(), name))
            .ok_or_else(|| {
                LlmError::new(
                    ErrorKind::NotFound,
                    format!("the model `{name}` does not exist or is not served by any provider"),
                )
                .with_param("model")
            })
    }

    /// A group of one deployment. Its live state is per (provider, model) when the provider lists
    /// the model or an alias deploys it; any other name a client sends shares the provider's `*`
    /// state, so client input cannot grow the state (and the `llm_circuit_state` labels) unbounded.
    fn single(&self, name: &str, entry: Arc<ProviderEntry>, upstream: &str) -> RouteGroup {
        let known = entry.serves(upstream) || self.deployed(entry.id().as_str(), upstream);
        let state_model = if known { upstream } else { UNLISTED_MODEL };
        RouteGroup {
            model: name.to_owned(),
            alias: false,
            strategy: Strategy::Weighted,
            candidates: vec![Candidate {
                state: self.deployments.get_or_create(entry.id().as_str(), state_model),
                route: Route {
                    entry,
                    upstream_model: upstream.to_owned(),
                },
                weight: 1,
                max_inflight: None,
                rpm: None,
            }],
        }
    }
}
