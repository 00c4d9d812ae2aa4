//! The GraphQL API (juniper): queries, mutations and subscriptions over the same engine as REST.
//!
//! - `POST /graphql`: queries and mutations (JSON body, batches allowed).
//! - `GET /graphql`: GraphiQL, or the subscription websocket when the request is an upgrade.
//! - `GET /graphql/ws`: the subscription websocket (`graphql-transport-ws`, or the legacy
//!   `graphql-ws` when the client asks for it with `Sec-WebSocket-Protocol`).
//!
//! Resolvers hold no business logic: they call [`llm_gateway::Gateway`] and the admin operations
//! exactly as the REST handlers do, and failures map through [`ApiError::to_field_error`], so the
//! `extensions.code` of a GraphQL error is the REST error code.

pub(crate) mod handlers;
mod input;
mod mutation;
mod query;
mod subscription;
mod types;

use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use juniper::{FieldError, FieldResult, RootNode};
use llm_core::{ProviderId, QuotaHeaders, RequestId, Usage};
use llm_gateway::{CacheStatus, Completion, Principal, RequestContext};

use crate::error::ApiError;
use crate::state::ApiState;

pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscription;

/// The schema type.
pub type Schema = RootNode<Query, Mutation, Subscription>;

/// The deepest document nesting accepted (introspection needs about 15).
const MAX_DEPTH: usize = 32;
/// The most tokens a document may have.
const MAX_TOKENS: usize = 5_000;
/// The most fields a document may select, fragments expanded.
const MAX_FIELDS: usize = 5_000;

/// The schema with its document limits.
pub fn schema() -> Schema {
    Schema::new(Query, Mutation, Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_tokens(MAX_TOKENS)
        .limit_fields(MAX_FIELDS)
}

/// The one schema instance every request uses.
pub(crate) static SCHEMA: LazyLock<Arc<Schema>> = LazyLock::new(|| Arc::new(schema()));

/// Any engine or API failure as a GraphQL error carrying the REST `code` in `extensions`.
pub(crate) fn gql(error: impl Into<ApiError>) -> FieldError {
    error.into().to_field_error()
}

/// Per-request (HTTP) or per-connection (websocket) facts: the caller's keys, checked as REST
/// checks them, and the engine context template.
#[derive(Clone)]
pub struct GraphQLContext {
    pub(crate) state: ApiState,
    client: Result<Option<Principal>, FieldError>,
    admin: Result<(), FieldError>,
    base: Result<RequestContext, FieldError>,
    /// Websocket connections carry many operations: each gets its own id and clock.
    per_operation: bool,
    /// The completions this request's operations served, for its headers, metrics and log line.
    served: Arc<Mutex<Vec<ServedCompletion>>>,
}

/// One completion an operation served.
#[derive(Clone, Debug)]
pub(crate) struct ServedCompletion {
    /// The model the client asked for.
    pub model: String,
    pub provider: ProviderId,
    pub cache: CacheStatus,
    pub upstream: Duration,
    pub usage: Option<Usage>,
    pub quota: Option<QuotaHeaders>,
    pub attempts: u32,
    pub fallback: Option<String>,
}

impl juniper::Context for GraphQLContext {}

impl GraphQLContext {
    pub(crate) fn new(
        state: ApiState,
        client: Result<Option<Principal>, ApiError>,
        admin: Result<(), ApiError>,
        base: Result<RequestContext, ApiError>,
        per_operation: bool,
    ) -> Self {
        Self {
            state,
            client: client.map_err(gql),
            admin: admin.map_err(gql),
            base: base.map_err(gql),
            per_operation,
            served: Arc::default(),
        }
    }

    /// Notes a completion served for `model`.
    pub(crate) fn note_served(&self, model: String, completion: &Completion) {
        let served = ServedCompletion {
            model,
            provider: completion.provider.clone(),
            cache: completion.cache,
            upstream: completion.upstream_latency,
            usage: completion.response.usage.clone(),
            quota: completion.quota,
            attempts: completion.attempts,
            fallback: completion.fallback.clone(),
        };
        self.served
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(served);
    }

    /// The completions served so far, taken.
    pub(crate) fn take_served(&self) -> Vec<ServedCompletion> {
        std::mem::take(&mut *self.served.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A client operation: the principal, or the authentication error REST would give.
    pub(crate) fn client(&self) -> FieldResult<Option<Principal>> {
        self.client.clone()
    }

    /// An admin operation: the admin key is required.
    pub(crate) fn require_admin(&self) -> FieldResult<()> {
        self.admin.clone()
    }

    /// The engine context for one operation of an authenticated client.
    pub(crate) fn request_context(&self, no_cache: bool) -> FieldResult<RequestContext> {
        let principal = self.client()?;
        let mut context = self.base.clone()?;
        if self.per_operation {
            context.request_id = RequestId::generate();
            context.received_at = Instant::now();
        }
        if no_cache {
            context.cache.read = false;
        }
        context.principal = principal;
        Ok(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");

    /// `crates/llm-api/schema.graphql` is the schema; regenerate it with
    /// `UPDATE_SCHEMA=1 cargo test -p llm-api schema_sdl`.
    #[test]
    fn schema_sdl_is_checked_in() {
        let fresh = schema().as_sdl();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::write(SDL_PATH, &fresh).unwrap();
        }
        let stored = std::fs::read_to_string(SDL_PATH).unwrap_or_default();
        assert!(
            stored == fresh,
            "schema.graphql is out of date; run `UPDATE_SCHEMA=1 cargo test -p llm-api schema_sdl`. \
             The fresh SDL:\n{fresh}"
        );
    }
}
