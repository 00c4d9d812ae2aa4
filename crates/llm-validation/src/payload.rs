//! Payload rules: the checks a request must pass before it costs anything upstream.
//!
//! Known roles and the JSON shapes are already enforced by serde when the body becomes a
//! [`ChatRequest`]; what remains are value rules. Every failure is an `invalid_request` naming the
//! offending parameter with its path in the request (`messages[2].content`, `tools[0].function.name`).

use llm_core::{ChatRequest, ContentPart, LlmError, Message, MessageContent, ResponseFormat, Role};
use validator::{Validate, ValidateLength, ValidateRange, ValidationErrors};

use crate::image_url::check_image_url;

/// Size limits of a request; [`Default`] gives generous values that still bound the work per request.
#[derive(Clone, Debug)]
pub struct PayloadLimits {
    /// Most messages in one request (default 2048).
    pub max_messages: usize,
    /// Most text bytes in one message: content text, name and tool-call arguments (default 1 MiB).
    pub max_message_bytes: usize,
    /// Most text bytes in the whole request, images excluded (default 4 MiB).
    pub max_request_text_bytes: usize,
    /// Most stop sequences (default 4, as OpenAI).
    pub max_stop: usize,
    /// Largest `n` (default 8).
    pub max_n: u32,
    /// Most tools (default 128, as OpenAI).
    pub max_tools: usize,
}

impl Default for PayloadLimits {
    fn default() -> Self {
        Self {
            max_messages: 2048,
            max_message_bytes: 1024 * 1024,
            max_request_text_bytes: 4 * 1024 * 1024,
            max_stop: 4,
            max_n: 8,
            max_tools: 128,
        }
    }
}

/// The sampling parameters with fixed ranges, checked by `validator`'s derive.
#[derive(Validate)]
struct SamplingView {
    #[validate(range(min = 0.0, max = 2.0))]
    temperature: Option<f64>,
    #[validate(range(min = 0.0, max = 1.0))]
    top_p: Option<f64>,
    #[validate(range(min = -2.0, max = 2.0))]
    presence_penalty: Option<f64>,
    #[validate(range(min = -2.0, max = 2.0))]
    frequency_penalty: Option<f64>,
    #[validate(range(min = 1))]
    max_tokens: Option<u32>,
    #[validate(range(min = 1))]
    max_completion_tokens: Option<u32>,
}

/// The message for each field of [`SamplingView`], in the order errors are reported.
const SAMPLING_RULES: [(&str, &str); 6] = [
    ("temperature", "must be between 0 and 2"),
    ("top_p", "must be between 0 and 1"),
    ("presence_penalty", "must be between -2 and 2"),
    ("frequency_penalty", "must be between -2 and 2"),
    ("max_tokens", "must be at least 1"),
    ("max_completion_tokens", "must be at least 1"),
];

/// Checks every payload rule; the first failure is returned.
pub fn validate_payload(request: &ChatRequest, limits: &PayloadLimits) -> Result<(), LlmError> {
    if request.model.trim().is_empty() {
        return Err(LlmError::invalid_param("model", "`model` must not be empty"));
    }
    check_sampling(request)?;
    if let Some(n) = request.n
        && !n.validate_range(Some(1), Some(limits.max_n), None, None)
    {
        return Err(LlmError::invalid_param(
            "n",
            format!("`n` must be between 1 and {}, got {n}", limits.max_n),
        ));
    }
    if let Some(stop) = &request.stop {
        if !stop.0.validate_length(None, Some(limits.max_stop as u64), None) {
            return Err(LlmError::invalid_param(
                "stop",
                format!(
                    "at most {} stop sequences are allowed, got {}",
                    limits.max_stop,
                    stop.0.len()
                ),
            ));
        }
        if stop.0.iter().any(String::is_empty) {
            return Err(LlmError::invalid_param(
                "stop",
                "stop sequences must not be empty",
            ));
        }
    }
    check_tools(request, limits)?;
    check_response_format(request)?;
    check_messages(request, limits)
}

