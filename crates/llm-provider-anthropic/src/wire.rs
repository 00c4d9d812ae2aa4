//! The provider direction: canonical (OpenAI-shaped) requests to Anthropic's Messages JSON, and
//! Anthropic's answers, usage, model lists and error bodies back to canonical types.
//!
//! The JSON itself is typed in [`crate::types`], shared with the ingress direction.

use llm_core::{
    AssistantMessage, ChatRequest, ChatResponse, Choice, ContentPart, FinishReason, FunctionCall, LlmError,
    Message, MessageContent, ModelInfo, Role, Tool, ToolCall, Usage, unix_time_secs,
};
use serde_json::{Map, Value, json};

use crate::types::{
    ContentBlock, ErrorEnvelope, ImageSource, InputMessage, MessageUsage, MessagesRequest, MessagesResponse,
    Metadata, ModelList, StopReason, TextOrBlocks, ToolChoice, ToolChoiceKind, ToolDefinition, TurnRole,
};

/// Canonical `extra` fields that mean the same to Anthropic and are forwarded verbatim (`top_k` is
/// modelled and checked); every other unknown field is OpenAI-specific (Anthropic refuses unknown
/// fields) and stays behind.
pub const FORWARDED_EXTRA_FIELDS: &[&str] = &["thinking", "service_tier"];

/// The Anthropic body for `model`. `stream` is set only for streams, always `true`.
pub fn messages_body(
    model: &str,
    request: &ChatRequest,
    default_max_tokens: u32,
    stream: bool,
) -> Result<MessagesRequest, LlmError> {
    if request.n.is_some_and(|n| n > 1) {
        return Err(LlmError::invalid_param(
            "n",
            "Anthropic returns one choice only: n must be 1",
        ));
    }
    let mut system = Vec::new();
    let mut turns: Vec<InputMessage> = Vec::new();
    for (at, message) in request.messages.iter().enumerate() {
        let (role, blocks) = match message.role {
            Role::System | Role::Developer => {
                if let Some(content) = &message.content {
                    system.push(content.joined_text());
                }
                continue;
            }
            Role::User => (TurnRole::User, user_blocks(at, message)?),
            Role::Assistant => (TurnRole::Assistant, assistant_blocks(at, message)?),
            Role::Tool => (TurnRole::User, vec![tool_result(at, message)?]),
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some(InputMessage {
                role: last,
                content: TextOrBlocks::Blocks(previous),
            }) if *last == role => previous.extend(blocks),
            _ => turns.push(InputMessage {
                role,
                content: TextOrBlocks::Blocks(blocks),
            }),
        }
    }
    for turn in &mut turns {
        if let (TurnRole::User, TextOrBlocks::Blocks(blocks)) = (turn.role, &mut turn.content) {
            // Anthropic wants the tool results first in the user turn that answers a tool use.
            blocks.sort_by_key(|block| !matches!(block, ContentBlock::ToolResult { .. }));
        }
    }
    let system = system
        .into_iter()
        .filter(|text| !text.is_empty())
        .collect::<Vec<_>>();
    let has_tools = request.tools.as_ref().is_some_and(|tools| !tools.is_empty());
    let extra: Map<String, Value> = request
        .extra
        .iter()
        .filter(|(key, _)| FORWARDED_EXTRA_FIELDS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Ok(MessagesRequest {
        model: model.to_owned(),
        messages: turns,
        system: (!system.is_empty()).then(|| TextOrBlocks::Text(system.join("\n\n"))),
        max_tokens: Some(request.max_output_tokens().unwrap_or(default_max_tokens)),
        temperature: request.temperature,
        top_p: request.top_p,
        top_k: match request.extra.get("top_k") {
            None => None,
            Some(value) => Some(
                value
                    .as_u64()
                    .and_then(|k| u32::try_from(k).ok())
                    .ok_or_else(|| LlmError::invalid_param("top_k", "top_k must be a positive integer"))?,
            ),
        },
        stop_sequences: request
            .stop
            .as_ref()
            .filter(|stop| !stop.0.is_empty())
            .map(|stop| stop.0.clone()),
        stream: stream.then_some(true),
        tools: has_tools.then(|| request.tools.iter().flatten().map(tool_definition).collect()),
        tool_choice: if has_tools {
            tool_choice(request.tool_choice.as_ref(), request.parallel_tool_calls)?
        } else {
            None
        },
        metadata: request.user.as_ref().map(|user| Metadata {
            user_id: Some(user.clone()),
        }),
        extra,
    })
}

fn user_blocks(at: usize, message: &Message) -> Result<Vec<ContentBlock>, LlmError> {
    match &message.content {
        None => Ok(Vec::new()),
        Some(content) => content_blocks(&format!("messages[{at}].content"), content),
    }
}

/// Text and image parts as blocks; empty texts are dropped (Anthropic refuses them).
fn content_blocks(param: &str, content: &MessageContent) -> Result<Vec<ContentBlock>, LlmError> {
    match content {
        MessageContent::Text(text) if text.is_empty() => Ok(Vec::new()),
        MessageContent::Text(text) => Ok(vec![ContentBlock::Text { text: text.clone() }]),
        MessageContent::Parts(parts) => parts
            .iter()
            .enumerate()
            .filter(|(_, part)| !matches!(part, ContentPart::Text { text } if text.is_empty()))
            .map(|(index, part)| match part {
                ContentPart::Text { text } => Ok(ContentBlock::Text { text: text.clone() }),
                ContentPart::ImageUrl { image_url } => Ok(ContentBlock::Image {
                    source: image_source(&image_url.url).ok_or_else(|| {
                        LlmError::invalid_param(
                            format!("{param}[{index}].image_url.url"),
                            "an image must be an https URL or a base64 data: URL",
                        )
                    })?,
                }),
            })
            .collect(),
    }
}

/// `data:<media type>;base64,<data>` or an `http(s)` URL.
pub fn image_source(url: &str) -> Option<ImageSource> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (header, data) = rest.split_once(',')?;
        let media_type = header.strip_suffix(";base64")?;
        return (!media_type.is_empty()).then(|| ImageSource::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        });
    }
    (url.starts_with("https://") || url.starts_with("http://"))
        .then(|| ImageSource::Url { url: url.to_owned() })
}

