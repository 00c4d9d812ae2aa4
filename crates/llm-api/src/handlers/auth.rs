//! Who may call what: public routes (health), client routes (a client key when keys are configured),
//! admin routes (the admin key, always). Keys come as `Authorization: Bearer <key>` or `x-api-key`.

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use llm_core::{ErrorKind, LlmError};
use llm_gateway::{ClientAuth, Principal};

use crate::error::ApiError;
use crate::state::ApiState;

/// The key in an `Authorization` value: `Bearer <key>`.
pub(crate) fn bearer_key(value: &str) -> Option<&str> {
    let (scheme, key) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
}

/// The key a request presents, if any.
pub(crate) fn presented_key(request: &HttpRequest) -> Option<&str> {
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_key);
    bearer
        .or_else(|| {
            request
                .headers()
                .get("x-api-key")
                .and_then(|value| value.to_str().ok())
        })
        .filter(|key| !key.is_empty())
}

/// A client route: the client's principal, `None` when no client keys are configured.
pub(crate) fn client(request: &HttpRequest, state: &ApiState) -> Result<Option<Principal>, ApiError> {
    client_key(state, presented_key(request))
}

/// The principal of a presented client key (from headers or a websocket's `connection_init`).
pub(crate) fn client_key(state: &ApiState, key: Option<&str>) -> Result<Option<Principal>, ApiError> {
    match state.gateway.authenticate(key) {
        ClientAuth::Open => Ok(None),
        ClientAuth::Authenticated(principal) => Ok(Some(principal)),
        ClientAuth::Missing => Err(LlmError::new(
            ErrorKind::Authentication,
            "missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`",
        )
        .into()),
        ClientAuth::Invalid => Err(LlmError::new(ErrorKind::Authentication, "invalid API key").into()),
    }
}

/// An admin route: the admin key is required; with none configured the admin API is closed.
pub(crate) fn admin(request: &HttpRequest, state: &ApiState) -> Result<(), ApiError> {
    admin_key(state, presented_key(request))
}

/// An operator route (diagnostics): the admin key when one is configured; without one, any client
/// key (and, on a gateway with no keys at all, which binds only loopback, anyone). Configure an admin
/// key to keep diagnostics (providers' last errors, Redis, the host) from clients.
pub(crate) fn operator(request: &HttpRequest, state: &ApiState) -> Result<(), ApiError> {
    if state.gateway.has_admin_key() {
        admin(request, state)
    } else {
        client(request, state).map(|_| ())
    }
}

/// Whether a presented key is the admin key; `authentication` when it is not.
pub(crate) fn admin_key(state: &ApiState, key: Option<&str>) -> Result<(), ApiError> {
    if state.gateway.is_admin(key) {
        Ok(())
    } else {
        Err(LlmError::new(
            ErrorKind::Authentication,
            "the admin key is required for this endpoint",
        )
        .into())
    }
}
