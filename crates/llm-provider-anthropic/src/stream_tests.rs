use std::io;

use bytes::Bytes;
use futures::{Stream, StreamExt, stream};
use llm_core::{ErrorKind, Usage};
use serde_json::{Value, json};

use super::*;

fn sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|event| format!("event: {}\ndata: {event}\n\n", event["type"].as_str().unwrap()))
        .collect()
}

fn start() -> Value {
    json!({"type": "message_start", "message": {"id": "msg_s", "type": "message", "role": "assistant",
        "model": "claude-s", "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 7, "output_tokens": 1}}})
}

fn thinking_then_text() -> Vec<Value> {
    vec![
        start(),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "secret"}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "ping"}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "21"}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "citations_delta", "citation": {}}}),
        json!({"type": "some_future_event", "x": 1}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": null}}),
        json!({"type": "message_stop"}),
    ]
}

#[test]
fn thinking_is_skipped_and_text_kept() {
    let chunks = translate_sse(sse(&thinking_then_text()).as_bytes(), 5).unwrap();
    assert_eq!(chunks.len(), 4);
    assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
    assert_eq!(chunks[1].text_delta(), Some("21"));
    assert_eq!(chunks[2].finish_reason(), Some(FinishReason::Length));
    assert_eq!(chunks[3].usage, Some(Usage::new(7, 1)));
    assert!(
        chunks
            .iter()
            .all(|c| c.id == "msg_s" && c.model == "claude-s" && c.created == 5)
    );
}

#[test]
fn protocol_order_is_enforced() {
    let text = sse(&[
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}}),
    ]);
    assert!(matches!(
        translate_sse(text.as_bytes(), 0),
        Err(StreamFailure::OutOfOrder(_))
    ));
    let text = sse(&[
        start(),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{"}}),
    ]);
    assert!(matches!(
        translate_sse(text.as_bytes(), 0),
        Err(StreamFailure::OutOfOrder(_))
    ));
    let text = sse(&[start()]);
    assert!(matches!(
        translate_sse(text.as_bytes(), 0),
        Err(StreamFailure::Incomplete)
    ));
    let text = "event: content_block_delta\ndata: {\"type\": \"content_block_delta\"}\n\n";
    assert!(matches!(
        translate_sse(text.as_bytes(), 0),
        Err(StreamFailure::Malformed(_))
    ));
}

/// The provider's stream over `bytes`: the shared SSE driver with [`AnthropicEvents`].
fn driven<S>(bytes: S, idle: Duration) -> ChunkStream
where
    S: Stream<Item = Result<Bytes, io::Error>> + Send + Unpin + 'static,
{
    let translator = AnthropicEvents::new("claude".into(), 5);
    llm_provider_http::chunk_stream_from("claude".into(), bytes, idle, translator)
}

fn pieces(parts: Vec<Result<Bytes, io::Error>>) -> ChunkStream {
    driven(stream::iter(parts), Duration::from_secs(5))
}

#[tokio::test]
async fn events_split_anywhere_end_cleanly_at_message_stop() {
    let mut text = sse(&thinking_then_text());
    text.push_str("event: ping\ndata: {\"type\": \"ping\"}\n\n");
    for size in [1, 9, 100, text.len()] {
        let parts = text
            .as_bytes()
            .chunks(size)
            .map(|part| Ok(Bytes::copy_from_slice(part)))
            .collect();
        let items: Vec<_> = pieces(parts).collect().await;
        assert_eq!(items.len(), 4, "piece size {size}");
        assert!(items.iter().all(Result::is_ok), "piece size {size}");
    }
}

#[tokio::test]
async fn transport_failure_is_a_cut_stream() {
    let head = sse(&[start()]);
    let items: Vec<_> = pieces(vec![Ok(Bytes::from(head)), Err(io::Error::other("reset"))])
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    let error = items[1].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
    assert!(
        error.message().contains("the connection failed"),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn a_body_ending_before_message_stop_is_cut() {
    let items: Vec<_> = pieces(vec![Ok(Bytes::from(sse(&[start()])))]).collect().await;
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    let error = items[1].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
    assert_eq!(error.message(), "stream ended before message_stop");
}

#[tokio::test]
async fn failures_become_errors_of_the_provider_after_the_chunks_so_far() {
    let overloaded = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    let out_of_order = json!({"type": "content_block_delta", "index": 3,
        "delta": {"type": "input_json_delta", "partial_json": "{"}});
    for (last, kind) in [
        (overloaded, ErrorKind::ProviderUnavailable),
        (out_of_order, ErrorKind::UpstreamProtocol),
    ] {
        let mut text = sse(&[start(), last]);
        text.push_str(&sse(&[json!({"type": "message_stop"})]));
        let items: Vec<_> = pieces(vec![Ok(Bytes::from(text))]).collect().await;
        assert_eq!(items.len(), 2, "{kind}");
        assert!(items[0].is_ok());
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(error.kind(), kind);
        assert_eq!(error.provider().map(|p| p.as_str()), Some("claude"));
    }
}

#[tokio::test]
async fn idle_gap_times_out_once() {
    let head = stream::iter(vec![Ok::<_, io::Error>(Bytes::from(sse(&[start()])))]);
    let bytes = head.chain(stream::pending());
    let items: Vec<_> = driven(bytes, Duration::from_millis(50)).collect().await;
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
}
