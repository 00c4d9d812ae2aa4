//! The OpenAI Chat Completions provider: OpenAI itself and every OpenAI-compatible server.
//!
//! This crate owns the OpenAI wire format in both directions ([`wire`]), the mapping of OpenAI's HTTP
//! statuses and error bodies onto the gateway's error taxonomy, the incremental parsing of OpenAI's
//! Server-Sent-Events streams into canonical chunks, and the HTTP client settings (credentials,
//! headers, connect / first-byte / idle / overall timeouts) of one configured OpenAI-style upstream.
//!
//! It depends on `llm-core` alone among the gateway crates, and must not depend on any other gateway
//! crate or on an HTTP server framework.

mod errors;
mod provider;
mod settings;
mod stream;
pub mod wire;

pub use provider::{OpenAiProvider, install_crypto_provider};
pub use settings::{AuthStyle, OpenAiSettings, Quirks};
