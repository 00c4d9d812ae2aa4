//! OpenAI's stream protocol as an [`EventTranslator`] for the shared SSE driver.
//!
//! The stream ends cleanly only at `data: [DONE]`. An error event, a chunk that is not JSON, or a
//! body that ends before `[DONE]` ends it with an `Err` item; the driver adds idle gaps, transport
//! failures and bodies cut mid-event. A cut stream never looks complete.

use llm_core::sse::SseEvent;
use llm_core::{ChatChunk, LlmError, ProviderId};
use llm_provider_http::{EventTranslator, Progress, protocol};

use crate::errors;
use crate::wire::{self, StreamData};

/// Translates one OpenAI stream's events into canonical chunks.
#[derive(Debug)]
pub(crate) struct OpenAiEvents {
    provider: ProviderId,
}

impl OpenAiEvents {
    pub(crate) fn new(provider: ProviderId) -> Self {
        Self { provider }
    }
}

impl EventTranslator for OpenAiEvents {
    fn push(&mut self, event: &SseEvent, out: &mut Vec<ChatChunk>) -> Result<Progress, LlmError> {
        match wire::parse_stream_data(&event.data) {
            StreamData::Chunk(chunk) => {
                out.push(*chunk);
                Ok(Progress::More)
            }
            StreamData::Skip => Ok(Progress::More),
            StreamData::Done => Ok(Progress::Finished),
            StreamData::Error(detail) => Err(errors::from_stream_error(&self.provider, &detail)),
            StreamData::Malformed(cause) => Err(protocol(
                &self.provider,
                "the upstream stream sent a chunk that is not valid JSON",
            )
            .with_cause(cause)),
        }
    }

    fn finish(&mut self, _out: &mut Vec<ChatChunk>) -> Result<(), LlmError> {
        Err(protocol(&self.provider, "stream ended before [DONE]"))
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::time::Duration;

    use bytes::Bytes;
    use futures::{StreamExt, stream};
    use llm_core::{ChunkStream, ErrorKind};
    use llm_provider_http::chunk_stream_from;

    use super::*;

    const CHUNK: &str = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#;

    fn pieces(parts: Vec<Result<Bytes, io::Error>>) -> ChunkStream {
        chunk_stream_from(
            "p".into(),
            stream::iter(parts),
            Duration::from_secs(5),
            OpenAiEvents::new("p".into()),
        )
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
    async fn an_end_before_done_is_a_cut_stream() {
        let items = collect(pieces(vec![Ok(Bytes::from(format!("{CHUNK}\n\n")))])).await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
        assert_eq!(error.message(), "stream ended before [DONE]");
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
        assert!(
            error.message().contains("the stream was cut"),
            "{}",
            error.message()
        );
    }

    #[tokio::test]
    async fn error_events_and_malformed_chunks_end_the_stream_after_earlier_chunks() {
        let error_event = r#"data: {"error":{"message":"overloaded","type":"server_error"}}"#;
        let text = format!("{CHUNK}\n\n{error_event}\n\n{CHUNK}\n\ndata: [DONE]\n\n");
        let items = collect(pieces(vec![Ok(Bytes::from(text))])).await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
        assert_eq!(error.message(), "overloaded");

        let text = format!("{CHUNK}\n\ndata: {{\"choices\": [{{]}}\n\n{CHUNK}\n\ndata: [DONE]\n\n");
        let items = collect(pieces(vec![Ok(Bytes::from(text))])).await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::UpstreamProtocol);
    }

    #[tokio::test]
    async fn idle_gap_times_out_once() {
        let head = stream::iter(vec![Ok::<_, io::Error>(Bytes::from(format!("{CHUNK}\n\n")))]);
        let bytes = head.chain(stream::pending());
        let items = collect(chunk_stream_from(
            "p".into(),
            bytes,
            Duration::from_millis(50),
            OpenAiEvents::new("p".into()),
        ))
        .await;
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    }
}
