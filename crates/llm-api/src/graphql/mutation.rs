//! Mutations (the admin key): the same admin operations as `POST/PUT/DELETE /llm/providers`.

use juniper::{FieldResult, graphql_object};

use super::types::Provider;
use super::{GraphQLContext, gql};
use crate::handlers::admin;

/// The root mutation type.
#[derive(Clone, Copy, Debug)]
pub struct Mutation;

#[graphql_object(context = GraphQLContext)]
impl Mutation {
    /// Adds a provider; `config` is a provider block as JSON, the body of `POST /llm/providers`.
    async fn add_provider(context: &GraphQLContext, config: String) -> FieldResult<Provider> {
        context.require_admin()?;
        admin::add_provider(&context.state, config.as_bytes())
            .await
            .map(Provider::from)
            .map_err(gql)
    }

    /// Replaces a provider's configuration; `config` is a whole provider block (same id) as JSON.
    async fn update_provider(context: &GraphQLContext, id: String, config: String) -> FieldResult<Provider> {
        context.require_admin()?;
        admin::update_provider(&context.state, &id, config.as_bytes())
            .await
            .map(Provider::from)
            .map_err(gql)
    }

    /// Switches a provider on or off.
    fn set_provider_enabled(context: &GraphQLContext, id: String, enabled: bool) -> FieldResult<Provider> {
        context.require_admin()?;
        admin::set_provider_enabled(&context.state, &id, enabled)
            .map(Provider::from)
            .map_err(gql)
    }

    /// Removes a provider (requests already on it finish); answers the removed id.
    fn remove_provider(context: &GraphQLContext, id: String) -> FieldResult<String> {
        context.require_admin()?;
        admin::remove_provider(&context.state, &id).map_err(gql)?;
        Ok(id)
    }
}
