//! The built-in dashboard end to end: `GET /dashboard` in headless Chromium against the real server,
//! driven over the Chrome DevTools Protocol, sees its numbers change after known traffic and is
//! saved as a screenshot; and, over plain HTTP, the page is self-contained and `/dashboard/data`
//! agrees with a `/metrics` scrape.
//!
//! The browser test needs Debian's `chromium` (`.ci/run` installs it). Without it the test says so
//! loudly and passes, except under `CI=true`, where a missing browser fails.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::chromium::{Browser, base64_decode, find_chromium};
use support::prometheus::{self, sum};
use support::{STEP, TestServer, client};

const CONFIG: &str = r#"
[[providers]]
id = "mock"
type = "mock"
chunks = 3

[[providers]]
id = "broken"
type = "mock"
failure = { kind = "provider_unavailable" }
"#;

/// The LLM API requests [`traffic`] sends.
const TRAFFIC_REQUESTS: f64 = 7.0;

fn chat(model: &str, text: &str, temperature: f64) -> Value {
    json!({"model": model, "temperature": temperature,
        "messages": [{"role": "user", "content": text}]})
}

/// 5 plain chat completions (2 of them cache hits), 1 stream, 1 provider failure: 7 requests.
async fn traffic(client: &reqwest::Client, server: &TestServer) {
    let url = server.url("/v1/chat/completions");
    for text in [
        "alpha beta gamma",
        "one two",
        "alpha beta gamma",
        "three four five six",
        "one two",
    ] {
        let response = client
            .post(&url)
            .json(&chat("mock/echo", text, 0.0))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
    }
    let mut streamed = chat("mock/echo", "streaming four words here", 0.7);
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let response = client.post(&url).json(&streamed).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().ends_with(b"data: [DONE]\n\n"));
    let failed = client
        .post(&url)
        .json(&chat("broken/echo", "fail please", 0.7))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 503);
    failed.bytes().await.unwrap();
}

