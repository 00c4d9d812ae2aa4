//! `GET /llm/health`: liveness, readiness, each provider's last probe, and the response cache.
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