fn assistant_blocks(at: usize, message: &Message) -> Result<Vec<ContentBlock>, LlmError> {
    let mut blocks = match &message.content {
        None => Vec::new(),
        Some(content) => content_blocks(&format!("messages[{at}].content"), content)?,
    };
    for (index, call) in message.tool_calls.iter().flatten().enumerate() {
        let param = || format!("messages[{at}].tool_calls[{index}].function.arguments");
        let input = if call.function.arguments.trim().is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str::<Value>(&call.function.arguments).map_err(|error| {
                LlmError::invalid_param(
                    param(),
                    format!("tool call arguments are not valid JSON: {error}"),
                )
            })?
        };
        if !input.is_object() {
            return Err(LlmError::invalid_param(
                param(),
                "tool call arguments must be a JSON object",
            ));
        }
        blocks.push(ContentBlock::ToolUse {
            id: call.id.clone(),
            name: call.function.name.clone(),
            input,
        });
    }
    Ok(blocks)
}

fn tool_result(at: usize, message: &Message) -> Result<ContentBlock, LlmError> {
    let tool_use_id = message.tool_call_id.clone().ok_or_else(|| {
        LlmError::invalid_param(
            format!("messages[{at}].tool_call_id"),
            "a tool message needs tool_call_id",
        )
    })?;
    let content = match &message.content {
        None => None,
        Some(MessageContent::Text(text)) => Some(TextOrBlocks::Text(text.clone())),
        Some(content) => Some(TextOrBlocks::Blocks(content_blocks(
            &format!("messages[{at}].content"),
            content,
        )?)),
    };
    Ok(ContentBlock::ToolResult {
        tool_use_id,
        content,
        is_error: None,
    })
}

fn tool_definition(tool: &Tool) -> ToolDefinition {
    ToolDefinition {
        name: tool.function.name.clone(),
        description: tool.function.description.clone(),
        input_schema: Some(
            tool.function
                .parameters
                .clone()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        ),
    }
}

