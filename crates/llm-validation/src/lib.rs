//! Request validation of the LLM gateway: payload rules, token counting and limits, and the content
//! filter.
//!
//! This crate owns the checks a chat request passes before the gateway admits it:
//! - [`validate_payload`]: value rules on a parsed [`ChatRequest`](llm_core::ChatRequest) (sampling
//!   ranges, stop sequences, tools, messages, image URLs, sizes), each failure an `invalid_request`
//!   naming the parameter;
//! - [`TokenCounter`]: prompt token counts, exact for OpenAI models (bundled BPEs), estimated for the
//!   rest; [`known_context_window`] and [`check_token_limits`] turn them into
//!   `context_length_exceeded` errors;
//! - [`ContentFilter`]: configured block and redact rules on requests and on answers, complete or
//!   streamed ([`OutputFilter`]).
//!
//! It depends on `llm-core` only among the gateway crates. It performs no I/O and must not depend on
//! an HTTP framework or an async runtime: every function here is synchronous and CPU-bound.

mod filter;
mod image_url;
mod limits;
mod payload;
mod tokens;

pub use filter::{
    BUILTIN_NAMES, Blocked, ContentFilter, DEFAULT_REPLACEMENT, FilterConfigError, FilterRuleConfig,
    OutputFilter, OutputVerdict, REGEX_HOLD_BYTES,
};
pub use limits::{check_token_limits, known_context_window};
pub use payload::{PayloadLimits, validate_payload};
pub use tokens::{
    IMAGE_TOKENS_HIGH, IMAGE_TOKENS_LOW, PromptCount, REPLY_PRIMING_TOKENS, TOKENS_PER_MESSAGE,
    TOKENS_PER_NAME, TOKENS_PER_TOOL_CALL, TokenCounter,
};
