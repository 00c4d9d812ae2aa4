//! A Gemini SSE byte stream (`:streamGenerateContent?alt=sse`) turned into canonical chunks.
//!
//! Gemini sends no terminator, so the stream ends cleanly only when the body ends after every
//! candidate has reported a finish reason; the finish and usage chunks come then. Every other end is
//! an `Err` item followed by the end of the stream: an error event, a blocked prompt, an event that is
//! not JSON, an idle gap longer than the idle timeout, a transport failure, or the body stopping before
//! a finish reason or in the middle of an event. A cut stream never looks complete.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use llm_core::sse::{SseStream, SseStreamError};
use llm_core::{ChatChunk, ChunkStream, LlmError, ProviderId};

use crate::errors;
use crate::wire::{StreamFault, StreamTranslator};

struct State<S> {
    events: SseStream<S>,
    translator: StreamTranslator,
    ready: VecDeque<ChatChunk>,
    scratch: Vec<ChatChunk>,
    provider: ProviderId,
    idle_timeout: Duration,
    finished: bool,
}

/// Wraps a response body's byte stream. Needs a Tokio runtime with time enabled when polled.
pub(crate) fn chunk_stream<S, E>(
    provider: ProviderId,
    model: &str,
    bytes: S,
    idle_timeout: Duration,
) -> ChunkStream
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: StdError + Send + Sync + 'static,
{
    let state = State {
        events: SseStream::new(bytes),
        translator: StreamTranslator::new(model),
        ready: VecDeque::new(),
        scratch: Vec::new(),
        provider,
        idle_timeout,
        finished: false,
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
        if state.finished {
            return None;
        }
        let event = match tokio::time::timeout(state.idle_timeout, state.events.next()).await {
            Err(_) => {
                break errors::timeout(&state.provider, "no stream event arrived", state.idle_timeout);
            }
            Ok(None) => {
                let ended = if state.events.ended_mid_event() {
                    Err(StreamFault::Unfinished)
                } else {
                    state.translator.finish(&mut state.scratch)
                };
                if let Err(fault) = ended {
                    break errors::from_stream_fault(&state.provider, fault);
                }
                tracing::debug!(provider = %state.provider, "stream finished");
                state.finished = true;
                state.ready.extend(state.scratch.drain(..));
                continue;
            }
            Ok(Some(Err(SseStreamError::Transport(cause)))) => {
                break errors::protocol(
                    &state.provider,
                    "the stream ended before a finish reason: the connection failed",
                )
                .with_cause(cause);
            }
            Ok(Some(Err(SseStreamError::LineTooLong(_)))) => {
                break errors::from_stream_fault(&state.provider, StreamFault::Oversized);
            }
            Ok(Some(Ok(event))) => event,
        };
        if let Err(fault) = state.translator.push_data(&event.data, &mut state.scratch) {
            break errors::from_stream_fault(&state.provider, fault);
        }
        state.ready.extend(state.scratch.drain(..));
    };
    tracing::debug!(provider = %state.provider, kind = %error.kind(), "stream failed");
    state.finished = true;
    state.ready.clear();
    Some((Err(error), state))
}

#[cfg(test)]
mod tests {
    use std::io;

    use futures::stream;
    use llm_core::{ErrorKind, FinishReason};

    use super::*;

    const EVENT: &str = r#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"hi"}]}}],"modelVersion":"gemini-x"}"#;
    const LAST: &str = r#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"!"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}"#;

    fn pieces(parts: Vec<Result<Bytes, io::Error>>) -> ChunkStream {
        chunk_stream(
            "g".into(),
            "gemini-x",
            stream::iter(parts),
            Duration::from_secs(5),
        )
    }

    async fn collect(stream: ChunkStream) -> Vec<Result<ChatChunk, LlmError>> {
        stream.collect().await
    }

    #[tokio::test]
    async fn events_split_anywhere_end_with_finish_and_usage() {
        let text = format!("{EVENT}\r\n\r\n: comment\r\n\r\n{LAST}\r\n\r\n");
        for size in [1, 7, 64, text.len()] {
            let parts = text
                .as_bytes()
                .chunks(size)
                .map(|part| Ok(Bytes::copy_from_slice(part)))
                .collect();
            let items: Vec<ChatChunk> = collect(pieces(parts))
                .await
                .into_iter()
                .map(Result::unwrap)
                .collect();
            assert_eq!(items.len(), 4, "piece size {size}");
            assert_eq!(items[0].text_delta(), Some("hi"));
            assert_eq!(items[1].text_delta(), Some("!"));
            assert_eq!(items[2].finish_reason(), Some(FinishReason::Stop));
            assert_eq!(items[3].usage.as_ref().map(|usage| usage.total_tokens), Some(5));
        }
    }

    #[tokio::test]
    async fn transport_failure_is_a_cut_stream() {
        let items = collect(pieces(vec![
            Ok(Bytes::from(format!("{EVENT}\n\n"))),
            Err(io::Error::other("reset")),
        ]))
        .await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
        assert!(error.message().contains("before a finish reason"));
    }

    #[tokio::test]
    async fn a_body_ending_mid_event_is_cut_even_after_a_finish() {
        let items = collect(pieces(vec![Ok(Bytes::from(format!("{LAST}\n\n{EVENT}")))])).await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::UpstreamProtocol);
    }

    #[tokio::test]
    async fn idle_gap_times_out_once() {
        let head = stream::iter(vec![Ok::<_, io::Error>(Bytes::from(format!("{EVENT}\n\n")))]);
        let bytes = head.chain(stream::pending());
        let items = collect(chunk_stream("g".into(), "m", bytes, Duration::from_millis(50))).await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    }
}
