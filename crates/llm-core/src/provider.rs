//! The `Provider` trait: what every provider crate implements.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;

use crate::chunk::ChunkStream;
use crate::error::LlmError;
use crate::ids::ProviderId;
use crate::request::ChatRequest;
use crate::response::ChatResponse;

/// An upstream LLM service. Held as `Arc<dyn Provider>`: providers are added and removed at run time.
///
/// `model` is the upstream model name the router resolved; the request's own `model` field is the
/// name the client wrote and must not be sent upstream.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The configured id of this instance.
    fn id(&self) -> &ProviderId;

    /// The provider type (`openai`, `mock`, ...), for listings and metric labels.
    fn kind(&self) -> &'static str;

    /// A complete answer.
    async fn complete(&self, model: &str, request: &ChatRequest) -> Result<ChatResponse, LlmError>;

    /// A streamed answer. Providers always ask upstream for usage when the vendor can send it; the
    /// API layer decides whether the client sees the usage chunk.
    async fn stream(&self, model: &str, request: &ChatRequest) -> Result<ChunkStream, LlmError>;

    /// The models this provider serves.
    async fn models(&self) -> Result<Vec<ModelInfo>, LlmError>;

    /// A free health probe. The default lists models, which no vendor bills.
    async fn health(&self) -> ProviderHealth {
        let started = Instant::now();
        let result = self.models().await;
        ProviderHealth::from_probe(started.elapsed(), result.map(|_| ()))
    }
}

/// A model a provider serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    /// The upstream model name.
    pub id: String,
    /// The owner as the vendor reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
    /// The context window in tokens, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u32>,
}

impl ModelInfo {
    /// A model known only by name.
    pub fn named(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            owned_by: None,
            context_window: None,
        }
    }
}

/// The result of one health probe.
#[derive(Clone, Debug)]
pub struct ProviderHealth {
    /// Whether the probe succeeded.
    pub healthy: bool,
    /// How long the probe took.
    pub latency: Duration,
    /// Why it failed (client-safe).
    pub error: Option<LlmError>,
}

impl ProviderHealth {
    /// Builds a report from a timed probe result.
    pub fn from_probe(latency: Duration, result: Result<(), LlmError>) -> Self {
        match result {
            Ok(()) => Self {
                healthy: true,
                latency,
                error: None,
            },
            Err(error) => Self {
                healthy: false,
                latency,
                error: Some(error),
            },
        }
    }
}