fn check_sampling(request: &ChatRequest) -> Result<(), LlmError> {
    let view = SamplingView {
        temperature: request.temperature,
        top_p: request.top_p,
        presence_penalty: request.presence_penalty,
        frequency_penalty: request.frequency_penalty,
        max_tokens: request.max_tokens,
        max_completion_tokens: request.max_completion_tokens,
    };
    // `validator`'s ranges let NaN through (every comparison with NaN is false): refuse it first.
    let floats = [
        ("temperature", view.temperature),
        ("top_p", view.top_p),
        ("presence_penalty", view.presence_penalty),
        ("frequency_penalty", view.frequency_penalty),
    ];
    if let Some((field, _)) = floats
        .iter()
        .find(|(_, value)| value.is_some_and(|v| !v.is_finite()))
    {
        return Err(LlmError::invalid_param(
            *field,
            format!("`{field}` must be a finite number"),
        ));
    }
    view.validate().map_err(|errors| sampling_error(&errors))
}

fn sampling_error(errors: &ValidationErrors) -> LlmError {
    let fields = errors.field_errors();
    SAMPLING_RULES
        .iter()
        .find(|(field, _)| fields.contains_key(*field))
        .map(|(field, rule)| {
            let got = fields
                .get(*field)
                .and_then(|list| list.first())
                .and_then(|error| error.params.get("value"))
                .map(|value| format!(", got {value}"))
                .unwrap_or_default();
            LlmError::invalid_param(*field, format!("`{field}` {rule}{got}"))
        })
        .unwrap_or_else(|| LlmError::invalid_param("request", "invalid sampling parameters"))
}

