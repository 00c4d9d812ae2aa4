//! Admission: the rate limits in the pipeline.
//!
//! Before the provider is called the request is admitted by every matching rule, with its tokens
//! (the counted prompt + the requested output) reserved; after the answer the reservation is settled to
//! the real usage — streams included, and a cached answer gives every reserved token back.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use llm_core::{ChatChunk, ChatRequest, ChunkStream, ErrorKind, LlmError, QuotaHeaders};
use llm_ratelimit::{Admission, Decision, RateLimiter, Subject};

use crate::gateway::RequestContext;
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
        provider: route.entry.id().to_string(),
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

/// Passes a stream through and settles its ticket with the usage it carried when it ends or is
/// dropped (the client went away).
pub(crate) struct SettlingStream {
    inner: ChunkStream,
    ticket: Option<Ticket>,
    usage: Option<u64>,
}

impl SettlingStream {
    pub(crate) fn new(inner: ChunkStream, ticket: Ticket) -> Self {
        Self {
            inner,
            ticket: Some(ticket),
            usage: None,
        }
    }
}

impl Stream for SettlingStream {
    type Item = Result<ChatChunk, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let item = match this.inner.as_mut().poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        match &item {
            Some(Ok(chunk)) => {
                if let Some(usage) = &chunk.usage {
                    this.usage = Some(usage.total_tokens);
                }
            }
            Some(Err(_)) => {}
            None => {
                if let Some(ticket) = this.ticket.take() {
                    ticket.settle(this.usage);
                }
            }
        }
        Poll::Ready(item)
    }
}

impl Drop for SettlingStream {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            ticket.settle(self.usage);
        }
    }
}
