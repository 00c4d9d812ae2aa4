//! The canonical stream event, in the OpenAI `chat.completion.chunk` shape.

use std::pin::Pin;

use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::LlmError;
use crate::request::Role;
use crate::response::{FinishReason, Usage};

/// A provider's answer as a stream of chunks; a failure mid-stream is an `Err` item.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<ChatChunk, LlmError>> + Send>>;

/// One event of a streamed answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatChunk {
    pub id: String,
    #[serde(default = "chunk_object")]
    pub object: String,
    #[serde(default)]
    pub created: u64,
    pub model: String,
    /// Some OpenAI-compatible servers send `null` on the usage chunk; it reads as no choices.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub choices: Vec<ChunkChoice>,
    /// Set on the last chunk when usage was asked for; that chunk has no choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<ChunkChoice>, D::Error> {
    Ok(Option::<Vec<ChunkChoice>>::deserialize(deserializer)?.unwrap_or_default())
}

fn chunk_object() -> String {
    "chat.completion.chunk".to_owned()
}

impl ChatChunk {
    /// Whether the chunk carries content: text or a tool call (not only a role, a finish reason or
    /// usage).
    pub fn has_content(&self) -> bool {
        self.choices.iter().any(|choice| {
            choice
                .delta
                .content
                .as_deref()
                .is_some_and(|text| !text.is_empty())
                || choice.delta.tool_calls.is_some()
        })
    }

    /// A chunk with one choice carrying `delta`.
    pub fn with_delta(
        id: impl Into<String>,
        model: impl Into<String>,
        created: u64,
        delta: Delta,
        finish_reason: Option<FinishReason>,
    ) -> Self {
        Self {
            id: id.into(),
            object: chunk_object(),
            created,
            model: model.into(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason,
                logprobs: None,
            }],
            usage: None,
            system_fingerprint: None,
        }
    }

    /// The usage-only chunk that closes a stream.
    pub fn usage_only(id: impl Into<String>, model: impl Into<String>, created: u64, usage: Usage) -> Self {
        Self {
            id: id.into(),
            object: chunk_object(),
            created,
            model: model.into(),
            choices: Vec::new(),
            usage: Some(usage),
            system_fingerprint: None,
        }
    }

    /// The text this chunk adds to the first choice.
    pub fn text_delta(&self) -> Option<&str> {
        self.choices
            .first()
            .and_then(|choice| choice.delta.content.as_deref())
    }

    /// The finish reason this chunk carries, if any.
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.choices.iter().find_map(|choice| choice.finish_reason)
    }
}

/// One choice's increment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: Delta,
    #[serde(default)]
    pub finish_reason: Option<FinishReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
}

/// What a chunk adds to the message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

impl Delta {
    /// A delta with text only.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            content: Some(content.into()),
            ..Self::default()
        }
    }
}

/// A piece of a tool call; `index` says which call it belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCallDelta {
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
}

/// A piece of a function call: the name once, the arguments in fragments.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallDelta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_tool_call_and_usage_chunks() {
        let tool = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 1, "function": {"arguments": "{\"a"}}]},
            "finish_reason": null}]});
        let chunk: ChatChunk = serde_json::from_value(tool).unwrap();
        let calls = chunk.choices[0].delta.tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].index, 1);
        assert_eq!(
            calls[0].function.as_ref().unwrap().arguments.as_deref(),
            Some("{\"a")
        );

        let usage = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}});
        let chunk: ChatChunk = serde_json::from_value(usage).unwrap();
        assert_eq!(chunk.usage, Some(Usage::new(3, 2)));
        assert!(chunk.choices.is_empty());

        let null_choices = json!({"id": "c", "model": "m", "choices": null,
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
        let chunk: ChatChunk = serde_json::from_value(null_choices).unwrap();
        assert!(chunk.choices.is_empty());
    }
}
