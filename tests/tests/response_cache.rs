//! The response cache over HTTP: headers, `cached`, byte-for-byte stream replay, Redis shared by two
//! gateway instances, and Redis dying and coming back while every request is still answered.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::redis::{free_port, shared_redis, start_redis, stop_redis};

use std::time::{Duration, Instant};

use serde_json::json;
use support::{Launch, TestServer, client, error_of, post_json};

const PROVIDERS: &str = r#"
[[providers]]
id = "mock"
type = "mock"
chunks = 3
"#;

fn chat(text: &str, temperature: f64, stream: bool) -> serde_json::Value {
    json!({"model": "mock/echo", "temperature": temperature, "stream": stream,
        "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn answers_say_miss_then_hit_and_the_simple_api_says_cached() {
    let server = TestServer::start(PROVIDERS).await;
    let client = client();
    let url = server.url("/v1/chat/completions");
    let first = post_json(&client, &url, chat("cache me", 0.0, false)).await;
    assert_eq!(first.headers()["x-llm-cache"], "miss");
    let first: serde_json::Value = first.json().await.unwrap();
    let second = post_json(&client, &url, chat("cache me", 0.0, false)).await;
    assert_eq!(second.headers()["x-llm-cache"], "hit");
    assert_eq!(second.json::<serde_json::Value>().await.unwrap(), first);

    let warm = json!({"model": "mock/echo", "prompt": "cache me too", "temperature": 0});
    let miss: serde_json::Value = post_json(&client, &server.url("/llm/complete"), warm.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(miss["cached"], false);
    let hit = post_json(&client, &server.url("/llm/complete"), warm).await;
    assert_eq!(hit.headers()["x-llm-cache"], "hit");
    let hit: serde_json::Value = hit.json().await.unwrap();
    assert_eq!(
        (hit["cached"].clone(), hit["id"].clone()),
        (json!(true), miss["id"].clone())
    );

    let creative = post_json(&client, &url, chat("cache me", 0.8, false)).await;
    assert_eq!(creative.headers()["x-llm-cache"], "bypass");
    let skipped = client
        .post(&url)
        .header("cache-control", "no-cache")
        .json(&chat("cache me", 0.0, false))
        .send()
        .await
        .unwrap();
    assert_eq!(skipped.headers()["x-llm-cache"], "bypass");
}

#[tokio::test]
async fn a_streamed_hit_is_byte_for_byte_the_recorded_stream() {
    let server = TestServer::start(PROVIDERS).await;
    let client = client();
    let url = server.url("/v1/chat/completions");
    let mut body = chat("stream me", 0.0, true);
    body["stream_options"] = json!({"include_usage": true});
    let first = post_json(&client, &url, body.clone()).await;
    assert_eq!(first.headers()["x-llm-cache"], "miss");
    let recorded = first.bytes().await.unwrap();
    assert!(recorded.ends_with(b"data: [DONE]\n\n"));
    // The entry is written as the stream ends; poll until a hit comes back (bounded).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = post_json(&client, &url, body.clone()).await;
        let status = again.headers()["x-llm-cache"].to_str().unwrap().to_owned();
        let replayed = again.bytes().await.unwrap();
        if status == "hit" {
            assert_eq!(replayed, recorded);
            break;
        }
        assert!(Instant::now() < deadline, "the recorded stream was never served");
    }
    let plain = post_json(&client, &url, chat("stream me", 0.0, false)).await;
    assert_eq!(
        plain.headers()["x-llm-cache"],
        "hit",
        "a streamed answer serves a complete request"
    );
}

#[tokio::test]
async fn a_bad_ttl_header_is_a_400_naming_it() {
    let server = TestServer::start(PROVIDERS).await;
    let response = client()
        .post(server.url("/v1/chat/completions"))
        .header("x-llm-cache-ttl", "soon")
        .json(&chat("x", 0.0, false))
        .send()
        .await
        .unwrap();
    let (_, param, _) = error_of(response, 400).await;
    assert_eq!(param.as_deref(), Some("x-llm-cache-ttl"));
}

fn redis_config(url: &str, namespace: &str) -> String {
    format!("[redis]\nurl = \"{url}\"\ntimeout_ms = 200\n[cache]\nnamespace = \"{namespace}\"\n{PROVIDERS}")
}

#[tokio::test]
async fn two_gateways_share_one_redis_cache() {
    let Some(url) = shared_redis() else { return };
    let namespace = format!("e2e-shared-{}", std::process::id());
    let config = redis_config(&url, &namespace);
    let (a, b) = (TestServer::start(&config).await, TestServer::start(&config).await);
    let client = client();
    let stored = post_json(
        &client,
        &a.url("/v1/chat/completions"),
        chat("shared", 0.0, false),
    )
    .await;
    assert_eq!(stored.headers()["x-llm-cache"], "miss");
    let stored: serde_json::Value = stored.json().await.unwrap();
    let served = post_json(
        &client,
        &b.url("/v1/chat/completions"),
        chat("shared", 0.0, false),
    )
    .await;
    assert_eq!(served.headers()["x-llm-cache"], "hit", "B serves what A stored");
    assert_eq!(served.json::<serde_json::Value>().await.unwrap(), stored);
}

#[tokio::test]
async fn redis_dying_and_returning_never_fails_a_request() {
    if shared_redis().is_none() {
        return;
    }
    let port = free_port();
    let redis = start_redis(port);
    let config = redis_config(&format!("redis://127.0.0.1:{port}"), "e2e-faults");
    let server = TestServer::launch(Launch {
        config: &config,
        ..Launch::default()
    })
    .await;
    let client = client();
    let url = server.url("/v1/chat/completions");
    assert_eq!(
        post_json(&client, &url, chat("before", 0.0, false))
            .await
            .headers()["x-llm-cache"],
        "miss"
    );
    assert_eq!(
        post_json(&client, &url, chat("before", 0.0, false))
            .await
            .headers()["x-llm-cache"],
        "hit"
    );

    stop_redis(redis, port);
    for n in 0..5 {
        let started = Instant::now();
        let response = post_json(&client, &url, chat(&format!("during {n}"), 0.0, false)).await;
        assert_eq!(
            response.status(),
            200,
            "every request is answered while Redis is down"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "no request waits on a dead Redis"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["choices"][0]["message"]["content"], format!("during {n}"));
    }

    let redis = start_redis(port);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let first = post_json(&client, &url, chat("after", 0.0, false)).await;
        assert_eq!(first.status(), 200);
        let second = post_json(&client, &url, chat("after", 0.0, false)).await;
        if second.headers()["x-llm-cache"] == "hit" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cache never came back after Redis did"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_redis(redis, port);
}
