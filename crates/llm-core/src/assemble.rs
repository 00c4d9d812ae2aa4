//! Streams and complete answers, each into the other.
//!
//! [`ResponseAssembler`] builds the complete answer from a stream's chunks (for the cache, which stores
//! what a stream carried); [`response_chunks`] turns a complete answer into the chunks a stream would
//! have carried (to replay a cached non-streamed answer as a stream).

use serde_json::Map;

use crate::chunk::{ChatChunk, ChunkChoice, Delta, FunctionCallDelta, ToolCallDelta};
use crate::request::Role;
use crate::response::{AssistantMessage, ChatResponse, Choice, FinishReason, FunctionCall, ToolCall, Usage};

/// Accumulates chunks into a [`ChatResponse`].
#[derive(Debug, Default)]
pub struct ResponseAssembler {
    id: String,
    model: String,
    created: u64,
    system_fingerprint: Option<String>,
    choices: Vec<ChoiceState>,
    usage: Option<Usage>,
}

#[derive(Debug, Default)]
struct ChoiceState {
    content: String,
    refusal: Option<String>,
    tool_calls: Vec<ToolCall>,
    finish_reason: Option<FinishReason>,
}

impl ResponseAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one chunk.
    pub fn push(&mut self, chunk: &ChatChunk) {
        if self.id.is_empty() {
            self.id.clone_from(&chunk.id);
            self.model.clone_from(&chunk.model);
            self.created = chunk.created;
        }
        if chunk.system_fingerprint.is_some() {
            self.system_fingerprint.clone_from(&chunk.system_fingerprint);
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        for choice in &chunk.choices {
            let index = choice.index as usize;
            if self.choices.len() <= index {
                self.choices.resize_with(index + 1, ChoiceState::default);
            }
            let state = &mut self.choices[index];
            if let Some(text) = &choice.delta.content {
                state.content.push_str(text);
            }
            if let Some(refusal) = &choice.delta.refusal {
                state.refusal.get_or_insert_with(String::new).push_str(refusal);
            }
            for call in choice.delta.tool_calls.iter().flatten() {
                let at = call.index as usize;
                if state.tool_calls.len() <= at {
                    state.tool_calls.resize_with(at + 1, || ToolCall {
                        id: String::new(),
                        kind: "function".to_owned(),
                        function: FunctionCall {
                            name: String::new(),
                            arguments: String::new(),
                        },
                    });
                }
                let target = &mut state.tool_calls[at];
                if let Some(id) = &call.id {
                    target.id.clone_from(id);
                }
                if let Some(kind) = &call.kind {
                    target.kind.clone_from(kind);
                }
                if let Some(function) = &call.function {
                    if let Some(name) = &function.name {
                        target.function.name.push_str(name);
                    }
                    if let Some(arguments) = &function.arguments {
                        target.function.arguments.push_str(arguments);
                    }
                }
            }
            if choice.finish_reason.is_some() {
                state.finish_reason = choice.finish_reason;
            }
        }
    }

    /// Whether every choice seen so far has its finish reason.
    pub fn is_finished(&self) -> bool {
        !self.choices.is_empty() && self.choices.iter().all(|choice| choice.finish_reason.is_some())
    }

    /// The complete answer.
    pub fn finish(self) -> ChatResponse {
        let choices = self
            .choices
            .into_iter()
            .enumerate()
            .map(|(index, state)| Choice {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                message: AssistantMessage {
                    role: Role::Assistant,
                    // An answer that is only tool calls has `content: null`, as OpenAI sends it.
                    content: (!state.content.is_empty() || state.tool_calls.is_empty())
                        .then_some(state.content),
                    refusal: state.refusal,
                    tool_calls: (!state.tool_calls.is_empty()).then_some(state.tool_calls),
                    extra: Map::new(),
                },
                finish_reason: state.finish_reason,
                logprobs: None,
            })
            .collect();
        ChatResponse {
            id: self.id,
            object: "chat.completion".to_owned(),
            created: self.created,
            model: self.model,
            choices,
            usage: self.usage,
            system_fingerprint: self.system_fingerprint,
            extra: Map::new(),
        }
    }
}

