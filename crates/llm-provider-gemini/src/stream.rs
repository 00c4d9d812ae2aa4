//! Gemini's SSE protocol (`:streamGenerateContent?alt=sse`) as an [`EventTranslator`] for
//! `llm-provider-http`'s stream driver.
//!
//! Gemini sends no terminator, so every event is [`Progress::More`] and the stream ends cleanly only
//! when the body ends after every candidate has reported a finish reason; the finish and usage chunks
//! come then. An error event, a blocked prompt or an event that is not JSON ends the stream with an
//! `Err` item, and so does a body that stops before a finish reason. Idle gaps, transport failures,
//! oversized lines and bodies cut mid-event are the driver's to report.

use llm_core::sse::SseEvent;
use llm_core::{ChatChunk, LlmError, ProviderId};
use llm_provider_http::{EventTranslator, Progress};

use crate::errors;
use crate::wire::StreamTranslator;

/// One Gemini stream's translation state, with the provider id its errors name.
pub(crate) struct GeminiEvents {
    provider: ProviderId,
    translator: StreamTranslator,
}

impl GeminiEvents {
    /// A translator for a stream of `model` (the name used when Gemini sends no `modelVersion`).
    pub(crate) fn new(provider: ProviderId, model: &str) -> Self {
        Self {
            provider,
            translator: StreamTranslator::new(model),
        }
    }
}

impl EventTranslator for GeminiEvents {
    fn push(&mut self, event: &SseEvent, out: &mut Vec<ChatChunk>) -> Result<Progress, LlmError> {
        self.translator
            .push_data(&event.data, out)
            .map(|()| Progress::More)
            .map_err(|fault| errors::from_stream_fault(&self.provider, fault))
    }

    fn finish(&mut self, out: &mut Vec<ChatChunk>) -> Result<(), LlmError> {
        self.translator
            .finish(out)
            .map_err(|fault| errors::from_stream_fault(&self.provider, fault))
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::time::Duration;

    use bytes::Bytes;
    use futures::{StreamExt, stream};
    use llm_core::{ChunkStream, ErrorKind, FinishReason};
    use llm_provider_http::chunk_stream_from;

    use super::*;

    const EVENT: &str = r#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"hi"}]}}],"modelVersion":"gemini-x"}"#;
    const LAST: &str = r#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"!"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}"#;

    fn chunk_stream<S>(bytes: S, idle: Duration) -> ChunkStream
    where
        S: futures::Stream<Item = Result<Bytes, io::Error>> + Send + Unpin + 'static,
    {
        chunk_stream_from("g".into(), bytes, idle, GeminiEvents::new("g".into(), "gemini-x"))
    }

    fn pieces(parts: Vec<Result<Bytes, io::Error>>) -> ChunkStream {
        chunk_stream(stream::iter(parts), Duration::from_secs(5))
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
    async fn a_body_ending_before_a_finish_reason_is_cut() {
        let items = collect(pieces(vec![Ok(Bytes::from(format!("{EVENT}\n\n")))])).await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
        assert!(error.message().contains("before a finish reason"));
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
        assert!(error.message().contains("the stream was cut"));
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
        let items = collect(chunk_stream(bytes, Duration::from_millis(50))).await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    }
}