/// `GET /dashboard/data` as JSON.
async fn dashboard_data(client: &reqwest::Client, server: &TestServer) -> Value {
    let response = client.get(server.url("/dashboard/data")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

/// Polls `/dashboard/data` until `done` holds; fails after [`STEP`].
async fn data_until(client: &reqwest::Client, server: &TestServer, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + STEP;
    loop {
        let data = dashboard_data(client, server).await;
        if done(&data) {
            return data;
        }
        assert!(Instant::now() < deadline, "dashboard data never settled: {data}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether every request of [`traffic`] has been answered and recorded, streams included.
fn settled(data: &Value) -> bool {
    data["requests"]["total"] == TRAFFIC_REQUESTS
        && data["latency_seconds"]["count"] == TRAFFIC_REQUESTS
        && data["inflight"] == 0.0
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[tokio::test]
async fn the_dashboard_page_is_self_contained_and_its_data_agrees_with_metrics() {
    let server = TestServer::start(CONFIG).await;
    let client = client();

    let page = client.get(server.url("/dashboard")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.starts_with("default-src 'none';"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    assert!(page.headers().contains_key("x-request-id"));
    let html = page.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"),
        "the page loads nothing from elsewhere"
    );
    assert!(
        html.contains("<script>") && html.contains("<style>"),
        "inline script and style"
    );

    let before = dashboard_data(&client, &server).await;
    assert_eq!(before["metrics"], true);
    assert_eq!(
        before["requests"]["total"], 0.0,
        "the page and its data are not counted"
    );

    traffic(&client, &server).await;
    let data = data_until(&client, &server, settled).await;
    let again = dashboard_data(&client, &server).await;
    assert_eq!(
        again["requests"], data["requests"],
        "polling the data is not counted"
    );

    let metrics = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let samples = prometheus::parse(&metrics.text().await.unwrap());

    assert_eq!(
        data["requests"]["total"],
        sum(&samples, "llm_requests_total", &[])
    );
    assert_eq!(data["requests"]["total"], TRAFFIC_REQUESTS);
    for status in ["200", "503"] {
        assert_eq!(
            data["requests"]["by_status"][status],
            sum(&samples, "llm_requests_total", &[("status", status)]),
            "status {status}"
        );
    }
    assert_eq!(data["requests"]["by_status"]["200"], 6.0);
    assert_eq!(data["requests"]["by_api"]["openai"], TRAFFIC_REQUESTS);
    for kind in ["prompt", "completion"] {
        let scraped = sum(&samples, "llm_tokens_total", &[("kind", kind)]);
        assert!(scraped > 0.0, "{kind}");
        assert_eq!(data["tokens"][kind], scraped, "{kind} tokens");
    }
    for result in ["hit", "miss", "bypass", "error"] {
        assert_eq!(
            data["cache"][result],
            sum(&samples, "llm_cache_requests_total", &[("result", result)]),
            "cache {result}"
        );
    }
    assert_eq!(data["cache"]["hit"], 2.0);
    assert_eq!(data["cache"]["miss"], 3.0);
    assert_eq!(
        data["cache"]["hit_ratio"],
        sum(&samples, "llm_cache_hit_ratio", &[])
    );
    assert_eq!(
        data["provider_errors"],
        json!({"broken": {"provider_unavailable": sum(&samples, "llm_provider_errors_total",
            &[("provider", "broken"), ("error_type", "provider_unavailable")])}})
    );
    // One failed request: its first attempt and 2 retries (routing.max_retries defaults to 2).
    assert_eq!(data["provider_errors"]["broken"]["provider_unavailable"], 3.0);
    for (field, metric) in [
        ("latency_seconds", "llm_request_duration_seconds"),
        ("overhead_seconds", "llm_gateway_overhead_seconds"),
        ("ttft_seconds", "llm_time_to_first_token_seconds"),
        ("provider_seconds", "llm_provider_request_duration_seconds"),
    ] {
        let histogram = &data[field];
        assert_eq!(
            histogram["count"],
            sum(&samples, &format!("{metric}_count"), &[]),
            "{field}"
        );
        assert!(close(
            histogram["sum"].as_f64().unwrap(),
            sum(&samples, &format!("{metric}_sum"), &[])
        ));
        for bucket in histogram["buckets"].as_array().unwrap() {
            let le = bucket[0].as_f64().unwrap();
            let scraped: f64 = samples
                .iter()
                .filter(|(name, labels, _)| {
                    *name == format!("{metric}_bucket")
                        && labels.get("le").and_then(|bound| bound.parse::<f64>().ok()) == Some(le)
                })
                .map(|(_, _, value)| value)
                .sum();
            assert_eq!(bucket[1].as_f64().unwrap(), scraped, "{field} bucket {le}");
        }
    }
    assert_eq!(data["latency_seconds"]["count"], TRAFFIC_REQUESTS);
    assert!(
        data["latency_seconds"]["p50"]
            .as_f64()
            .is_some_and(|p50| p50 > 0.0)
    );
    assert_eq!(data["ttft_seconds"]["count"], 1.0);
    assert_eq!(data["inflight"], sum(&samples, "llm_inflight_requests", &[]));
    let providers: Vec<&str> = data["health"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|provider| provider["id"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["mock", "broken"]);
}

/// What the page shows, read from its elements.
const PAGE_STATE: &str = r#"(() => {
  const text = (id) => { const element = document.getElementById(id); return element ? element.textContent : null; };
  return {
    updates: Number((document.body && document.body.dataset.updates) || 0),
    failures: Number((document.body && document.body.dataset.failures) || 0),
    connection: text("connection"),
    requests: text("requests-total"),
    tokens: text("tokens-total"),
    errors: text("errors-total"),
    rate: text("request-rate"),
    cache: text("cache-hit-ratio"),
    health: text("health-status"),
    latency_p50: text("latency-p50"),
    provider_errors: text("provider-errors"),
  };
})()"#;

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGVsbG8hIQ=="), b"hello!!");
    assert_eq!(base64_decode("iVBORw0KGgo="), b"\x89PNG\r\n\x1a\n");
}

#[tokio::test]
async fn the_dashboard_shows_live_numbers_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is required under CI=true (apt-get install chromium)"
        );
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium)");
        return;
    };
    let server = TestServer::start(CONFIG).await;
    let client = client();
    let mut browser = Browser::launch(&chromium).await;

    browser
        .call(
            "Page.navigate",
            json!({"url": server.url("/dashboard?interval_ms=250")}),
        )
        .await;
    let first = browser
        .page_until(PAGE_STATE, "a first update", |state| {
            state["updates"].as_u64() >= Some(1)
        })
        .await;
    assert_eq!(first["requests"], "0", "{first}");
    assert_eq!(first["tokens"], "0", "{first}");
    assert_eq!(first["connection"], "live", "{first}");

    traffic(&client, &server).await;

    let updates = first["updates"].as_u64().unwrap();
    let after = browser
        .page_until(PAGE_STATE, "the traffic", |state| {
            state["requests"] == "7"
                && state["tokens"]
                    .as_str()
                    .and_then(|tokens| tokens.parse::<u64>().ok())
                    > Some(0)
                && state["health"] == "ok"
                && state["updates"].as_u64() > Some(updates)
        })
        .await;
    assert_eq!(after["errors"], "1", "{after}");
    assert_eq!(after["cache"], "40.0%", "2 hits of 5 lookups: {after}");
    assert_eq!(after["failures"], 0, "{after}");
    assert_eq!(after["connection"], "live", "{after}");
    assert!(
        after["provider_errors"]
            .as_str()
            .is_some_and(|table| table.contains("broken") && table.contains("provider_unavailable")),
        "{after}"
    );
    assert_ne!(after["latency_p50"], "–", "{after}");
    // The tokens total is exactly what the server counted.
    let data = dashboard_data(&client, &server).await;
    let tokens = data["tokens"]["prompt"].as_f64().unwrap() + data["tokens"]["completion"].as_f64().unwrap();
    assert_eq!(after["tokens"], format!("{tokens}"), "{after}");

    // A few more polls, so the request-rate sparkline has a history to draw.
    let seen = after["updates"].as_u64().unwrap();
    browser
        .page_until(PAGE_STATE, "more updates", |state| {
            state["updates"].as_u64() >= Some(seen + 4)
        })
        .await;
    let shot = browser
        .call("Page.captureScreenshot", json!({"format": "png"}))
        .await;
    let png = base64_decode(shot["data"].as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 10 * 1024,
        "suspiciously small screenshot: {} bytes",
        png.len()
    );
    let directory = option_env!("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from);
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("dashboard.png");
    std::fs::write(&path, &png).unwrap();
    eprintln!("dashboard screenshot: {} ({} bytes)", path.display(), png.len());
}
