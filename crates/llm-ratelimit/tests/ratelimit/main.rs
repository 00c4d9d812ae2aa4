//! Integration tests of llm-ratelimit through its public API.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod fault;

mod local;
mod redis;

mod scenarios;
