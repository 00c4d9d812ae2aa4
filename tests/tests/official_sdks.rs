//! The official OpenAI and Anthropic Python SDKs, unchanged, against the real server.
//!
//! Needs `python3` with the `openai` and `anthropic` packages (`.ci/run` installs them). Without them
//! a test says so loudly and passes, except under `CI=true`, where a missing SDK fails.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{STEP, TestServer};

const CONFIG: &str = r#"
[[providers]]
id = "mock"
type = "mock"

[[providers]]
id = "limited"
type = "mock"
failure = { kind = "rate_limit_exceeded" }

[[providers]]
id = "broken"
type = "mock"
failure = { kind = "provider_unavailable", after_chunks = 1 }
"#;

fn sdk_available(module: &str) -> bool {
    std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Runs `sdk/{script}` against a fresh server; `api_root` is appended to the server's address.
async fn run_sdk_check(module: &str, script: &str, api_root: &str) {
    if !sdk_available(module) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 with the {module} package is required under CI=true (pip install {module})"
        );
        eprintln!("SKIPPED: python3 with the `{module}` package is not installed (pip install {module})");
        return;
    }
    let server = TestServer::start(CONFIG).await;
    let script = format!("{}/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::time::timeout(
        STEP,
        tokio::process::Command::new("python3")
            .arg(script)
            .arg(server.url(api_root))
            .output(),
    )
    .await
    .expect("the SDK check hung")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "SDK check failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

#[tokio::test]
async fn the_official_openai_python_sdk_works_unchanged() {
    run_sdk_check("openai", "openai_python_check.py", "/v1").await;
}

#[tokio::test]
async fn the_official_anthropic_python_sdk_works_unchanged() {
    run_sdk_check("anthropic", "anthropic_python_check.py", "").await;
}
