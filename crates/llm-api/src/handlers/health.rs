//! `GET /llm/health`: liveness, readiness and each provider's last probe.

use actix_web::HttpResponse;
use actix_web::web::Data;
use serde_json::json;

use crate::state::ApiState;

/// 200 when at least one enabled provider is healthy, 503 otherwise; the body says why.
pub(crate) async fn health(state: Data<ApiState>) -> HttpResponse {
    let health = state.gateway.health();
    let body = json!({
        "status": health.status,
        "live": true,
        "ready": health.ready,
        "providers": health.providers,
    });
    if health.ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
