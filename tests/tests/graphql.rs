//! The GraphQL API, end to end: queries, mutations and subscriptions against the real server, with
//! the same pipeline (validation, cache, rate limits, auth) and error codes as REST.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{Launch, STEP, TestServer, client};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const CONFIG: &str = r#"
[[providers]]
id = "mock"
type = "mock"
chunks = 3

[[providers]]
id = "broken"
type = "mock"
chunks = 4
failure = { kind = "provider_unavailable", after_chunks = 1 }

[models.fast]
deployments = [{ provider = "mock", model = "echo" }]
"#;

const ADMIN: &str = "admin-key-0123456789";
const TEAM: &str = "sk-team-a-0123456789";

const COMPLETE: &str = "query($input: CompletionInput!) { complete(input: $input) { id model provider content \
     finishReason usage { promptTokens completionTokens totalTokens } cached latencyMs toolCalls { id name arguments } } }";

const STREAM: &str = "subscription($input: CompletionInput!) { completeStream(input: $input) { id model content \
     toolCalls { index id name arguments } finishReason usage { promptTokens completionTokens totalTokens } } }";

fn input(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "SYSTEM", "content": "be kind"}, {"role": "USER", "content": text}]})
}

/// `POST /graphql`; the body of a 200 answer.
async fn graphql(server: &TestServer, query: &str, variables: Value, key: Option<&str>) -> Value {
    let mut request = client()
        .post(server.url("/graphql"))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    response.json().await.unwrap()
}

/// The one error of an answer: (code, param).
fn error_code(body: &Value) -> (String, Option<String>) {
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors: {body}"));
    assert_eq!(errors.len(), 1, "{body}");
    assert!(
        errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let extensions = &errors[0]["extensions"];
    (
        extensions["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no code: {body}"))
            .to_owned(),
        extensions["param"].as_str().map(str::to_owned),
    )
}

async fn auth_server(extra: &str) -> TestServer {
    let config = format!(
        "[auth]\nadmin_key = \"env:TEST_ADMIN_KEY\"\n\n[[auth.keys]]\nname = \"team-a\"\nkey = \"env:TEST_TEAM_KEY\"\n{extra}\n{CONFIG}"
    );
    TestServer::launch(Launch {
        config: &config,
        env: vec![
            ("TEST_ADMIN_KEY", ADMIN.to_owned()),
            ("TEST_TEAM_KEY", TEAM.to_owned()),
        ],
        ..Launch::default()
    })
    .await
}

