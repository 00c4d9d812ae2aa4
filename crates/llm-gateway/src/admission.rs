//! Admission: the rate limits in the pipeline.
//!
//! Before the provider is called the request is admitted by every matching rule, with its tokens
//! (the counted prompt + the requested output) reserved; after the answer the reservation is settled to
//! the real usage — streams included, and a cached answer gives every reserved token back.

use std::sync::Arc;

use llm_core::{ChatChunk, ChatRequest, ErrorKind, LlmError, QuotaHeaders};
use llm_ratelimit::{Admission, Decision, RateLimiter, Subject};

use crate::gateway::RequestContext;
use crate::observed::ChunkObserver;
use crate::router::Route;

/// An admitted request's reservation, to settle once the real usage is known.
pub(crate) struct Ticket {
    limiter: Arc<RateLimiter>,
    admission: Admission,
    estimated: u64,
}

impl Ticket {
    /// The quotas to report on the answer.
    pub(crate) fn quota(&self) -> QuotaHeaders {
        self.admission.headers
    }

    /// Settles the reservation to `actual` tokens (`None`: unknown, keep the estimate) without making
    /// the answer wait.
    pub(crate) fn settle(self, actual: Option<u64>) {
        if !self.limiter.needs_tokens() {
            return;
        }
        let actual = actual.unwrap_or(self.estimated);
        if actual == self.estimated {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { self.limiter.settle(&self.admission, actual).await });
        }
    }
}

/// Admits the request under every matching rule, or refuses it (429, or 503 when a `deny` rule's
/// store is unreachable). `None` when no rule is configured.
pub(crate) async fn admit(
    limiter: &Arc<RateLimiter>,
    ctx: &RequestContext,
    request: &ChatRequest,
    route: &Route,
    estimated_tokens: u64,
) -> Result<Option<Ticket>, LlmError> {
    if limiter.is_empty() {
        return Ok(None);
    }
    let estimated = if limiter.needs_tokens() {
        estimated_tokens
    } else {
        0
    };
    let subject = Subject {
        user: user_of(ctx, request),
        provider: route.entry.id().as_str().to_owned(),
        model: route.upstream_model.clone(),
    };
    match limiter.admit(&subject, estimated).await {
        Decision::Admitted(admission) => Ok(Some(Ticket {
            limiter: limiter.clone(),
            admission,
            estimated,
        })),
        Decision::Rejected(rejection) => {
            let kind = if rejection.unavailable {
                ErrorKind::ProviderUnavailable
            } else {
                ErrorKind::RateLimited
            };
            Err(LlmError::new(kind, rejection.message)
                .with_retry_after(Some(rejection.retry_after))
                .with_quota(rejection.headers))
        }
    }
}

/// The user for rate limits: the authenticated identity, the user header, the request's `user`
/// field, then the client address.
fn user_of(ctx: &RequestContext, request: &ChatRequest) -> String {
    let caller = &ctx.caller;
    ctx.principal
        .as_ref()
        .map(|principal| principal.name.clone())
        .or_else(|| caller.identity.clone())
        .or_else(|| caller.user_header.clone())
        .or_else(|| request.user.clone())
        .or_else(|| caller.address.clone())
        .unwrap_or_else(|| "anonymous".to_owned())
}

/// Settles a ticket with the usage a stream carried, when it ends or is dropped (the client went
/// away).
pub(crate) struct Settlement {
    ticket: Option<Ticket>,
    usage: Option<u64>,
}

impl Settlement {
    pub(crate) fn new(ticket: Ticket) -> Self {
        Self {
            ticket: Some(ticket),
            usage: None,
        }
    }

    fn settle(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            ticket.settle(self.usage);
        }
    }
}

impl ChunkObserver for Settlement {
    fn item(&mut self, item: &Result<ChatChunk, LlmError>) {
        if let Ok(ChatChunk {
            usage: Some(usage), ..
        }) = item
        {
            self.usage = Some(usage.total_tokens);
        }
    }

    fn end(&mut self) {
        self.settle();
    }

    fn dropped(&mut self) {
        self.settle();
    }
}
