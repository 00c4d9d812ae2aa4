//! Drives `OpenAiProvider` through its public API against local mock upstreams on 127.0.0.1.

mod common;
mod complete;
mod errors;
mod streaming;
mod timeouts;
