//! Anthropic's SSE stream turned into canonical chunks.
//!
//! [`StreamTranslator`] is the pure part: one event's `data` in, zero or more chunks out. It needs no
//! HTTP, so benches and tests can drive it with bytes ([`translate_sse`]). The provider streams through
//! the shared SSE driver ([`llm_provider_http::chunk_stream`]) with `AnthropicEvents` as its
//! translator. The stream ends cleanly only after `message_stop`; every other end is an `Err` item
//! followed by the end of the stream: an `event: error`, data that is not an event, an idle gap longer
//! than the idle timeout, a transport failure, or the bytes simply stopping.

use std::time::Duration;

use llm_core::sse::{SseEvent, SseParser};
use llm_core::{
    ChatChunk, ChunkStream, Delta, FinishReason, FunctionCallDelta, LlmError, ProviderId, Role, ToolCallDelta,
};
use llm_provider_http::reqwest::Response;
use llm_provider_http::{EventTranslator, protocol};

use crate::errors;
use crate::types::{BlockDelta, ContentBlock, ErrorObject, MessageUsage, StreamEventData};
use crate::wire;

/// Whether the stream goes on after an event (`Finished` once `message_stop` arrived).
pub use llm_provider_http::Progress;

/// Why a stream cannot be translated further.
#[derive(Debug)]
pub enum StreamFailure {
    /// The data is not an Anthropic stream event.
    Malformed(serde_json::Error),
    /// The upstream sent `event: error`.
    Upstream(ErrorObject),
    /// The events break the protocol's order (a delta for an unknown block, content before
    /// `message_start`).
    OutOfOrder(&'static str),
    /// The bytes ended before `message_stop`.
    Incomplete,
}

/// Translates the events of one Anthropic stream into canonical chunks.
#[derive(Debug)]
pub struct StreamTranslator {
    created: u64,
    message: Option<(String, String)>,
    usage: MessageUsage,
    /// `(Anthropic block index, OpenAI tool call index)` of every `tool_use` block so far.
    tool_blocks: Vec<(u32, u32)>,
    finish: Option<FinishReason>,
    finished: bool,
}

impl StreamTranslator {
    /// A translator stamping `created` on every chunk.
    pub fn new(created: u64) -> Self {
        Self {
            created,
            message: None,
            usage: MessageUsage::default(),
            tool_blocks: Vec::new(),
            finish: None,
            finished: false,
        }
    }

    /// Whether `message_stop` has arrived.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Translates one event's `data`, appending the chunks it yields to `out`.
    pub fn push(&mut self, data: &str, out: &mut Vec<ChatChunk>) -> Result<Progress, StreamFailure> {
        let data = data.trim();
        if self.finished {
            return Ok(Progress::Finished);
        }
        if data.is_empty() {
            return Ok(Progress::More);
        }
        let event: StreamEventData = serde_json::from_str(data).map_err(StreamFailure::Malformed)?;
        match event {
            StreamEventData::Ping | StreamEventData::Unknown => {}
            StreamEventData::Error { error } => return Err(StreamFailure::Upstream(error)),
            StreamEventData::MessageStart { message } => {
                if self.message.is_none() {
                    self.usage = message.usage;
                    self.message = Some((message.id, message.model));
                    let delta = Delta {
                        role: Some(Role::Assistant),
                        content: Some(String::new()),
                        ..Delta::default()
                    };
                    out.push(self.chunk(delta, None)?);
                }
            }
            StreamEventData::ContentBlockStart { index, content_block } => match content_block {
                ContentBlock::Text { text } if !text.is_empty() => {
                    out.push(self.chunk(Delta::text(text), None)?);
                }
                ContentBlock::ToolUse { id, name, .. } => {
                    let tool_index = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    self.tool_blocks.push((index, tool_index));
                    let call = tool_delta(tool_index, Some(id), Some(name), String::new());
                    out.push(self.chunk(tool_calls(call), None)?);
                }
                _ => self.require_started()?,
            },
            StreamEventData::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => out.push(self.chunk(Delta::text(text), None)?),
                BlockDelta::InputJsonDelta { partial_json } => {
                    let tool_index = self
                        .tool_blocks
                        .iter()
                        .find_map(|&(block, tool)| (block == index).then_some(tool))
                        .ok_or(StreamFailure::OutOfOrder(
                            "input_json_delta for a block that is not tool_use",
                        ))?;
                    if !partial_json.is_empty() {
                        let call = tool_delta(tool_index, None, None, partial_json);
                        out.push(self.chunk(tool_calls(call), None)?);
                    }
                }
                BlockDelta::ThinkingDelta { .. }
                | BlockDelta::SignatureDelta { .. }
                | BlockDelta::Unsupported => {
                    self.require_started()?;
                }
            },
            StreamEventData::ContentBlockStop { .. } => self.require_started()?,
            StreamEventData::MessageDelta { delta, usage } => {
                self.require_started()?;
                if let Some(reason) = delta.stop_reason {
                    self.finish = Some(wire::finish_reason(reason));
                }
                if let Some(usage) = usage {
                    let known = &mut self.usage;
                    known.input_tokens = usage.input_tokens.unwrap_or(known.input_tokens);
                    known.output_tokens = usage.output_tokens.unwrap_or(known.output_tokens);
                    known.cache_read_input_tokens =
                        usage.cache_read_input_tokens.or(known.cache_read_input_tokens);
                    known.cache_creation_input_tokens = usage
                        .cache_creation_input_tokens
                        .or(known.cache_creation_input_tokens);
                }
            }
            StreamEventData::MessageStop => {
                let finish = self.finish.unwrap_or(FinishReason::Stop);
                out.push(self.chunk(Delta::default(), Some(finish))?);
                let (id, model) = self.started()?;
                out.push(ChatChunk::usage_only(
                    id,
                    model,
                    self.created,
                    wire::usage(&self.usage),
                ));
                self.finished = true;
                return Ok(Progress::Finished);
            }
        }
        Ok(Progress::More)
    }

