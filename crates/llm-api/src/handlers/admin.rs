//! The admin API: providers added, updated, enabled/disabled and removed at run time, behind the admin
//! key. Bodies are provider blocks in the `[[providers]]` shape as JSON; keys given here are never
//! returned or logged — answers show the provider as listings do.
//!
//! The operations themselves are plain functions ([`add_provider`], [`update_provider`],
//! [`set_provider_enabled`], [`remove_provider`]) shared by the REST handlers and the GraphQL
//! mutations, so both surfaces behave the same.

use actix_web::web::{Data, Path, Payload};
use actix_web::{HttpRequest, HttpResponse};
use llm_core::{ErrorKind, LlmError};
use llm_gateway::config::provider_from_json;
use llm_gateway::{ConfigError, ProviderSnapshot};
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

/// A provider's listing view, or `not_found` (param `id`).
pub(crate) fn provider_snapshot(state: &ApiState, id: &str) -> Result<ProviderSnapshot, ApiError> {
    let entry = state.gateway.registry().get(id).ok_or_else(|| {
        LlmError::new(ErrorKind::NotFound, format!("provider `{id}` does not exist")).with_param("id")
    })?;
    Ok(state.gateway.provider_snapshot(&entry))
}

/// Adds a provider from a provider block (JSON).
pub(crate) async fn add_provider(state: &ApiState, body: &[u8]) -> Result<ProviderSnapshot, ApiError> {
    let config = provider_from_json(body).map_err(invalid_config)?;
    state.gateway.add_provider(&config).await?;
    tracing::info!(provider = %config.id, "provider added through the admin API");
    provider_snapshot(state, config.id.as_str())
}

/// Switches a provider on or off.
pub(crate) fn set_provider_enabled(
    state: &ApiState,
    id: &str,
    enabled: bool,
) -> Result<ProviderSnapshot, ApiError> {
    state.gateway.registry().set_enabled(id, enabled)?;
    tracing::info!(provider = %id, enabled, "provider switched through the admin API");
    provider_snapshot(state, id)
}

/// Replaces a provider's configuration with a whole provider block (JSON) of the same id.
pub(crate) async fn update_provider(
    state: &ApiState,
    id: &str,
    body: &[u8],
) -> Result<ProviderSnapshot, ApiError> {
    let config = provider_from_json(body).map_err(invalid_config)?;
    if config.id.as_str() != id {
        return Err(LlmError::invalid_param("id", "the body's id must match the path").into());
    }
    state.gateway.replace_provider(&config).await?;
    tracing::info!(provider = %id, "provider replaced through the admin API");
    provider_snapshot(state, id)
}

/// Removes a provider; requests already on it finish.
pub(crate) fn remove_provider(state: &ApiState, id: &str) -> Result<(), ApiError> {
    state.gateway.remove_provider(id)?;
    tracing::info!(provider = %id, "provider removed through the admin API");
    Ok(())
}

/// `POST /llm/providers`: adds a provider.
pub(crate) async fn add(
    request: HttpRequest,
    payload: Payload,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    auth::admin(&request, &state)?;
    let body = read_limited(&request, payload, state.max_body_bytes).await?;
    let snapshot = add_provider(&state, &body).await?;
    Ok(HttpResponse::Created().json(snapshot))
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
    let snapshot = match toggle {
        Some(enabled) => set_provider_enabled(&state, &id, enabled)?,
        None => update_provider(&state, &id, &body).await?,
    };
    Ok(HttpResponse::Ok().json(snapshot))
}

/// `DELETE /llm/providers/{id}`: removes a provider; requests already on it finish.
pub(crate) async fn remove(
    request: HttpRequest,
    id: Path<String>,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    auth::admin(&request, &state)?;
    remove_provider(&state, &id)?;
    Ok(HttpResponse::Ok().json(json!({ "id": id.as_str(), "deleted": true })))
}
