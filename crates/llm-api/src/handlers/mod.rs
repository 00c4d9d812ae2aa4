//! Request handlers, one module per API family.

pub(crate) mod anthropic;
pub(crate) mod health;
pub(crate) mod openai;
pub(crate) mod providers;
pub(crate) mod simple;

use std::time::Duration;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::web::Payload;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
use llm_core::{ChatRequest, ProviderId, RequestId};
use llm_gateway::RequestContext;

use crate::body::read_limited;
use crate::error::ApiError;
use crate::headers::{PROVIDER_HEADER, UpstreamTime};
use crate::state::ApiState;

/// Reads the body within the size limit, turns it into a chat request with `parse`, and builds the
/// engine's context for it.
pub(crate) async fn read_chat_request(
    request: &HttpRequest,
    payload: Payload,
    state: &ApiState,
    parse: fn(&[u8]) -> Result<ChatRequest, ApiError>,
) -> Result<(ChatRequest, RequestContext), ApiError> {
    let body = read_limited(request, payload, state.max_body_bytes).await?;
    let chat = parse(&body)?;
    Ok((chat, context(request)))
}

/// The engine's view of this request; the id was assigned by the header middleware.
pub(crate) fn context(request: &HttpRequest) -> RequestContext {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::generate);
    RequestContext::new(request_id)
}

/// Records time spent on the provider so the overhead header can exclude it.
pub(crate) fn record_upstream(request: &HttpRequest, upstream: Duration) {
    request.extensions_mut().insert(UpstreamTime(upstream));
}

/// A 200 response naming the provider that served it.
pub(crate) fn routed_ok(provider: &ProviderId) -> HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response.insert_header((PROVIDER_HEADER, provider.as_str()));
    response
}

/// A 200 SSE response naming the provider.
pub(crate) fn sse_ok(provider: &ProviderId) -> HttpResponseBuilder {
    let mut response = routed_ok(provider);
    response
        .insert_header((CONTENT_TYPE, "text/event-stream"))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"));
    response
}

/// Any path no route has.
pub(crate) async fn unknown_route(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound {
        method: request.method().to_string(),
        path: request.path().to_owned(),
    })
}

/// A known path with the wrong method.
pub(crate) async fn method_not_allowed(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed {
        method: request.method().to_string(),
        path: request.path().to_owned(),
    })
}
