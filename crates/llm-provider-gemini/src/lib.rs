//! The Google Gemini provider: the Generative Language API's `generateContent` and
//! `streamGenerateContent`.
//!
//! This crate owns the Gemini wire format in both directions ([`wire`]): canonical chat requests to
//! `contents` / `systemInstruction` / `tools` / `generationConfig`, candidates back to choices, tool
//! calls and usage; the incremental translation of Gemini's terminator-less Server-Sent-Events
//! streams into canonical chunks; the mapping of Gemini's HTTP statuses and `google.rpc.Status`
//! bodies onto the gateway's error taxonomy; and the settings (API key, headers, timeouts) of one
//! configured Gemini upstream. The HTTP plumbing (client, deadlines, transport errors, the SSE
//! driver) is `llm-provider-http`'s.
//!
//! It depends on `llm-core` and `llm-provider-http` alone among the gateway crates, and must not
//! depend on any other gateway crate or on an HTTP server framework.

mod errors;
mod provider;
mod settings;
mod stream;
pub mod wire;

pub use provider::GeminiProvider;
pub use settings::GeminiSettings;
pub use wire::translate_stream_bytes;
