//! Request handlers, one module per API family.

pub(crate) mod admin;
pub(crate) mod anthropic;
pub(crate) mod auth;
pub(crate) mod health;
pub(crate) mod openai;
pub(crate) mod providers;
pub(crate) mod simple;

use std::time::Duration;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName};
use actix_web::web::Payload;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder};
use std::time::Duration as TtlSeconds;

use llm_core::{ChatRequest, LlmError, ProviderId, QuotaHeaders, RequestId};
use llm_gateway::{CacheDirective, CacheStatus, Caller, Completion, CompletionStream, RequestContext};

use crate::body::read_limited;
use crate::error::ApiError;
use crate::header_names::{
    ATTEMPTS_HEADER, CACHE_HEADER, CACHE_TTL_HEADER, FALLBACK_HEADER, PROVIDER_HEADER, TIMEOUT_HEADER,
};
use crate::headers::{AnswerUsage, UpstreamTime};
use crate::metrics::RequestedModel;
use crate::state::ApiState;

/// Reads the body within the size limit, turns it into a chat request with `parse`, and builds the
/// engine's context for it.
pub(crate) async fn read_chat_request(
    request: &HttpRequest,
    payload: Payload,
    state: &ApiState,
    parse: fn(&[u8]) -> Result<ChatRequest, ApiError>,
) -> Result<(ChatRequest, RequestContext), ApiError> {
    let principal = auth::client(request, state)?;
    let body = read_limited(request, payload, state.max_body_bytes).await?;
    let chat = parse(&body)?;
    request
        .extensions_mut()
        .insert(RequestedModel(chat.model.clone()));
    let mut context = context(request, state)?;
    context.principal = principal;
    Ok((chat, context))
}

/// The engine's view of this request; the id was assigned by the header middleware, the cache
/// directive comes from `Cache-Control` and `x-llm-cache-ttl`.
pub(crate) fn context(request: &HttpRequest, state: &ApiState) -> Result<RequestContext, ApiError> {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::generate);
    let mut context = RequestContext::new(request_id);
    context.cache = cache_directive(request)?;
    context.timeout = requested_timeout(request)?;
    context.caller = Caller {
        identity: None,
        user_header: request
            .headers()
            .get(state.gateway.user_header())
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|user| !user.is_empty() && user.len() <= 256)
            .map(str::to_owned),
        address: request.peer_addr().map(|address| address.ip().to_string()),
    };
    Ok(context)
}

/// `Cache-Control: no-cache` skips the lookup (a fresh answer is still stored); `no-store` skips
/// both; `x-llm-cache-ttl: SECONDS` sets the entry's TTL (bounded by configuration).
fn cache_directive(request: &HttpRequest) -> Result<CacheDirective, ApiError> {
    let mut directive = CacheDirective::default();
    for value in request.headers().get_all(CACHE_CONTROL) {
        for token in value.to_str().unwrap_or("").split(',').map(str::trim) {
            if token.eq_ignore_ascii_case("no-cache") {
                directive.read = false;
            } else if token.eq_ignore_ascii_case("no-store") {
                directive.read = false;
                directive.write = false;
            }
        }
    }
    if let Some(value) = request.headers().get(CACHE_TTL_HEADER) {
        let seconds = value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .filter(|seconds| *seconds > 0)
            .ok_or_else(|| {
                LlmError::invalid_param(
                    CACHE_TTL_HEADER,
                    "x-llm-cache-ttl must be a whole number of seconds above 0",
                )
            })?;
        directive.ttl = Some(TtlSeconds::from_secs(seconds));
    }
    Ok(directive)
}

/// `x-llm-timeout-ms: MILLISECONDS`: the whole request's deadline (the engine checks its bound).
fn requested_timeout(request: &HttpRequest) -> Result<Option<Duration>, ApiError> {
    let Some(value) = request.headers().get(TIMEOUT_HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .filter(|millis| *millis > 0)
        .map(|millis| Some(Duration::from_millis(millis)))
        .ok_or_else(|| {
            LlmError::invalid_param(
                TIMEOUT_HEADER,
                "x-llm-timeout-ms must be a whole number of milliseconds above 0",
            )
            .into()
        })
}

/// Records a complete answer's token usage for the request's log line.
pub(crate) fn record_usage(request: &HttpRequest, usage: Option<&llm_core::Usage>) {
    if let Some(usage) = usage {
        request.extensions_mut().insert(AnswerUsage {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
        });
    }
}

/// Records time spent on the provider so the overhead header can exclude it.
pub(crate) fn record_upstream(request: &HttpRequest, upstream: Duration) {
    request.extensions_mut().insert(UpstreamTime(upstream));
}

/// How a routed answer was served: the headers every routed 200 carries.
pub(crate) struct Served<'a> {
    pub provider: &'a ProviderId,
    pub cache: CacheStatus,
    pub quota: Option<&'a QuotaHeaders>,
    pub attempts: u32,
    pub fallback: Option<&'a str>,
}

impl<'a> From<&'a Completion> for Served<'a> {
    fn from(completion: &'a Completion) -> Self {
        Self {
            provider: &completion.provider,
            cache: completion.cache,
            quota: completion.quota.as_ref(),
            attempts: completion.attempts,
            fallback: completion.fallback.as_deref(),
        }
    }
}

impl<'a> From<&'a CompletionStream> for Served<'a> {
    fn from(opened: &'a CompletionStream) -> Self {
        Self {
            provider: &opened.provider,
            cache: opened.cache,
            quota: opened.quota.as_ref(),
            attempts: opened.attempts,
            fallback: opened.fallback.as_deref(),
        }
    }
}

/// A 200 response naming the provider, what the cache did, the attempts (and fallback) it took and
/// the rate-limit state.
pub(crate) fn routed_ok(served: Served<'_>) -> HttpResponseBuilder {
    // Names built at compile time: no parsing or copying per response.
    const PROVIDER: HeaderName = HeaderName::from_static(PROVIDER_HEADER);
    const CACHE: HeaderName = HeaderName::from_static(CACHE_HEADER);
    const ATTEMPTS: HeaderName = HeaderName::from_static(ATTEMPTS_HEADER);
    const FALLBACK: HeaderName = HeaderName::from_static(FALLBACK_HEADER);
    let mut response = HttpResponse::Ok();
    response
        .insert_header((PROVIDER, served.provider.as_str()))
        .insert_header((CACHE, served.cache.as_str()))
        .insert_header((ATTEMPTS, served.attempts));
    if let Some(fallback) = served.fallback {
        response.insert_header((FALLBACK, fallback));
    }
    for (name, value) in served.quota.map(QuotaHeaders::header_pairs).unwrap_or_default() {
        response.insert_header((HeaderName::from_static(name), value));
    }
    response
}

/// A 200 SSE response with the same headers.
pub(crate) fn sse_ok(served: Served<'_>) -> HttpResponseBuilder {
    const ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
    let mut response = routed_ok(served);
    response
        .insert_header((CONTENT_TYPE, "text/event-stream"))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .insert_header((ACCEL_BUFFERING, "no"));
    response
}

/// Authenticates a client on routes that take no chat body.
pub(crate) fn client_only(request: &HttpRequest, state: &ApiState) -> Result<(), ApiError> {
    auth::client(request, state).map(|_| ())
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
