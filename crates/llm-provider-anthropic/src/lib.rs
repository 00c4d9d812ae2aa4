//! The Anthropic Messages API, both ways.
//!
//! This crate owns Anthropic's Messages wire format in both directions. As a provider it turns the
//! gateway's canonical (OpenAI-shaped) requests into Anthropic requests ([`wire`]), maps Anthropic's
//! answers, Server-Sent-Events streams ([`stream`]), HTTP errors and model lists back onto canonical
//! types and the error taxonomy, and holds the HTTP client settings of one upstream. As an ingress
//! ([`ingress`]) it turns Anthropic-shaped client requests into canonical ones and canonical answers
//! and chunks into Anthropic messages and events, so any provider can serve `POST /v1/messages`.
//! Both directions share one set of serde types ([`types`]).
//!
//! It depends on `llm-core` and the shared upstream HTTP toolkit (`llm-provider-http`, which owns the
//! client, deadlines, transport errors and the SSE driver) alone among the gateway crates, and must
//! not depend on any other gateway crate or on an HTTP server framework.

mod errors;
pub mod ingress;
mod provider;
mod settings;
pub mod stream;
pub mod types;
pub mod wire;

pub use provider::AnthropicProvider;
pub use settings::AnthropicSettings;
