//! `stream` against a wiremock upstream sending Anthropic-shaped SSE.

use std::collections::BTreeMap;

use llm_core::{ChatChunk, ErrorKind, FinishReason, LlmError, Provider, Role, Usage};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::common::{
    MESSAGES_PATH, block_stop, collect, json_delta, message_delta, message_start, message_stop, mount_sse,
    ping, request, sent_body, server_and_provider, sse, text_delta, text_start, text_stream, tool_start,
};

async fn stream_items(events: &[Value]) -> Vec<Result<ChatChunk, LlmError>> {
    let (server, provider) = server_and_provider().await;
    mount_sse(&server, sse(events)).await;
    collect(provider.stream("claude-test", &request()).await.unwrap()).await
}

fn all_ok(items: Vec<Result<ChatChunk, LlmError>>) -> Vec<ChatChunk> {
    items.into_iter().map(Result::unwrap).collect()
}

#[tokio::test]
async fn text_stream_yields_role_text_finish_and_usage_then_ends() {
    let (server, provider) = server_and_provider().await;
    mount_sse(&server, sse(&text_stream("end_turn"))).await;

    let chunks = all_ok(collect(provider.stream("claude-test", &request()).await.unwrap()).await);

    assert_eq!(chunks.len(), 5);
    assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
    assert_eq!(chunks[0].text_delta(), Some(""));
    assert_eq!(chunks[1].text_delta(), Some("Os"));
    assert_eq!(chunks[2].text_delta(), Some("lo."));
    assert_eq!(chunks[3].text_delta(), None);
    assert_eq!(chunks[3].finish_reason(), Some(FinishReason::Stop));
    assert!(chunks[4].choices.is_empty());
    assert_eq!(chunks[4].usage, Some(Usage::new(21, 3)));
    assert!(chunks.iter().all(|c| c.id == "msg_stream_1"
        && c.model == "claude-test-20250101"
        && c.object == "chat.completion.chunk"));

    let body = sent_body(&server).await;
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["model"], json!("claude-test"));
    assert!(body.get("stream_options").is_none(), "{body}");
    assert!(body.get("logit_bias").is_none(), "{body}");
}

/// Reassembles the tool calls of a stream: index -> (id, name, arguments).
fn tool_calls(chunks: &[ChatChunk]) -> BTreeMap<u32, (String, String, String)> {
    let mut calls: BTreeMap<u32, (String, String, String)> = BTreeMap::new();
    for delta in chunks
        .iter()
        .flat_map(|chunk| &chunk.choices)
        .flat_map(|choice| choice.delta.tool_calls.iter().flatten())
    {
        let entry = calls.entry(delta.index).or_default();
        if let Some(id) = &delta.id {
            assert!(entry.0.is_empty(), "id sent twice for call {}", delta.index);
            assert_eq!(delta.kind.as_deref(), Some("function"));
            entry.0 = id.clone();
        }
        let function = delta.function.as_ref().unwrap();
        if let Some(name) = &function.name {
            entry.1 = name.clone();
        }
        entry.2.push_str(function.arguments.as_deref().unwrap_or(""));
    }
    calls
}

#[tokio::test]
async fn one_tool_call_streams_with_index_zero_and_exact_arguments() {
    let events = [
        message_start(json!({"input_tokens": 400, "output_tokens": 2})),
        tool_start(0, "toolu_w", "get_weather"),
        json_delta(0, ""),
        json_delta(0, "{\"location\":"),
        json_delta(0, " \"Oslo, NO\"}"),
        block_stop(0),
        message_delta("tool_use", 30),
        message_stop(),
    ];
    let chunks = all_ok(stream_items(&events).await);

    let calls = tool_calls(&chunks);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[&0],
        (
            "toolu_w".into(),
            "get_weather".into(),
            "{\"location\": \"Oslo, NO\"}".into()
        )
    );
    assert_eq!(
        chunks[chunks.len() - 2].finish_reason(),
        Some(FinishReason::ToolCalls)
    );
    // role, tool head, two fragments (the empty one is dropped), finish, usage
    assert_eq!(chunks.len(), 6);
}

