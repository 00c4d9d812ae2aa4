//! The one mapping from failures to HTTP: status, OpenAI error body and headers.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use juniper::{FieldError, Object, Value};
use llm_core::{ErrorKind, LlmError, QuotaHeaders};
use llm_provider_anthropic::ingress as anthropic_ingress;
use serde::Serialize;

use crate::header_names::PROVIDER_HEADER;

/// Everything an API handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A failure of the engine or a provider.
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The body exceeds the configured limit.
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The path exists but not with this method.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
    },
    /// No route has this path.
    #[error("no route for {method} {path}")]
    RouteNotFound {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
    },
}

/// `{"error": {...}}`, OpenAI's error envelope.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The error object.
    pub error: ErrorObject<'a>,
}

/// OpenAI's error object.
#[derive(Debug, Serialize)]
pub struct ErrorObject<'a> {
    pub message: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub code: &'static str,
    pub param: Option<&'a str>,
}

/// The status and OpenAI `type` of an error kind: the only place kinds meet HTTP.
const fn status_and_type(kind: ErrorKind) -> (StatusCode, &'static str) {
    match kind {
        ErrorKind::InvalidRequest => (StatusCode::BAD_REQUEST, "invalid_request_error"),
        ErrorKind::Authentication => (StatusCode::UNAUTHORIZED, "authentication_error"),
        ErrorKind::PermissionDenied => (StatusCode::FORBIDDEN, "permission_error"),
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "invalid_request_error"),
        ErrorKind::ContextLengthExceeded => (StatusCode::BAD_REQUEST, "invalid_request_error"),
        ErrorKind::ContentFiltered => (StatusCode::BAD_REQUEST, "invalid_request_error"),
        ErrorKind::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limit_error"),
        ErrorKind::QuotaExceeded => (StatusCode::TOO_MANY_REQUESTS, "insufficient_quota"),
        ErrorKind::ProviderUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "server_error"),
        ErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, "server_error"),
        ErrorKind::UpstreamProtocol => (StatusCode::BAD_GATEWAY, "server_error"),
        ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
    }
}

impl ApiError {
    /// The body object of this error (also sent as an SSE error event).
    pub fn body(&self) -> ErrorBody<'_> {
        let (_, kind, code, param) = self.parts();
        ErrorBody {
            error: ErrorObject {
                message: self.message(),
                kind,
                code,
                param,
            },
        }
    }

    fn message(&self) -> &str {
        match self {
            Self::Llm(error) => error.message(),
            Self::BodyTooLarge { .. } => "request body is larger than the configured limit",
            Self::MethodNotAllowed { .. } => "this method is not allowed on this endpoint",
            Self::RouteNotFound { .. } => "no such endpoint",
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str, Option<&str>) {
        match self {
            Self::Llm(error) => {
                let (status, kind) = status_and_type(error.kind());
                (status, kind, error.code(), error.param())
            }
            Self::BodyTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "request_too_large",
                None,
            ),
            Self::MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                "method_not_allowed",
                None,
            ),
            Self::RouteNotFound { .. } => (
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "unknown_url",
                None,
            ),
        }
    }
}

impl ApiError {
    /// The same error as a GraphQL field error: the message, and `extensions` with the REST `code`,
    /// `type`, `param` (when present), `provider` and `retryAfter` (seconds) when known.
    pub fn to_field_error(&self) -> FieldError {
        let (_, kind, code, param) = self.parts();
        let mut extensions = Object::with_capacity(5);
        extensions.add_field("code", Value::scalar(code.to_owned()));
        extensions.add_field("type", Value::scalar(kind.to_owned()));
        if let Some(param) = param {
            extensions.add_field("param", Value::scalar(param.to_owned()));
        }
        if let Self::Llm(error) = self {
            if let Some(provider) = error.provider() {
                extensions.add_field("provider", Value::scalar(provider.to_string()));
            }
            if let Some(retry_after) = error.retry_after() {
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                let seconds = i32::try_from(seconds.max(1)).unwrap_or(i32::MAX);
                extensions.add_field("retryAfter", Value::scalar(seconds));
            }
        }
        FieldError::new(self.message(), Value::Object(extensions))
    }
}

/// Anthropic's error envelope, for the `/v1/messages` ingress.
#[derive(Debug, Serialize)]
pub struct AnthropicErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: AnthropicErrorObject<'a>,
}

#[derive(Debug, Serialize)]
struct AnthropicErrorObject<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
}

impl ApiError {
    /// The same error in Anthropic's shape: `{"type":"error","error":{"type","message"}}`.
    pub fn anthropic_body(&self) -> AnthropicErrorBody<'_> {
        let kind = match self {
            Self::Llm(error) => anthropic_ingress::error_type(error.kind()),
            Self::BodyTooLarge { .. } => "request_too_large",
            Self::MethodNotAllowed { .. } => "invalid_request_error",
            Self::RouteNotFound { .. } => "not_found_error",
        };
        AnthropicErrorBody {
            kind: "error",
            error: AnthropicErrorObject {
                kind,
                message: self.message(),
            },
        }
    }

    /// The headers every error response carries: `Retry-After` and the provider involved.
    fn error_headers(&self, response: &mut actix_web::HttpResponseBuilder) {
        if let Self::Llm(error) = self {
            if let Some(retry_after) = error.retry_after() {
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                response.insert_header((header::RETRY_AFTER, seconds.max(1)));
            }
            if let Some(provider) = error.provider()
                && let Ok(value) = HeaderValue::from_str(provider.as_str())
            {
                response.insert_header((PROVIDER_HEADER, value));
            }
            for (name, value) in error.quota().map(QuotaHeaders::header_pairs).unwrap_or_default() {
                response.insert_header((name, value));
            }
        }
    }
}

/// An [`ApiError`] answered in Anthropic's shape (same status and headers).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AnthropicApiError(#[from] pub ApiError);

impl From<LlmError> for AnthropicApiError {
    fn from(error: LlmError) -> Self {
        Self(ApiError::Llm(error))
    }
}

impl ResponseError for AnthropicApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        self.0.error_headers(&mut response);
        response.json(self.0.anthropic_body())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        self.error_headers(&mut response);
        response.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_web::body::MessageBody;

    use super::*;

    #[test]
    fn every_kind_has_a_client_or_server_status() {
        for kind in ErrorKind::ALL {
            let (status, _) = status_and_type(kind);
            assert!(status.is_client_error() || status.is_server_error(), "{kind}");
        }
    }

    #[test]
    fn rate_limited_answers_429_with_retry_after_and_openai_body() {
        let error = ApiError::from(
            LlmError::from_provider(&"openai".into(), ErrorKind::RateLimited, "slow down")
                .with_retry_after(Some(Duration::from_millis(1500))),
        );
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get("retry-after").unwrap(), "2");
        assert_eq!(response.headers().get(PROVIDER_HEADER).unwrap(), "openai");
        let body = response.into_body().try_into_bytes().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"message": "slow down", "type": "rate_limit_error",
                "code": "rate_limit_exceeded", "param": null}})
        );
    }
}