fn tool_choice(choice: Option<&Value>, parallel: Option<bool>) -> Result<Option<ToolChoice>, LlmError> {
    let invalid = || {
        LlmError::invalid_param(
            "tool_choice",
            "tool_choice must be auto, none, required or {\"type\":\"function\",\"function\":{\"name\":...}}",
        )
    };
    let (kind, name) = match choice {
        None | Some(Value::Null) => (ToolChoiceKind::Auto, None),
        Some(Value::String(mode)) => match mode.as_str() {
            "auto" => (ToolChoiceKind::Auto, None),
            "none" => (ToolChoiceKind::None, None),
            "required" => (ToolChoiceKind::Any, None),
            _ => return Err(invalid()),
        },
        Some(Value::Object(object)) => {
            let name = object
                .get("function")
                .and_then(|function| function.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(invalid)?;
            (ToolChoiceKind::Tool, Some(name.to_owned()))
        }
        Some(_) => return Err(invalid()),
    };
    let disable_parallel = (parallel == Some(false) && kind != ToolChoiceKind::None).then_some(true);
    if choice.is_none() && disable_parallel.is_none() {
        return Ok(None);
    }
    Ok(Some(ToolChoice {
        kind,
        name,
        disable_parallel_tool_use: disable_parallel,
    }))
}

/// Parses a `POST /v1/messages` answer.
pub fn parse_response(body: &[u8]) -> Result<MessagesResponse, serde_json::Error> {
    serde_json::from_slice(body)
}

/// The canonical answer for an Anthropic message. Text blocks are joined; thinking is dropped.
pub fn chat_response(message: MessagesResponse) -> ChatResponse {
    let mut text: Option<String> = None;
    let mut tool_calls = Vec::new();
    for block in message.content {
        match block {
            ContentBlock::Text { text: piece } => text.get_or_insert_with(String::new).push_str(&piece),
            ContentBlock::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                kind: "function".to_owned(),
                function: FunctionCall {
                    name,
                    arguments: input.to_string(),
                },
            }),
            ContentBlock::Image { .. }
            | ContentBlock::ToolResult { .. }
            | ContentBlock::Thinking { .. }
            | ContentBlock::RedactedThinking { .. }
            | ContentBlock::Unsupported => {}
        }
    }
    let mut assistant = AssistantMessage::text(String::new());
    assistant.content = match text {
        Some(text) => Some(text),
        None if tool_calls.is_empty() => Some(String::new()),
        None => None,
    };
    assistant.tool_calls = (!tool_calls.is_empty()).then_some(tool_calls);
    ChatResponse {
        id: message.id,
        object: "chat.completion".to_owned(),
        created: unix_time_secs(),
        model: message.model,
        choices: vec![Choice {
            index: 0,
            message: assistant,
            finish_reason: Some(message.stop_reason.map_or(FinishReason::Stop, finish_reason)),
            logprobs: None,
        }],
        usage: Some(usage(&message.usage)),
        system_fingerprint: None,
        extra: Map::new(),
    }
}

/// Anthropic's stop reason in the canonical vocabulary.
pub fn finish_reason(reason: StopReason) -> FinishReason {
    match reason {
        StopReason::EndTurn | StopReason::StopSequence | StopReason::PauseTurn | StopReason::Unknown => {
            FinishReason::Stop
        }
        StopReason::MaxTokens | StopReason::ModelContextWindowExceeded => FinishReason::Length,
        StopReason::ToolUse => FinishReason::ToolCalls,
        StopReason::Refusal => FinishReason::ContentFilter,
    }
}

/// Canonical usage: cached and cache-written tokens count as prompt tokens (Anthropic's
/// `input_tokens` excludes them) and are itemised in `prompt_tokens_details`.
pub fn usage(usage: &MessageUsage) -> Usage {
    let read = usage.cache_read_input_tokens.unwrap_or(0);
    let creation = usage.cache_creation_input_tokens.unwrap_or(0);
    let mut canonical = Usage::new(usage.input_tokens + read + creation, usage.output_tokens);
    if usage.cache_read_input_tokens.is_some() || usage.cache_creation_input_tokens.is_some() {
        canonical.prompt_tokens_details =
            Some(json!({"cached_tokens": read, "cache_creation_tokens": creation}));
    }
    canonical
}

/// Reads an HTTP error body; `None` when it is not Anthropic's error envelope.
pub fn parse_error_body(body: &[u8]) -> Option<ErrorEnvelope> {
    serde_json::from_slice(body).ok()
}

/// Parses `GET /v1/models`.
pub fn parse_models(body: &[u8]) -> Result<Vec<ModelInfo>, serde_json::Error> {
    let list: ModelList = serde_json::from_slice(body)?;
    Ok(list
        .data
        .into_iter()
        .map(|model| ModelInfo {
            id: model.id,
            owned_by: Some("anthropic".to_owned()),
            context_window: None,
        })
        .collect())
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
