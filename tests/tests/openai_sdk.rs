//! The official OpenAI Python SDK, unchanged, against the real server.
//!
//! Needs `python3` with the `openai` package (`.ci/run` installs it). Without it the test says so
//! loudly and passes, except under `CI=true`, where a missing SDK fails.

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

fn sdk_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import openai"])
        .output()
        .is_ok_and(|output| output.status.success())
}

#[tokio::test]
async fn the_official_python_sdk_works_unchanged() {
    if !sdk_available() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 with the openai package is required under CI=true (pip install openai)"
        );
        eprintln!("SKIPPED: python3 with the `openai` package is not installed (pip install openai)");
        return;
    }
    let server = TestServer::start(CONFIG).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/sdk/openai_python_check.py");
    let output = tokio::time::timeout(
        STEP,
        tokio::process::Command::new("python3")
            .arg(script)
            .arg(server.url("/v1"))
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
