//! A Gemini stream's events turned into canonical chunks.
//!
//! Each `data:` event is a whole `GenerateContentResponse`. Per candidate, the first chunk carries
//! `role: assistant`; text arrives as content deltas; each `functionCall` arrives whole and becomes
//! one complete tool call delta, indexed 0, 1, ... in order over the whole stream.
//!
//! Gemini has no terminator. Older models repeat `finishReason` on every event, so the reason is
//! remembered per candidate and sent when the body ends: then come one finish chunk per candidate
//! (empty delta, as OpenAI sends it) and, when usage was reported, a usage-only chunk built from the
//! last `usageMetadata`. A body that ends before every candidate has a finish reason is a fault.

use llm_core::sse::SseParser;
use llm_core::{ChatChunk, ChunkChoice, Delta, FinishReason, FunctionCallDelta, Role, ToolCallDelta, Usage};

use super::response::{
    CallIds, ErrorStatus, GenerateContentResponse, finish_reason, generated_id, split_parts,
};

/// Why a stream cannot go on.
#[derive(Debug)]
pub enum StreamFault {
    /// The prompt was blocked (`promptFeedback.blockReason`).
    PromptBlocked(String),
    /// An error object arrived instead of a response.
    Error(ErrorStatus),
    /// An event that is not a `GenerateContentResponse`.
    Malformed(serde_json::Error),
    /// The body ended before every candidate had a finish reason (or in the middle of an event).
    Unfinished,
    /// A line longer than the SSE parser accepts.
    Oversized,
}

struct CandidateState {
    index: u32,
    role_sent: bool,
    tool_calls: u32,
    finish: Option<String>,
}

/// The translation state of one stream.
pub struct StreamTranslator {
    requested_model: String,
    id: Option<String>,
    model: Option<String>,
    created: u64,
    call_ids: CallIds,
    calls_seen: u32,
    candidates: Vec<CandidateState>,
    usage: Option<Usage>,
}

impl StreamTranslator {
    /// A translator for a stream of `requested_model` (the name used when Gemini sends no
    /// `modelVersion`).
    pub fn new(requested_model: &str) -> Self {
        Self {
            requested_model: requested_model.to_owned(),
            id: None,
            model: None,
            created: llm_core::unix_time_secs(),
            call_ids: CallIds::new(),
            calls_seen: 0,
            candidates: Vec::new(),
            usage: None,
        }
    }

    /// Interprets one event's `data`, appending the chunks it yields to `out`.
    pub fn push_data(&mut self, data: &str, out: &mut Vec<ChatChunk>) -> Result<(), StreamFault> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        let event = serde_json::from_str(data).map_err(StreamFault::Malformed)?;
        self.push(event, out)
    }

    /// Interprets one parsed event, appending the chunks it yields to `out`.
    pub fn push(
        &mut self,
        event: GenerateContentResponse,
        out: &mut Vec<ChatChunk>,
    ) -> Result<(), StreamFault> {
        if let Some(error) = event.error {
            return Err(StreamFault::Error(error));
        }
        if let Some(reason) = event.block_reason() {
            return Err(StreamFault::PromptBlocked(reason.to_owned()));
        }
        if self.id.is_none() {
            self.id = Some(event.response_id.unwrap_or_else(generated_id));
        }
        if self.model.is_none() {
            self.model = event.model_version;
        }
        if let Some(usage) = &event.usage_metadata {
            self.usage = Some(usage.to_usage());
        }
        for (position, candidate) in event.candidates.into_iter().enumerate() {
            let index = candidate
                .index
                .unwrap_or(u32::try_from(position).unwrap_or(u32::MAX));
            let parts = candidate.content.map(|content| content.parts).unwrap_or_default();
            let (text, calls) = split_parts(parts, &self.call_ids, &mut self.calls_seen);
            let state = self.state(index);
            if let Some(reason) = candidate.finish_reason {
                state.finish = Some(reason);
            }
            let mut delta = Delta {
                content: text,
                ..Delta::default()
            };
            if !calls.is_empty() {
                let first = state.tool_calls;
                state.tool_calls += u32::try_from(calls.len()).unwrap_or(u32::MAX);
                delta.tool_calls = Some(
                    calls
                        .into_iter()
                        .zip(first..)
                        .map(|(call, index)| ToolCallDelta {
                            index,
                            id: Some(call.id),
                            kind: Some(call.kind),
                            function: Some(FunctionCallDelta {
                                name: Some(call.function.name),
                                arguments: Some(call.function.arguments),
                            }),
                        })
                        .collect(),
                );
            }
            if delta.content.is_none() && delta.tool_calls.is_none() {
                continue;
            }
            if !state.role_sent {
                state.role_sent = true;
                delta.role = Some(Role::Assistant);
            }
            let chunk = self.chunk(index, delta, None);
            out.push(chunk);
        }
        Ok(())
    }

    /// The body ended: the finish chunks and the usage chunk, or a fault when the answer is unfinished.
    pub fn finish(&mut self, out: &mut Vec<ChatChunk>) -> Result<(), StreamFault> {
        if self.candidates.is_empty() || self.candidates.iter().any(|state| state.finish.is_none()) {
            return Err(StreamFault::Unfinished);
        }
        let finishes: Vec<(u32, FinishReason)> = self
            .candidates
            .iter()
            .filter_map(|state| {
                let raw = state.finish.as_deref()?;
                Some((state.index, finish_reason(raw, state.tool_calls > 0)))
            })
            .collect();
        for (index, reason) in finishes {
            let chunk = self.chunk(index, Delta::default(), Some(reason));
            out.push(chunk);
        }
        if let Some(usage) = self.usage.take() {
            out.push(ChatChunk::usage_only(
                self.id(),
                self.model(),
                self.created,
                usage,
            ));
        }
        Ok(())
    }

    fn state(&mut self, index: u32) -> &mut CandidateState {
        let at = match self.candidates.iter().position(|state| state.index == index) {
            Some(at) => at,
            None => {
                self.candidates.push(CandidateState {
                    index,
                    role_sent: false,
                    tool_calls: 0,
                    finish: None,
                });
                self.candidates.len() - 1
            }
        };
        &mut self.candidates[at]
    }

    fn id(&self) -> String {
        self.id.clone().unwrap_or_default()
    }

    fn model(&self) -> String {
        self.model.clone().unwrap_or_else(|| self.requested_model.clone())
    }

    fn chunk(&self, index: u32, delta: Delta, finish_reason: Option<FinishReason>) -> ChatChunk {
        ChatChunk {
            id: self.id(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model(),
            choices: vec![ChunkChoice {
                index,
                delta,
                finish_reason,
                logprobs: None,
            }],
            usage: None,
            system_fingerprint: None,
        }
    }
}

/// Translates a whole SSE body held in memory, as a stream would, ending with the finish and usage
/// chunks. For benches, tests and replays.
pub fn translate_stream_bytes(requested_model: &str, body: &[u8]) -> Result<Vec<ChatChunk>, StreamFault> {
    let mut parser = SseParser::default();
    let mut events = Vec::new();
    parser
        .push(body, &mut events)
        .map_err(|_| StreamFault::Oversized)?;
    if parser.has_partial_event() {
        return Err(StreamFault::Unfinished);
    }
    let mut translator = StreamTranslator::new(requested_model);
    let mut chunks = Vec::with_capacity(events.len() + 2);
    for event in &events {
        translator.push_data(&event.data, &mut chunks)?;
    }
    translator.finish(&mut chunks)?;
    Ok(chunks)
}

#[cfg(test)]
#[path = "chunks_tests.rs"]
mod tests;