    fn started(&self) -> Result<(&str, &str), StreamFailure> {
        self.message
            .as_ref()
            .map(|(id, model)| (id.as_str(), model.as_str()))
            .ok_or(StreamFailure::OutOfOrder("content before message_start"))
    }

    fn require_started(&self) -> Result<(), StreamFailure> {
        self.started().map(|_| ())
    }

    fn chunk(&self, delta: Delta, finish: Option<FinishReason>) -> Result<ChatChunk, StreamFailure> {
        let (id, model) = self.started()?;
        Ok(ChatChunk::with_delta(id, model, self.created, delta, finish))
    }
}

fn tool_delta(index: u32, id: Option<String>, name: Option<String>, arguments: String) -> ToolCallDelta {
    ToolCallDelta {
        index,
        kind: id.is_some().then(|| "function".to_owned()),
        id,
        function: Some(FunctionCallDelta {
            name,
            arguments: Some(arguments),
        }),
    }
}

fn tool_calls(call: ToolCallDelta) -> Delta {
    Delta {
        tool_calls: Some(vec![call]),
        ..Delta::default()
    }
}

/// Translates a whole SSE body (bytes as received) into chunks; `Err` unless it ends with
/// `message_stop`. For benches and tests: the provider streams through the shared SSE driver.
pub fn translate_sse(bytes: &[u8], created: u64) -> Result<Vec<ChatChunk>, StreamFailure> {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    parser
        .push(bytes, &mut events)
        .map_err(|_| StreamFailure::OutOfOrder("an SSE line is too long"))?;
    let mut translator = StreamTranslator::new(created);
    let mut chunks = Vec::with_capacity(events.len() + 1);
    for event in &events {
        if translator.push(&event.data, &mut chunks)? == Progress::Finished {
            return Ok(chunks);
        }
    }
    Err(StreamFailure::Incomplete)
}

/// [`StreamTranslator`] as the shared SSE driver's [`EventTranslator`]: failures become errors of
/// `provider`, and a body that ends before `message_stop` is cut.
#[derive(Debug)]
pub(crate) struct AnthropicEvents {
    provider: ProviderId,
    translator: StreamTranslator,
}

impl AnthropicEvents {
    /// A translator for one stream of `provider`, stamping `created` on every chunk.
    pub(crate) fn new(provider: ProviderId, created: u64) -> Self {
        Self {
            provider,
            translator: StreamTranslator::new(created),
        }
    }
}

impl EventTranslator for AnthropicEvents {
    fn push(&mut self, event: &SseEvent, out: &mut Vec<ChatChunk>) -> Result<Progress, LlmError> {
        self.translator
            .push(&event.data, out)
            .map_err(|failure| failure_error(&self.provider, failure))
    }

    fn finish(&mut self, _out: &mut Vec<ChatChunk>) -> Result<(), LlmError> {
        Err(failure_error(&self.provider, StreamFailure::Incomplete))
    }
}

/// The canonical chunks of a streamed response. Needs a Tokio runtime with time enabled when polled.
pub(crate) fn chunk_stream(provider: ProviderId, response: Response, idle_timeout: Duration) -> ChunkStream {
    let translator = AnthropicEvents::new(provider.clone(), llm_core::unix_time_secs());
    llm_provider_http::chunk_stream(provider, response, idle_timeout, translator)
}

fn failure_error(provider: &ProviderId, failure: StreamFailure) -> LlmError {
    match failure {
        StreamFailure::Upstream(detail) => errors::from_stream_error(provider, &detail),
        StreamFailure::Malformed(cause) => protocol(
            provider,
            "the upstream stream sent an event that is not valid JSON of the expected shape",
        )
        .with_cause(cause),
        StreamFailure::OutOfOrder(what) => protocol(
            provider,
            format!("the upstream stream broke the protocol: {what}"),
        ),
        StreamFailure::Incomplete => protocol(provider, "stream ended before message_stop"),
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
