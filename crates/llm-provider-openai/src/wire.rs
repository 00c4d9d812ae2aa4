//! Every conversion between the canonical types and OpenAI's Chat Completions JSON, typed both ways.
//!
//! Requests are serialized straight from a borrowed [`ChatRequest`] (no copy of the messages);
//! responses, stream chunks, error bodies and model lists are parsed here and nowhere else.

use llm_core::{ChatChunk, ChatRequest, ChatResponse, Message, ModelInfo, ResponseFormat, Stop, Tool};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::settings::Quirks;

/// The body of `POST /chat/completions`, borrowing everything from the canonical request.
///
/// `model` is the upstream name the router chose; the client's `stream` and `stream_options` are
/// replaced by what this call needs; unknown fields of the request are forwarded verbatim.
#[derive(Debug, Serialize)]
pub struct ChatCompletionBody<'a> {
    model: &'a str,
    messages: &'a [Message],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<&'a Stop>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<IncludeUsage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<&'a [Tool]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<&'a ResponseFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f64>,
    #[serde(flatten)]
    extra: ExtraFields<'a>,
}

#[derive(Debug, Serialize)]
struct IncludeUsage {
    include_usage: bool,
}

impl<'a> ChatCompletionBody<'a> {
    /// The body for `model`. A stream always asks for the usage chunk; a complete answer never
    /// streams and sends no `stream_options` (OpenAI refuses them without `stream: true`).
    pub fn new(model: &'a str, request: &'a ChatRequest, stream: bool) -> Self {
        Self {
            model,
            messages: &request.messages,
            temperature: request.temperature,
            top_p: request.top_p,
            max_tokens: request.max_tokens,
            max_completion_tokens: request.max_completion_tokens,
            n: request.n,
            seed: request.seed,
            stop: request.stop.as_ref(),
            user: request.user.as_deref(),
            stream: stream.then_some(true),
            stream_options: stream.then_some(IncludeUsage { include_usage: true }),
            tools: request.tools.as_deref(),
            tool_choice: request.tool_choice.as_ref(),
            parallel_tool_calls: request.parallel_tool_calls,
            response_format: request.response_format.as_ref(),
            presence_penalty: request.presence_penalty,
            frequency_penalty: request.frequency_penalty,
            extra: ExtraFields(&request.extra),
        }
    }

    /// Adapts the body to a server's quirks.
    #[must_use]
    pub fn with_quirks(mut self, quirks: Quirks) -> Self {
        if quirks.no_stream_options {
            self.stream_options = None;
        }
        if quirks.max_tokens_only {
            self.max_tokens = self.max_completion_tokens.or(self.max_tokens);
            self.max_completion_tokens = None;
        }
        self
    }

    /// The JSON bytes to send.
    pub fn to_vec(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// Field names the body sets itself; an `extra` entry with one of these names is not forwarded, so
/// the JSON never carries a key twice.
const MODELLED_FIELDS: &[&str] = &[
    "model",
    "messages",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "seed",
    "stop",
    "user",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "presence_penalty",
    "frequency_penalty",
];

/// The request's unknown fields, serialized as a map without the modelled names.
#[derive(Debug)]
struct ExtraFields<'a>(&'a Map<String, Value>);

impl Serialize for ExtraFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.0 {
            if !MODELLED_FIELDS.contains(&key.as_str()) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// Parses a `chat.completion` body; unknown fields are kept in the canonical `extra` maps.
pub fn parse_response(body: &[u8]) -> Result<ChatResponse, serde_json::Error> {
    serde_json::from_slice(body)
}

/// What one `data:` field of an OpenAI stream means.
#[derive(Debug)]
pub enum StreamData {
    /// `[DONE]`: the stream ended cleanly.
    Done,
    /// An empty event, ignored.
    Skip,
    /// A `chat.completion.chunk`.
    Chunk(Box<ChatChunk>),
    /// An `{"error": {...}}` event sent after the response had started.
    Error(ErrorDetail),
    /// Neither a chunk nor an error: the upstream broke the protocol.
    Malformed(serde_json::Error),
}

/// Interprets one event's data. Chunks are tried first: they are the hot path.
pub fn parse_stream_data(data: &str) -> StreamData {
    let data = data.trim();
    if data.is_empty() {
        return StreamData::Skip;
    }
    if data == "[DONE]" {
        return StreamData::Done;
    }
    match serde_json::from_str::<ChatChunk>(data) {
        Ok(chunk) => StreamData::Chunk(Box::new(chunk)),
        Err(chunk_error) => match serde_json::from_str::<ErrorEnvelope>(data) {
            Ok(envelope) => StreamData::Error(envelope.error.into()),
            Err(_) => StreamData::Malformed(chunk_error),
        },
    }
}

/// OpenAI's error object, with every field read leniently (compatible servers vary).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorDetail {
    /// `error.message`.
    pub message: Option<String>,
    /// `error.type`.
    pub kind: Option<String>,
    /// `error.param`.
    pub param: Option<String>,
    /// `error.code`, as text even when a server sends a number.
    pub code: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorField,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    Text(String),
    Detail(RawErrorDetail),
}

#[derive(Deserialize)]
struct RawErrorDetail {
    #[serde(default)]
    message: Option<Value>,
    #[serde(default, rename = "type")]
    kind: Option<Value>,
    #[serde(default)]
    param: Option<Value>,
    #[serde(default)]
    code: Option<Value>,
    /// FastAPI-style servers answer `{"detail": "..."}`.
    #[serde(default)]
    detail: Option<Value>,
}

impl From<ErrorField> for ErrorDetail {
    fn from(field: ErrorField) -> Self {
        match field {
            ErrorField::Text(message) => Self {
                message: Some(message),
                ..Self::default()
            },
            ErrorField::Detail(raw) => raw.into(),
        }
    }
}

impl From<RawErrorDetail> for ErrorDetail {
    fn from(raw: RawErrorDetail) -> Self {
        Self {
            message: raw.message.and_then(text).or_else(|| raw.detail.and_then(text)),
            kind: raw.kind.and_then(text),
            param: raw.param.and_then(text),
            code: raw.code.and_then(text),
        }
    }
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Reads an HTTP error body: `{"error": {...}}`, `{"error": "..."}` or a bare `{"message": ...}`.
/// `None` when the body is not JSON or says nothing usable.
pub fn parse_error_body(body: &[u8]) -> Option<ErrorDetail> {
    if let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(body) {
        return Some(envelope.error.into());
    }
    let detail: ErrorDetail = serde_json::from_slice::<RawErrorDetail>(body).ok()?.into();
    (detail != ErrorDetail::default()).then_some(detail)
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<WireModel>,
}

#[derive(Deserialize)]
struct WireModel {
    id: String,
    #[serde(default)]
    owned_by: Option<String>,
    #[serde(default)]
    context_window: Option<u32>,
    /// vLLM's name for the context window.
    #[serde(default)]
    max_model_len: Option<u32>,
    /// OpenRouter's name for the context window.
    #[serde(default)]
    context_length: Option<u32>,
}

/// Parses `GET /models` (`{"object": "list", "data": [...]}`).
pub fn parse_models(body: &[u8]) -> Result<Vec<ModelInfo>, serde_json::Error> {
    let list: ModelList = serde_json::from_slice(body)?;
    Ok(list
        .data
        .into_iter()
        .map(|model| ModelInfo {
            context_window: model
                .context_window
                .or(model.max_model_len)
                .or(model.context_length),
            id: model.id,
            owned_by: model.owned_by,
        })
        .collect())
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
