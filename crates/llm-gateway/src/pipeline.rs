//! The request path: validate -> route -> admit -> cache lookup -> call provider -> settle -> store
//! -> output filter.
//!
//! Routing comes before admission because limits are kept per provider and model. Validation is in
//! `prepare`, admission and settlement in `admission`, the cache in `response_cache`, single flight
//! in `single_flight`, the output filter in `output_filter`. The cache stores answers unfiltered, so
//! each client's filter rules apply to hits too.

use std::sync::Arc;
use std::time::{Duration, Instant};

use llm_cache::{CachedAnswer, Lookup};
use llm_core::{ChatRequest, ChatResponse, ChunkStream, LlmError, QuotaHeaders};

use crate::admission::{self, Settlement, Ticket};
use crate::gateway::{Completion, CompletionStream, Gateway, RequestContext};
use crate::metering::{self, StreamMeter};
use crate::observed::observe;
use crate::output_filter::{FilteredStream, OutputRules, filter_response};
use crate::prepare::Prepared;
use crate::response_cache::{self, CachePlan, CacheStatus, Recording, RecordingTarget};
use crate::router::Route;
use crate::single_flight::{Leader, Role};

/// How a request found its answer before calling the provider.
enum Found {
    /// In the cache, or from an identical request that was in flight.
    Answer(Arc<CachedAnswer>),
    /// Not found; call the provider (leading the flight when there is one).
    Call(Option<Leader>),
}

/// Everything both request shapes do before the provider call.
struct Begun {
    request: ChatRequest,
    route: Route,
    ticket: Option<Ticket>,
    quota: Option<QuotaHeaders>,
    output: Option<OutputRules>,
    plan: Option<CachePlan>,
    found: (CacheStatus, Found),
}

impl Gateway {
    /// validate and route -> admit -> cache lookup and single flight.
    async fn begin(&self, ctx: &RequestContext, request: ChatRequest) -> Result<Begun, LlmError> {
        let mut request = request;
        let Prepared { route, prompt_tokens } = self.prepare(ctx, &mut request)?;
        let ticket = self.admit(ctx, &request, &route, prompt_tokens).await?;
        let output = self.output_rules(ctx, &request);
        let quota = ticket.as_ref().map(Ticket::quota);
        let plan = self.plan(ctx, &request, &route);
        let found = self.find(plan.as_ref()).await;
        Ok(Begun {
            request,
            route,
            ticket,
            quota,
            output,
            plan,
            found,
        })
    }

    /// A complete answer.
    pub async fn complete(&self, ctx: &RequestContext, request: ChatRequest) -> Result<Completion, LlmError> {
        let Begun {
            request,
            route,
            ticket,
            quota,
            output,
            plan,
            found,
        } = self.begin(ctx, request).await?;
        let (status, leader) = match found {
            (_, Found::Answer(answer)) => {
                // A cached answer spent no provider tokens: the whole reservation comes back.
                settle(ticket, Some(0));
                return Ok(Completion {
                    response: filtered(output.as_ref(), answer.response.clone()),
                    provider: route.entry.id().clone(),
                    cache: CacheStatus::Hit,
                    upstream_latency: Duration::ZERO,
                    quota,
                });
            }
            (status, Found::Call(leader)) => (status, leader),
        };
        let mut ticket = ticket;
        let provider = route.entry.provider();
        let (response, _, upstream_latency) = timed_call(
            &route,
            &mut ticket,
            provider.complete(&route.upstream_model, &request),
        )
        .await?;
        route.entry.traffic().record(upstream_latency, None);
        settle(ticket, response.usage.as_ref().map(|usage| usage.total_tokens));
        if let Some(usage) = &response.usage {
            metering::tokens(route.entry.id(), &route.upstream_model, usage);
        }
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
            response: filtered(output.as_ref(), response),
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
        let Begun {
            request,
            route,
            ticket,
            quota,
            output,
            plan,
            found,
        } = self.begin(ctx, request).await?;
        let (status, leader) = match found {
            (_, Found::Answer(answer)) => {
                settle(ticket, Some(0));
                return Ok(CompletionStream {
                    provider: route.entry.id().clone(),
                    model: route.upstream_model,
                    cache: CacheStatus::Hit,
                    upstream_latency: Duration::ZERO,
                    quota,
                    chunks: filtered_stream(output, response_cache::replay(&answer)),
                });
            }
            (status, Found::Call(leader)) => (status, leader),
        };
        let mut ticket = ticket;
        let provider = route.entry.provider();
        let (chunks, started, upstream_latency) = timed_call(
            &route,
            &mut ticket,
            provider.stream(&route.upstream_model, &request),
        )
        .await?;
        let meter = StreamMeter::new(
            route.entry.clone(),
            route.upstream_model.clone(),
            started,
            upstream_latency,
        );
        let mut chunks = observe(chunks, meter);
        if let Some(ticket) = ticket {
            chunks = observe(chunks, Settlement::new(ticket));
        }
        if let Some(plan) = plan.filter(|plan| plan.write) {
            let target = RecordingTarget {
                cache: self.cache.clone(),
                plan,
                leader,
            };
            chunks = observe(chunks, Recording::new(target));
        }
        Ok(CompletionStream {
            provider: route.entry.id().clone(),
            model: route.upstream_model,
            cache: status,
            upstream_latency,
            quota,
            chunks: filtered_stream(output, chunks),
        })
    }

    async fn admit(
        &self,
        ctx: &RequestContext,
        request: &ChatRequest,
        route: &Route,
        prompt_tokens: u64,
    ) -> Result<Option<Ticket>, LlmError> {
        let output_tokens = request
            .max_output_tokens()
            .map_or(self.limits.default_output_tokens, u64::from);
        admission::admit(&self.limiter, ctx, request, route, prompt_tokens + output_tokens).await
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
            metering::cache_bypass();
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

/// Calls the provider, timing and metering the call; a failed call is recorded in the provider's
/// traffic window and spent nothing we can know of, so the reservation comes back. Returns the result,
/// when the call started and how long it took (success is recorded by the caller: a stream only
/// succeeded once it ends).
async fn timed_call<T>(
    route: &Route,
    ticket: &mut Option<Ticket>,
    call: impl Future<Output = Result<T, LlmError>>,
) -> Result<(T, Instant, Duration), LlmError> {
    let started = Instant::now();
    let outcome = call.await;
    let elapsed = started.elapsed();
    metering::provider_call(route.entry.id(), elapsed);
    match outcome {
        Ok(value) => Ok((value, started, elapsed)),
        Err(error) => {
            metering::provider_error(route.entry.id(), &error);
            route.entry.traffic().record(elapsed, Some(&error));
            settle(ticket.take(), Some(0));
            Err(error)
        }
    }
}

/// Settles a reservation, if the request had one.
fn settle(ticket: Option<Ticket>, actual_tokens: Option<u64>) {
    if let Some(ticket) = ticket {
        ticket.settle(actual_tokens);
    }
}

/// A complete answer through the output filter, when one applies.
fn filtered(output: Option<&OutputRules>, mut response: ChatResponse) -> ChatResponse {
    if let Some(filter) = output.and_then(OutputRules::state) {
        filter_response(&filter, &mut response);
    }
    response
}

/// A stream through the output filter, when one applies.
fn filtered_stream(output: Option<OutputRules>, chunks: ChunkStream) -> ChunkStream {
    match output {
        Some(rules) => Box::pin(FilteredStream::new(chunks, rules)),
        None => chunks,
    }
}
