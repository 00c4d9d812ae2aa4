//! Rate limits over HTTP: per-user requests, token reservations settled to real usage, exactness
//! across three gateway instances on one Redis, and Redis failing under both policies.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::redis::{free_port, shared_redis, start_redis, stop_redis};

use std::time::{Duration, Instant};

use serde_json::json;
use support::{TestServer, chat_as, client, error_of};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn chat(text: &str, max_tokens: Option<u32>) -> serde_json::Value {
    let mut body =
        json!({"model": "mock/echo", "temperature": 0.7, "messages": [{"role": "user", "content": text}]});
    if let Some(max) = max_tokens {
        body["max_tokens"] = json!(max);
    }
    body
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("missing {name}"))
        .to_str()
        .unwrap()
}

const PROVIDERS: &str = "[[providers]]\nid = \"mock\"\ntype = \"mock\"\n";

#[tokio::test]
async fn each_user_gets_their_own_request_budget() {
    let config = format!(
        "[[rate_limits]]\nscope = \"user\"\nunit = \"requests\"\nlimit = 3\nwindow = \"1m\"\n{PROVIDERS}"
    );
    let server = TestServer::start(&config).await;
    let client = client();
    for remaining in [2, 1, 0] {
        let response = chat_as(&client, &server, "alice", chat("hi", None)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "x-ratelimit-limit-requests"), "3");
        assert_eq!(
            header(&response, "x-ratelimit-remaining-requests"),
            remaining.to_string()
        );
        assert!(header(&response, "x-ratelimit-reset-requests").ends_with('s'));
    }
    let refused = chat_as(&client, &server, "alice", chat("hi", None)).await;
    let retry_after: u64 = header(&refused, "retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&refused, "x-ratelimit-remaining-requests"), "0");
    let (code, _, body) = error_of(refused, 429).await;
    assert_eq!(code, "rate_limit_exceeded");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("user"),
        "{body}"
    );

    let bob = chat_as(&client, &server, "bob", chat("hi", None)).await;
    assert_eq!(bob.status(), 200, "another user has their own budget");
}

#[tokio::test]
async fn token_reservations_are_settled_to_real_usage() {
    let config = format!(
        "[[rate_limits]]\nscope = \"global\"\nunit = \"tokens\"\nlimit = 1000\nwindow = \"1h\"\n{PROVIDERS}"
    );
    let server = TestServer::start(&config).await;
    let client = client();
    let first = chat_as(&client, &server, "u", chat("a short question", Some(900))).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-ratelimit-limit-tokens"), "1000");
    let remaining: u64 = header(&first, "x-ratelimit-remaining-tokens").parse().unwrap();
    assert!(
        remaining < 100,
        "about 900 tokens are reserved up front: {remaining}"
    );
    // The mock used a handful of tokens: once settled, the reservation comes back.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = chat_as(&client, &server, "u", chat("a short question", Some(900))).await;
        if again.status() == 200 {
            break;
        }
        assert_eq!(again.status(), 429);
        assert!(
            Instant::now() < deadline,
            "the first reservation was never settled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let too_big = chat_as(&client, &server, "u", chat("x", Some(5000))).await;
    assert_eq!(error_of(too_big, 429).await.0, "rate_limit_exceeded");
}

#[tokio::test]
async fn three_instances_on_one_redis_admit_exactly_the_limit() {
    let Some(url) = shared_redis() else { return };
    let upstream = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "c", "object": "chat.completion",
            "created": 1, "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
            "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})))
        .mount(&upstream)
        .await;
    let namespace = format!("e2e-exact-{}", std::process::id());
    let config = format!(
        "[redis]\nurl = \"{url}\"\n[cache]\nnamespace = \"{namespace}\"\n\
         [[rate_limits]]\nscope = \"global\"\nunit = \"requests\"\nlimit = 20\nwindow = \"1h\"\n\
         [[providers]]\nid = \"up\"\ntype = \"openai_compatible\"\nbase_url = \"{}/v1\"\n",
        upstream.uri()
    );
    let servers = [
        TestServer::start(&config).await,
        TestServer::start(&config).await,
        TestServer::start(&config).await,
    ];
    let client = client();
    let mut calls = Vec::new();
    for n in 0..90 {
        let url = servers[n % 3].url("/v1/chat/completions");
        let client = client.clone();
        calls.push(tokio::spawn(async move {
            let body = json!({"model": "up/m", "temperature": 1, "messages": [{"role": "user", "content": format!("q{n}")}]});
            client.post(url).json(&body).send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.unwrap());
    }
    let admitted = statuses.iter().filter(|status| **status == 200).count();
    let refused = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!((admitted, refused), (20, 70), "{statuses:?}");
    let upstream_calls = upstream
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/chat/completions"))
        .count();
    assert_eq!(upstream_calls, 20, "the provider was called exactly the limit");
}

#[tokio::test]
async fn a_dead_redis_falls_back_locally_or_denies_as_configured() {
    if shared_redis().is_none() {
        return;
    }
    let port = free_port();
    let redis = start_redis(port);
    let config = format!(
        "[redis]\nurl = \"redis://127.0.0.1:{port}\"\ntimeout_ms = 200\n\
         [[rate_limits]]\nscope = \"user\"\nlimit = 2\nwindow = \"1h\"\non_redis_error = \"local\"\n\
         [[rate_limits]]\nscope = \"model\"\nlimit = 1000\nwindow = \"1h\"\non_redis_error = \"deny\"\n{PROVIDERS}"
    );
    let server = TestServer::start(&config).await;
    let client = client();
    assert_eq!(
        chat_as(&client, &server, "carol", chat("hi", None))
            .await
            .status(),
        200
    );

    stop_redis(redis, port);
    let started = Instant::now();
    let denied = chat_as(&client, &server, "carol", chat("hi", None)).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no stall beyond the Redis timeout"
    );
    assert_eq!(
        error_of(denied, 503).await.0,
        "provider_unavailable",
        "the deny rule fails closed"
    );

    let redis = start_redis(port);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = chat_as(&client, &server, "dave", chat("hi", None)).await;
        if response.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "limits never recovered after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_redis(redis, port);
}
