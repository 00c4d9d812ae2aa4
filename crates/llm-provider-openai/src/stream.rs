//! An OpenAI SSE byte stream turned into canonical chunks.
//!
//! The stream ends cleanly only at `data: [DONE]`. Every other end is an `Err` item followed by the
//! end of the stream: an error event, a chunk that is not JSON, an idle gap longer than the idle
//! timeout, a transport failure, or the bytes simply stopping. A cut stream never looks complete.

use std::error::Error as StdError;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use llm_core::sse::{SseStream, SseStreamError};
use llm_core::{ChatChunk, ChunkStream, LlmError, ProviderId};

use crate::errors;
use crate::wire::{self, StreamData};

struct State<S> {
    events: SseStream<S>,
    provider: ProviderId,
    idle_timeout: Duration,
    finished: bool,
}

/// Wraps a response body's byte stream. Needs a Tokio runtime with time enabled when polled.
pub(crate) fn chunk_stream<S, E>(provider: ProviderId, bytes: S, idle_timeout: Duration) -> ChunkStream
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: StdError + Send + Sync + 'static,
{
    let state = State {
        events: SseStream::new(bytes),
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
    if state.finished {
        return None;
    }
    let error = loop {
        let event = match tokio::time::timeout(state.idle_timeout, state.events.next()).await {
            Err(_) => {
                break errors::timeout(&state.provider, "no stream event arrived", state.idle_timeout);
            }
            Ok(None) => break errors::protocol(&state.provider, "stream ended before [DONE]"),
            Ok(Some(Err(SseStreamError::Transport(cause)))) => {
                break errors::protocol(
                    &state.provider,
                    "stream ended before [DONE]: the connection failed",
                )
                .with_cause(cause);
            }
            Ok(Some(Err(SseStreamError::LineTooLong(cause)))) => {
                break errors::protocol(&state.provider, "the upstream stream sent an oversized line")
                    .with_cause(cause);
            }
            Ok(Some(Ok(event))) => event,
        };
        match wire::parse_stream_data(&event.data) {
            StreamData::Chunk(chunk) => return Some((Ok(*chunk), state)),
            StreamData::Skip => continue,
            StreamData::Done => {
                tracing::debug!(provider = %state.provider, "stream finished with [DONE]");
                return None;
            }
            StreamData::Error(detail) => break errors::from_stream_error(&state.provider, &detail),
            StreamData::Malformed(cause) => {
                break errors::protocol(
                    &state.provider,
                    "the upstream stream sent a chunk that is not valid JSON",
                )
                .with_cause(cause);
            }
        }
    };
    tracing::debug!(provider = %state.provider, kind = %error.kind(), "stream failed");
    state.finished = true;
    Some((Err(error), state))
}

#[cfg(test)]
mod tests {
    use std::io;

    use futures::stream;
    use llm_core::ErrorKind;

    use super::*;

    const CHUNK: &str = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#;

    fn pieces(parts: Vec<Result<Bytes, io::Error>>) -> ChunkStream {
        chunk_stream("p".into(), stream::iter(parts), Duration::from_secs(5))
    }

    async fn collect(stream: ChunkStream) -> Vec<Result<ChatChunk, LlmError>> {
        stream.collect().await
    }

    #[tokio::test]
    async fn chunks_split_anywhere_then_done() {
        let text =
            format!("{CHUNK}\n\n: keep-alive\n\ndata:\n\n{CHUNK}\r\n\r\ndata: [DONE]\n\ndata: ignored\n\n");
        for size in [1, 7, 64, text.len()] {
            let parts = text
                .as_bytes()
                .chunks(size)
                .map(|part| Ok(Bytes::copy_from_slice(part)))
                .collect();
            let items = collect(pieces(parts)).await;
            assert_eq!(items.len(), 2, "piece size {size}");
            assert!(
                items
                    .iter()
                    .all(|item| { item.as_ref().is_ok_and(|chunk| chunk.text_delta() == Some("hi")) })
            );
        }
    }

    #[tokio::test]
    async fn transport_failure_is_a_cut_stream() {
        let items = collect(pieces(vec![
            Ok(Bytes::from_static(b"data: {\"id\"")),
            Err(io::Error::other("reset")),
        ]))
        .await;
        assert_eq!(items.len(), 1);
        let error = items[0].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
        assert!(error.message().contains("before [DONE]"));
    }

    #[tokio::test]
    async fn idle_gap_times_out_once() {
        let head = stream::iter(vec![Ok::<_, io::Error>(Bytes::from(format!("{CHUNK}\n\n")))]);
        let bytes = head.chain(stream::pending());
        let items = collect(chunk_stream("p".into(), bytes, Duration::from_millis(50))).await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    }
}
