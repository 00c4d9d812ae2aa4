//! `GET /metrics` end to end: after a known sequence of requests the Prometheus text shows exact
//! counts for requests, the cache, provider errors, tokens and rate-limit decisions.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::prometheus::{self, Sample, sum, value};
use support::{TestServer, chat_as, client};

/// Every request is limited to one per user per minute; each request below names its own user
/// except the one that is meant to be refused.
const CONFIG: &str = r#"
[[rate_limits]]
scope = "user"
unit = "requests"
limit = 1
window = "1m"

[[providers]]
id = "mock"
type = "mock"
chunks = 3

[[providers]]
id = "broken"
type = "mock"
failure = { kind = "provider_unavailable" }
"#;

fn chat(model: &str, text: &str, temperature: f64) -> serde_json::Value {
    json!({"model": model, "temperature": temperature,
        "messages": [{"role": "user", "content": text}]})
}

async fn scrape(client: &reqwest::Client, server: &TestServer) -> Vec<Sample> {
    let response = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4");
    prometheus::parse(&response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_count_a_known_sequence_exactly() {
    let server = TestServer::start(CONFIG).await;
    let client = client();

    // 2 misses then 1 hit: prompt and completion are each 3 + 2 words.
    let miss = chat_as(&client, &server, "u1", chat("mock/echo", "alpha beta gamma", 0.0)).await;
    assert_eq!(miss.headers()["x-llm-cache"], "miss");
    miss.bytes().await.unwrap();
    let miss = chat_as(&client, &server, "u2", chat("mock/echo", "one two", 0.0)).await;
    assert_eq!(miss.headers()["x-llm-cache"], "miss");
    miss.bytes().await.unwrap();
    let hit = chat_as(&client, &server, "u3", chat("mock/echo", "alpha beta gamma", 0.0)).await;
    assert_eq!(hit.headers()["x-llm-cache"], "hit");
    hit.bytes().await.unwrap();

    // 1 stream (bypassing the cache): 4 words each way.
    let mut streamed = chat("mock/echo", "streaming four words here", 0.7);
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let stream = chat_as(&client, &server, "u4", streamed).await;
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["x-llm-cache"], "bypass");
    let body = stream.bytes().await.unwrap();
    assert!(body.ends_with(b"data: [DONE]\n\n"));

    // 1 provider error (bypassing the cache).
    let failed = chat_as(&client, &server, "u5", chat("broken/echo", "fail please", 0.7)).await;
    assert_eq!(failed.status(), 503);
    failed.bytes().await.unwrap();

    // 1 rate-limit rejection: u4 already spent its one request.
    let limited = chat_as(&client, &server, "u4", chat("mock/echo", "again", 0.7)).await;
    assert_eq!(limited.status(), 429);
    limited.bytes().await.unwrap();

    // 1 bad request.
    let bad = client
        .post(server.url("/v1/chat/completions"))
        .header("x-llm-user", "u6")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    bad.bytes().await.unwrap();

    // The streamed body's end is recorded as the server finishes it: wait (bounded) for it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let samples = loop {
        let samples = scrape(&client, &server).await;
        let settled = value(&samples, "llm_inflight_requests", &[]) == Some(0.0)
            && value(
                &samples,
                "llm_request_duration_seconds_count",
                &[("api", "openai")],
            ) == Some(7.0);
        if settled || Instant::now() > deadline {
            break samples;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let requests = |model: &str, provider: &str, status: &str, cache: &str| {
        value(
            &samples,
            "llm_requests_total",
            &[
                ("api", "openai"),
                ("model", model),
                ("provider", provider),
                ("status", status),
                ("cache", cache),
            ],
        )
    };
    assert_eq!(requests("mock/echo", "mock", "200", "miss"), Some(2.0));
    assert_eq!(requests("mock/echo", "mock", "200", "hit"), Some(1.0));
    assert_eq!(requests("mock/echo", "mock", "200", "bypass"), Some(1.0));
    assert_eq!(requests("broken/echo", "broken", "503", "none"), Some(1.0));
    assert_eq!(requests("unknown", "unknown", "429", "none"), Some(1.0));
    assert_eq!(requests("unknown", "unknown", "400", "none"), Some(1.0));
    let total = sum(&samples, "llm_requests_total", &[]);
    assert_eq!(total, 7.0, "/metrics itself is not counted");

    let cache = |result: &str| value(&samples, "llm_cache_requests_total", &[("result", result)]);
    assert_eq!(cache("miss"), Some(2.0));
    assert_eq!(cache("hit"), Some(1.0));
    assert_eq!(cache("bypass"), Some(2.0));

    assert_eq!(
        value(
            &samples,
            "llm_provider_errors_total",
            &[("provider", "broken"), ("error_type", "provider_unavailable")]
        ),
        Some(3.0),
        "every attempt counts: the first and 2 retries (routing.max_retries defaults to 2)"
    );
    let tokens = |kind: &str| {
        value(
            &samples,
            "llm_tokens_total",
            &[("provider", "mock"), ("model", "echo"), ("kind", kind)],
        )
    };
    assert_eq!(tokens("prompt"), Some(9.0));
    assert_eq!(tokens("completion"), Some(9.0));

    let decisions = |result: &str| {
        value(
            &samples,
            "llm_ratelimit_decisions_total",
            &[("scope", "user"), ("result", result)],
        )
    };
    assert_eq!(decisions("rejected"), Some(1.0));
    assert_eq!(decisions("admitted"), Some(5.0));

    assert_eq!(value(&samples, "llm_inflight_requests", &[]), Some(0.0));
    let count = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);
    assert_eq!(
        count("llm_request_duration_seconds_count", &[("api", "openai")]),
        Some(7.0)
    );
    assert_eq!(
        count("llm_gateway_overhead_seconds_count", &[("api", "openai")]),
        Some(7.0)
    );
    assert_eq!(
        count(
            "llm_provider_request_duration_seconds_count",
            &[("provider", "mock")]
        ),
        Some(3.0)
    );
    assert_eq!(
        count(
            "llm_provider_request_duration_seconds_count",
            &[("provider", "broken")]
        ),
        Some(3.0),
        "each attempt is timed"
    );
    assert_eq!(
        count("llm_time_to_first_token_seconds_count", &[("provider", "mock")]),
        Some(1.0)
    );
    // Buckets are configured for durations: a histogram, not a summary.
    assert!(
        samples
            .iter()
            .any(|(name, labels, _)| name == "llm_request_duration_seconds_bucket"
                && labels.get("le").map(String::as_str) == Some("0.001"))
    );
    assert!(value(&samples, "process_resident_memory_bytes", &[]).is_some_and(|bytes| bytes > 0.0));
    assert!(value(&samples, "process_cpu_seconds_total", &[]).is_some());
}
