//! Gemini responses, error bodies and model lists, and their canonical counterparts.
//!
//! Finish reasons (`finishReason` → `finish_reason`):
//! - `STOP` → `stop`, or `tool_calls` when the candidate called a function (Gemini has no reason of
//!   its own for that);
//! - `MAX_TOKENS` → `length`;
//! - `SAFETY`, `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII` and the `IMAGE_SAFETY`,
//!   `IMAGE_PROHIBITED_CONTENT`, `IMAGE_RECITATION` variants → `content_filter`: a provider rule
//!   cut the answer;
//! - everything else (`OTHER`, `LANGUAGE`, `MALFORMED_FUNCTION_CALL`, `UNEXPECTED_TOOL_CALL`,
//!   `TOO_MANY_TOOL_CALLS`, `NO_IMAGE`, `IMAGE_OTHER`, values added later) → `stop` (`tool_calls`
//!   when the candidate called a function), the least wrong of the canonical reasons: the answer
//!   ended, neither at a limit nor by a filter. The raw reason is logged at `warn`, since the client
//!   cannot see it.

use llm_core::{
    AssistantMessage, ChatResponse, Choice, FinishReason, ModelInfo, RequestId, Role, ToolCall, Usage,
    unix_time_secs,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::content::{Content, Part};

/// A `GenerateContentResponse`: a whole answer, or one event of a stream.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    #[serde(default)]
    pub prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    pub model_version: Option<String>,
    #[serde(default)]
    pub response_id: Option<String>,
    /// A `google.rpc.Status` sent in place of a response (an error event inside a stream).
    #[serde(default)]
    pub error: Option<ErrorStatus>,
}

/// One candidate answer.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(default)]
    pub content: Option<Content<'static>>,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(default)]
    pub index: Option<u32>,
}

/// Why the prompt was refused, if it was.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    #[serde(default)]
    pub block_reason: Option<String>,
}

/// Token counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(default)]
    pub prompt_token_count: u64,
    #[serde(default)]
    pub candidates_token_count: u64,
    #[serde(default)]
    pub thoughts_token_count: u64,
    #[serde(default)]
    pub tool_use_prompt_token_count: u64,
    #[serde(default)]
    pub cached_content_token_count: Option<u64>,
    #[serde(default)]
    pub total_token_count: Option<u64>,
}

impl UsageMetadata {
    /// Canonical usage. Thinking tokens are output tokens (billed as such) and also reported as
    /// `reasoning_tokens`; cached prompt tokens are reported as `cached_tokens`.
    pub fn to_usage(&self) -> Usage {
        let prompt_tokens = self.prompt_token_count + self.tool_use_prompt_token_count;
        let completion_tokens = self.candidates_token_count + self.thoughts_token_count;
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: self
                .total_token_count
                .unwrap_or(prompt_tokens + completion_tokens),
            prompt_tokens_details: self
                .cached_content_token_count
                .map(|cached| json!({"cached_tokens": cached})),
            completion_tokens_details: (self.thoughts_token_count > 0)
                .then(|| json!({"reasoning_tokens": self.thoughts_token_count})),
        }
    }
}

/// A `google.rpc.Status`, every field read leniently.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ErrorStatus {
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub details: Vec<Value>,
}

/// Why a response has no answer to give.
#[derive(Clone, Debug, PartialEq)]
pub enum ResponseFault {
    /// `promptFeedback.blockReason` with no candidates.
    PromptBlocked(String),
    /// Neither candidates nor a block reason.
    NoCandidates,
    /// An error object instead of a response.
    Error(ErrorStatus),
}

impl GenerateContentResponse {
    /// The block reason when the prompt was refused and nothing was generated.
    pub fn block_reason(&self) -> Option<&str> {
        self.prompt_feedback.as_ref()?.block_reason.as_deref()
    }

    /// The canonical answer. `requested_model` names the model when Gemini sends no `modelVersion`.
    pub fn into_chat_response(self, requested_model: &str) -> Result<ChatResponse, ResponseFault> {
        if let Some(error) = self.error {
            return Err(ResponseFault::Error(error));
        }
        if self.candidates.is_empty() {
            return Err(match self.block_reason() {
                Some(reason) => ResponseFault::PromptBlocked(reason.to_owned()),
                None => ResponseFault::NoCandidates,
            });
        }
        let call_ids = CallIds::new();
        let mut calls_seen = 0;
        let choices = self
            .candidates
            .into_iter()
            .enumerate()
            .map(|(position, candidate)| {
                let index = candidate
                    .index
                    .unwrap_or(u32::try_from(position).unwrap_or(u32::MAX));
                let parts = candidate.content.map(|content| content.parts).unwrap_or_default();
                let (text, tool_calls) = split_parts(parts, &call_ids, &mut calls_seen);
                let finish = candidate
                    .finish_reason
                    .as_deref()
                    .map(|raw| finish_reason(raw, !tool_calls.is_empty()));
                Choice {
                    index,
                    message: AssistantMessage {
                        role: Role::Assistant,
                        content: text.or_else(|| tool_calls.is_empty().then(String::new)),
                        refusal: None,
                        tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                        extra: Map::new(),
                    },
                    finish_reason: finish,
                    logprobs: None,
                }
            })
            .collect();
        Ok(ChatResponse {
            id: self.response_id.unwrap_or_else(generated_id),
            object: "chat.completion".to_owned(),
            created: unix_time_secs(),
            model: self.model_version.unwrap_or_else(|| requested_model.to_owned()),
            choices,
            usage: self.usage_metadata.map(|usage| usage.to_usage()),
            system_fingerprint: None,
            extra: Map::new(),
        })
    }
}

