//! A canonical answer turned into an Anthropic message.

use llm_core::{ChatResponse, Usage};
use serde_json::{Map, Value};

use crate::types::{ContentBlock, MessageUsage, MessagesResponse, StopReason};

/// The Anthropic message for a canonical answer (its first choice).
///
/// Tool call arguments that are not a JSON object (a model's broken output) become `{}`: Anthropic
/// clients expect an object.
pub fn messages_response(response: &ChatResponse) -> MessagesResponse {
    let mut content = Vec::new();
    let choice = response.choices.first();
    if let Some(message) = choice.map(|choice| &choice.message) {
        if let Some(text) = message.content.as_deref().filter(|text| !text.is_empty()) {
            content.push(ContentBlock::Text {
                text: text.to_owned(),
            });
        }
        for call in message.tool_calls.iter().flatten() {
            content.push(ContentBlock::ToolUse {
                id: call.id.clone(),
                name: call.function.name.clone(),
                input: tool_input(&call.function.arguments),
            });
        }
    }
    let reason = choice
        .and_then(|choice| choice.finish_reason)
        .map_or(StopReason::EndTurn, stop_reason);
    MessagesResponse {
        id: response.id.clone(),
        kind: "message".to_owned(),
        role: "assistant".to_owned(),
        model: response.model.clone(),
        content,
        stop_reason: Some(reason),
        stop_sequence: None,
        usage: response.usage.as_ref().map(message_usage).unwrap_or_default(),
    }
}

pub(crate) fn stop_reason(reason: llm_core::FinishReason) -> StopReason {
    use llm_core::FinishReason;
    match reason {
        FinishReason::Stop => StopReason::EndTurn,
        FinishReason::Length => StopReason::MaxTokens,
        FinishReason::ToolCalls | FinishReason::FunctionCall => StopReason::ToolUse,
        FinishReason::ContentFilter => StopReason::Refusal,
    }
}

/// A tool call's JSON arguments as the object Anthropic's `input` must be.
pub(crate) fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(input @ Value::Object(_)) => input,
        Ok(_) | Err(_) => {
            if !arguments.trim().is_empty() {
                tracing::warn!("tool call arguments are not a JSON object; sending {{}} to the client");
            }
            Value::Object(Map::new())
        }
    }
}

/// Anthropic usage from canonical usage: the cached and cache-written tokens itemised in
/// `prompt_tokens_details` are taken out of `input_tokens` again.
pub(crate) fn message_usage(usage: &Usage) -> MessageUsage {
    let detail = |name: &str| {
        usage
            .prompt_tokens_details
            .as_ref()
            .and_then(|details| details.get(name))
            .and_then(Value::as_u64)
    };
    let read = detail("cached_tokens");
    let creation = detail("cache_creation_tokens");
    MessageUsage {
        input_tokens: usage
            .prompt_tokens
            .saturating_sub(read.unwrap_or(0) + creation.unwrap_or(0)),
        output_tokens: usage.completion_tokens,
        cache_creation_input_tokens: creation,
        cache_read_input_tokens: read,
    }
}
