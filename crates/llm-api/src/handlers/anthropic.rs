//! `POST /v1/messages`: Anthropic's Messages API shape in and out, whatever provider serves the
//! model, so the official `anthropic` SDKs work against the gateway unchanged.

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use llm_core::ChatRequest;
use llm_provider_anthropic::ingress::{MessagesRequest, messages_response};

use super::{read_chat_request, record_upstream, record_usage, routed_ok, sse_ok};
use crate::body::parse_json;
use crate::error::{AnthropicApiError, ApiError};
use crate::sse::anthropic_sse;
use crate::state::ApiState;

/// Parses Anthropic's request into the canonical one; `stream` is carried over.
fn messages_request(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let request: MessagesRequest = parse_json(body)?;
    let stream = request.is_stream();
    let mut chat = request.into_chat_request()?;
    chat.stream = Some(stream);
    Ok(chat)
}

/// `POST /v1/messages`, streamed when the body says `"stream": true`.
pub(crate) async fn messages(
    request: HttpRequest,
    payload: Payload,
    state: Data<ApiState>,
) -> Result<HttpResponse, AnthropicApiError> {
    let (chat, ctx) = read_chat_request(&request, payload, &state, messages_request).await?;
    if chat.stream == Some(true) {
        let opened = state.gateway.stream(&ctx, chat).await?;
        record_upstream(&request, opened.upstream_latency);
        Ok(sse_ok((&opened).into()).streaming(anthropic_sse(opened.chunks)))
    } else {
        let completion = state.gateway.complete(&ctx, chat).await?;
        record_upstream(&request, completion.upstream_latency);
        record_usage(&request, completion.response.usage.as_ref());
        Ok(routed_ok((&completion).into()).json(messages_response(&completion.response)))
    }
}