#[tokio::test]
async fn text_then_two_tool_calls_use_openai_indexes_zero_and_one() {
    let events = [
        message_start(json!({"input_tokens": 472, "output_tokens": 2})),
        text_start(0),
        text_delta(0, "Checking weather and time."),
        block_stop(0),
        tool_start(1, "toolu_w", "get_weather"),
        json_delta(1, "{\"city\""),
        json_delta(1, ": \"Oslo\"}"),
        block_stop(1),
        ping(),
        tool_start(2, "toolu_t", "get_time"),
        json_delta(2, "{\"tz\": \"Europe/"),
        json_delta(2, "Oslo\"}"),
        block_stop(2),
        message_delta("tool_use", 89),
        message_stop(),
    ];
    let chunks = all_ok(stream_items(&events).await);

    let calls = tool_calls(&chunks);
    let expected: BTreeMap<u32, (String, String, String)> = [
        (
            0,
            (
                "toolu_w".into(),
                "get_weather".into(),
                "{\"city\": \"Oslo\"}".into(),
            ),
        ),
        (
            1,
            (
                "toolu_t".into(),
                "get_time".into(),
                "{\"tz\": \"Europe/Oslo\"}".into(),
            ),
        ),
    ]
    .into();
    assert_eq!(calls, expected);
    let text: String = chunks.iter().filter_map(ChatChunk::text_delta).collect();
    assert_eq!(text, "Checking weather and time.");
    assert_eq!(
        chunks[chunks.len() - 2].finish_reason(),
        Some(FinishReason::ToolCalls)
    );
    assert_eq!(chunks[chunks.len() - 1].usage, Some(Usage::new(472, 89)));
}

#[tokio::test]
async fn final_usage_chunk_counts_cache_tokens() {
    let mut events = text_stream("end_turn");
    events[0] = message_start(json!({"input_tokens": 8, "output_tokens": 1,
        "cache_read_input_tokens": 2048, "cache_creation_input_tokens": 256}));
    events[6] = json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
        "usage": {"output_tokens": 15}});
    let chunks = all_ok(stream_items(&events).await);

    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    assert_eq!(
        serde_json::to_value(last.usage.as_ref().unwrap()).unwrap(),
        json!({"prompt_tokens": 2312, "completion_tokens": 15, "total_tokens": 2327,
            "prompt_tokens_details": {"cached_tokens": 2048, "cache_creation_tokens": 256}})
    );
}

#[tokio::test]
async fn every_stop_reason_arrives_as_the_finish_reason() {
    let table = [
        ("end_turn", FinishReason::Stop),
        ("stop_sequence", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("tool_use", FinishReason::ToolCalls),
        ("refusal", FinishReason::ContentFilter),
        ("pause_turn", FinishReason::Stop),
        ("model_context_window_exceeded", FinishReason::Length),
    ];
    for (stop_reason, expected) in table {
        let chunks = all_ok(stream_items(&text_stream(stop_reason)).await);
        let finishes: Vec<_> = chunks.iter().filter_map(ChatChunk::finish_reason).collect();
        assert_eq!(finishes, [expected], "{stop_reason}");
    }
}

#[tokio::test]
async fn a_stream_cut_before_message_stop_ends_with_a_protocol_error() {
    let events = text_stream("end_turn");
    for cut in [4, 7] {
        let items = stream_items(&events[..cut]).await;
        let (last, head) = items.split_last().unwrap();
        assert!(head.iter().all(Result::is_ok), "cut at {cut}");
        let error = last.as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UpstreamProtocol, "cut at {cut}");
        assert!(error.retryable());
    }
    // Cut inside an event: the bytes end mid-line.
    let (server, provider) = server_and_provider().await;
    let mut body = sse(&events[..3]);
    body.push_str("event: content_block_delta\ndata: {\"type\": \"content_bl");
    mount_sse(&server, body).await;
    let items = collect(provider.stream("claude-test", &request()).await.unwrap()).await;
    assert_eq!(
        items.last().unwrap().as_ref().unwrap_err().kind(),
        ErrorKind::UpstreamProtocol
    );
}

#[tokio::test]
async fn a_malformed_event_ends_with_a_protocol_error() {
    let (server, provider) = server_and_provider().await;
    let mut body = sse(&text_stream("end_turn")[..4]);
    body.push_str("event: content_block_delta\ndata: {not json at all\n\n");
    body.push_str(&sse(&text_stream("end_turn")[4..]));
    mount_sse(&server, body).await;

    let items = collect(provider.stream("claude-test", &request()).await.unwrap()).await;

    assert_eq!(items.len(), 3, "role, Os, then the error and nothing after it");
    assert_eq!(items[1].as_ref().unwrap().text_delta(), Some("Os"));
    assert_eq!(items[2].as_ref().unwrap_err().kind(), ErrorKind::UpstreamProtocol);
}

#[tokio::test]
async fn an_error_event_mid_stream_maps_like_an_http_error() {
    let mut events = text_stream("end_turn")[..4].to_vec();
    events.push(json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}));
    let items = stream_items(&events).await;

    assert_eq!(items.len(), 3);
    assert_eq!(items[1].as_ref().unwrap().text_delta(), Some("Os"));
    let error = items[2].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ProviderUnavailable);
    assert!(error.retryable());
    assert_eq!(error.provider().map(|p| p.as_str()), Some("claude"));
}

#[tokio::test]
async fn an_http_error_fails_the_stream_call_itself() {
    let (server, provider) = server_and_provider().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "12")
                .set_body_json(
                    json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}),
                ),
        )
        .mount(&server)
        .await;

    let error = provider.stream("claude-test", &request()).await.err().unwrap();

    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(std::time::Duration::from_secs(12)));
}
