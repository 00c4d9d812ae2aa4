//! The OpenAI Chat Completions provider: OpenAI itself and every OpenAI-compatible server.
//!
//! This crate owns the OpenAI wire format in both directions ([`wire`]), the mapping of OpenAI's HTTP
//! statuses and error bodies onto the gateway's error taxonomy, the translation of OpenAI's
//! Server-Sent-Events into canonical chunks, and the settings (credentials, headers, endpoints,
//! quirks) of one configured OpenAI-style upstream. The HTTP plumbing shared with the other vendors
//! (client, deadlines, SSE driver, transport errors) lives in `llm-provider-http`.
//!
//! It depends on `llm-core` and `llm-provider-http` alone among the gateway crates, and must not
//! depend on any other gateway crate or on an HTTP server framework.

mod errors;
mod provider;
mod settings;
mod stream;
pub mod wire;

pub use provider::OpenAiProvider;
pub use settings::{AuthStyle, OpenAiSettings, Quirks};
