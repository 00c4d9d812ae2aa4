//! GraphQL subscriptions over websockets, end to end: every chunk, errors mid-stream, auth on the
//! socket, the legacy protocol, and closing the socket cancelling the upstream call.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::TestServer;
use support::graphql::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[tokio::test]
async fn a_subscription_streams_every_chunk_then_completes() {
    let server = TestServer::start(CONFIG).await;
    let mut socket = connect(&server, "/graphql/ws", "graphql-transport-ws").await;
    let messages = subscribe(
        &mut socket,
        json!({}),
        json!({"input": input("fast", "hello brave world")}),
    )
    .await;
    let (last, chunks) = messages.split_last().unwrap();
    assert_eq!(last["type"], "complete", "{messages:?}");
    assert!(chunks.len() >= 3, "{messages:?}");
    let mut text = String::new();
    for next in chunks {
        assert_eq!(next["type"], "next");
        assert!(next["payload"].get("errors").is_none(), "{next}");
        let chunk = &next["payload"]["data"]["completeStream"];
        assert!(chunk["id"].as_str().unwrap().starts_with("chatcmpl-"), "{chunk}");
        assert_eq!(chunk["model"], "echo");
        assert_eq!(chunk["toolCalls"], json!([]));
        text.push_str(chunk["content"].as_str().unwrap_or(""));
    }
    assert_eq!(text, "hello brave world");
    let finish: Vec<&Value> = chunks
        .iter()
        .map(|next| &next["payload"]["data"]["completeStream"])
        .filter(|chunk| !chunk["finishReason"].is_null())
        .collect();
    assert_eq!(finish.len(), 1, "{messages:?}");
    assert_eq!(finish[0]["finishReason"], "STOP");
    let usage = &chunks.last().unwrap()["payload"]["data"]["completeStream"]["usage"];
    assert_eq!(usage["completionTokens"], 3, "{messages:?}");
}

#[tokio::test]
async fn a_provider_failure_mid_stream_is_an_error_never_a_clean_end() {
    let server = TestServer::start(CONFIG).await;
    let mut socket = connect(&server, "/graphql/ws", "graphql-transport-ws").await;
    let messages = subscribe(
        &mut socket,
        json!({}),
        json!({"input": input("broken/echo", "abcdefgh")}),
    )
    .await;
    let errors: Vec<&Value> = messages
        .iter()
        .filter_map(|message| match message["type"].as_str() {
            Some("next") => message["payload"]["errors"].as_array().and_then(|e| e.first()),
            Some("error") => message["payload"].as_array().and_then(|e| e.first()),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{messages:?}");
    assert_eq!(
        errors[0]["extensions"]["code"], "provider_unavailable",
        "{messages:?}"
    );
    // The chunk before the failure arrived; the failure came before any end.
    let first = &messages[0]["payload"]["data"]["completeStream"];
    assert!(first["content"].is_string(), "{messages:?}");
    let error_at = messages
        .iter()
        .position(|m| m["payload"].get("errors").is_some() || m["type"] == "error")
        .unwrap();
    assert!(
        messages[..error_at].iter().all(|m| m["type"] == "next"),
        "{messages:?}"
    );
}

#[tokio::test]
async fn websocket_auth_takes_the_key_from_connection_init_or_headers() {
    let server = auth_server("").await;
    // no key: the connection is refused
    let mut socket = connect(&server, "/graphql/ws", "graphql-transport-ws").await;
    send(&mut socket, json!({"type": "connection_init", "payload": {}})).await;
    assert_eq!(receive(&mut socket).await, Err(Some(4403)));

    for init in [
        json!({"Authorization": format!("Bearer {TEAM}")}),
        json!({"authorization": format!("Bearer {TEAM}")}),
        json!({"x-api-key": TEAM}),
    ] {
        let mut socket = connect(&server, "/graphql/ws", "graphql-transport-ws").await;
        let messages = subscribe(&mut socket, init, json!({"input": input("fast", "a b")})).await;
        assert_eq!(messages.last().unwrap()["type"], "complete", "{messages:?}");
    }

    // the key in the upgrade request's headers, on the shared /graphql path
    let url = format!("{}/graphql", server.base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    headers.insert("x-api-key", HeaderValue::from_static(TEAM));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let messages = subscribe(&mut socket, json!({}), json!({"input": input("fast", "a b")})).await;
    assert_eq!(messages.last().unwrap()["type"], "complete", "{messages:?}");
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_streams_too() {
    let server = TestServer::start(CONFIG).await;
    let mut socket = connect(&server, "/graphql/ws", "graphql-ws").await;
    send(&mut socket, json!({"type": "connection_init", "payload": {}})).await;
    assert_eq!(receive(&mut socket).await.unwrap()["type"], "connection_ack");
    send(
        &mut socket,
        json!({"id": "1", "type": "start", "payload": {"query": STREAM, "variables": {"input": input("fast", "old but gold")}}}),
    )
    .await;
    let mut text = String::new();
    loop {
        let message = receive(&mut socket).await.unwrap();
        match message["type"].as_str().unwrap() {
            "data" => {
                assert!(message["payload"].get("errors").is_none(), "{message}");
                text.push_str(
                    message["payload"]["data"]["completeStream"]["content"]
                        .as_str()
                        .unwrap_or(""),
                );
            }
            "complete" => break,
            other => panic!("unexpected {other}: {message}"),
        }
    }
    assert_eq!(text, "old but gold");
}

#[tokio::test]
async fn closing_the_socket_cancels_the_upstream_call() {
    let mut upstream = support::raw_upstream::start(support::raw_upstream::Behaviour::EndlessChunks).await;
    let base = &upstream.base;
    let config =
        format!("[[providers]]\nid = \"up\"\ntype = \"openai_compatible\"\nbase_url = \"{base}/v1\"\n");
    let server = TestServer::start(&config).await;
    let mut socket = connect(&server, "/graphql/ws", "graphql-transport-ws").await;
    send(&mut socket, json!({"type": "connection_init", "payload": {}})).await;
    assert_eq!(receive(&mut socket).await.unwrap()["type"], "connection_ack");
    let variables = json!({"input": input("up/m", "go on forever")});
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": STREAM, "variables": variables}}),
    )
    .await;
    let first = receive(&mut socket).await.unwrap();
    assert_eq!(first["type"], "next", "{first}");
    drop(socket);
    let cancelled = tokio::time::timeout(support::STEP, upstream.closed.recv()).await;
    assert!(
        matches!(cancelled, Ok(Some(()))),
        "the upstream call outlived the socket"
    );
}
