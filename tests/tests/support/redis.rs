//! Redis for end-to-end tests: the machine's Redis, and redis-servers a test owns.

use std::process::Stdio;
use std::time::{Duration, Instant};

/// Redis for tests: `REDIS_URL`, else 127.0.0.1:6379 if it answers; `None` skips loudly, except
/// under `CI=true`, where a missing Redis fails the test.
pub fn shared_redis() -> Option<String> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return Some(url);
    }
    if std::net::TcpStream::connect("127.0.0.1:6379").is_ok() {
        return Some("redis://127.0.0.1:6379".to_owned());
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "Redis is required under CI=true"
    );
    eprintln!("SKIPPED: no Redis at 127.0.0.1:6379 and no REDIS_URL");
    None
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a `redis-server` this test owns on `port`, and waits until it answers.
pub fn start_redis(port: u16) -> std::process::Child {
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed");
    wait_for_port(port, true);
    child
}

/// Kills a test-owned `redis-server` and waits until its port is closed.
pub fn stop_redis(mut redis: std::process::Child, port: u16) {
    let _ = redis.kill();
    let _ = redis.wait();
    wait_for_port(port, false);
}

/// Waits (bounded) until `port` accepts connections (`up`) or refuses them.
pub fn wait_for_port(port: u16, up: bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() != up {
        assert!(
            Instant::now() < deadline,
            "redis on {port} did not come {}",
            if up { "up" } else { "down" }
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
