//! Server-Sent-Events encoding: OpenAI's chunk stream and the simple API's event stream.
//!
//! A failure mid-stream becomes an error event and closes the stream; only a clean end gets
//! `data: [DONE]` (OpenAI) or `event: done` (simple API), so a cut stream never looks finished.

use std::convert::Infallible;
use std::time::Instant;

use actix_web::web::{BufMut, Bytes, BytesMut};
use futures::{Stream, StreamExt, stream};
use llm_core::{ChatChunk, ChunkStream, FinishReason, LlmError, ProviderId, ToolCallDelta, Usage};
use llm_provider_anthropic::ingress::MessagesStreamEncoder;
use serde::Serialize;

use crate::error::ApiError;

const DONE: &[u8] = b"data: [DONE]\n\n";

/// Appends `data: {json}\n\n`, optionally preceded by `event: {name}\n`.
fn encode_event(event: Option<&str>, payload: &impl Serialize, out: &mut BytesMut) {
    if let Some(name) = event {
        out.put_slice(b"event: ");
        out.put_slice(name.as_bytes());
        out.put_u8(b'\n');
    }
    out.put_slice(b"data: ");
    let mut writer = out.writer();
    if serde_json::to_writer(&mut writer, payload).is_err() {
        // Serializing our own types cannot fail; if it ever does, send an empty object, not garbage.
        writer.get_mut().put_slice(b"{}");
    }
    writer.into_inner().put_slice(b"\n\n");
}

/// One OpenAI SSE frame for a chunk.
pub fn encode_openai_chunk(chunk: &ChatChunk) -> Bytes {
    let mut out = BytesMut::with_capacity(256);
    encode_event(None, chunk, &mut out);
    out.freeze()
}

fn encode_error(event: Option<&str>, error: LlmError) -> Bytes {
    let error = ApiError::from(error);
    let mut out = BytesMut::with_capacity(256);
    encode_event(event, &error.body(), &mut out);
    out.freeze()
}

/// The OpenAI SSE body for a chunk stream. Usage is only shown when the client asked for it.
pub fn openai_sse(chunks: ChunkStream, include_usage: bool) -> impl Stream<Item = Result<Bytes, Infallible>> {
    stream::unfold(Some(chunks), move |state| async move {
        let mut chunks = state?;
        loop {
            match chunks.next().await {
                Some(Ok(mut chunk)) => {
                    if !include_usage {
                        if chunk.choices.is_empty() {
                            continue;
                        }
                        chunk.usage = None;
                    }
                    return Some((Ok(encode_openai_chunk(&chunk)), Some(chunks)));
                }
                Some(Err(error)) => return Some((Ok(encode_error(None, error)), None)),
                None => return Some((Ok(Bytes::from_static(DONE)), None)),
            }
        }
    })
}

/// Anthropic's SSE body for a chunk stream: `message_start` ... `message_stop`, or an `error` event
/// in Anthropic's shape when the provider fails; a cut stream never reaches `message_stop`.
pub(crate) fn anthropic_sse(chunks: ChunkStream) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let state = (chunks, MessagesStreamEncoder::new());
    stream::unfold(Some(state), |state| async move {
        let (mut chunks, mut encoder) = state?;
        loop {
            let (events, more) = match chunks.next().await {
                Some(Ok(chunk)) => (encoder.push(&chunk), true),
                Some(Err(error)) => {
                    let error = ApiError::from(error);
                    let mut out = BytesMut::with_capacity(256);
                    encode_event(Some("error"), &error.anthropic_body(), &mut out);
                    return Some((Ok(out.freeze()), None));
                }
                None => (encoder.finish(), false),
            };
            if events.is_empty() {
                if more {
                    continue;
                }
                return None;
            }
            let mut out = BytesMut::with_capacity(256 * events.len());
            for event in &events {
                encode_event(Some(event.name), &event.data, &mut out);
            }
            return Some((Ok(out.freeze()), more.then_some((chunks, encoder))));
        }
    })
}

/// The `data` of the simple API's `delta` event.
#[derive(Serialize)]
struct TextDelta<'a> {
    content: &'a str,
}

/// The `data` of the simple API's final `done` event.
#[derive(Serialize)]
struct Finished<'a> {
    id: &'a str,
    model: &'a str,
    provider: &'a ProviderId,
    finish_reason: Option<FinishReason>,
    usage: Option<&'a Usage>,
    cached: bool,
    latency_ms: u64,
}

/// What the simple stream remembers between chunks.
struct SimpleStreamState {
    chunks: ChunkStream,
    provider: ProviderId,
    cached: bool,
    received_at: Instant,
    id: String,
    model: String,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
}

impl SimpleStreamState {
    /// The frames one chunk produces: text as `delta`, tool-call pieces as `tool_call`.
    fn frames(&mut self, chunk: ChatChunk) -> Option<Bytes> {
        if self.id.is_empty() {
            self.id = chunk.id.clone();
            self.model = chunk.model.clone();
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        let mut out = BytesMut::new();
        for choice in chunk.choices {
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
            }
            if let Some(content) = choice.delta.content.as_deref().filter(|text| !text.is_empty()) {
                encode_event(Some("delta"), &TextDelta { content }, &mut out);
            }
            for call in choice.delta.tool_calls.iter().flatten() {
                encode_event(Some("tool_call"), call as &ToolCallDelta, &mut out);
            }
        }
        (!out.is_empty()).then(|| out.freeze())
    }

    fn finished(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(256);
        let latency_ms = u64::try_from(self.received_at.elapsed().as_millis()).unwrap_or(u64::MAX);
        let finished = Finished {
            id: &self.id,
            model: &self.model,
            provider: &self.provider,
            finish_reason: self.finish_reason,
            usage: self.usage.as_ref(),
            cached: self.cached,
            latency_ms,
        };
        encode_event(Some("done"), &finished, &mut out);
        out.freeze()
    }
}

/// The simple API's SSE body: `delta` and `tool_call` events, then `done` with finish reason and
/// usage, or `error`.
pub(crate) fn simple_sse(
    chunks: ChunkStream,
    provider: ProviderId,
    cached: bool,
    received_at: Instant,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let state = SimpleStreamState {
        chunks,
        provider,
        cached,
        received_at,
        id: String::new(),
        model: String::new(),
        finish_reason: None,
        usage: None,
    };
    stream::unfold(Some(state), |state| async move {
        let mut state = state?;
        loop {
            match state.chunks.next().await {
                Some(Ok(chunk)) => {
                    if let Some(frames) = state.frames(chunk) {
                        return Some((Ok(frames), Some(state)));
                    }
                }
                Some(Err(error)) => return Some((Ok(encode_error(Some("error"), error)), None)),
                None => return Some((Ok(state.finished()), None)),
            }
        }
    })
}
