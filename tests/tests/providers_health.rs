//! Provider listings and health, end to end; secrets never leave the gateway.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{TestServer, client, error_of};

const SECRET: &str = "sk-very-secret-test-key-0123456789";

fn config_with_unreachable_openai(port: u16) -> String {
    format!(
        r#"
[health]
probe_timeout_ms = 2000

[[providers]]
id = "mock"
type = "mock"
models = ["echo", "echo-2"]

[[providers]]
id = "upstream"
type = "openai_compatible"
base_url = "http://127.0.0.1:{port}/v1"
api_key = "{SECRET}"
connect_timeout_ms = 500
"#
    )
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn providers_are_listed_with_state_and_without_secrets() {
    let server = TestServer::start(&config_with_unreachable_openai(closed_port())).await;
    let client = client();
    let response = client.get(server.url("/llm/providers")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let text = response.text().await.unwrap();
    assert!(!text.contains(SECRET), "listing leaked the key: {text}");
    assert!(
        !text.contains("127.0.0.1"),
        "listing leaked the upstream address: {text}"
    );
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    let providers = body["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 2);
    assert_eq!(providers[0]["id"], "mock");
    assert_eq!(providers[0]["type"], "mock");
    assert_eq!(providers[0]["enabled"], true);
    assert_eq!(providers[0]["models"], serde_json::json!(["echo", "echo-2"]));
    assert_eq!(providers[0]["health"]["status"], "healthy");
    assert_eq!(providers[1]["type"], "openai");
    assert_eq!(providers[1]["health"]["status"], "unhealthy");
    assert!(
        providers[1]["health"]["error"]
            .as_str()
            .unwrap()
            .starts_with("provider_unavailable")
    );

    let one: serde_json::Value = client
        .get(server.url("/llm/providers/mock"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], "mock");
    let missing = client
        .get(server.url("/llm/providers/ghost"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(missing, 404).await.0, "not_found");

    assert!(!server.all_logs().contains(SECRET), "logs leaked the key");
}

#[tokio::test]
async fn health_is_degraded_but_ready_with_one_provider_down() {
    let server = TestServer::start(&config_with_unreachable_openai(closed_port())).await;
    let response = client().get(server.url("/llm/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["ready"], true);
    assert_eq!(body["live"], true);
    assert_eq!(body["providers"][0]["health"]["status"], "healthy");
    assert_eq!(body["providers"][1]["health"]["status"], "unhealthy");
    assert_eq!(body["cache"]["health"]["backend"], "memory");
    assert_eq!(body["cache"]["health"]["reachable"], true);
    assert_eq!(body["cache"]["stats"]["hits"], 0);
}

#[tokio::test]
async fn health_is_503_when_no_provider_can_serve() {
    let server = TestServer::start("[[providers]]\nid = \"sick\"\ntype = \"mock\"\nhealthy = false\n").await;
    let response = client().get(server.url("/llm/health")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["ready"], false);
    assert_eq!(body["live"], true);
}

#[tokio::test]
async fn readiness_follows_the_only_providers_probe_and_liveness_does_not() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let upstream = MockServer::start().await;
    let models = |status: u16| {
        Mock::given(method("GET")).and(path("/v1/models")).respond_with(
            ResponseTemplate::new(status).set_body_json(serde_json::json!({"object": "list", "data": []})),
        )
    };
    models(200).mount(&upstream).await;
    let config = format!(
        "[health]\nprobe_interval_secs = 1\nprobe_timeout_ms = 1000\n\
         [[providers]]\nid = \"only\"\ntype = \"openai_compatible\"\nbase_url = \"{}/v1\"\n",
        upstream.uri()
    );
    let server = TestServer::start(&config).await;
    let client = client();
    let status_of = |path: &'static str| {
        let client = client.clone();
        let url = server.url(path);
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status_of("/llm/health").await, 200);

    // The probe runs every second: poll (bounded) until the verdict follows the upstream.
    let wait_for = |expected: u16| {
        let status_of = &status_of;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                if status_of("/llm/health").await == expected {
                    return;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "readiness never became {expected}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    };
    upstream.reset().await;
    models(500).mount(&upstream).await;
    wait_for(503).await;
    assert_eq!(
        status_of("/llm/health/live").await,
        200,
        "liveness ignores the providers"
    );
    upstream.reset().await;
    models(200).mount(&upstream).await;
    wait_for(200).await;
}
