//! `GET /llm/health`: readiness, each provider's last probe, and the response cache;
//! `GET /llm/health/live`: liveness (the process answers), whatever the providers do.
//!
//! The cache never decides readiness: it fails open, so a dead Redis slows nothing and fails nothing.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde_json::json;

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
