//! A deterministic provider for demos, tests and benches.
//!
//! [`MockProvider`] echoes the last user message, splits it into a configurable number of stream
//! chunks with a configurable delay, reports word-count usage, honours `max_tokens` by truncating (finish
//! reason `length`), and can fail on script: an error kind, before the answer or after N chunks, on
//! every call or on the first N calls only. It counts the calls it starts and the calls its caller
//! dropped before they finished (and logs each such cancel), so tests can observe cancellation.
//!
//! It depends on llm-core alone and never touches the network.

mod provider;
mod settings;

pub use provider::MockProvider;
pub use settings::{MockSettings, ScriptedFailure};
