//! The pipeline's metrics, through the `metrics` facade (whatever recorder the process installed):
//!
//! - `llm_provider_request_duration_seconds{provider}`: each provider attempt (for streams, until
//!   its first content);
//! - `llm_provider_errors_total{provider,error_type}`: `error_type` is [`LlmError::code`];
//! - `llm_tokens_total{provider,model,kind}`: `kind` is `prompt` or `completion`, `model` the upstream
//!   model the request routed to; cache hits spent no provider tokens and are not counted;
//! - `llm_time_to_first_token_seconds{provider}`: streams, from the provider call's start to the
//!   first chunk with content;
//! - `llm_cache_requests_total{result="bypass"}`: requests that did not look in the cache (hits and
//!   misses are counted by the cache itself).
//!
//! A stream's end is also logged ("stream finished", in the request's span) with its outcome,
//! duration and tokens, which the request's own log line cannot know when the headers go out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use llm_core::{ChatChunk, ErrorOrigin, LlmError, ProviderId, Usage};

use crate::observed::ChunkObserver;
use crate::registry::ProviderEntry;
use crate::routing::deployment::DeploymentCall;

/// Records a provider call's duration.
pub(crate) fn provider_call(provider: &ProviderId, elapsed: Duration) {
    metrics::histogram!("llm_provider_request_duration_seconds", "provider" => provider.as_str().to_owned())
        .record(elapsed.as_secs_f64());
}

/// Counts a provider's failure.
pub(crate) fn provider_error(provider: &ProviderId, error: &LlmError) {
    metrics::counter!(
        "llm_provider_errors_total",
        "provider" => provider.as_str().to_owned(),
        "error_type" => error.code(),
    )
    .increment(1);
}

/// Counts the tokens a provider reported.
pub(crate) fn tokens(provider: &ProviderId, model: &str, usage: &Usage) {
    for (kind, count) in [
        ("prompt", usage.prompt_tokens),
        ("completion", usage.completion_tokens),
    ] {
        metrics::counter!(
            "llm_tokens_total",
            "provider" => provider.as_str().to_owned(),
            "model" => model.to_owned(),
            "kind" => kind,
        )
        .increment(count);
    }
}

/// Counts a request that did not look in the response cache.
pub(crate) fn cache_bypass() {
    metrics::counter!("llm_cache_requests_total", "result" => "bypass").increment(1);
}

/// Watches a provider's stream: the time to the first chunk with content, the errors it carries,
/// the usage it reported (the last usage chunk, counted once when the stream ends or is dropped) and
/// its outcome in the provider's traffic window (once: failed at its first error, else answered when
/// it ends or the client leaves).
pub(crate) struct StreamMeter {
    entry: Arc<ProviderEntry>,
    model: String,
    started: Instant,
    open_latency: Duration,
    first_token_seen: bool,
    outcome_recorded: bool,
    usage: Option<Usage>,
    /// The request's span, for the "stream finished" line.
    span: tracing::Span,
    /// The deployment's call: judged when the stream ends or fails, dropped unjudged when the
    /// client leaves.
    call: Option<DeploymentCall>,
}

impl StreamMeter {
    /// A meter for a stream that `started` opening at the provider and took `open_latency` to its
    /// first content, on the deployment's `call`.
    pub(crate) fn new(
        entry: Arc<ProviderEntry>,
        model: String,
        started: Instant,
        open_latency: Duration,
        call: DeploymentCall,
    ) -> Self {
        Self {
            entry,
            model,
            started,
            open_latency,
            first_token_seen: false,
            outcome_recorded: false,
            usage: None,
            span: tracing::Span::current(),
            call: Some(call),
        }
    }

    fn finish(&mut self, error: Option<&LlmError>, outcome: &'static str) {
        let usage = self.usage.take();
        if let Some(usage) = &usage {
            tokens(self.entry.id(), &self.model, usage);
        }
        if self.outcome_recorded {
            return;
        }
        self.outcome_recorded = true;
        // A stream the client left, or that the request's own deadline cut, says nothing about the
        // provider: neither its traffic window nor its breaker judges it (the call is dropped).
        let judged = match error {
            None => outcome != "client_gone",
            Some(error) => error.origin() == ErrorOrigin::Provider,
        };
        if let Some(call) = self.call.take()
            && judged
        {
            self.entry.traffic().record(self.open_latency, error);
            call.finish(self.open_latency, error);
        }
        tracing::info!(
            parent: &self.span,
            provider = %self.entry.id(),
            model = %self.model,
            outcome,
            error = error.map(LlmError::code),
            duration_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            prompt_tokens = usage.as_ref().map(|usage| usage.prompt_tokens),
            completion_tokens = usage.as_ref().map(|usage| usage.completion_tokens),
            "stream finished"
        );
    }
}

impl ChunkObserver for StreamMeter {
    fn item(&mut self, item: &Result<ChatChunk, LlmError>) {
        match item {
            Ok(chunk) => {
                if !self.first_token_seen && chunk.has_content() {
                    self.first_token_seen = true;
                    metrics::histogram!("llm_time_to_first_token_seconds", "provider" => self.entry.id().as_str().to_owned())
                        .record(self.started.elapsed().as_secs_f64());
                }
                if let Some(usage) = &chunk.usage {
                    self.usage = Some(usage.clone());
                }
            }
            Err(error) if error.origin() == ErrorOrigin::Provider => {
                provider_error(self.entry.id(), error);
                self.finish(Some(error), "failed");
            }
            Err(error) => self.finish(Some(error), "deadline"),
        }
    }

    fn end(&mut self) {
        self.finish(None, "completed");
    }

    fn dropped(&mut self) {
        self.finish(None, "client_gone");
    }
}
