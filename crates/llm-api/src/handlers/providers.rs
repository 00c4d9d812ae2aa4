//! `GET /llm/providers` and `GET /llm/providers/{id}`: configuration and state, never secrets.

use actix_web::HttpResponse;
use actix_web::web::{Data, Path};
use llm_core::{ErrorKind, LlmError};
use serde_json::json;

use crate::error::ApiError;
use crate::state::ApiState;

/// Every provider.
pub(crate) async fn list(state: Data<ApiState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "providers": state.gateway.providers() }))
}

/// One provider by id.
pub(crate) async fn get(id: Path<String>, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let entry = state.gateway.registry().get(&id).ok_or_else(|| {
        LlmError::new(ErrorKind::NotFound, format!("provider `{id}` does not exist")).with_param("id")
    })?;
    Ok(HttpResponse::Ok().json(entry.snapshot()))
}
