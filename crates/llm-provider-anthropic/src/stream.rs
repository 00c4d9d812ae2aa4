//! Anthropic's SSE stream turned into canonical chunks.
//!
//! [`StreamTranslator`] is the pure part: one event's `data` in, zero or more chunks out. It needs no
//! HTTP, so benches and tests can drive it with bytes ([`translate_sse`]). [`chunk_stream`] wraps a
//! response body with it. The stream ends cleanly only after `message_stop`; every other end is an
//! `Err` item followed by the end of the stream: an `event: error`, data that is not an event, an idle
//! gap longer than the idle timeout, a transport failure, or the bytes simply stopping.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use llm_core::sse::{SseParser, SseStream, SseStreamError};
use llm_core::{
    ChatChunk, ChunkStream, Delta, FinishReason, FunctionCallDelta, LlmError, ProviderId, Role, ToolCallDelta,
};

use crate::errors;
use crate::types::{BlockDelta, ContentBlock, ErrorObject, MessageUsage, StreamEventData};
use crate::wire;

/// Whether the stream goes on after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// More events are expected.
    More,
    /// `message_stop` arrived: the answer is complete.
    Finished,
}

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
/// `message_stop`. For benches and tests: the provider streams with [`chunk_stream`].
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

struct State<S> {
    events: SseStream<S>,
    translator: StreamTranslator,
    ready: VecDeque<ChatChunk>,
    scratch: Vec<ChatChunk>,
    provider: ProviderId,
    idle_timeout: Duration,
    failed: bool,
}

/// Wraps a response body's byte stream. Needs a Tokio runtime with time enabled when polled.
pub(crate) fn chunk_stream<S, E>(provider: ProviderId, bytes: S, idle_timeout: Duration) -> ChunkStream
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: StdError + Send + Sync + 'static,
{
    let state = State {
        events: SseStream::new(bytes),
        translator: StreamTranslator::new(llm_core::unix_time_secs()),
        ready: VecDeque::new(),
        scratch: Vec::new(),
        provider,
        idle_timeout,
        failed: false,
    };
    Box::pin(futures::stream::unfold(state, next_item))
}

async fn next_item<S, E>(mut state: State<S>) -> Option<(Result<ChatChunk, LlmError>, State<S>)>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: StdError + Send + Sync + 'static,
{
    let error = loop {
        if let Some(chunk) = state.ready.pop_front() {
            return Some((Ok(chunk), state));
        }
        if state.failed || state.translator.is_finished() {
            return None;
        }
        let event = match tokio::time::timeout(state.idle_timeout, state.events.next()).await {
            Err(_) => break errors::timeout(&state.provider, "no stream event arrived", state.idle_timeout),
            Ok(None) => break errors::protocol(&state.provider, "stream ended before message_stop"),
            Ok(Some(Err(SseStreamError::Transport(cause)))) => {
                break errors::protocol(
                    &state.provider,
                    "stream ended before message_stop: the connection failed",
                )
                .with_cause(cause);
            }
            Ok(Some(Err(SseStreamError::LineTooLong(cause)))) => {
                break errors::protocol(&state.provider, "the upstream stream sent an oversized line")
                    .with_cause(cause);
            }
            Ok(Some(Ok(event))) => event,
        };
        let result = state.translator.push(&event.data, &mut state.scratch);
        state.ready.extend(state.scratch.drain(..));
        match result {
            Ok(Progress::More) => {}
            Ok(Progress::Finished) => {
                tracing::debug!(provider = %state.provider, "stream finished with message_stop");
            }
            Err(failure) => break failure_error(&state.provider, failure),
        }
    };
    tracing::debug!(provider = %state.provider, kind = %error.kind(), "stream failed");
    state.failed = true;
    state.ready.clear();
    Some((Err(error), state))
}

fn failure_error(provider: &ProviderId, failure: StreamFailure) -> LlmError {
    match failure {
        StreamFailure::Upstream(detail) => errors::from_stream_error(provider, &detail),
        StreamFailure::Malformed(cause) => errors::protocol(
            provider,
            "the upstream stream sent an event that is not valid JSON of the expected shape",
        )
        .with_cause(cause),
        StreamFailure::OutOfOrder(what) => errors::protocol(
            provider,
            format!("the upstream stream broke the protocol: {what}"),
        ),
        StreamFailure::Incomplete => errors::protocol(provider, "stream ended before message_stop"),
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
