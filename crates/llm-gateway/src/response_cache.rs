//! The response cache in the pipeline: who may use it, replaying hits, recording streams.
//!
//! Only successful answers are stored: a stream is recorded as it passes and stored when it ends
//! cleanly; an error, a cut stream or a client that goes away stores nothing.

use std::sync::Arc;
use std::time::Duration;

use llm_cache::{AnswerCache, CacheKey, CachedAnswer};
use llm_core::{ChatChunk, ChatRequest, ChunkStream, LlmError, ResponseAssembler, response_chunks};

use crate::config::{CacheConfig, CacheMode};
use crate::observed::ChunkObserver;
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

/// Records a provider stream as it passes; stores it (and hands it to single-flight followers) when
/// it ends cleanly.
pub(crate) struct Recording {
    chunks: Vec<ChatChunk>,
    assembler: ResponseAssembler,
    failed: bool,
    target: Option<RecordingTarget>,
}

impl Recording {
    pub(crate) fn new(target: RecordingTarget) -> Self {
        Self {
            chunks: Vec::new(),
            assembler: ResponseAssembler::new(),
            failed: false,
            target: Some(target),
        }
    }
}

impl ChunkObserver for Recording {
    fn item(&mut self, item: &Result<ChatChunk, LlmError>) {
        match item {
            Ok(chunk) if !self.failed => {
                self.assembler.push(chunk);
                self.chunks.push(chunk.clone());
            }
            Ok(_) => {}
            Err(_) => self.failed = true,
        }
    }

    /// The stream ended: store and share the answer if it is complete and clean. Dropped before its
    /// end, it stores nothing (its leader, if any, releases the followers).
    fn end(&mut self) {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::CacheBackend;

    fn config(mode: CacheMode) -> CacheConfig {
        CacheConfig {
            backend: CacheBackend::Memory,
            mode,
            ttl: Duration::from_secs(300),
            max_ttl: Duration::from_secs(600),
            adaptive_ttl: false,
            memory_max_bytes: 1 << 20,
            namespace: "t".into(),
            single_flight_wait: Duration::from_secs(1),
            per_model: BTreeMap::from([("m-off".to_owned(), CacheMode::Off)]),
        }
    }

    fn request(model: &str, temperature: Option<f64>, seed: Option<i64>) -> ChatRequest {
        ChatRequest {
            temperature,
            seed,
            ..ChatRequest::from_prompt(model, "q")
        }
    }

    fn ttl_of(config: &CacheConfig, directive: CacheDirective) -> Option<Duration> {
        plan(
            config,
            directive,
            &request("m", Some(0.0), None),
            &"p".into(),
            "m",
        )
        .map(|plan| plan.ttl)
    }

    #[test]
    fn eligibility_follows_the_mode() {
        let deterministic = config(CacheMode::Deterministic);
        let eligible = |config: &CacheConfig, request: ChatRequest| {
            plan(config, CacheDirective::default(), &request, &"p".into(), "m").is_some()
        };
        assert!(eligible(&deterministic, request("m", Some(0.0), None)));
        assert!(eligible(&deterministic, request("m", Some(1.0), Some(3))));
        assert!(!eligible(&deterministic, request("m", Some(0.2), None)));
        assert!(
            !eligible(&deterministic, request("m", None, None)),
            "the provider's default temperature is not 0"
        );
        assert!(
            !eligible(&deterministic, request("m-off", Some(0.0), None)),
            "per-model mode wins"
        );
        assert!(eligible(
            &config(CacheMode::Always),
            request("m", Some(1.5), None)
        ));
        assert!(!eligible(
            &config(CacheMode::Off),
            request("m", Some(0.0), Some(1))
        ));
    }

    #[test]
    fn client_ttl_is_bounded_by_the_configured_maximum() {
        let config = config(CacheMode::Deterministic);
        let asking = |seconds| CacheDirective {
            ttl: Some(Duration::from_secs(seconds)),
            ..CacheDirective::default()
        };
        assert_eq!(
            ttl_of(&config, CacheDirective::default()),
            Some(Duration::from_secs(300))
        );
        assert_eq!(ttl_of(&config, asking(30)), Some(Duration::from_secs(30)));
        assert_eq!(ttl_of(&config, asking(86_400)), Some(Duration::from_secs(600)));
        let neither = CacheDirective {
            read: false,
            write: false,
            ttl: None,
        };
        assert_eq!(ttl_of(&config, neither), None);
    }
}
