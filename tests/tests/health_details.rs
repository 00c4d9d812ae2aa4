//! `GET /llm/health/details` end to end: each provider's state, probe and real traffic (calls,
//! failures, latency percentiles, last success and failure), Redis, and the process's resources;
//! the admin key guards it when one is configured.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::{Launch, TestServer, client, get_json, post_json};

const PROVIDERS: &str = r#"
[routing]
max_retries = 0

[[providers]]
id = "mock"
type = "mock"
chunks = 3

[[providers]]
id = "broken"
type = "mock"
failure = { kind = "provider_unavailable" }

[[providers]]
id = "cut"
type = "mock"
chunks = 4
failure = { kind = "upstream_protocol", after_chunks = 2 }
"#;

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "temperature": 0.7,
        "messages": [{"role": "user", "content": "how are you"}]})
}

async fn details(server: &TestServer, key: Option<&str>) -> reqwest::Response {
    let mut request = client().get(server.url("/llm/health/details"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

fn provider<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|provider| provider["id"] == id)
        .unwrap_or_else(|| panic!("no provider {id} in {body}"))
}

#[tokio::test]
async fn details_show_each_providers_real_traffic_redis_and_the_process() {
    let Some(redis) = support::redis::shared_redis() else {
        return;
    };
    let config = format!("[redis]\nurl = \"{redis}\"\n{PROVIDERS}");
    let server = TestServer::start(&config).await;
    let client = client();

    // Before traffic: probed, healthy, no calls.
    let before = details(&server, None).await;
    assert_eq!(before.status(), 200);
    assert_eq!(before.headers()["cache-control"], "no-store");
    let before: Value = before.json().await.unwrap();
    let mock = provider(&before, "mock");
    assert_eq!(mock["state"], "healthy");
    assert_eq!(mock["type"], "mock");
    assert_eq!(mock["probe"]["status"], "healthy");
    assert_eq!(mock["traffic"]["requests"], 0);
    assert_eq!(mock["traffic"]["p50_ms"], Value::Null);
    assert_eq!(mock["traffic"]["last_success_ms"], Value::Null);

    // 3 answers from mock (2 complete, 1 stream), 5 failures from broken (one attempt each: no
    // retries here), 1 stream cut mid-way.
    let url = server.url("/v1/chat/completions");
    let chat_completion = |model: &'static str, stream: bool| post_json(&client, &url, chat(model, stream));
    for _ in 0..2 {
        assert_eq!(chat_completion("mock/echo", false).await.status(), 200);
    }
    let streamed = chat_completion("mock/echo", true).await;
    assert!(streamed.bytes().await.unwrap().ends_with(b"data: [DONE]\n\n"));
    for _ in 0..5 {
        assert_eq!(chat_completion("broken/echo", false).await.status(), 503);
    }
    let cut = chat_completion("cut/echo", true).await;
    assert_eq!(cut.status(), 200);
    assert!(!cut.bytes().await.unwrap().ends_with(b"data: [DONE]\n\n"));

    let body: Value = details(&server, None).await.json().await.unwrap();
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["ready"], true);
    assert!(body["checked_at_ms"].as_u64().unwrap() > 0);

    let mock = &provider(&body, "mock")["traffic"];
    assert_eq!(provider(&body, "mock")["state"], "healthy");
    assert_eq!(mock["requests"], 3, "{mock}");
    assert_eq!(mock["failures"], 0);
    assert_eq!(mock["error_rate"], 0.0);
    assert_eq!(mock["window_secs"], 300);
    let (p50, p99) = (mock["p50_ms"].as_f64().unwrap(), mock["p99_ms"].as_f64().unwrap());
    assert!(0.0 <= p50 && p50 <= p99, "{mock}");
    assert!(mock["last_success_ms"].as_u64().unwrap() >= body["checked_at_ms"].as_u64().unwrap() - 60_000);
    assert_eq!(mock["last_failure_ms"], Value::Null);

    // Its probe passes, but recent calls fail: degraded.
    let broken = provider(&body, "broken");
    assert_eq!(broken["state"], "degraded", "{broken}");
    assert_eq!(broken["probe"]["status"], "healthy");
    assert_eq!(broken["traffic"]["requests"], 5);
    assert_eq!(broken["traffic"]["failures"], 5);
    assert_eq!(broken["traffic"]["error_rate"], 1.0);
    assert_eq!(broken["traffic"]["last_success_ms"], Value::Null);
    assert!(broken["traffic"]["last_failure_ms"].as_u64().is_some());
    assert_eq!(
        broken["traffic"]["last_error"],
        "provider_unavailable: mock provider scripted failure: provider_unavailable"
    );

    // A stream cut after content counts as one failed call, not an answer and a failure.
    let cut = &provider(&body, "cut")["traffic"];
    assert_eq!(
        (cut["requests"].as_u64(), cut["failures"].as_u64()),
        (Some(1), Some(1)),
        "{cut}"
    );

    let redis = &body["redis"];
    assert_eq!(redis["reachable"], true, "{redis}");
    assert!(redis["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(redis["used_memory_bytes"].as_u64().unwrap() > 0);
    assert_eq!(redis["error"], Value::Null);

    let system = &body["system"];
    assert!(system["pid"].as_u64().unwrap() > 0);
    assert!(
        system["process_memory_bytes"].as_u64().unwrap() > 1_000_000,
        "{system}"
    );
    assert!(system["system_memory_total_bytes"].as_u64().unwrap() > 0);
    assert!(system["cpus"].as_u64().unwrap() >= 1);
    assert!(system["process_cpu_percent"].as_f64().unwrap() >= 0.0);
    assert_eq!(system["load_average"].as_array().unwrap().len(), 3);
    // At least this request's own connection is open.
    assert!(system["open_connections"].as_u64().unwrap() >= 1, "{system}");
    assert!(body["cache"]["stats"].is_object());
}

#[tokio::test]
async fn without_redis_details_say_so_and_connections_are_counted_until_they_close() {
    let server = TestServer::start(PROVIDERS).await;
    // Two clients, each keeping its connection open in its pool.
    let held = client();
    let first = get_json(&held, &server.url("/llm/health/details")).await;
    assert_eq!(first["redis"], Value::Null);
    let other = client();
    let second = get_json(&other, &server.url("/llm/health/details")).await;
    let open_with_two = second["system"]["open_connections"].as_u64().unwrap();
    assert!(open_with_two >= 2, "{second}");
    drop((held, other));
    // Both connections close; the count comes down (polled, bounded).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now: Value = details(&server, None).await.json().await.unwrap();
        if now["system"]["open_connections"].as_u64().unwrap() < open_with_two {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "closed connections are still counted: {now}"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn with_an_admin_key_details_need_it() {
    let server = TestServer::launch(Launch {
        config: &format!("[auth]\nadmin_key = \"env:TEST_ADMIN_KEY\"\n{PROVIDERS}"),
        env: vec![("TEST_ADMIN_KEY", "admin-key-0123456789".to_owned())],
        ..Launch::default()
    })
    .await;
    let refused = details(&server, None).await;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "authentication");
    assert_eq!(details(&server, Some("wrong-key")).await.status(), 401);
    let allowed = details(&server, Some("admin-key-0123456789")).await;
    assert_eq!(allowed.status(), 200);
    // The plain readiness check stays public.
    assert_eq!(
        client()
            .get(server.url("/llm/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
