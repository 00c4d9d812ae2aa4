//! The OpenAI-compatible API: `/v1/chat/completions` and `/v1/models`.

use actix_web::web::{Data, Payload};
use actix_web::{HttpRequest, HttpResponse};
use llm_core::ChatRequest;
use serde::Serialize;

use super::{client_only, read_chat_request, record_upstream, record_usage, routed_ok, sse_ok};
use crate::body::parse_json;
use crate::error::ApiError;
use crate::sse::openai_sse;
use crate::state::ApiState;

/// `POST /v1/chat/completions`, streamed when the body says `"stream": true`.
pub(crate) async fn chat_completions(
    request: HttpRequest,
    payload: Payload,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    let (chat, ctx) = read_chat_request(&request, payload, &state, parse_json::<ChatRequest>).await?;
    if chat.stream == Some(true) {
        let include_usage = chat.wants_stream_usage();
        let opened = state.gateway.stream(&ctx, chat).await?;
        record_upstream(&request, opened.upstream_latency);
        Ok(sse_ok((&opened).into()).streaming(openai_sse(opened.chunks, include_usage)))
    } else {
        let completion = state.gateway.complete(&ctx, chat).await?;
        record_upstream(&request, completion.upstream_latency);
        record_usage(&request, completion.response.usage.as_ref());
        Ok(routed_ok((&completion).into()).json(&completion.response))
    }
}

#[derive(Serialize)]
struct ModelList {
    object: &'static str,
    data: Vec<ModelObject>,
}

#[derive(Serialize)]
struct ModelObject {
    id: String,
    object: &'static str,
    created: u64,
    owned_by: String,
}

/// `GET /v1/models`: the aliases, then `provider/model` for every enabled provider's models.
pub(crate) async fn list_models(
    request: HttpRequest,
    state: Data<ApiState>,
) -> Result<HttpResponse, ApiError> {
    client_only(&request, &state)?;
    let data = state
        .gateway
        .model_names()
        .into_iter()
        .map(|(id, owned_by)| ModelObject {
            id,
            object: "model",
            created: 0,
            owned_by,
        })
        .collect();
    Ok(HttpResponse::Ok().json(ModelList { object: "list", data }))
}
