//! Queries: `complete`, `providers`, `provider`, `models`, `health`.

use juniper::{FieldResult, graphql_object};
use llm_core::{ErrorKind, LlmError};
use llm_validation::known_context_window;

use super::input::CompletionInput;
use super::types::{CacheHealth, Completion, Health, Model, Provider, ProviderHealthView, int};
use super::{GraphQLContext, gql};
use crate::handlers::admin::provider_snapshot;

/// The root query type.
#[derive(Clone, Copy, Debug)]
pub struct Query;

#[graphql_object(context = GraphQLContext)]
impl Query {
    /// A chat completion, through the whole pipeline (validation, limits, cache, routing).
    async fn complete(context: &GraphQLContext, input: CompletionInput) -> FieldResult<Completion> {
        let ctx = context.request_context(input.no_cache.unwrap_or(false))?;
        let chat = input.into_chat_request(false).map_err(gql)?;
        let model = chat.model.clone();
        let completion = context.state.gateway.complete(&ctx, chat).await.map_err(gql)?;
        context.note_served(model, &completion);
        let mut answer = Completion::from(&completion);
        answer.latency_ms = int(u64::try_from(ctx.received_at.elapsed().as_millis()).unwrap_or(u64::MAX));
        Ok(answer)
    }

    /// Every provider.
    fn providers(context: &GraphQLContext) -> FieldResult<Vec<Provider>> {
        context.client()?;
        Ok(context
            .state
            .gateway
            .providers()
            .into_iter()
            .map(Provider::from)
            .collect())
    }

    /// One provider by id (`not_found` when there is none).
    fn provider(context: &GraphQLContext, id: String) -> FieldResult<Provider> {
        context.client()?;
        provider_snapshot(&context.state, &id)
            .map(Provider::from)
            .map_err(gql)
    }

    /// The models of every enabled provider, or of one provider.
    fn models(context: &GraphQLContext, provider: Option<String>) -> FieldResult<Vec<Model>> {
        context.client()?;
        let gateway = &context.state.gateway;
        if let Some(id) = &provider
            && gateway.registry().get(id).is_none()
        {
            return Err(gql(LlmError::new(
                ErrorKind::NotFound,
                format!("provider `{id}` does not exist"),
            )
            .with_param("provider")));
        }
        let aliases = gateway.router().aliases();
        let mut models = Vec::new();
        for entry in gateway.registry().snapshot().iter() {
            let wanted = provider.as_deref().is_none_or(|id| entry.id().as_str() == id);
            if !wanted || !entry.is_enabled() {
                continue;
            }
            for info in entry.models().iter() {
                let routed = aliases
                    .iter()
                    .filter(|(_, alias)| {
                        alias.deployments.iter().any(|deployment| {
                            deployment.provider == *entry.id() && deployment.model == info.id
                        })
                    })
                    .map(|(name, _)| name.clone())
                    .collect();
                let window = info
                    .context_window
                    .map(u64::from)
                    .or_else(|| known_context_window(&info.id));
                models.push(Model {
                    id: format!("{}/{}", entry.id(), info.id),
                    provider: entry.id().to_string(),
                    context_window: window.map(int),
                    aliases: routed,
                });
            }
        }
        Ok(models)
    }

    /// Liveness, readiness, each provider's last probe and the response cache (public, like
    /// `GET /llm/health`).
    async fn health(context: &GraphQLContext) -> Health {
        let gateway = &context.state.gateway;
        let health = gateway.health();
        let cache = gateway.cache();
        let backend = cache.health().await;
        let stats = cache.stats();
        #[allow(clippy::cast_precision_loss)]
        let cache = CacheHealth {
            backend: backend.backend.to_owned(),
            reachable: backend.reachable,
            latency_ms: backend.latency_ms,
            error: backend.error,
            hits: stats.hits as f64,
            misses: stats.misses as f64,
            hit_ratio: stats.hit_ratio,
        };
        Health {
            status: health.status.to_owned(),
            ready: health.ready,
            providers: health
                .providers
                .iter()
                .map(|view| ProviderHealthView {
                    id: view.id.to_string(),
                    enabled: view.enabled,
                    health: view.health.as_ref().map(Into::into),
                })
                .collect(),
            cache,
        }
    }
}
