//! The request path: validate -> route -> admit -> cache lookup -> call provider (retries,
//! deployments, fallbacks) -> settle -> store -> output filter.
//!
//! Routing comes before admission because limits are kept per provider and model: the balancer's
//! first pick is made then and is the first attempt. Validation is in `prepare`, admission and
//! settlement in `admission`, the cache in `response_cache`, single flight in `single_flight`, the
//! attempts in `attempts`, the stream's gate and deadline in `stream_gate`, the output filter in
//! `output_filter`. The cache stores answers unfiltered, so each client's filter rules apply to hits
//! too.

use std::sync::Arc;
use std::time::Duration;

use llm_cache::{CachedAnswer, Lookup};
use llm_core::{ChatRequest, ChatResponse, ChunkStream, LlmError, QuotaHeaders};

use crate::admission::{self, Settlement, Ticket};
use crate::attempts::{Answered, Attempts};
use crate::gateway::{Completion, CompletionStream, Gateway, RequestContext};
use crate::metering::{self, StreamMeter};
use crate::observed::observe;
use crate::output_filter::{FilteredStream, OutputRules, filter_response};
use crate::prepare::Prepared;
use crate::response_cache::{self, CachePlan, CacheStatus, Recording, RecordingTarget};
use crate::router::{Route, RoutePlan};
use crate::single_flight::{Leader, Role};
use crate::stream_gate::{until_first_content, with_deadline};

/// The provider part of cache keys for `[models]` aliases (no provider id can contain `@`).
static ALIAS_CACHE_SCOPE: std::sync::LazyLock<llm_core::ProviderId> =
    std::sync::LazyLock::new(|| llm_core::ProviderId::new("@models"));

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
    /// The first attempt's deployment (the balancer's pick before admission).
    route: Route,
    plan: RoutePlan,
    first: Option<usize>,
    deadline: tokio::time::Instant,
    timeout: Duration,
    ticket: Option<Ticket>,
    quota: Option<QuotaHeaders>,
    output: Option<OutputRules>,
    plan_cache: Option<CachePlan>,
    found: (CacheStatus, Found),
}

impl Gateway {
    /// validate and route -> admit -> cache lookup and single flight.
    async fn begin(&self, ctx: &RequestContext, request: ChatRequest) -> Result<Begun, LlmError> {
        let mut request = request;
        let (deadline, timeout) = self.deadline(ctx)?;
        let Prepared {
            route,
            plan: routes,
            first,
            prompt_tokens,
        } = self.prepare(ctx, &mut request)?;
        let ticket = self.admit(ctx, &request, &route, prompt_tokens).await?;
        let output = self.output_rules(ctx, &request);
        let quota = ticket.as_ref().map(Ticket::quota);
        let plan_cache = self.plan(ctx, &request, &route, &routes);
        let found = self.find(plan_cache.as_ref()).await;
        Ok(Begun {
            request,
            route,
            plan: routes,
            first,
            deadline,
            timeout,
            ticket,
            quota,
            output,
            plan_cache,
            found,
        })
    }

