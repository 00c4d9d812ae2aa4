//! The GraphQL output types: plain views of the engine's answers, built by `From` conversions.

use juniper::{GraphQLEnum, GraphQLObject};
use llm_gateway::{Completion as EngineCompletion, HealthStatus as EngineHealthStatus};
use llm_gateway::{ProviderHealthRecord, ProviderSnapshot};

/// GraphQL `Int` is 32-bit: larger counts saturate.
pub(crate) fn int(value: u64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Why the model stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, GraphQLEnum)]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
    FunctionCall,
}

impl From<llm_core::FinishReason> for FinishReason {
    fn from(reason: llm_core::FinishReason) -> Self {
        match reason {
            llm_core::FinishReason::Stop => Self::Stop,
            llm_core::FinishReason::Length => Self::Length,
            llm_core::FinishReason::ToolCalls => Self::ToolCalls,
            llm_core::FinishReason::ContentFilter => Self::ContentFilter,
            llm_core::FinishReason::FunctionCall => Self::FunctionCall,
        }
    }
}

/// Token counts of one answer.
#[derive(Clone, Debug, GraphQLObject)]
pub struct Usage {
    pub prompt_tokens: i32,
    pub completion_tokens: i32,
    pub total_tokens: i32,
}

impl From<&llm_core::Usage> for Usage {
    fn from(usage: &llm_core::Usage) -> Self {
        Self {
            prompt_tokens: int(usage.prompt_tokens),
            completion_tokens: int(usage.completion_tokens),
            total_tokens: int(usage.total_tokens),
        }
    }
}

/// A function call the model asks for; `arguments` is a JSON string.
#[derive(Clone, Debug, GraphQLObject)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// A complete answer.
#[derive(Clone, Debug, GraphQLObject)]
pub struct Completion {
    pub id: String,
    /// The upstream model that answered.
    pub model: String,
    /// The provider that answered.
    pub provider: String,
    /// The first choice's text.
    pub content: String,
    pub finish_reason: Option<FinishReason>,
    pub usage: Option<Usage>,
    /// Whether the answer came from the response cache.
    pub cached: bool,
    /// Time from receipt to answer, in milliseconds.
    pub latency_ms: i32,
    pub tool_calls: Vec<ToolCall>,
}

impl From<&EngineCompletion> for Completion {
    fn from(completion: &EngineCompletion) -> Self {
        let response = &completion.response;
        let tool_calls = response
            .choices
            .first()
            .and_then(|choice| choice.message.tool_calls.as_ref())
            .map(|calls| {
                calls
                    .iter()
                    .map(|call| ToolCall {
                        id: call.id.clone(),
                        name: call.function.name.clone(),
                        arguments: call.function.arguments.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            id: response.id.clone(),
            model: response.model.clone(),
            provider: completion.provider.to_string(),
            content: response.first_text().to_owned(),
            finish_reason: response.first_finish_reason().map(Into::into),
            usage: response.usage.as_ref().map(Into::into),
            cached: completion.cached(),
            latency_ms: 0,
            tool_calls,
        }
    }
}

/// A piece of a tool call in a stream; pieces with the same `index` concatenate.
#[derive(Clone, Debug, GraphQLObject)]
pub struct ToolCallDelta {
    pub index: i32,
    pub id: Option<String>,
    pub name: Option<String>,
    pub arguments: Option<String>,
}

/// One event of a streamed answer (first choice). The last carries `finishReason` and `usage`.
#[derive(Clone, Debug, GraphQLObject)]
pub struct CompletionChunk {
    pub id: String,
    pub model: String,
    /// The text added by this chunk.
    pub content: Option<String>,
    pub tool_calls: Vec<ToolCallDelta>,
    pub finish_reason: Option<FinishReason>,
    pub usage: Option<Usage>,
}

impl From<&llm_core::ChatChunk> for CompletionChunk {
    fn from(chunk: &llm_core::ChatChunk) -> Self {
        let choice = chunk.choices.first();
        let tool_calls = choice
            .and_then(|choice| choice.delta.tool_calls.as_ref())
            .map(|deltas| {
                deltas
                    .iter()
                    .map(|delta| ToolCallDelta {
                        index: int(u64::from(delta.index)),
                        id: delta.id.clone(),
                        name: delta.function.as_ref().and_then(|f| f.name.clone()),
                        arguments: delta.function.as_ref().and_then(|f| f.arguments.clone()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            id: chunk.id.clone(),
            model: chunk.model.clone(),
            content: choice.and_then(|choice| choice.delta.content.clone()),
            tool_calls,
            finish_reason: chunk.finish_reason().map(Into::into),
            usage: chunk.usage.as_ref().map(Into::into),
        }
    }
}

/// A provider's state as its last probe saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, GraphQLEnum)]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
}

/// The result of a provider's last health probe.
#[derive(Clone, Debug, GraphQLObject)]
pub struct ProviderHealth {
    pub status: HealthStatus,
    pub latency_ms: i32,
    /// Unix seconds.
    pub checked_at: f64,
    /// The error code and message when unhealthy.
    pub error: Option<String>,
}

impl From<&ProviderHealthRecord> for ProviderHealth {
    #[allow(clippy::cast_precision_loss)]
    fn from(record: &ProviderHealthRecord) -> Self {
        Self {
            status: match record.status {
                EngineHealthStatus::Healthy => HealthStatus::Healthy,
                EngineHealthStatus::Unhealthy => HealthStatus::Unhealthy,
            },
            latency_ms: int(record.latency_ms),
            checked_at: record.checked_at as f64,
            error: record.error.clone(),
        }
    }
}

/// A provider: configuration and state, never secrets.
#[derive(Clone, Debug, GraphQLObject)]
pub struct Provider {
    pub id: String,
    /// `openai`, `anthropic`, `gemini`, `mock`, ...
    pub kind: String,
    pub enabled: bool,
    /// The models it last listed.
    pub models: Vec<String>,
    /// `null` before its first probe.
    pub health: Option<ProviderHealth>,
}

impl From<ProviderSnapshot> for Provider {
    fn from(snapshot: ProviderSnapshot) -> Self {
        Self {
            id: snapshot.id.to_string(),
            kind: snapshot.kind.to_owned(),
            enabled: snapshot.enabled,
            models: snapshot.models,
            health: snapshot.health.as_ref().map(Into::into),
        }
    }
}

/// A model a client can name.
#[derive(Clone, Debug, GraphQLObject)]
pub struct Model {
    /// `provider/model`.
    pub id: String,
    pub provider: String,
    /// Tokens, when known.
    pub context_window: Option<i32>,
    /// Configured aliases that route here.
    pub aliases: Vec<String>,
}

/// One provider in the health report.
#[derive(Clone, Debug, GraphQLObject)]
pub struct ProviderHealthView {
    pub id: String,
    pub enabled: bool,
    pub health: Option<ProviderHealth>,
}

/// The response cache's backend and counters.
#[derive(Clone, Debug, GraphQLObject)]
pub struct CacheHealth {
    /// `memory` or `redis`.
    pub backend: String,
    pub reachable: bool,
    pub latency_ms: f64,
    pub error: Option<String>,
    pub hits: f64,
    pub misses: f64,
    pub hit_ratio: f64,
}

/// The gateway's health.
#[derive(Clone, Debug, GraphQLObject)]
pub struct Health {
    /// `ok`, `degraded`, `unavailable` or `starting`.
    pub status: String,
    /// Whether at least one enabled provider is healthy.
    pub ready: bool,
    pub providers: Vec<ProviderHealthView>,
    pub cache: CacheHealth,
}