/// Whether `name` matches `^[a-zA-Z0-9_-]{1,64}$` (OpenAI's rule for function and schema names).
fn is_valid_name(name: &str) -> bool {
    name.validate_length(Some(1), Some(64), None)
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_tools(request: &ChatRequest, limits: &PayloadLimits) -> Result<(), LlmError> {
    let Some(tools) = &request.tools else {
        return Ok(());
    };
    if tools.len() > limits.max_tools {
        return Err(LlmError::invalid_param(
            "tools",
            format!(
                "at most {} tools are allowed, got {}",
                limits.max_tools,
                tools.len()
            ),
        ));
    }
    for (i, tool) in tools.iter().enumerate() {
        if tool.kind != "function" {
            return Err(LlmError::invalid_param(
                format!("tools[{i}].type"),
                "the only supported tool type is `function`",
            ));
        }
        if !is_valid_name(&tool.function.name) {
            return Err(LlmError::invalid_param(
                format!("tools[{i}].function.name"),
                "a function name must be 1 to 64 characters of a-z, A-Z, 0-9, `_` or `-`",
            ));
        }
        if let Some(parameters) = &tool.function.parameters {
            check_schema(parameters, &format!("tools[{i}].function.parameters"))?;
        }
    }
    Ok(())
}

/// A JSON schema must be an object whose `type`, when present, is `"object"`.
fn check_schema(schema: &serde_json::Value, param: &str) -> Result<(), LlmError> {
    let Some(object) = schema.as_object() else {
        return Err(LlmError::invalid_param(param, "must be a JSON Schema object"));
    };
    match object.get("type") {
        None => Ok(()),
        Some(kind) if kind == "object" => Ok(()),
        Some(_) => Err(LlmError::invalid_param(
            param,
            "the schema's `type` must be \"object\"",
        )),
    }
}

fn check_response_format(request: &ChatRequest) -> Result<(), LlmError> {
    let Some(ResponseFormat::JsonSchema { json_schema }) = &request.response_format else {
        return Ok(());
    };
    if !is_valid_name(&json_schema.name) {
        return Err(LlmError::invalid_param(
            "response_format.json_schema.name",
            "a schema name must be 1 to 64 characters of a-z, A-Z, 0-9, `_` or `-`",
        ));
    }
    if let Some(schema) = &json_schema.schema {
        check_schema(schema, "response_format.json_schema.schema")?;
    }
    Ok(())
}

fn check_messages(request: &ChatRequest, limits: &PayloadLimits) -> Result<(), LlmError> {
    if request.messages.is_empty() {
        return Err(LlmError::invalid_param(
            "messages",
            "`messages` must not be empty",
        ));
    }
    if request.messages.len() > limits.max_messages {
        return Err(LlmError::invalid_param(
            "messages",
            format!(
                "at most {} messages are allowed, got {}",
                limits.max_messages,
                request.messages.len()
            ),
        ));
    }
    let mut total: usize = 0;
    for (i, message) in request.messages.iter().enumerate() {
        let bytes = check_message(i, message)?;
        if bytes > limits.max_message_bytes {
            return Err(LlmError::invalid_param(
                format!("messages[{i}].content"),
                format!(
                    "the message has {bytes} bytes of text; at most {} are allowed",
                    limits.max_message_bytes
                ),
            ));
        }
        total = total.saturating_add(bytes);
        if total > limits.max_request_text_bytes {
            return Err(LlmError::invalid_param(
                "messages",
                format!(
                    "the request has more than {} bytes of text",
                    limits.max_request_text_bytes
                ),
            ));
        }
    }
    Ok(())
}

/// Checks one message and returns its text size in bytes.
fn check_message(i: usize, message: &Message) -> Result<usize, LlmError> {
    let has_tool_calls = message.tool_calls.as_ref().is_some_and(|calls| !calls.is_empty());
    match message.role {
        Role::Assistant => {
            if message.content.is_none() && !has_tool_calls {
                return Err(LlmError::invalid_param(
                    format!("messages[{i}].content"),
                    "an assistant message needs `content` or `tool_calls`",
                ));
            }
        }
        Role::System | Role::Developer | Role::User | Role::Tool => {
            if message.content.is_none() {
                return Err(LlmError::invalid_param(
                    format!("messages[{i}].content"),
                    "`content` is required for this role",
                ));
            }
            if message.tool_calls.is_some() {
                return Err(LlmError::invalid_param(
                    format!("messages[{i}].tool_calls"),
                    "only assistant messages may carry `tool_calls`",
                ));
            }
        }
    }
    if message.role == Role::Tool && message.tool_call_id.as_deref().is_none_or(str::is_empty) {
        return Err(LlmError::invalid_param(
            format!("messages[{i}].tool_call_id"),
            "a tool message needs the `tool_call_id` it answers",
        ));
    }
    let mut bytes = message.name.as_ref().map_or(0, String::len);
    for (j, call) in message.tool_calls.iter().flatten().enumerate() {
        if call.kind != "function" {
            return Err(LlmError::invalid_param(
                format!("messages[{i}].tool_calls[{j}].type"),
                "the only supported tool call type is `function`",
            ));
        }
        if call.id.is_empty() {
            return Err(LlmError::invalid_param(
                format!("messages[{i}].tool_calls[{j}].id"),
                "a tool call needs an id",
            ));
        }
        if call.function.name.is_empty() {
            return Err(LlmError::invalid_param(
                format!("messages[{i}].tool_calls[{j}].function.name"),
                "a tool call needs the function's name",
            ));
        }
        // `arguments` is a string by type: serde refused anything else when the body was parsed.
        bytes += call.function.name.len() + call.function.arguments.len();
    }
    match &message.content {
        None => {}
        Some(MessageContent::Text(text)) => bytes += text.len(),
        Some(MessageContent::Parts(parts)) => {
            for (j, part) in parts.iter().enumerate() {
                match part {
                    ContentPart::Text { text } => bytes += text.len(),
                    ContentPart::ImageUrl { image_url } => {
                        check_image_url(&image_url.url).map_err(|why| {
                            LlmError::invalid_param(format!("messages[{i}].content[{j}].image_url.url"), why)
                        })?
                    }
                }
            }
        }
    }
    Ok(bytes)
}
