//! The ingress direction: Anthropic-shaped client requests (`POST /v1/messages`) served by any
//! provider. Pure conversions, no I/O: an Anthropic request to the canonical request, a canonical
//! answer to an Anthropic message, canonical chunks to Anthropic stream events, and the gateway's
//! error kinds to Anthropic's error types.
//!
//! The JSON types are the ones the provider direction uses ([`crate::types`]).

mod encoder;
mod request;
mod response;

use llm_core::{ErrorKind, FinishReason, LlmError};
use serde_json::Value;

use crate::types::StreamEventData;
pub use crate::types::{
    ContentBlock, ErrorEnvelope, ErrorObject, ImageSource, InputMessage, MessageUsage, MessagesRequest,
    MessagesResponse, Metadata, StopReason, TextOrBlocks, ToolChoice, ToolChoiceKind, ToolDefinition,
    TurnRole,
};
pub use encoder::MessagesStreamEncoder;
pub use response::messages_response;

/// One server-sent event for an Anthropic client.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamEvent {
    /// The SSE event name, equal to `data.type`.
    pub name: &'static str,
    /// The event's JSON.
    pub data: Value,
}

impl StreamEvent {
    pub(crate) fn from_data(event: &StreamEventData) -> Self {
        Self {
            name: event.name(),
            // These types always serialize (string keys, no failing impls); Null is unreachable.
            data: serde_json::to_value(event).unwrap_or_default(),
        }
    }

    /// The `event: error` that ends a stream failing mid-way.
    pub fn error(error: &LlmError) -> Self {
        Self::from_data(&StreamEventData::Error {
            error: error_object(error),
        })
    }

    /// The wire form: `event: {name}\ndata: {data}\n\n`.
    pub fn to_sse(&self) -> String {
        format!("event: {}\ndata: {}\n\n", self.name, self.data)
    }
}

/// The Anthropic error body for a gateway error: `{"type":"error","error":{"type","message"}}`.
pub fn error_body(error: &LlmError) -> ErrorEnvelope {
    ErrorEnvelope {
        kind: "error".to_owned(),
        error: error_object(error),
    }
}

fn error_object(error: &LlmError) -> ErrorObject {
    ErrorObject {
        kind: error_type(error.kind()).to_owned(),
        message: error.message().to_owned(),
        details: None,
    }
}

/// Anthropic's stop reason for a canonical finish reason.
pub fn stop_reason(reason: FinishReason) -> &'static str {
    response::stop_reason(reason).as_str()
}

/// Anthropic's error type for a gateway error kind.
pub fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest | ErrorKind::ContextLengthExceeded | ErrorKind::ContentFiltered => {
            "invalid_request_error"
        }
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::PermissionDenied => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::QuotaExceeded => "billing_error",
        ErrorKind::ProviderUnavailable => "overloaded_error",
        ErrorKind::Timeout => "timeout_error",
        ErrorKind::UpstreamProtocol | ErrorKind::Internal => "api_error",
    }
}

#[cfg(test)]
mod tests;
