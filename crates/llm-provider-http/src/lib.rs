//! The upstream HTTP toolkit every provider crate shares.
//!
//! What is the same for OpenAI, Anthropic, Gemini and any provider that speaks JSON over HTTP lives
//! here once: the reqwest client with its TLS set-up ([`UpstreamClient`]), the four deadlines
//! ([`HttpTimeouts`]: connect, first byte, idle between stream events, whole exchange), secret header
//! values, endpoint URLs, transport failures mapped onto the error taxonomy, Retry-After headers, and
//! the SSE driver ([`chunk_stream`]) that turns a response body into canonical chunks through a
//! vendor's [`EventTranslator`] and makes sure a stream only ends cleanly when the vendor's protocol
//! says it is complete.
//!
//! What differs per vendor (wire formats, error bodies, terminal events) stays in the provider
//! crates. This crate depends on llm-core alone among the gateway crates; a third-party provider may
//! use it or not.

mod client;
mod errors;
mod headers;
mod stream;
mod timeouts;

#[cfg(feature = "testing")]
pub mod testing;

pub use client::{StatusMapper, UpstreamClient, endpoint, install_crypto_provider};
pub use errors::{from_body, from_transport, protocol, retry_after, timeout};
pub use headers::HeaderSet;
pub use stream::{EventTranslator, Progress, chunk_stream, chunk_stream_from};
pub use timeouts::HttpTimeouts;

/// Re-exported so provider crates name one reqwest.
pub use reqwest;
