//! The seed's simple REST API: `/llm/complete` and `/llm/complete/stream`.
//!
//! The body is a chat request in which `prompt` (a string) may stand in for `messages`.

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use llm_core::{ChatRequest, FinishReason, LlmError, Message, ProviderId, Role, ToolCall, Usage};
use llm_gateway::CacheStatus;
use serde::Serialize;
use serde_json::Value;

use super::{read_chat_request, record_upstream, record_usage, routed_ok, sse_ok};
use crate::body::parse_json;
use crate::error::ApiError;
use crate::sse::simple_sse;
use crate::state::ApiState;

/// Turns the simple body into a chat request: one parse, `prompt` taken from the unknown fields.
fn simple_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let mut chat: ChatRequest = parse_json(body)?;
    match chat.extra.remove("prompt") {
        Some(_) if !chat.messages.is_empty() => {
            Err(LlmError::invalid_param("prompt", "give either `prompt` or `messages`, not both").into())
        }
        Some(Value::String(prompt)) => {
            chat.messages = vec![Message::text(Role::User, prompt)];
            chat.stream = None;
            Ok(chat)
        }
        Some(_) => Err(LlmError::invalid_param("prompt", "`prompt` must be a string").into()),
        None if chat.messages.is_empty() => {
            Err(LlmError::invalid_param("messages", "give `prompt` (a string) or `messages`").into())
        }
        None => {
            chat.stream = None;
            Ok(chat)
        }
    }
}

/// The simple API's answer.
#[derive(Serialize)]
struct SimpleCompletion<'a> {
    id: &'a str,
    model: &'a str,
    provider: &'a ProviderId,
    content: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<&'a Vec<ToolCall>>,
    finish_reason: Option<FinishReason>,
    usage: Option<&'a Usage>,
    cached: bool,
    latency_ms: u64,
}

/// `POST /llm/complete`.
pub(crate) async fn complete(
    request: HttpRequest,
    payload: Payload,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let (chat, ctx) = read_chat_request(&request, payload, &state, simple_request).await?;
    let completion = state.gateway.complete(&ctx, chat).await?;
    record_upstream(&request, completion.upstream_latency);
    record_usage(&request, completion.response.usage.as_ref());
    let response = &completion.response;
    let choice = response.choices.first();
    let answer = SimpleCompletion {
        id: &response.id,
        model: &response.model,
        provider: &completion.provider,
        content: response.first_text(),
        tool_calls: choice.and_then(|choice| choice.message.tool_calls.as_ref()),
        finish_reason: response.first_finish_reason(),
        usage: response.usage.as_ref(),
        cached: completion.cached(),
        latency_ms: u64::try_from(ctx.received_at.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    Ok(routed_ok((&completion).into()).json(&answer))
}

/// `POST /llm/complete/stream`.
pub(crate) async fn complete_stream(
    request: HttpRequest,
    payload: Payload,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let (chat, ctx) = read_chat_request(&request, payload, &state, simple_request).await?;
    let opened = state.gateway.stream(&ctx, chat).await?;
    record_upstream(&request, opened.upstream_latency);
    let mut response = sse_ok((&opened).into());
    let cached = opened.cache == CacheStatus::Hit;
    Ok(response.streaming(simple_sse(
        opened.chunks,
        opened.provider,
        cached,
        ctx.received_at,
    )))
}
