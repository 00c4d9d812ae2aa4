//! Client authentication and the admin API over HTTP: which routes are public, which need a client
//! key, which need the admin key; keys never leave the gateway.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::Method;
use serde_json::json;
use support::{Launch, TestServer, client, error_of};

const ADMIN: &str = "admin-key-0123456789";
const TEAM_A: &str = "sk-team-a-0123456789";
const TEAM_B: &str = "sk-team-b-0123456789";

fn config(user_limit: u32) -> String {
    // team-b's key is given as its SHA-256 so the file never holds it.
    let team_b_hash: String = {
        use std::fmt::Write;
        let digest = sha256(TEAM_B);
        digest.iter().fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
    };
    format!(
        r#"
[auth]
admin_key = "env:TEST_ADMIN_KEY"

[[auth.keys]]
name = "team-a"
key = "env:TEST_TEAM_A_KEY"
models = ["mock/echo"]

[[auth.keys]]
name = "team-b"
key_sha256 = "{team_b_hash}"

[[rate_limits]]
scope = "user"
limit = {user_limit}
window = "1h"

[[providers]]
id = "mock"
type = "mock"
models = ["echo", "other"]
"#
    )
}

/// SHA-256 via the system's `sha256sum`, so the test does not share the gateway's code.
fn sha256(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let hex = String::from_utf8(output.stdout).unwrap();
    (0..32)
        .map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap())
        .collect()
}

async fn server(user_limit: u32) -> TestServer {
    TestServer::launch(Launch {
        config: &config(user_limit),
        env: vec![
            ("TEST_ADMIN_KEY", ADMIN.to_owned()),
            ("TEST_TEAM_A_KEY", TEAM_A.to_owned()),
        ],
        ..Launch::default()
    })
    .await
}

fn chat(model: &str) -> serde_json::Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5})
}

/// Every client route with a body that would succeed.
fn client_routes() -> Vec<(Method, &'static str, Option<serde_json::Value>)> {
    vec![
        (Method::POST, "/llm/complete", Some(chat("mock/echo"))),
        (Method::POST, "/llm/complete/stream", Some(chat("mock/echo"))),
        (Method::POST, "/v1/chat/completions", Some(chat("mock/echo"))),
        (Method::GET, "/v1/models", None),
        (Method::POST, "/v1/messages", Some(chat("mock/echo"))),
        (Method::GET, "/llm/providers", None),
        (Method::GET, "/llm/providers/mock", None),
    ]
}

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
    key: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut request = client().request(method, server.url(path));
    if let Some((header, value)) = key {
        request = request.header(header, value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn health_is_public_and_client_routes_need_a_valid_key() {
    let server = server(1000).await;
    for public in ["/llm/health", "/llm/health/live", "/metrics"] {
        let status = call(&server, Method::GET, public, None, None).await.status();
        assert_eq!(status, 200, "{public} is public");
    }
    for (method, path, body) in client_routes() {
        let missing = call(&server, method.clone(), path, body.clone(), None).await;
        assert_eq!(missing.status(), 401, "{path} without a key");
        let wrong = call(
            &server,
            method.clone(),
            path,
            body.clone(),
            Some(("authorization", "Bearer sk-wrong")),
        )
        .await;
        assert_eq!(wrong.status(), 401, "{path} with a wrong key");
        let bearer = call(
            &server,
            method.clone(),
            path,
            body.clone(),
            Some(("authorization", &format!("Bearer {TEAM_B}"))),
        )
        .await;
        assert_eq!(bearer.status(), 200, "{path} with a bearer key");
        let x_api_key = call(&server, method, path, body, Some(("x-api-key", TEAM_B))).await;
        assert_eq!(x_api_key.status(), 200, "{path} with x-api-key");
    }
    let refused = call(
        &server,
        Method::POST,
        "/v1/chat/completions",
        Some(chat("mock/echo")),
        None,
    )
    .await;
    let (code, _, body) = error_of(refused, 401).await;
    assert_eq!(code, "authentication");
    assert_eq!(body["error"]["type"], "authentication_error");
    let anthropic = call(
        &server,
        Method::POST,
        "/v1/messages",
        Some(chat("mock/echo")),
        None,
    )
    .await;
    let body: serde_json::Value = anthropic.json().await.unwrap();
    assert_eq!(
        body["error"]["type"], "authentication_error",
        "Anthropic's shape on /v1/messages"
    );
}

#[tokio::test]
async fn a_key_is_limited_to_its_models_and_is_the_rate_limit_identity() {
    let server = server(2).await;
    let team_a = Some(("authorization", format!("Bearer {TEAM_A}")));
    let team_a = team_a.as_ref().map(|(h, v)| (*h, v.as_str()));
    let other = call(
        &server,
        Method::POST,
        "/v1/chat/completions",
        Some(chat("mock/other")),
        team_a,
    )
    .await;
    let (code, param, _) = error_of(other, 403).await;
    assert_eq!(
        (code.as_str(), param.as_deref()),
        ("permission_denied", Some("model"))
    );
    // The user header cannot impersonate anyone once keys are on: team-a has 2 requests, whatever it claims.
    for _ in 0..2 {
        let mut request = client()
            .post(server.url("/v1/chat/completions"))
            .json(&chat("mock/echo"));
        request = request
            .header("authorization", format!("Bearer {TEAM_A}"))
            .header("x-llm-user", "somebody-else");
        assert_eq!(request.send().await.unwrap().status(), 200);
    }
    let third = client()
        .post(server.url("/v1/chat/completions"))
        .header("authorization", format!("Bearer {TEAM_A}"))
        .header("x-llm-user", "yet-another")
        .json(&chat("mock/echo"))
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), 429);
    let team_b = call(
        &server,
        Method::POST,
        "/v1/chat/completions",
        Some(chat("mock/echo")),
        Some(("x-api-key", TEAM_B)),
    )
    .await;
    assert_eq!(team_b.status(), 200, "team-b has its own budget");
}