/// A fresh response id for answers that carry no `responseId`.
pub(super) fn generated_id() -> String {
    format!("chatcmpl-{}", RequestId::generate())
}

/// Tool call ids for one response or stream: unique across a conversation, stable within it.
pub(super) struct CallIds {
    prefix: String,
}

impl CallIds {
    pub(super) fn new() -> Self {
        let token = RequestId::generate();
        let short = token.as_str().get(..16).unwrap_or(token.as_str());
        Self {
            prefix: format!("call_{short}_"),
        }
    }

    pub(super) fn id(&self, own: Option<String>, seen: u32) -> String {
        own.filter(|id| !id.is_empty())
            .unwrap_or_else(|| format!("{}{seen}", self.prefix))
    }
}

/// The answer text (thought summaries left out) and the function calls of a candidate's parts.
/// `None` text when no part carried answer text.
pub(super) fn split_parts(
    parts: Vec<Part<'static>>,
    call_ids: &CallIds,
    calls_seen: &mut u32,
) -> (Option<String>, Vec<ToolCall>) {
    let mut text: Option<String> = None;
    let mut calls = Vec::new();
    for part in parts {
        if part.is_thought() {
            continue;
        }
        if let Some(piece) = part.text {
            match &mut text {
                Some(text) => text.push_str(&piece),
                None => text = Some(piece.into_owned()),
            }
        }
        if let Some(call) = part.function_call {
            let args = if call.args.is_null() {
                "{}".to_owned()
            } else {
                call.args.to_string()
            };
            calls.push(ToolCall {
                id: call_ids.id(call.id, *calls_seen),
                kind: "function".to_owned(),
                function: llm_core::FunctionCall {
                    name: call.name.into_owned(),
                    arguments: args,
                },
            });
            *calls_seen += 1;
        }
    }
    (text, calls)
}

/// The canonical finish reason of a Gemini `finishReason` (see the module notes).
pub fn finish_reason(raw: &str, called_functions: bool) -> FinishReason {
    match raw {
        "STOP" if called_functions => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        other => {
            tracing::warn!(
                finish_reason = other,
                "Gemini finish reason without a canonical match; reported as stop"
            );
            if called_functions {
                FinishReason::ToolCalls
            } else {
                FinishReason::Stop
            }
        }
    }
}

/// Parses a `generateContent` body.
pub fn parse_response(body: &[u8]) -> Result<GenerateContentResponse, serde_json::Error> {
    serde_json::from_slice(body)
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorStatus,
}

/// Reads an HTTP error body: `{"error": {...}}`, or the same inside a one-element array.
/// `None` when the body is not JSON of that shape.
pub fn parse_error_body(body: &[u8]) -> Option<ErrorStatus> {
    // Checked first: serde would also read a struct from an array, as a tuple.
    if body.trim_ascii_start().starts_with(b"[") {
        let mut list = serde_json::from_slice::<Vec<ErrorEnvelope>>(body).ok()?;
        return (!list.is_empty()).then(|| list.swap_remove(0).error);
    }
    serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .map(|envelope| envelope.error)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelList {
    #[serde(default)]
    models: Vec<WireModel>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireModel {
    name: String,
    #[serde(default)]
    input_token_limit: Option<u32>,
    #[serde(default)]
    supported_generation_methods: Option<Vec<String>>,
}

/// Parses one page of `GET /models`: the chat models on it (those that support `generateContent`,
/// or say nothing about it) and the token of the next page.
pub fn parse_models(body: &[u8]) -> Result<(Vec<ModelInfo>, Option<String>), serde_json::Error> {
    let list: ModelList = serde_json::from_slice(body)?;
    let models = list
        .models
        .into_iter()
        .filter(|model| {
            model
                .supported_generation_methods
                .as_ref()
                .is_none_or(|methods| methods.iter().any(|method| method == "generateContent"))
        })
        .map(|model| ModelInfo {
            id: model
                .name
                .strip_prefix("models/")
                .unwrap_or(&model.name)
                .to_owned(),
            owned_by: None,
            context_window: model.input_token_limit,
        })
        .collect();
    Ok((models, list.next_page_token.filter(|token| !token.is_empty())))
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
