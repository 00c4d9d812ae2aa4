//! Request ids and the gateway's own headers, added to every response by one middleware.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use llm_core::RequestId;
use tracing::Instrument;

use crate::header_names::{CACHE_HEADER, OVERHEAD_HEADER, PROVIDER_HEADER, REQUEST_ID_HEADER};
use crate::metrics::{
    InFlight, MeteredBody, RequestLabels, RequestedModel, api_of, cache_label, model_label,
};

/// Time a handler spent waiting on a provider; handlers insert it into the request's extensions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UpstreamTime(pub Duration);

/// Token usage of a complete answer, for the request's log line; handlers insert it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AnswerUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Assigns the request id before the handler runs; stamps `x-request-id` and `x-llm-overhead-ms` on
/// whatever response comes back, errors included. Requests to the LLM APIs are also counted and
/// timed (see [`crate::metrics`]); the in-flight guard rides in the body until it ends.
pub(crate) async fn stamp_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let client_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok());
    let request_id = RequestId::from_client_or_generate(client_id);
    request.extensions_mut().insert(request_id.clone());
    let api = api_of(request.path());
    let guard = api.map(|api| InFlight::enter(api, started));
    // Every log line of this request (the engine's included) carries its id; the outcome fields are
    // recorded on the span too when the answer is known, so trace backends (OTLP) can search them.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.path(),
        api = tracing::field::Empty,
        status = tracing::field::Empty,
        model = tracing::field::Empty,
        provider = tracing::field::Empty,
        cache = tracing::field::Empty,
        prompt_tokens = tracing::field::Empty,
        completion_tokens = tracing::field::Empty,
    );
    let mut response = next.call(request).instrument(span.clone()).await?;
    let upstream = response
        .request()
        .extensions()
        .get::<UpstreamTime>()
        .map_or(Duration::ZERO, |time| time.0);
    let overhead = started.elapsed().saturating_sub(upstream);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("{:.3}", overhead.as_secs_f64() * 1000.0)) {
        headers.insert(HeaderName::from_static(OVERHEAD_HEADER), value);
    }
    if let Some(api) = api {
        let headers = response.headers();
        let provider = headers.get(PROVIDER_HEADER).and_then(|value| value.to_str().ok());
        let cache = cache_label(headers.get(CACHE_HEADER).and_then(|value| value.to_str().ok()));
        let requested = response.request().extensions().get::<RequestedModel>().cloned();
        let labels = RequestLabels {
            api,
            model: model_label(
                requested.as_ref().map(|model| model.0.as_str()),
                provider.is_some(),
            ),
            provider: provider.unwrap_or("unknown"),
            status: response.status().as_u16(),
            cache,
        };
        crate::metrics::record_response(&labels, overhead.as_secs_f64());
        let usage = response.request().extensions().get::<AnswerUsage>().copied();
        span.record("api", labels.api)
            .record("status", labels.status)
            .record("model", labels.model)
            .record("provider", labels.provider)
            .record("cache", labels.cache);
        if let Some(usage) = usage {
            span.record("prompt_tokens", usage.prompt_tokens)
                .record("completion_tokens", usage.completion_tokens);
        }
        tracing::info!(
            parent: &span,
            api = labels.api,
            status = labels.status,
            model = labels.model,
            provider = labels.provider,
            cache = labels.cache,
            overhead_ms = overhead.as_secs_f64() * 1000.0,
            prompt_tokens = usage.map(|usage| usage.prompt_tokens),
            completion_tokens = usage.map(|usage| usage.completion_tokens),
            "request finished"
        );
    }
    Ok(response.map_body(|_, body| MeteredBody::new(body.boxed(), guard)))
}