    /// A complete answer.
    pub async fn complete(&self, ctx: &RequestContext, request: ChatRequest) -> Result<Completion, LlmError> {
        let begun = self.begin(ctx, request).await?;
        let (status, leader) = match begun.found {
            (_, Found::Answer(answer)) => {
                // A cached answer spent no provider tokens: the whole reservation comes back.
                settle(begun.ticket, Some(0));
                return Ok(Completion {
                    response: filtered(begun.output.as_ref(), answer.response.clone()),
                    provider: begun.route.entry.id().clone(),
                    cache: CacheStatus::Hit,
                    upstream_latency: Duration::ZERO,
                    quota: begun.quota,
                    attempts: 0,
                    fallback: None,
                });
            }
            (status, Found::Call(leader)) => (status, leader),
        };
        let request = &begun.request;
        let answered = self
            .attempts(&begun.plan, begun.first, begun.deadline, begun.timeout)
            .run(|route: Route| async move {
                route
                    .entry
                    .provider()
                    .complete(&route.upstream_model, request)
                    .await
            })
            .await;
        let Answered {
            value: response,
            route,
            call,
            latency,
            attempts,
            fallback,
            ..
        } = match answered {
            Ok(answered) => answered,
            Err(error) => {
                settle(begun.ticket, Some(0));
                return Err(error);
            }
        };
        route.entry.traffic().record(latency, None);
        call.finish(latency, None);
        settle(
            begun.ticket,
            response.usage.as_ref().map(|usage| usage.total_tokens),
        );
        if let Some(usage) = &response.usage {
            metering::tokens(route.entry.id(), &route.upstream_model, usage);
        }
        if let Some(plan) = begun.plan_cache.filter(|plan| plan.write) {
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
            response: filtered(begun.output.as_ref(), response),
            provider: route.entry.id().clone(),
            cache: status,
            upstream_latency: latency,
            quota: begun.quota,
            attempts,
            fallback,
        })
    }

    /// A streamed answer.
    pub async fn stream(
        &self,
        ctx: &RequestContext,
        request: ChatRequest,
    ) -> Result<CompletionStream, LlmError> {
        let begun = self.begin(ctx, request).await?;
        let (status, leader) = match begun.found {
            (_, Found::Answer(answer)) => {
                settle(begun.ticket, Some(0));
                return Ok(CompletionStream {
                    provider: begun.route.entry.id().clone(),
                    model: begun.route.upstream_model,
                    cache: CacheStatus::Hit,
                    upstream_latency: Duration::ZERO,
                    quota: begun.quota,
                    attempts: 0,
                    fallback: None,
                    chunks: filtered_stream(begun.output, response_cache::replay(&answer)),
                });
            }
            (status, Found::Call(leader)) => (status, leader),
        };
        let request = &begun.request;
        let answered = self
            .attempts(&begun.plan, begun.first, begun.deadline, begun.timeout)
            .run(|route: Route| async move {
                let chunks = route
                    .entry
                    .provider()
                    .stream(&route.upstream_model, request)
                    .await?;
                until_first_content(chunks).await
            })
            .await;
        let Answered {
            value: chunks,
            route,
            call,
            started,
            latency,
            attempts,
            fallback,
        } = match answered {
            Ok(answered) => answered,
            Err(error) => {
                settle(begun.ticket, Some(0));
                return Err(error);
            }
        };
        let meter = StreamMeter::new(
            route.entry.clone(),
            route.upstream_model.clone(),
            started,
            latency,
            call,
        );
        let mut chunks = observe(with_deadline(chunks, begun.deadline, begun.timeout), meter);
        if let Some(ticket) = begun.ticket {
            chunks = observe(chunks, Settlement::new(ticket));
        }
        if let Some(plan) = begun.plan_cache.filter(|plan| plan.write) {
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
            upstream_latency: latency,
            quota: begun.quota,
            attempts,
            fallback,
            chunks: filtered_stream(begun.output, chunks),
        })
    }

    /// The attempts over `plan`, bounded by the request's deadline.
    fn attempts<'a>(
        &'a self,
        plan: &'a RoutePlan,
        first: Option<usize>,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> Attempts<'a> {
        Attempts {
            routing: &self.routing,
            plan,
            first,
            deadline,
            timeout,
        }
    }

    /// The request's deadline: the client's `x-llm-timeout-ms` (at most `routing.max_timeout`), else
    /// `routing.timeout`, from when the request arrived.
    fn deadline(&self, ctx: &RequestContext) -> Result<(tokio::time::Instant, Duration), LlmError> {
        let timeout = match ctx.timeout {
            Some(asked) if asked.is_zero() || asked > self.routing.max_timeout => {
                return Err(LlmError::invalid_param(
                    "x-llm-timeout-ms",
                    format!(
                        "x-llm-timeout-ms must be between 1 and {} milliseconds",
                        self.routing.max_timeout.as_millis()
                    ),
                ));
            }
            Some(asked) => asked,
            None => self.routing.timeout,
        };
        Ok((tokio::time::Instant::from_std(ctx.received_at) + timeout, timeout))
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

    /// The cache plan. An alias's answers are keyed by the alias, so every deployment the balancer
    /// picks shares them; a direct route's by its provider and upstream model.
    fn plan(
        &self,
        ctx: &RequestContext,
        request: &ChatRequest,
        route: &Route,
        routes: &RoutePlan,
    ) -> Option<CachePlan> {
        match routes.groups.first().filter(|group| group.alias) {
            Some(group) => response_cache::plan(
                &self.cache_config,
                ctx.cache,
                request,
                &ALIAS_CACHE_SCOPE,
                &group.model,
            ),
            None => response_cache::plan(
                &self.cache_config,
                ctx.cache,
                request,
                route.entry.id(),
                &route.upstream_model,
            ),
        }
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
