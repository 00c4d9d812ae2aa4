//! The request path: validate -> route -> admit -> cache lookup -> call provider -> settle -> store.
//!
//! Routing comes before admission because limits are kept per provider and model. Admission and
//! settlement are in `admission`, the cache in `response_cache`, single flight in `single_flight`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use llm_cache::{CachedAnswer, Lookup};
use llm_core::{ChatRequest, ErrorKind, LlmError, ModelRef};

use crate::admission::{self, SettlingStream, Ticket};
use crate::gateway::{Completion, CompletionStream, Gateway, RequestContext};
use crate::response_cache::{self, CachePlan, CacheStatus, RecordingStream, RecordingTarget};
use crate::router::Route;
use crate::single_flight::{Leader, Role};

/// How a request found its answer before calling the provider.
enum Found {
    /// In the cache, or from an identical request that was in flight.
    Answer(Arc<CachedAnswer>),
    /// Not found; call the provider (leading the flight when there is one).
    Call(Option<Leader>),
}

impl Gateway {
    /// A complete answer.
    pub async fn complete(&self, ctx: &RequestContext, request: ChatRequest) -> Result<Completion, LlmError> {
        let route = self.prepare(ctx, &request)?;
        let ticket = self.admit(ctx, &request, &route).await?;
        let quota = ticket.as_ref().map(Ticket::quota);
        let plan = self.plan(ctx, &request, &route);
        let (status, leader) = match self.find(plan.as_ref()).await {
            (_, Found::Answer(answer)) => {
                // A cached answer spent no provider tokens: the whole reservation comes back.
                settle(ticket, Some(0));
                return Ok(Completion {
                    response: answer.response.clone(),
                    provider: route.entry.id().clone(),
                    cache: CacheStatus::Hit,
                    upstream_latency: Duration::ZERO,
                    quota,
                });
            }
            (status, Found::Call(leader)) => (status, leader),
        };
        let started = Instant::now();
        let called = route
            .entry
            .provider()
            .complete(&route.upstream_model, &request)
            .await;
        let upstream_latency = started.elapsed();
        let response = match called {
            Ok(response) => response,
            Err(error) => {
                // A failed call spent nothing we can know of: the reservation comes back.
                settle(ticket, Some(0));
                return Err(error);
            }
        };
        settle(ticket, response.usage.as_ref().map(|usage| usage.total_tokens));
        if let Some(plan) = plan.filter(|plan| plan.write) {
            let answer = Arc::new(CachedAnswer {
                response: response.clone(),
                chunks: None,
            });
            // Stored before followers are released, so a request arriving in between finds it.
            self.cache.store(&plan.key, answer.clone(), plan.ttl).await;
            if let Some(leader) = leader {
                leader.land(Some(answer));
            }
        }
        Ok(Completion {
            response,
            provider: route.entry.id().clone(),
            cache: status,
            upstream_latency,
            quota,
        })
    }

    /// A streamed answer.
    pub async fn stream(
        &self,
        ctx: &RequestContext,
        request: ChatRequest,
    ) -> Result<CompletionStream, LlmError> {
        let route = self.prepare(ctx, &request)?;
        let ticket = self.admit(ctx, &request, &route).await?;
        let quota = ticket.as_ref().map(Ticket::quota);
        let plan = self.plan(ctx, &request, &route);
        let (status, leader) = match self.find(plan.as_ref()).await {
            (_, Found::Answer(answer)) => {
                settle(ticket, Some(0));
                return Ok(CompletionStream {
                    provider: route.entry.id().clone(),
                    model: route.upstream_model,
                    cache: CacheStatus::Hit,
                    upstream_latency: Duration::ZERO,
                    quota,
                    chunks: response_cache::replay(&answer),
                });
            }
            (status, Found::Call(leader)) => (status, leader),
        };
        let started = Instant::now();
        let opened = route
            .entry
            .provider()
            .stream(&route.upstream_model, &request)
            .await;
        let upstream_latency = started.elapsed();
        let chunks = match (opened, ticket) {
            (Ok(chunks), Some(ticket)) => Box::pin(SettlingStream::new(chunks, ticket)),
            (Ok(chunks), None) => chunks,
            (Err(error), ticket) => {
                settle(ticket, Some(0));
                return Err(error);
            }
        };
        let chunks = match plan.filter(|plan| plan.write) {
            Some(plan) => Box::pin(RecordingStream::new(
                chunks,
                RecordingTarget {
                    cache: self.cache.clone(),
                    plan,
                    leader,
                },
            )),
            None => chunks,
        };
        Ok(CompletionStream {
            provider: route.entry.id().clone(),
            model: route.upstream_model,
            cache: status,
            upstream_latency,
            quota,
            chunks,
        })
    }

    async fn admit(
        &self,
        ctx: &RequestContext,
        request: &ChatRequest,
        route: &Route,
    ) -> Result<Option<Ticket>, LlmError> {
        admission::admit(
            &self.limiter,
            self.limits.default_output_tokens,
            ctx,
            request,
            route,
        )
        .await
    }

    /// validate -> route: admission needs to know the provider and model a request goes to.
    fn prepare(&self, ctx: &RequestContext, request: &ChatRequest) -> Result<Route, LlmError> {
        validate_basics(request)?;
        let route = self.router.resolve(&ModelRef::parse(&request.model))?;
        if let Some(principal) = &ctx.principal {
            let routed = format!("{}/{}", route.entry.id(), route.upstream_model);
            if !principal.may_use(&request.model, &routed) {
                return Err(LlmError::new(
                    ErrorKind::PermissionDenied,
                    format!(
                        "the key `{}` may not use the model `{}`",
                        principal.name, request.model
                    ),
                )
                .with_param("model"));
            }
        }
        tracing::debug!(request_id = %ctx.request_id, provider = %route.entry.id(), model = %route.upstream_model, "routed");
        Ok(route)
    }

    fn plan(&self, ctx: &RequestContext, request: &ChatRequest, route: &Route) -> Option<CachePlan> {
        response_cache::plan(
            &self.cache_config,
            ctx.cache,
            request,
            route.entry.id(),
            &route.upstream_model,
        )
    }

    /// Looks the answer up: the cache, then an identical request in flight. A request that may not
    /// read the cache bypasses both.
    async fn find(&self, plan: Option<&CachePlan>) -> (CacheStatus, Found) {
        let Some(plan) = plan.filter(|plan| plan.read) else {
            return (CacheStatus::Bypass, Found::Call(None));
        };
        if let Lookup::Hit(answer) = self.cache.lookup(&plan.key).await {
            return (CacheStatus::Hit, Found::Answer(answer));
        }
        match self.flights.join(&plan.key) {
            Role::Leader(leader) => (CacheStatus::Miss, Found::Call(Some(leader))),
            Role::Follower(follower) => match follower.wait(self.cache_config.single_flight_wait).await {
                Some(answer) => (CacheStatus::Hit, Found::Answer(answer)),
                None => (CacheStatus::Miss, Found::Call(None)),
            },
        }
    }
}

/// Settles a reservation, if the request had one.
fn settle(ticket: Option<Ticket>, actual_tokens: Option<u64>) {
    if let Some(ticket) = ticket {
        ticket.settle(actual_tokens);
    }
}

/// The structural checks every request must pass before it is routed.
fn validate_basics(request: &ChatRequest) -> Result<(), LlmError> {
    if request.model.trim().is_empty() {
        return Err(LlmError::invalid_param("model", "`model` must not be empty"));
    }
    if request.messages.is_empty() {
        return Err(LlmError::invalid_param(
            "messages",
            "`messages` must not be empty",
        ));
    }
    Ok(())
}
