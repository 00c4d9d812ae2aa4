//! The response cache in the pipeline: who may use it, replaying hits, recording streams.
//!
//! Only successful answers are stored: a stream is recorded as it passes and stored when it ends
//! cleanly; an error, a cut stream or a client that goes away stores nothing.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use llm_cache::{AnswerCache, CacheKey, CachedAnswer};
use llm_core::{ChatChunk, ChatRequest, ChunkStream, LlmError, ResponseAssembler, response_chunks};

use crate::config::{CacheConfig, CacheMode};
use crate::single_flight::Leader;

/// What the client asked of the cache (`Cache-Control`, `x-llm-cache-ttl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheDirective {
    /// May the answer come from the cache? (`no-cache` and `no-store` say no.)
    pub read: bool,
    /// May the answer be stored? (`no-store` says no.)
    pub write: bool,
    /// The TTL the client asked for; bounded by `cache.max_ttl_secs`.
    pub ttl: Option<Duration>,
}

impl Default for CacheDirective {
    fn default() -> Self {
        Self {
            read: true,
            write: true,
            ttl: None,
        }
    }
}

/// What the cache did for a response (`x-llm-cache`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheStatus {
    /// Served from the cache (or from an identical request in flight).
    Hit,
    /// Looked up, not found; the answer came from the provider.
    Miss,
    /// The cache was not used for this request.
    Bypass,
}

impl CacheStatus {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Bypass => "bypass",
        }
    }
}

/// How one request uses the cache.
#[derive(Clone, Debug)]
pub(crate) struct CachePlan {
    pub key: CacheKey,
    pub ttl: Duration,
    pub read: bool,
    pub write: bool,
}

/// Decides whether and how a request uses the cache: `None` means bypass.
pub(crate) fn plan(
    config: &CacheConfig,
    directive: CacheDirective,
    request: &ChatRequest,
    provider: &llm_core::ProviderId,
    model: &str,
) -> Option<CachePlan> {
    let mode = config
        .per_model
        .get(&request.model)
        .copied()
        .unwrap_or(config.mode);
    let eligible = match mode {
        CacheMode::Off => false,
        CacheMode::Always => true,
        CacheMode::Deterministic => request.temperature == Some(0.0) || request.seed.is_some(),
    };
    if !eligible || !(directive.read || directive.write) {
        return None;
    }
    Some(CachePlan {
        key: CacheKey::for_request(&config.namespace, provider, model, request),
        ttl: directive.ttl.map_or(config.ttl, |ttl| ttl.min(config.max_ttl)),
        read: directive.read,
        write: directive.write,
    })
}

/// A cached answer replayed as a stream: the recorded chunks, or chunks made from the answer.
pub(crate) fn replay(answer: &CachedAnswer) -> ChunkStream {
    let chunks = answer
        .chunks
        .clone()
        .unwrap_or_else(|| response_chunks(&answer.response));
    Box::pin(futures::stream::iter(chunks.into_iter().map(Ok)))
}

/// Where a recorded stream goes when it ends cleanly.
pub(crate) struct RecordingTarget {
    pub cache: Arc<AnswerCache>,
    pub plan: CachePlan,
    pub leader: Option<Leader>,
}

/// Passes a provider stream through, recording it; stores it when it ends cleanly.
pub(crate) struct RecordingStream {
    inner: ChunkStream,
    chunks: Vec<ChatChunk>,
    assembler: ResponseAssembler,
    failed: bool,
    target: Option<RecordingTarget>,
}

impl RecordingStream {
    pub(crate) fn new(inner: ChunkStream, target: RecordingTarget) -> Self {
        Self {
            inner,
            chunks: Vec::new(),
            assembler: ResponseAssembler::new(),
            failed: false,
            target: Some(target),
        }
    }

    /// The stream ended: store and share the answer if it is complete and clean.
    fn complete(&mut self) {
        let Some(target) = self.target.take() else { return };
        if self.failed || !self.assembler.is_finished() {
            return;
        }
        let assembler = std::mem::take(&mut self.assembler);
        let answer = Arc::new(CachedAnswer {
            response: assembler.finish(),
            chunks: Some(std::mem::take(&mut self.chunks)),
        });
        let RecordingTarget { cache, plan, leader } = target;
        // Stored before followers are released, so a request arriving in between finds it.
        tokio::spawn(async move {
            if plan.write {
                cache.store(&plan.key, answer.clone(), plan.ttl).await;
            }
            if let Some(leader) = leader {
                leader.land(Some(answer));
            }
        });
    }
}

impl Stream for RecordingStream {
    type Item = Result<ChatChunk, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let item = match this.inner.as_mut().poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        match &item {
            Some(Ok(chunk)) if !this.failed && this.target.is_some() => {
                this.assembler.push(chunk);
                this.chunks.push(chunk.clone());
            }
            Some(Ok(_)) => {}
            Some(Err(_)) => this.failed = true,
            None => this.complete(),
        }
        Poll::Ready(item)
    }
}