#[tokio::test]
async fn the_admin_api_needs_the_admin_key_and_changes_providers_at_once() {
    let server = server(1000).await;
    let admin = Some(("authorization", format!("Bearer {ADMIN}")));
    let admin = admin.as_ref().map(|(h, v)| (*h, v.as_str()));
    let client_key = Some(("x-api-key", TEAM_B));
    let secret = "sk-given-through-the-admin-api-42";
    let block = json!({"id": "extra", "type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": secret});

    for key in [None, client_key, Some(("authorization", "Bearer sk-wrong"))] {
        let refused = call(&server, Method::POST, "/llm/providers", Some(block.clone()), key).await;
        assert_eq!(error_of(refused, 401).await.0, "authentication");
        let refused = call(&server, Method::DELETE, "/llm/providers/mock", None, key).await;
        assert_eq!(refused.status(), 401);
        let refused = call(
            &server,
            Method::PUT,
            "/llm/providers/mock",
            Some(json!({"enabled": false})),
            key,
        )
        .await;
        assert_eq!(refused.status(), 401);
    }

    let created = call(
        &server,
        Method::POST,
        "/llm/providers",
        Some(block.clone()),
        admin,
    )
    .await;
    assert_eq!(created.status(), 201);
    let text = created.text().await.unwrap();
    assert!(!text.contains(secret) && !text.contains("127.0.0.1"), "{text}");
    let listing = call(&server, Method::GET, "/llm/providers", None, client_key)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        listing.contains("\"extra\"") && !listing.contains(secret),
        "{listing}"
    );

    let mock = json!({"id": "late", "type": "mock", "models": ["late-model"]});
    assert_eq!(
        call(&server, Method::POST, "/llm/providers", Some(mock), admin)
            .await
            .status(),
        201
    );
    let routed = call(
        &server,
        Method::POST,
        "/v1/chat/completions",
        Some(chat("late-model")),
        client_key,
    )
    .await;
    assert_eq!(
        routed.status(),
        200,
        "a provider added at run time serves at once"
    );
    assert_eq!(routed.headers()["x-llm-provider"], "late");

    let off = call(
        &server,
        Method::PUT,
        "/llm/providers/late",
        Some(json!({"enabled": false})),
        admin,
    )
    .await;
    assert_eq!(off.json::<serde_json::Value>().await.unwrap()["enabled"], false);
    let disabled = call(
        &server,
        Method::POST,
        "/v1/chat/completions",
        Some(chat("late/late-model")),
        client_key,
    )
    .await;
    assert_eq!(disabled.status(), 503);

    let replaced = json!({"id": "late", "type": "mock", "models": ["renamed"]});
    let updated = call(&server, Method::PUT, "/llm/providers/late", Some(replaced), admin).await;
    assert_eq!(
        updated.json::<serde_json::Value>().await.unwrap()["models"],
        json!(["renamed"])
    );
    let mismatch = call(
        &server,
        Method::PUT,
        "/llm/providers/late",
        Some(json!({"id": "nope", "type": "mock"})),
        admin,
    )
    .await;
    assert_eq!(error_of(mismatch, 400).await.1.as_deref(), Some("id"));
    let bad = call(
        &server,
        Method::POST,
        "/llm/providers",
        Some(json!({"id": "x", "type": "openai_compatible"})),
        admin,
    )
    .await;
    assert_eq!(error_of(bad, 400).await.1.as_deref(), Some("provider.base_url"));

    let deleted = call(&server, Method::DELETE, "/llm/providers/late", None, admin).await;
    assert_eq!(deleted.status(), 200);
    let gone = call(&server, Method::GET, "/llm/providers/late", None, client_key).await;
    assert_eq!(gone.status(), 404);

    let logs = server.all_logs();
    for needle in [secret, ADMIN, TEAM_A, TEAM_B] {
        assert!(!logs.contains(needle), "a secret reached the logs");
    }
}

#[tokio::test]
async fn the_admin_api_is_closed_without_an_admin_key() {
    let server = TestServer::start("[[providers]]\nid = \"mock\"\ntype = \"mock\"\n").await;
    let refused = call(
        &server,
        Method::DELETE,
        "/llm/providers/mock",
        None,
        Some(("authorization", "Bearer anything")),
    )
    .await;
    assert_eq!(refused.status(), 401);
    assert_eq!(
        call(&server, Method::GET, "/llm/providers/mock", None, None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_client_request_can_never_choose_the_upstream_address() {
    let server = server(1000).await;
    let mut body = chat("mock/echo");
    body["base_url"] = json!("http://169.254.169.254/latest");
    body["api_base"] = json!("http://10.0.0.1");
    let response = call(
        &server,
        Method::POST,
        "/v1/chat/completions",
        Some(body),
        Some(("x-api-key", TEAM_B)),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["x-llm-provider"],
        "mock",
        "the configured provider answered"
    );
}

#[tokio::test]
async fn keys_allow_a_non_loopback_listener() {
    let server = TestServer::launch(Launch {
        config: &config(1000),
        env: vec![
            ("TEST_ADMIN_KEY", ADMIN.to_owned()),
            ("TEST_TEAM_A_KEY", TEAM_A.to_owned()),
        ],
        args: vec!["--bind", "0.0.0.0:0"],
    })
    .await;
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let health = client()
        .get(format!("http://127.0.0.1:{port}/llm/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
