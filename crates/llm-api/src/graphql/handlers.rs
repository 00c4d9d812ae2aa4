//! The GraphQL endpoints: `POST /graphql`, `GET /graphql` (GraphiQL or websocket) and
//! `GET /graphql/ws` (websocket).

use std::time::Duration;

use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{Data, Payload};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use juniper::http::GraphQLBatchRequest;
use juniper::{DefaultScalarValue, InputValue, ScalarValue, Variables};
use juniper_graphql_ws::ConnectionConfig;

use super::{GraphQLContext, SCHEMA};
use crate::body::{parse_json, read_limited};
use crate::error::ApiError;
use crate::handlers::auth::{self, admin_key, bearer_key, client_key, presented_key};
use crate::handlers::{Served, context, record_upstream, record_usage, routed_ok};
use crate::metrics::RequestedModel;
use crate::state::ApiState;

/// The subscription endpoint GraphiQL is pointed at.
pub(crate) const WS_PATH: &str = "/graphql/ws";

/// How often the server pings an idle websocket.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `POST /graphql`: queries and mutations. The body is read within the configured size limit; keys
/// are checked as on REST, and a failed check is a GraphQL error with `extensions.code`.
pub(crate) async fn post(
    request: HttpRequest,
    payload: Payload,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let body = read_limited(&request, payload, state.max_body_bytes).await?;
    let batch: GraphQLBatchRequest = parse_json(&body)?;
    let graphql = GraphQLContext::new(
        state.get_ref().clone(),
        auth::client(&request, &state),
        auth::admin(&request, &state),
        context(&request, &state),
        false,
    );
    let response = batch.execute(&SCHEMA, &graphql).await;
    let served = graphql.take_served();
    record_upstream(&request, served.iter().map(|served| served.upstream).sum());
    let mut answer = match served.as_slice() {
        // One completion: the same headers, metric labels and log fields as REST.
        [one] if response.is_ok() => {
            request.extensions_mut().insert(RequestedModel(one.model.clone()));
            record_usage(&request, one.usage.as_ref());
            routed_ok(Served {
                provider: &one.provider,
                cache: one.cache,
                quota: one.quota.as_ref(),
                attempts: one.attempts,
                fallback: one.fallback.as_deref(),
            })
        }
        _ if response.is_ok() => HttpResponse::Ok(),
        _ => HttpResponse::BadRequest(),
    };
    Ok(answer.json(&response))
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// `GET /graphql`: GraphiQL, or the subscription websocket when the request is an upgrade.
pub(crate) async fn get(
    request: HttpRequest,
    payload: Payload,
    state: Data<ApiState>,
) -> Result<HttpResponse, actix_web::Error> {
    if is_websocket_upgrade(request.headers()) {
        return subscriptions(request, payload, state).await;
    }
    juniper_actix::graphiql_handler("/graphql", Some(WS_PATH)).await
}

/// The key in a `connection_init` payload: `Authorization: Bearer <key>` (any case) or `x-api-key`.
fn init_key(params: &Variables) -> Option<String> {
    let text = |value: &InputValue| {
        value
            .as_scalar()
            .and_then(DefaultScalarValue::try_as_str)
            .map(str::to_owned)
    };
    params
        .iter()
        .find_map(|(name, value)| {
            if name.eq_ignore_ascii_case("authorization") {
                text(value).and_then(|value| bearer_key(&value).map(str::to_owned))
            } else if name.eq_ignore_ascii_case("x-api-key") {
                text(value).map(|value| value.trim().to_owned())
            } else {
                None
            }
        })
        .filter(|key| !key.is_empty())
}

/// The subscription websocket (`graphql-transport-ws`, or legacy `graphql-ws` on request). The key
/// comes from the `connection_init` payload or the upgrade request's headers; a missing or wrong
/// client key refuses the connection (`4403`) when client keys are configured.
pub(crate) async fn subscriptions(
    request: HttpRequest,
    payload: Payload,
    state: Data<ApiState>,
) -> Result<HttpResponse, actix_web::Error> {
    let header_key = presented_key(&request).map(str::to_owned);
    let base = context(&request, &state);
    let state = state.get_ref().clone();
    let init = move |params: Variables| async move {
        let key = init_key(&params).or(header_key);
        let principal = client_key(&state, key.as_deref())?;
        let admin = admin_key(&state, key.as_deref());
        let graphql = GraphQLContext::new(state, Ok(principal), admin, base, true);
        Ok::<_, ApiError>(ConnectionConfig::new(graphql).with_keep_alive_interval(KEEP_ALIVE))
    };
    juniper_actix::subscriptions::ws_handler(request, payload, SCHEMA.clone(), init).await
}