#[tokio::test]
async fn complete_answers_through_the_gateway() {
    let server = TestServer::start(CONFIG).await;
    let body = graphql(
        &server,
        COMPLETE,
        json!({"input": input("fast", "hello brave world")}),
        None,
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let answer = &body["data"]["complete"];
    assert!(answer["id"].as_str().unwrap().starts_with("chatcmpl-"), "{body}");
    assert_eq!(answer["model"], "echo");
    assert_eq!(answer["provider"], "mock");
    assert_eq!(answer["content"], "hello brave world");
    assert_eq!(answer["finishReason"], "STOP");
    assert_eq!(answer["cached"], false);
    assert!(answer["latencyMs"].as_i64().unwrap() >= 0);
    assert_eq!(answer["toolCalls"], json!([]));
    let usage = &answer["usage"];
    assert_eq!(usage["completionTokens"], 3);
    assert_eq!(
        usage["totalTokens"].as_i64().unwrap(),
        usage["promptTokens"].as_i64().unwrap() + 3
    );
}

#[tokio::test]
async fn providers_models_and_health_are_queryable() {
    let server = TestServer::start(CONFIG).await;
    let query = "{ providers { id kind enabled models } provider(id: \"broken\") { id kind enabled } \
         models(provider: \"mock\") { id provider contextWindow aliases } \
         health { status ready providers { id enabled } cache { backend reachable } } }";
    let body = graphql(&server, query, json!({}), None).await;
    assert!(body.get("errors").is_none(), "{body}");
    let data = &body["data"];
    assert_eq!(
        data["providers"],
        json!([
            {"id": "mock", "kind": "mock", "enabled": true, "models": ["echo"]},
            {"id": "broken", "kind": "mock", "enabled": true, "models": ["echo"]},
        ])
    );
    assert_eq!(
        data["provider"],
        json!({"id": "broken", "kind": "mock", "enabled": true})
    );
    assert_eq!(
        data["models"],
        json!([{"id": "mock/echo", "provider": "mock", "contextWindow": null, "aliases": ["fast"]}])
    );
    assert_eq!(
        data["health"]["cache"],
        json!({"backend": "memory", "reachable": true})
    );
    assert!(data["health"]["status"].is_string());
    let ids: Vec<&str> = data["health"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mock", "broken"]);

    let missing = graphql(&server, "{ provider(id: \"nope\") { id } }", json!({}), None).await;
    assert_eq!(
        error_code(&missing),
        ("not_found".to_owned(), Some("id".to_owned()))
    );
    assert_eq!(missing["data"], Value::Null);
}

#[tokio::test]
async fn domain_errors_carry_the_rest_codes() {
    let server = TestServer::start(CONFIG).await;
    let unknown = graphql(
        &server,
        COMPLETE,
        json!({"input": input("no-such-model", "x")}),
        None,
    )
    .await;
    assert_eq!(error_code(&unknown).0, "not_found", "{unknown}");

    let mut hot = input("fast", "x");
    hot["temperature"] = json!(5.0);
    let invalid = graphql(&server, COMPLETE, json!({"input": hot}), None).await;
    assert_eq!(
        error_code(&invalid),
        ("invalid_request".to_owned(), Some("temperature".to_owned())),
        "{invalid}"
    );
}

#[tokio::test]
async fn the_cache_applies() {
    let server = TestServer::start(CONFIG).await;
    let mut request = input("fast", "cache me");
    request["temperature"] = json!(0.0);
    let first = graphql(&server, COMPLETE, json!({"input": request.clone()}), None).await;
    assert_eq!(first["data"]["complete"]["cached"], false, "{first}");
    let second = graphql(&server, COMPLETE, json!({"input": request.clone()}), None).await;
    assert_eq!(second["data"]["complete"]["cached"], true, "{second}");
    assert_eq!(second["data"]["complete"]["content"], "cache me");
    request["noCache"] = json!(true);
    let bypass = graphql(&server, COMPLETE, json!({"input": request}), None).await;
    assert_eq!(bypass["data"]["complete"]["cached"], false, "{bypass}");
}

#[tokio::test]
async fn rate_limits_apply() {
    let config = format!("[[rate_limits]]\nscope = \"user\"\nlimit = 1\nwindow = \"1h\"\n{CONFIG}");
    let server = TestServer::start(&config).await;
    let first = graphql(&server, COMPLETE, json!({"input": input("fast", "one")}), None).await;
    assert!(first.get("errors").is_none(), "{first}");
    let second = graphql(&server, COMPLETE, json!({"input": input("fast", "two")}), None).await;
    assert_eq!(error_code(&second).0, "rate_limit_exceeded", "{second}");
    assert!(second["errors"][0]["extensions"]["retryAfter"].as_i64().unwrap() >= 1);
}

#[tokio::test]
async fn queries_need_a_client_key_and_mutations_the_admin_key() {
    let server = auth_server("").await;
    let refused = graphql(&server, COMPLETE, json!({"input": input("fast", "x")}), None).await;
    assert_eq!(error_code(&refused).0, "authentication", "{refused}");
    let wrong = graphql(&server, "{ providers { id } }", json!({}), Some("sk-wrong")).await;
    assert_eq!(error_code(&wrong).0, "authentication", "{wrong}");
    let allowed = graphql(
        &server,
        COMPLETE,
        json!({"input": input("fast", "x")}),
        Some(TEAM),
    )
    .await;
    assert_eq!(allowed["data"]["complete"]["content"], "x", "{allowed}");
    // health stays public, as on REST
    let health = graphql(&server, "{ health { ready } }", json!({}), None).await;
    assert!(health.get("errors").is_none(), "{health}");

    let add = "mutation($config: String!) { addProvider(config: $config) { id kind enabled models } }";
    let block = json!({"id": "late", "type": "mock", "models": ["late-model"]}).to_string();
    for key in [None, Some(TEAM)] {
        let refused = graphql(&server, add, json!({"config": block}), key).await;
        assert_eq!(error_code(&refused).0, "authentication", "{refused}");
    }
    let added = graphql(&server, add, json!({"config": block}), Some(ADMIN)).await;
    assert_eq!(
        added["data"]["addProvider"],
        json!({"id": "late", "kind": "mock", "enabled": true, "models": ["late-model"]}),
        "{added}"
    );
    let listed = graphql(
        &server,
        "{ provider(id: \"late\") { id models } }",
        json!({}),
        Some(TEAM),
    )
    .await;
    assert_eq!(
        listed["data"]["provider"],
        json!({"id": "late", "models": ["late-model"]})
    );

    let bad = graphql(&server, add, json!({"config": "{\"id\": \"x\"}"}), Some(ADMIN)).await;
    assert_eq!(error_code(&bad).0, "invalid_request", "{bad}");

    let switch = "mutation { setProviderEnabled(id: \"late\", enabled: false) { id enabled } }";
    let switched = graphql(&server, switch, json!({}), Some(ADMIN)).await;
    assert_eq!(
        switched["data"]["setProviderEnabled"],
        json!({"id": "late", "enabled": false})
    );

    let update =
        "mutation($config: String!) { updateProvider(id: \"late\", config: $config) { id enabled models } }";
    let replaced = json!({"id": "late", "type": "mock", "models": ["newer"]}).to_string();
    let updated = graphql(&server, update, json!({"config": replaced}), Some(ADMIN)).await;
    assert_eq!(
        updated["data"]["updateProvider"],
        json!({"id": "late", "enabled": true, "models": ["newer"]}),
        "{updated}"
    );

    let remove = "mutation { removeProvider(id: \"late\") }";
    let refused = graphql(&server, remove, json!({}), Some(TEAM)).await;
    assert_eq!(error_code(&refused).0, "authentication");
    let removed = graphql(&server, remove, json!({}), Some(ADMIN)).await;
    assert_eq!(removed["data"]["removeProvider"], "late");
    let gone = graphql(
        &server,
        "{ provider(id: \"late\") { id } }",
        json!({}),
        Some(TEAM),
    )
    .await;
    assert_eq!(error_code(&gone).0, "not_found");
}

#[tokio::test]
async fn graphiql_is_served_on_get() {
    let server = TestServer::start(CONFIG).await;
    let response = client().get(server.url("/graphql")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains("GraphiQL") && page.contains("/graphql/ws"),
        "{page}"
    );
}

#[tokio::test]
async fn the_schema_file_matches_introspection() {
    let server = TestServer::start(CONFIG).await;
    let body = graphql(
        &server,
        "{ __schema { subscriptionType { fields { name } } } }",
        json!({}),
        None,
    )
    .await;
    assert_eq!(
        body["data"]["__schema"]["subscriptionType"]["fields"],
        json!([{"name": "completeStream"}])
    );
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &TestServer, path: &str, protocol: &str) -> Socket {
    let url = format!("{}{path}", server.base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_str(protocol).unwrap());
    let (socket, _) = tokio::time::timeout(STEP, tokio_tungstenite::connect_async(request))
        .await
        .unwrap()
        .unwrap();
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket.send(WsMessage::text(message.to_string())).await.unwrap();
}

/// The next protocol message, keep-alives skipped; `None` when the socket closed (with its code).
async fn receive(socket: &mut Socket) -> Result<Value, Option<u16>> {
    loop {
        let frame = tokio::time::timeout(STEP, socket.next())
            .await
            .expect("socket stalled");
        match frame {
            Some(Ok(WsMessage::Text(text))) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                if matches!(message["type"].as_str(), Some("pong" | "ping" | "ka")) {
                    continue;
                }
                return Ok(message);
            }
            Some(Ok(WsMessage::Close(frame))) => return Err(frame.map(|frame| u16::from(frame.code))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(None),
        }
    }
}

/// Subscribes over graphql-transport-ws and collects every message of operation "1" to its end.
async fn subscribe(socket: &mut Socket, init: Value, variables: Value) -> Vec<Value> {
    send(socket, json!({"type": "connection_init", "payload": init})).await;
    assert_eq!(receive(socket).await.unwrap()["type"], "connection_ack");
    send(
        socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": STREAM, "variables": variables}}),
    )
    .await;
    let mut messages = Vec::new();
    loop {
        let message = receive(socket).await.unwrap();
        assert_eq!(message["id"], "1", "{message}");
        let kind = message["type"].as_str().unwrap().to_owned();
        messages.push(message);
        if kind != "next" {
            return messages;
        }
    }
}

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
