//! The server process: configuration errors, `--check-config`, exposure refusal, graceful shutdown.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Launch, STEP, SseReader, TestServer, client, post_json, server_command, write_config};

/// Runs the server to completion and returns `(exit code, stdout, stderr)`.
async fn run_to_exit(config: &str, args: Vec<&str>, env: Vec<(&str, String)>) -> (i32, String, String) {
    let path = write_config(config);
    let launch = Launch { config, env, args };
    let output = tokio::time::timeout(STEP, server_command(&path, &launch).output())
        .await
        .expect("the server should exit by itself")
        .unwrap();
    let _ = std::fs::remove_file(path);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn bad_config_names_the_key_and_exits_before_binding() {
    let (code, _, stderr) = run_to_exit(
        "[server]\nmax_body_bytes = 0\n",
        vec!["--bind", "127.0.0.1:0"],
        vec![],
    )
    .await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("server.max_body_bytes: must be above 0"),
        "{stderr}"
    );
    assert!(!stderr.contains("listening"), "{stderr}");

    let (code, _, stderr) = run_to_exit("[serverr]\n", vec![], vec![]).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("serverr"), "{stderr}");

    let (code, _, stderr) = run_to_exit(
        "",
        vec![],
        vec![("LLM__SERVER__BIND", "not-an-address".to_owned())],
    )
    .await;
    assert_eq!(code, 2);
    assert!(stderr.contains("server.bind"), "{stderr}");
}

#[tokio::test]
async fn check_config_validates_and_exits() {
    let (code, stdout, _) = run_to_exit(
        "[models.fast]\ndeployments = [{ provider = \"mock\", model = \"echo\" }]\n",
        vec!["--check-config"],
        vec![],
    )
    .await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("configuration is valid: 1 provider(s), 1 model alias(es)"),
        "{stdout}"
    );
}

#[tokio::test]
async fn non_loopback_bind_without_auth_is_refused() {
    let (code, _, stderr) = run_to_exit("", vec!["--bind", "0.0.0.0:0"], vec![]).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("--allow-unauthenticated"), "{stderr}");
}

#[tokio::test]
async fn sigterm_lets_a_running_stream_finish() {
    let server = TestServer::start(
        "[server]\nshutdown_grace_secs = 10\n[[providers]]\nid = \"slow\"\ntype = \"mock\"\nchunks = 6\nchunk_delay_ms = 150\n",
    )
    .await;
    let body =
        json!({"model": "slow/echo", "stream": true, "messages": [{"role": "user", "content": "abcdef"}]});
    let response = post_json(&client(), &server.url("/v1/chat/completions"), body).await;
    assert_eq!(response.status(), 200);
    let mut reader = SseReader::new(response);
    let first = reader.next().await.unwrap();
    assert_eq!(first.json()["choices"][0]["delta"]["role"], "assistant");

    server.terminate();
    let mut text = String::new();
    let mut last = String::new();
    while let Some(event) = reader.next().await {
        if event.data != "[DONE]"
            && let Some(piece) = event.json()["choices"][0]["delta"]["content"].as_str()
        {
            text.push_str(piece);
        }
        last = event.data;
    }
    assert_eq!(text, "abcdef", "every chunk arrives after SIGTERM");
    assert_eq!(last, "[DONE]");

    let mut server = server;
    let status = tokio::time::timeout(STEP, server.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let logs = server.all_logs();
    assert!(logs.contains("SIGTERM"), "{logs}");

    // New connections are refused once the server has stopped.
    let refused = client()
        .get(server.url("/llm/health"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn each_request_logs_one_structured_line_with_its_id_and_outcome() {
    let server = TestServer::start("[[providers]]\nid = \"mock\"\ntype = \"mock\"\n").await;
    let body = json!({"model": "mock/echo", "temperature": 0, "messages": [{"role": "user", "content": "log me please"}]});
    let response = client()
        .post(server.url("/v1/chat/completions"))
        .header("x-request-id", "trace-me-42")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let _ = response.bytes().await.unwrap();
    // The line is written as the response leaves; wait for it (bounded).
    let line = log_line(&server, "request finished", "trace-me-42").await;
    let fields = &line["fields"];
    assert_eq!(fields["api"], "openai");
    assert_eq!(fields["status"], 200);
    assert_eq!(fields["model"], "mock/echo");
    assert_eq!(fields["provider"], "mock");
    assert_eq!(fields["cache"], "miss");
    assert_eq!(fields["prompt_tokens"], 3);
    assert_eq!(fields["completion_tokens"], 3);
    assert!(fields["overhead_ms"].as_f64().is_some());
    assert_eq!(line["span"]["path"], "/v1/chat/completions");
    assert!(
        !server.all_logs().contains("log me please"),
        "prompts are never logged"
    );
}

#[tokio::test]
async fn a_stream_logs_its_outcome_and_tokens_when_it_ends() {
    let server = TestServer::start("[[providers]]\nid = \"mock\"\ntype = \"mock\"\nchunks = 3\n").await;
    let body = json!({"model": "mock/echo", "stream": true, "messages": [{"role": "user", "content": "stream me please"}]});
    let response = client()
        .post(server.url("/v1/chat/completions"))
        .header("x-request-id", "stream-me-7")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().ends_with(b"data: [DONE]\n\n"));
    let line = log_line(&server, "stream finished", "stream-me-7").await;
    let fields = &line["fields"];
    assert_eq!(fields["outcome"], "completed");
    assert_eq!(fields["provider"], "mock");
    assert_eq!(fields["model"], "echo");
    // Usage is counted even when the client did not ask for it in the stream.
    assert_eq!(fields["prompt_tokens"], 3);
    assert_eq!(fields["completion_tokens"], 3);
    assert!(fields["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(line["span"]["path"], "/v1/chat/completions");
}

/// The JSON log line with this message in the request span with this id; waits for it (bounded).
async fn log_line(server: &TestServer, message: &str, request_id: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + STEP;
    loop {
        let found = server.logs.lock().unwrap().iter().find_map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).ok()?;
            (json["fields"]["message"] == message && json["span"]["request_id"] == request_id).then_some(json)
        });
        if let Some(line) = found {
            return line;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `{message}` line for {request_id}: {}",
            server.all_logs()
        );
        tokio::task::yield_now().await;
    }
}
