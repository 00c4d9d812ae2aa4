//! What a stream must pass before and while it reaches the client.
//!
//! - [`until_first_content`]: nothing is sent until the first chunk with content (text or a tool
//!   call) arrives, so a failure before it is an ordinary failed attempt that can be retried or fall
//!   back, invisible to the client. The chunks read meanwhile are replayed in front of the rest.
//! - [`with_deadline`]: the request's deadline also bounds the stream; when it passes mid-stream the
//!   stream ends with a `timeout` error (never a silent clean end).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt, stream};
use llm_core::{ChatChunk, ChunkStream, LlmError};
use tokio::time::{Instant, Sleep};

use crate::attempts::deadline_passed;

/// Reads `chunks` up to the first chunk with content (or the end); an error before it fails the
/// attempt. Returns the stream with what was read put back in front.
pub(crate) async fn until_first_content(mut chunks: ChunkStream) -> Result<ChunkStream, LlmError> {
    let mut read = Vec::new();
    while let Some(item) = chunks.next().await {
        let chunk = item?;
        let content = chunk.has_content();
        read.push(Ok(chunk));
        if content {
            break;
        }
    }
    Ok(Box::pin(stream::iter(read).chain(chunks)))
}

/// `chunks`, ended with a `timeout` error when `deadline` passes first.
pub(crate) fn with_deadline(chunks: ChunkStream, deadline: Instant, timeout: Duration) -> ChunkStream {
    Box::pin(Deadlined {
        chunks,
        sleep: Box::pin(tokio::time::sleep_until(deadline)),
        timeout,
        done: false,
    })
}

struct Deadlined {
    chunks: ChunkStream,
    sleep: Pin<Box<Sleep>>,
    timeout: Duration,
    done: bool,
}

impl Stream for Deadlined {
    type Item = Result<ChatChunk, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = self.chunks.as_mut().poll_next(cx) {
            self.done = item.is_none();
            return Poll::Ready(item);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.done = true;
                Poll::Ready(Some(Err(deadline_passed(self.timeout))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_core::{ErrorKind, ProviderId};

    fn chunk(text: &str) -> ChatChunk {
        serde_json::from_value(serde_json::json!({
            "id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": null}]
        }))
        .unwrap()
    }

    fn failure() -> LlmError {
        LlmError::from_provider(&ProviderId::new("p"), ErrorKind::ProviderUnavailable, "down")
    }

    #[tokio::test]
    async fn a_failure_before_content_fails_the_attempt() {
        let chunks: ChunkStream = Box::pin(stream::iter(vec![Ok(chunk("")), Err(failure())]));
        let error = until_first_content(chunks).await.err().unwrap();
        assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    }

    #[tokio::test]
    async fn content_opens_the_gate_and_nothing_is_lost() {
        let chunks: ChunkStream = Box::pin(stream::iter(vec![
            Ok(chunk("")),
            Ok(chunk("hello")),
            Ok(chunk(" world")),
            Err(failure()),
        ]));
        let gated = until_first_content(chunks).await.unwrap();
        let items: Vec<_> = gated.collect().await;
        assert_eq!(items.len(), 4);
        assert_eq!(
            items[1].as_ref().unwrap().choices[0].delta.content.as_deref(),
            Some("hello")
        );
        assert!(
            items[3].is_err(),
            "a failure after content still reaches the client"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_ends_a_stalled_stream_with_a_timeout() {
        let chunks: ChunkStream = Box::pin(stream::iter(vec![Ok(chunk("a"))]).chain(stream::pending()));
        let deadline = Instant::now() + Duration::from_millis(500);
        let items: Vec<_> = with_deadline(chunks, deadline, Duration::from_millis(500))
            .collect()
            .await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_ref().err().unwrap().kind(), ErrorKind::Timeout);
    }
}
