//! `GET /llm/health`: readiness, each provider's last probe, and the response cache;
//! `GET /llm/health/live`: liveness (the process answers), whatever the providers do;
//! `GET /llm/health/details`: each provider's probe and real traffic, Redis, the cache and the
//! process's resources (the admin key when one is configured, else as a client route).
//!
//! The cache never decides readiness: it fails open, so a dead Redis slows nothing and fails nothing.

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use llm_core::unix_time_millis;
use serde_json::json;

use super::auth;
use crate::error::ApiError;
use crate::state::ApiState;

/// 200 when at least one enabled provider is healthy, 503 otherwise; the body says why.
pub(crate) async fn health(state: Data<ApiState>) -> HttpResponse {
    let health = state.gateway.health();
    let cache = state.gateway.cache();
    let body = json!({
        "status": health.status,
        "live": true,
        "ready": health.ready,
        "providers": health.providers,
        "cache": { "health": cache.health().await, "stats": cache.stats() },
    });
    if health.ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Always 200 while the process serves requests: for liveness probes, which must not restart a
/// gateway because an upstream is down.
pub(crate) async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "live": true }))
}

/// Diagnostics: always 200 (readiness is `/llm/health`'s job); Redis is read with its own timeout,
/// so a dead Redis delays this answer by at most that.
pub(crate) async fn details(request: HttpRequest, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    auth::operator(&request, &state)?;
    let gateway = &state.gateway;
    let health = gateway.health();
    let cache = gateway.cache();
    let (redis, cache_health) = futures::join!(gateway.redis_diagnostics(), cache.health());
    let process = state.process.clone();
    let system = tokio::task::spawn_blocking(move || process.report())
        .await
        .map_err(|error| llm_core::LlmError::internal(format!("reading process resources: {error}")))?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(json!({
            "status": health.status,
            "ready": health.ready,
            "checked_at_ms": unix_time_millis(),
            "providers": gateway.provider_details(),
            "redis": redis,
            "cache": { "health": cache_health, "stats": cache.stats() },
            "system": system,
        })))
}
