//! Integration tests of llm-cache through its public API.

// Test helpers outside #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod fault;
mod front;
mod key;
mod memory;
mod redis;
