//! The admin API: providers added, updated, enabled/disabled and removed at run time, behind the admin
//! key. Bodies are provider blocks in the `[[providers]]` shape as JSON; keys given here are never
//! returned or logged — answers show the provider as listings do.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use llm_core::{ErrorKind, LlmError};
use llm_gateway::ConfigError;
use llm_gateway::config::provider_from_json;
use serde_json::{Value, json};

use super::auth;
use crate::body::read_limited;
use crate::error::ApiError;
use crate::state::ApiState;

fn invalid_config(error: ConfigError) -> ApiError {
    match error {
        ConfigError::Invalid { key, message } => LlmError::invalid_param(key, message).into(),
        ConfigError::Parse(error) => LlmError::invalid_param("provider", error.to_string()).into(),
    }
}

fn snapshot(state: &ApiState, id: &str) -> Result<HttpResponse, ApiError> {
    let entry = state.gateway.registry().get(id).ok_or_else(|| {
        LlmError::new(ErrorKind::NotFound, format!("provider `{id}` does not exist")).with_param("id")
    })?;
    Ok(HttpResponse::Ok().json(entry.snapshot()))
}

/// `POST /llm/providers`: adds a provider.
pub(crate) async fn add(
    request: HttpRequest,
    payload: Payload,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    auth::admin(&request, &state)?;
    let body = read_limited(&request, payload, state.max_body_bytes).await?;
    let config = provider_from_json(&body).map_err(invalid_config)?;
    state.gateway.add_provider(&config).await?;
    tracing::info!(provider = %config.id, "provider added through the admin API");
    let mut created = snapshot(&state, config.id.as_str())?;
    *created.status_mut() = actix_web::http::StatusCode::CREATED;
    Ok(created)
}

/// `PUT /llm/providers/{id}`: `{"enabled": bool}` switches a provider on or off; a whole provider
/// block (same id) replaces its configuration.
pub(crate) async fn update(
    request: HttpRequest,
    id: Path<String>,
    payload: Payload,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    auth::admin(&request, &state)?;
    let body = read_limited(&request, payload, state.max_body_bytes).await?;
    let toggle = serde_json::from_slice::<Value>(&body).ok().and_then(|value| {
        let object = value.as_object()?;
        (object.len() == 1)
            .then(|| object.get("enabled")?.as_bool())
            .flatten()
    });
    if let Some(enabled) = toggle {
        state.gateway.registry().set_enabled(&id, enabled)?;
        tracing::info!(provider = %id, enabled, "provider switched through the admin API");
        return snapshot(&state, &id);
    }
    let config = provider_from_json(&body).map_err(invalid_config)?;
    if config.id.as_str() != id.as_str() {
        return Err(LlmError::invalid_param("id", "the body's id must match the path").into());
    }
    state.gateway.replace_provider(&config).await?;
    tracing::info!(provider = %id, "provider replaced through the admin API");
    snapshot(&state, &id)
}

/// `DELETE /llm/providers/{id}`: removes a provider; requests already on it finish.
pub(crate) async fn remove(
    request: HttpRequest,
    id: Path<String>,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    auth::admin(&request, &state)?;
    state.gateway.remove_provider(&id)?;
    tracing::info!(provider = %id, "provider removed through the admin API");
    Ok(HttpResponse::Ok().json(json!({ "id": id.as_str(), "deleted": true })))
}
