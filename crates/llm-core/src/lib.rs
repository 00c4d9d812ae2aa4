//! Canonical domain types of the LLM gateway.
//!
//! This crate owns the shapes every other crate speaks: the chat request and response in the OpenAI
//! Chat Completions schema (the ecosystem's lingua franca), the stream chunk, usage, the id newtypes,
//! the [`Provider`] trait that every provider crate implements, the closed [`LlmError`] taxonomy and an
//! incremental Server-Sent-Events parser that provider adapters share.
//!
//! It performs no I/O and must not depend on an HTTP framework, a runtime or any other gateway crate.

mod assemble;
mod chunk;
mod error;
mod ids;
mod provider;
mod quota;
mod request;
mod response;
pub mod retry_after;
pub mod sse;

pub use assemble::{ResponseAssembler, response_chunks};
pub use chunk::{ChatChunk, ChunkChoice, ChunkStream, Delta, FunctionCallDelta, ToolCallDelta};
pub use error::{ErrorKind, ErrorOrigin, LlmError};
pub use ids::{ModelRef, ProviderId, RequestId};
pub use provider::{ModelInfo, Provider, ProviderHealth};
pub use quota::{Quota, QuotaHeaders, format_reset};
pub use request::{
    ChatRequest, ContentPart, FunctionDefinition, ImageUrl, JsonSchemaFormat, Message, MessageContent,
    ResponseFormat, Role, Stop, StreamOptions, Tool,
};
pub use response::{
    AssistantMessage, ChatResponse, Choice, FinishReason, FunctionCall, ToolCall, Usage, unix_time_millis,
    unix_time_secs,
};
