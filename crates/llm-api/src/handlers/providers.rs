//! `GET /llm/providers` and `GET /llm/providers/{id}`: configuration and state, never secrets.

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::admin::provider_snapshot;
use super::client_only;
use crate::error::ApiError;
use crate::state::ApiState;

/// Every provider.
pub(crate) async fn list(request: HttpRequest, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    client_only(&request, &state)?;
    Ok(HttpResponse::Ok().json(json!({ "providers": state.gateway.providers() })))
}

/// One provider by id.
pub(crate) async fn get(
    request: HttpRequest,
    id: Path<String>,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    client_only(&request, &state)?;
    Ok(HttpResponse::Ok().json(provider_snapshot(&state, &id)?))
}
