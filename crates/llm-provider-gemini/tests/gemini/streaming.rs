//! `stream` against a wiremock upstream sending Gemini-shaped SSE.

use llm_core::{ErrorKind, FinishReason, Provider, Role, Usage};
use serde_json::json;

use crate::common::{MODEL, answer, call, collect, mount_sse, request, server_and_provider, sse, usage};

#[tokio::test]
async fn crlf_text_stream_yields_text_then_finish_then_usage() {
    let (server, provider) = server_and_provider().await;
    let running = json!({"promptTokenCount": 7, "totalTokenCount": 7});
    let events = [
        answer(json!([{"text": "The"}]), None, Some(running.clone())),
        answer(json!([{"text": " capital of Wyoming"}]), None, Some(running)),
        answer(
            json!([{"text": " is Cheyenne."}]),
            Some("STOP"),
            Some(usage(7, 10)),
        ),
    ];
    mount_sse(&server, sse(&events, "\r\n")).await;

    let items = collect(provider.stream(MODEL, &request()).await.unwrap()).await;

    let chunks: Vec<_> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(chunks.len(), 5);
    assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
    let text: String = chunks.iter().filter_map(|chunk| chunk.text_delta()).collect();
    assert_eq!(text, "The capital of Wyoming is Cheyenne.");
    assert_eq!(chunks[1].choices[0].delta.role, None);
    assert_eq!(chunks[3].finish_reason(), Some(FinishReason::Stop));
    assert_eq!(chunks[3].text_delta(), None);
    assert!(chunks[4].choices.is_empty());
    assert_eq!(chunks[4].usage, Some(Usage::new(7, 10)));
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk.id == "resp-T1" && chunk.model == "gemini-2.0-flash-001")
    );
    assert!(chunks.iter().all(|chunk| chunk.object == "chat.completion.chunk"));
}

#[tokio::test]
async fn function_calls_stream_as_whole_indexed_tool_calls() {
    for names in [vec!["get_weather"], vec!["get_weather", "get_time"]] {
        let (server, provider) = server_and_provider().await;
        let mut events = vec![answer(json!([{"text": "Checking", "thought": true}]), None, None)];
        events.extend(
            names
                .iter()
                .enumerate()
                .map(|(at, name)| answer(json!([call(name, json!({"n": at}))]), None, None)),
        );
        events.push(answer(json!([]), Some("STOP"), Some(usage(40, 9))));
        mount_sse(&server, sse(&events, "\n")).await;

        let chunks: Vec<_> = collect(provider.stream(MODEL, &request()).await.unwrap())
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();

        assert_eq!(chunks.len(), names.len() + 2, "{names:?}");
        assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
        let mut ids = Vec::new();
        for (at, name) in names.iter().enumerate() {
            let delta = &chunks[at].choices[0].delta;
            assert_eq!(delta.content, None);
            let calls = delta.tool_calls.as_ref().unwrap();
            assert_eq!(calls.len(), 1);
            assert_eq!(calls[0].index, u32::try_from(at).unwrap());
            assert_eq!(calls[0].kind.as_deref(), Some("function"));
            let function = calls[0].function.as_ref().unwrap();
            assert_eq!(function.name.as_deref(), Some(*name));
            assert_eq!(
                function.arguments.as_deref(),
                Some(format!("{{\"n\":{at}}}").as_str())
            );
            ids.push(calls[0].id.clone().unwrap());
        }
        ids.dedup();
        assert_eq!(ids.len(), names.len());
        assert_eq!(chunks[names.len()].finish_reason(), Some(FinishReason::ToolCalls));
        assert_eq!(chunks[names.len() + 1].usage, Some(Usage::new(40, 9)));
    }
}

#[tokio::test]
async fn two_calls_in_one_event_get_indices_zero_and_one() {
    let (server, provider) = server_and_provider().await;
    let parts = json!([call("a", json!({"x": 1})), call("b", json!({"y": 2}))]);
    mount_sse(&server, sse(&[answer(parts, Some("STOP"), None)], "\n")).await;

    let chunks: Vec<_> = collect(provider.stream(MODEL, &request()).await.unwrap())
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert_eq!(chunks.len(), 2, "no usage reported, no usage chunk");
    let calls = chunks[0].choices[0].delta.tool_calls.as_ref().unwrap();
    let indices: Vec<u32> = calls.iter().map(|call| call.index).collect();
    assert_eq!(indices, [0, 1]);
    assert_eq!(chunks[1].finish_reason(), Some(FinishReason::ToolCalls));
}

#[tokio::test]
async fn every_finish_reason_maps_in_streams_too() {
    for (raw, expected) in [
        ("STOP", FinishReason::Stop),
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("OTHER", FinishReason::Stop),
    ] {
        let (server, provider) = server_and_provider().await;
        mount_sse(
            &server,
            sse(&[answer(json!([{"text": "x"}]), Some(raw), None)], "\n"),
        )
        .await;
        let items = collect(provider.stream(MODEL, &request()).await.unwrap()).await;
        let last = items.last().unwrap().as_ref().unwrap();
        assert_eq!(last.finish_reason(), Some(expected), "{raw}");
    }
}

#[tokio::test]
async fn a_stream_cut_before_a_finish_reason_ends_with_an_error() {
    let (server, provider) = server_and_provider().await;
    let events = [
        answer(json!([{"text": "The"}]), None, None),
        answer(json!([{"text": " capital"}]), None, None),
    ];
    mount_sse(&server, sse(&events, "\r\n")).await;

    let items = collect(provider.stream(MODEL, &request()).await.unwrap()).await;

    assert_eq!(items.len(), 3);
    assert!(items[..2].iter().all(Result::is_ok));
    let error = items[2].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UpstreamProtocol);
    assert!(error.retryable());
}

#[tokio::test]
async fn a_malformed_event_ends_the_stream_with_an_error() {
    let (server, provider) = server_and_provider().await;
    let mut body = sse(&[answer(json!([{"text": "Hi"}]), None, None)], "\n");
    body.push_str("data: {\"candidates\": [{\"content\": \n\n");
    body.push_str(&sse(&[answer(json!([{"text": "!"}]), Some("STOP"), None)], "\n"));
    mount_sse(&server, body).await;

    let items = collect(provider.stream(MODEL, &request()).await.unwrap()).await;

    assert_eq!(items.len(), 2, "nothing after the error");
    assert_eq!(items[0].as_ref().unwrap().text_delta(), Some("Hi"));
    assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::UpstreamProtocol);
}

#[tokio::test]
async fn a_prompt_block_or_error_event_mid_stream_is_an_error() {
    let cases = [
        (
            json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}),
            ErrorKind::ContentFiltered,
        ),
        (
            json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}),
            ErrorKind::ProviderUnavailable,
        ),
        (
            json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]}}),
            ErrorKind::RateLimited,
        ),
    ];
    for (event, kind) in cases {
        let (server, provider) = server_and_provider().await;
        let events = [answer(json!([{"text": "Hi"}]), None, None), event];
        mount_sse(&server, sse(&events, "\n")).await;

        let items = collect(provider.stream(MODEL, &request()).await.unwrap()).await;

        assert_eq!(items.len(), 2);
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(error.kind(), kind);
        if kind == ErrorKind::ContentFiltered {
            assert_eq!(error.message(), "prompt blocked: PROHIBITED_CONTENT");
        }
        if kind == ErrorKind::RateLimited {
            assert_eq!(error.retry_after(), Some(std::time::Duration::from_secs(7)));
        }
    }
}
