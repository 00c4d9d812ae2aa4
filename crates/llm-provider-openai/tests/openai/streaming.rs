//! `stream` against a wiremock upstream sending OpenAI-shaped SSE.

use std::collections::BTreeMap;

use llm_core::{ErrorKind, FinishReason, Provider, Role, Usage};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::common::{
    CHAT_PATH, chunk, collect, mount_sse, request, sent_body, server_and_provider, sse, usage_chunk,
};

#[tokio::test]
async fn text_stream_yields_every_chunk_in_order_then_ends() {
    let (server, provider) = server_and_provider().await;
    let events = [
        chunk(json!({"role": "assistant", "content": "", "refusal": null}), None),
        chunk(json!({"content": "Os"}), None),
        chunk(json!({"content": "lo."}), None),
        chunk(json!({}), Some("stop")),
        usage_chunk(21, 3),
    ];
    mount_sse(&server, sse(&events, true)).await;

    let items = collect(provider.stream("gpt-4o-mini", &request()).await.unwrap()).await;

    let chunks: Vec<_> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(chunks.len(), 5);
    assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
    assert_eq!(chunks[0].text_delta(), Some(""));
    assert_eq!(chunks[1].text_delta(), Some("Os"));
    assert_eq!(chunks[2].text_delta(), Some("lo."));
    assert_eq!(chunks[3].text_delta(), None);
    assert_eq!(chunks[3].finish_reason(), Some(FinishReason::Stop));
    assert!(chunks[4].choices.is_empty());
    assert_eq!(chunks[4].usage, Some(Usage::new(21, 3)));
    assert!(
        chunks
            .iter()
            .all(|c| c.id == "chatcmpl-t1" && c.model == "gpt-4o-mini-2024-07-18")
    );
    assert_eq!(chunks[1].system_fingerprint.as_deref(), Some("fp_t1"));
}

#[tokio::test]
async fn stream_request_asks_for_a_stream_with_usage() {
    let (server, provider) = server_and_provider().await;
    mount_sse(
        &server,
        sse(&[chunk(json!({"content": "x"}), Some("stop"))], true),
    )
    .await;

    collect(provider.stream("gpt-4o-mini", &request()).await.unwrap()).await;

    let body = sent_body(&server).await;
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["model"], json!("gpt-4o-mini"));
    assert_eq!(body["metadata"], json!({"ticket": "T-9"}));
    assert_eq!(body["messages"][1]["content"], json!("Capital of Norway?"));
}

#[tokio::test]
async fn parallel_tool_calls_arrive_by_index_with_fragmented_arguments() {
    let (server, provider) = server_and_provider().await;
    let call = |index: u32, head: Option<(&str, &str)>, arguments: &str| {
        let mut call = json!({"index": index, "function": {"arguments": arguments}});
        if let Some((id, name)) = head {
            call["id"] = json!(id);
            call["type"] = json!("function");
            call["function"]["name"] = json!(name);
        }
        chunk(json!({"tool_calls": [call]}), None)
    };
    let events = [
        chunk(json!({"role": "assistant", "content": null}), None),
        call(0, Some(("call_w", "get_weather")), ""),
        call(0, None, "{\"ci"),
        call(0, None, "ty\": \"Tro"),
        call(0, None, "msø\"}"),
        call(1, Some(("call_t", "get_time")), ""),
        call(1, None, "{\"tz\":"),
        call(1, None, " \"CET\"}"),
        chunk(json!({}), Some("tool_calls")),
        usage_chunk(80, 40),
    ];
    mount_sse(&server, sse(&events, true)).await;

    let chunks: Vec<_> = collect(provider.stream("gpt-4o", &request()).await.unwrap())
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert_eq!(chunks.len(), events.len());
    let mut calls: BTreeMap<u32, (String, String, String)> = BTreeMap::new();
    for delta in chunks
        .iter()
        .flat_map(|c| c.choices.iter())
        .flat_map(|c| c.delta.tool_calls.iter().flatten())
    {
        let entry = calls.entry(delta.index).or_default();
        if let Some(id) = &delta.id {
            entry.0.push_str(id);
        }
        let function = delta.function.as_ref().unwrap();
        entry.1.push_str(function.name.as_deref().unwrap_or(""));
        entry.2.push_str(function.arguments.as_deref().unwrap_or(""));
    }
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[&0].0, "call_w");
    assert_eq!(calls[&0].1, "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(&calls[&0].2).unwrap(),
        json!({"city": "Tromsø"})
    );
    assert_eq!(calls[&1].0, "call_t");
    assert_eq!(calls[&1].1, "get_time");
    assert_eq!(
        serde_json::from_str::<Value>(&calls[&1].2).unwrap(),
        json!({"tz": "CET"})
    );
    assert_eq!(chunks[8].finish_reason(), Some(FinishReason::ToolCalls));
    assert_eq!(chunks[9].usage, Some(Usage::new(80, 40)));
}