/// The chunks a stream of `response` would carry: per choice a role chunk, its content, its tool
/// calls and its finish reason, then one usage chunk when the answer has usage.
pub fn response_chunks(response: &ChatResponse) -> Vec<ChatChunk> {
    let chunk = |choices: Vec<ChunkChoice>, usage: Option<Usage>| ChatChunk {
        id: response.id.clone(),
        object: "chat.completion.chunk".to_owned(),
        created: response.created,
        model: response.model.clone(),
        choices,
        usage,
        system_fingerprint: response.system_fingerprint.clone(),
    };
    let one = |index: u32, delta: Delta, finish_reason: Option<FinishReason>| ChunkChoice {
        index,
        delta,
        finish_reason,
        logprobs: None,
    };
    let mut chunks = Vec::with_capacity(response.choices.len() * 3 + 1);
    for choice in &response.choices {
        let message = &choice.message;
        let role = Delta {
            role: Some(Role::Assistant),
            content: Some(String::new()),
            ..Delta::default()
        };
        chunks.push(chunk(vec![one(choice.index, role, None)], None));
        let content = message.content.clone().filter(|text| !text.is_empty());
        if content.is_some() || message.refusal.is_some() {
            let delta = Delta {
                content,
                refusal: message.refusal.clone(),
                ..Delta::default()
            };
            chunks.push(chunk(vec![one(choice.index, delta, None)], None));
        }
        if let Some(calls) = &message.tool_calls {
            let deltas = calls
                .iter()
                .enumerate()
                .map(|(at, call)| ToolCallDelta {
                    index: u32::try_from(at).unwrap_or(u32::MAX),
                    id: Some(call.id.clone()),
                    kind: Some(call.kind.clone()),
                    function: Some(FunctionCallDelta {
                        name: Some(call.function.name.clone()),
                        arguments: Some(call.function.arguments.clone()),
                    }),
                })
                .collect();
            let delta = Delta {
                tool_calls: Some(deltas),
                ..Delta::default()
            };
            chunks.push(chunk(vec![one(choice.index, delta, None)], None));
        }
        chunks.push(chunk(
            vec![one(choice.index, Delta::default(), choice.finish_reason)],
            None,
        ));
    }
    if let Some(usage) = &response.usage {
        chunks.push(chunk(Vec::new(), Some(usage.clone())));
    }
    chunks
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn response(message: serde_json::Value, finish: &str) -> ChatResponse {
        serde_json::from_value(
            json!({"id": "r1", "object": "chat.completion", "created": 5, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}),
        )
        .unwrap()
    }

    fn round_trip(original: &ChatResponse) -> ChatResponse {
        let mut assembler = ResponseAssembler::new();
        for chunk in response_chunks(original) {
            assembler.push(&chunk);
        }
        assert!(assembler.is_finished());
        assembler.finish()
    }

    #[test]
    fn text_and_tool_answers_survive_chunking() {
        let text = response(json!({"role": "assistant", "content": "hello there"}), "stop");
        assert_eq!(round_trip(&text), text);
        let tools = response(
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "c0", "type": "function", "function": {"name": "a", "arguments": "{\"x\":1}"}},
                {"id": "c1", "type": "function", "function": {"name": "b", "arguments": "{}"}}]}),
            "tool_calls",
        );
        assert_eq!(round_trip(&tools), tools);
    }

    #[test]
    fn fragments_are_joined_by_index() {
        let mut assembler = ResponseAssembler::new();
        let chunk = |delta: serde_json::Value, finish: serde_json::Value| -> ChatChunk {
            serde_json::from_value(json!({"id": "s", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}))
            .unwrap()
        };
        assembler.push(&chunk(json!({"role": "assistant", "content": ""}), json!(null)));
        assembler.push(&chunk(
            json!({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{\"z"}}]}),
            json!(null),
        ));
        assembler.push(&chunk(
            json!({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}}]}),
            json!(null),
        ));
        assembler.push(&chunk(
            json!({"tool_calls": [{"index": 1, "function": {"arguments": "\":2}"}}]}),
            json!(null),
        ));
        assert!(!assembler.is_finished());
        assembler.push(&chunk(json!({}), json!("tool_calls")));
        let answer = assembler.finish();
        let calls = answer.choices[0].message.tool_calls.as_ref().unwrap();
        assert_eq!(
            (calls[0].id.as_str(), calls[0].function.arguments.as_str()),
            ("a", "{}")
        );
        assert_eq!(
            (
                calls[1].function.name.as_str(),
                calls[1].function.arguments.as_str()
            ),
            ("g", "{\"z\":2}")
        );
        assert_eq!(answer.choices[0].message.content, None);
    }
}
