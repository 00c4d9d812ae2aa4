//! GraphQL helpers: the shared config, queries, an HTTP call and a graphql-transport-ws client.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::{Launch, STEP, TestServer, client};

pub const CONFIG: &str = r#"
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

pub const ADMIN: &str = "admin-key-0123456789";
pub const TEAM: &str = "sk-team-a-0123456789";

pub const COMPLETE: &str = "query($input: CompletionInput!) { complete(input: $input) { id model provider content \
     finishReason usage { promptTokens completionTokens totalTokens } cached latencyMs toolCalls { id name arguments } } }";

pub const STREAM: &str = "subscription($input: CompletionInput!) { completeStream(input: $input) { id model content \
     toolCalls { index id name arguments } finishReason usage { promptTokens completionTokens totalTokens } } }";

pub fn input(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "SYSTEM", "content": "be kind"}, {"role": "USER", "content": text}]})
}

/// `POST /graphql`; the body of a 200 answer.
pub async fn graphql(server: &TestServer, query: &str, variables: Value, key: Option<&str>) -> Value {
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
pub fn error_code(body: &Value) -> (String, Option<String>) {
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

pub async fn auth_server(extra: &str) -> TestServer {
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

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(server: &TestServer, path: &str, protocol: &str) -> Socket {
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

pub async fn send(socket: &mut Socket, message: Value) {
    socket.send(WsMessage::text(message.to_string())).await.unwrap();
}

/// The next protocol message, keep-alives skipped; `None` when the socket closed (with its code).
pub async fn receive(socket: &mut Socket) -> Result<Value, Option<u16>> {
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
pub async fn subscribe(socket: &mut Socket, init: Value, variables: Value) -> Vec<Value> {
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