#[tokio::test]
async fn a_stream_without_done_ends_with_an_error() {
    let (server, provider) = server_and_provider().await;
    let events = [
        chunk(json!({"content": "Os"}), None),
        chunk(json!({}), Some("stop")),
        usage_chunk(5, 1),
    ];
    mount_sse(&server, sse(&events, false)).await;

    let items = collect(provider.stream("gpt-4o", &request()).await.unwrap()).await;

    assert_eq!(items.len(), 4);
    assert!(items[..3].iter().all(Result::is_ok));
    let error = items[3].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
    assert!(error.message().contains("before [DONE]"), "{}", error.message());
}

#[tokio::test]
async fn a_stream_cut_mid_event_ends_with_an_error() {
    let (server, provider) = server_and_provider().await;
    let mut body = sse(&[chunk(json!({"content": "Os"}), None)], false);
    body.push_str("data: {\"id\":\"chatcmpl-t1\",\"obj");
    mount_sse(&server, body).await;

    let items = collect(provider.stream("gpt-4o", &request()).await.unwrap()).await;

    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().text_delta(), Some("Os"));
    assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::UpstreamProtocol);
}

#[tokio::test]
async fn error_events_mid_stream_map_to_their_kind_and_end_the_stream() {
    let cases = [
        (
            json!({"error": {"message": "The server had an error", "type": "server_error", "param": null, "code": null}}),
            ErrorKind::ProviderUnavailable,
        ),
        (
            json!({"error": {"message": "Rate limit reached", "type": "requests", "param": null, "code": "rate_limit_exceeded"}}),
            ErrorKind::RateLimited,
        ),
        (
            json!({"error": {"message": "odd", "type": "weird_error"}}),
            ErrorKind::UpstreamProtocol,
        ),
    ];
    for (error_event, kind) in cases {
        let (server, provider) = server_and_provider().await;
        let events = [
            chunk(json!({"content": "Os"}), None),
            error_event,
            chunk(json!({"content": "lo"}), None),
        ];
        mount_sse(&server, sse(&events, true)).await;

        let items = collect(provider.stream("gpt-4o", &request()).await.unwrap()).await;

        assert_eq!(items.len(), 2, "{kind:?}");
        assert_eq!(items[0].as_ref().unwrap().text_delta(), Some("Os"));
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(error.kind(), kind);
        assert_eq!(error.provider().map(|p| p.as_str()), Some("oai"));
    }
}

#[tokio::test]
async fn malformed_chunk_is_a_protocol_error_and_ends_the_stream() {
    let (server, provider) = server_and_provider().await;
    let mut body = sse(&[chunk(json!({"content": "Os"}), None)], false);
    body.push_str("data: {\"id\": \"chatcmpl-t1\", \"choices\": [{]}\n\n");
    body.push_str(&sse(&[chunk(json!({"content": "lo"}), None)], true));
    mount_sse(&server, body).await;

    let items = collect(provider.stream("gpt-4o", &request()).await.unwrap()).await;

    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::UpstreamProtocol);
}

#[tokio::test]
async fn an_error_status_fails_the_stream_call_itself() {
    let (server, provider) = server_and_provider().await;
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "3")
                .set_body_json(json!({"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}})),
        )
        .mount(&server)
        .await;

    let error = provider.stream("gpt-4o", &request()).await.err().unwrap();

    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), Some(std::time::Duration::from_secs(3)));
    assert!(error.retryable());
}
