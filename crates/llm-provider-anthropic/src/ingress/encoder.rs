//! Canonical chunks turned into Anthropic stream events.

use llm_core::{ChatChunk, FinishReason, ToolCallDelta, Usage};
use serde_json::{Map, Value};

use super::StreamEvent;
use super::response::{message_usage, stop_reason};
use crate::types::{
    BlockDelta, ContentBlock, DeltaUsage, MessageDeltaBody, MessageUsage, MessagesResponse, StopReason,
    StreamEventData,
};

/// The content block currently open.
#[derive(Clone, Copy, Debug)]
enum OpenBlock {
    Text { index: u32 },
    Tool { index: u32, call: u32 },
}

/// Encodes one canonical stream (first choice) as Anthropic's event sequence: `message_start`, then
/// for each text run or tool call a `content_block_start`, its deltas and `content_block_stop`, then
/// `message_delta` with the stop reason and usage, then `message_stop`.
#[derive(Debug, Default)]
pub struct MessagesStreamEncoder {
    started: bool,
    finished: bool,
    next_index: u32,
    open: Option<OpenBlock>,
    /// The canonical indexes of the tool calls whose block was opened.
    calls_seen: Vec<u32>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl MessagesStreamEncoder {
    /// A fresh encoder for one stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The events for one chunk. The first call also emits `message_start` (id and model from the
    /// chunk). The finish reason and usage are remembered for [`finish`](Self::finish).
    pub fn push(&mut self, chunk: &ChatChunk) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        if self.finished {
            return events;
        }
        if !self.started {
            events.push(message_start(&chunk.id, &chunk.model));
            self.started = true;
        }
        for choice in chunk.choices.iter().filter(|choice| choice.index == 0) {
            for text in [&choice.delta.content, &choice.delta.refusal]
                .into_iter()
                .flatten()
            {
                if !text.is_empty() {
                    self.text(text, &mut events);
                }
            }
            for call in choice.delta.tool_calls.iter().flatten() {
                self.tool_call(call, &mut events);
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(reason);
            }
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        events
    }

    /// The closing events: the open block's stop, `message_delta`, `message_stop`. Only the first
    /// call emits anything.
    pub fn finish(&mut self) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        if self.finished {
            return events;
        }
        if !self.started {
            events.push(message_start("", ""));
            self.started = true;
        }
        self.close(&mut events);
        let usage = self.usage.as_ref().map(message_usage);
        let delta = StreamEventData::MessageDelta {
            delta: MessageDeltaBody {
                stop_reason: Some(self.finish.map_or(StopReason::EndTurn, stop_reason)),
                stop_sequence: None,
            },
            usage: Some(DeltaUsage {
                input_tokens: usage.as_ref().map(|usage| usage.input_tokens),
                output_tokens: Some(usage.as_ref().map_or(0, |usage| usage.output_tokens)),
                cache_creation_input_tokens: usage
                    .as_ref()
                    .and_then(|usage| usage.cache_creation_input_tokens),
                cache_read_input_tokens: usage.as_ref().and_then(|usage| usage.cache_read_input_tokens),
            }),
        };
        events.push(StreamEvent::from_data(&delta));
        events.push(StreamEvent::from_data(&StreamEventData::MessageStop));
        self.finished = true;
        events
    }

    fn text(&mut self, text: &str, events: &mut Vec<StreamEvent>) {
        let index = match self.open {
            Some(OpenBlock::Text { index }) => index,
            _ => {
                let block = ContentBlock::Text { text: String::new() };
                let index = self.open_block(block, events);
                self.open = Some(OpenBlock::Text { index });
                index
            }
        };
        let delta = BlockDelta::TextDelta {
            text: text.to_owned(),
        };
        events.push(StreamEvent::from_data(&StreamEventData::ContentBlockDelta {
            index,
            delta,
        }));
    }

    fn tool_call(&mut self, call: &ToolCallDelta, events: &mut Vec<StreamEvent>) {
        let index = match self.open {
            Some(OpenBlock::Tool { index, call: open }) if open == call.index => index,
            _ if self.calls_seen.contains(&call.index) => {
                // Anthropic cannot reopen a closed block; interleaved fragments are not representable.
                tracing::warn!(
                    call = call.index,
                    "dropping a fragment of an already closed tool call"
                );
                return;
            }
            _ => {
                let function = call.function.as_ref();
                let block = ContentBlock::ToolUse {
                    id: call.id.clone().unwrap_or_else(|| format!("toolu_{}", call.index)),
                    name: function
                        .and_then(|function| function.name.clone())
                        .unwrap_or_default(),
                    input: Value::Object(Map::new()),
                };
                let index = self.open_block(block, events);
                self.open = Some(OpenBlock::Tool {
                    index,
                    call: call.index,
                });
                self.calls_seen.push(call.index);
                index
            }
        };
        let arguments = call
            .function
            .as_ref()
            .and_then(|function| function.arguments.as_deref());
        if let Some(partial_json) = arguments.filter(|arguments| !arguments.is_empty()) {
            let delta = BlockDelta::InputJsonDelta {
                partial_json: partial_json.to_owned(),
            };
            events.push(StreamEvent::from_data(&StreamEventData::ContentBlockDelta {
                index,
                delta,
            }));
        }
    }

    /// Closes the open block and starts `block` at the next index.
    fn open_block(&mut self, block: ContentBlock, events: &mut Vec<StreamEvent>) -> u32 {
        self.close(events);
        let index = self.next_index;
        self.next_index += 1;
        events.push(StreamEvent::from_data(&StreamEventData::ContentBlockStart {
            index,
            content_block: block,
        }));
        index
    }

    fn close(&mut self, events: &mut Vec<StreamEvent>) {
        if let Some(OpenBlock::Text { index } | OpenBlock::Tool { index, .. }) = self.open.take() {
            events.push(StreamEvent::from_data(&StreamEventData::ContentBlockStop {
                index,
            }));
        }
    }
}

fn message_start(id: &str, model: &str) -> StreamEvent {
    StreamEvent::from_data(&StreamEventData::MessageStart {
        message: MessagesResponse {
            id: id.to_owned(),
            kind: "message".to_owned(),
            role: "assistant".to_owned(),
            model: model.to_owned(),
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: MessageUsage::default(),
        },
    })
}
