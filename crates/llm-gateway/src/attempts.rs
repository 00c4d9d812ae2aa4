//! Attempts: one request's provider calls across retries, deployments and fallbacks.
//!
//! For each group of the [`RoutePlan`] (the requested model, then its fallbacks in order), the
//! balancer picks a deployment among those whose circuit admits a call and that are under their own
//! limits; a retryable failure (`provider_unavailable`, `timeout`, `upstream_protocol`, an upstream
//! `rate_limit_exceeded`) is retried there up to `routing.max_retries` times with exponential
//! backoff and full jitter, waiting at least the upstream's Retry-After; then the next deployment is
//! picked, then the next group. A failure that is the provider's but not transient (authentication,
//! permission, quota, not found, internal) moves on without retrying. A failure the caller caused
//! (`invalid_request`, `context_length_exceeded`, `content_filtered`) ends the request at once:
//! another provider would refuse it too. Everything is bounded by `routing.max_attempts` and by the
//! request's deadline; a wait that would pass the deadline is not started, and a call the deadline
//! cuts is dropped unjudged (the deadline is the client's or the gateway's, not the provider's fault,
//! so it never opens a circuit).

use std::future::Future;
use std::time::Duration;

use llm_core::{ErrorKind, ErrorOrigin, LlmError, unix_time_millis};
use tokio::time::Instant;

use crate::config::RoutingConfig;
use crate::metering;
use crate::router::{Candidate, Route, RouteGroup, RoutePlan};
use crate::routing::balancer::{self, Rng};
use crate::routing::deployment::DeploymentCall;

/// A call that answered, and how the request got there.
pub(crate) struct Answered<T> {
    pub value: T,
    pub route: Route,
    /// The deployment's call, still open: the caller finishes it (a stream when it ends).
    pub call: DeploymentCall,
    /// When the answering attempt started.
    pub started: std::time::Instant,
    /// How long the answering attempt took.
    pub latency: Duration,
    /// Attempts made, this one included.
    pub attempts: u32,
    /// The fallback model name that answered, when it was not the requested one.
    pub fallback: Option<String>,
}

/// What a failed attempt leads to.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The same deployment again, after a backoff.
    Retry,
    /// Another deployment, at once.
    OtherDeployment,
    /// Nothing: the error is the answer.
    GiveUp,
}

fn next_after(error: &LlmError) -> Next {
    match error.kind() {
        ErrorKind::InvalidRequest | ErrorKind::ContextLengthExceeded | ErrorKind::ContentFiltered => {
            Next::GiveUp
        }
        _ if error.retryable() => Next::Retry,
        _ => Next::OtherDeployment,
    }
}

/// The backoff before retry number `retry` (1-based): a random wait up to `initial * 2^(retry-1)`
/// capped at `max` (full jitter), and at least the upstream's Retry-After.
fn backoff(routing: &RoutingConfig, retry: u32, retry_after: Option<Duration>, rng: &mut Rng) -> Duration {
    let ceiling = routing
        .backoff_initial
        .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
        .min(routing.backoff_max);
    #[allow(clippy::cast_precision_loss)] // a jitter fraction
    let fraction = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let jittered = ceiling.mul_f64(fraction);
    retry_after.map_or(jittered, |after| after.max(jittered))
}

/// The error when the request's deadline passes. Its origin is the gateway's policy, not the
/// provider: a client asking for 1 ms must not open anyone's circuit.
pub(crate) fn deadline_passed(timeout: Duration) -> LlmError {
    LlmError::new(
        ErrorKind::Timeout,
        format!("the request's deadline of {} ms passed", timeout.as_millis()),
    )
    .with_origin(ErrorOrigin::Policy)
}

/// Picks a deployment of `group` not yet tried: its circuit admits calls, it is under its
/// `max_inflight` and `rpm`; weight-0 deployments only when no weighted one is left.
pub(crate) fn pick(group: &RouteGroup, tried: &[bool], rng: &mut Rng) -> Option<usize> {
    let eligible: Vec<usize> = (0..group.candidates.len())
        .filter(|&index| {
            !tried.get(index).copied().unwrap_or(false) && under_limits(&group.candidates[index])
        })
        .collect();
    for weighted in [true, false] {
        let choices: Vec<(usize, balancer::Candidate<'_>)> = eligible
            .iter()
            .map(|&index| (index, &group.candidates[index]))
            .filter(|(_, candidate)| (candidate.weight > 0) == weighted)
            .map(|(index, candidate)| {
                let weight = candidate.weight.max(1);
                (
                    index,
                    balancer::Candidate {
                        weight,
                        state: &candidate.state,
                    },
                )
            })
            .collect();
        let candidates: Vec<balancer::Candidate<'_>> =
            choices.iter().map(|(_, candidate)| *candidate).collect();
        if let Some(chosen) = balancer::pick(group.strategy, &candidates, rng) {
            return Some(choices[chosen].0);
        }
    }
    None
}

fn under_limits(candidate: &Candidate) -> bool {
    candidate
        .max_inflight
        .is_none_or(|cap| candidate.state.inflight() < cap)
        && candidate.rpm.as_ref().is_none_or(|budget| budget.has_room())
}

/// Runs `call` across the plan until one attempt answers.
pub(crate) struct Attempts<'a> {
    pub routing: &'a RoutingConfig,
    pub plan: &'a RoutePlan,
    /// The first group's first pick, made before admission.
    pub first: Option<usize>,
    pub deadline: Instant,
    pub timeout: Duration,
}

impl Attempts<'_> {
    pub(crate) async fn run<T, F, Fut>(self, mut call: F) -> Result<Answered<T>, LlmError>
    where
        F: FnMut(Route) -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        let mut rng = Rng::from_entropy();
        let mut attempts = 0u32;
        let mut last_error: Option<LlmError> = None;
        for (group_index, group) in self.plan.groups.iter().enumerate() {
            let mut tried = vec![false; group.candidates.len()];
            let mut preset = if group_index == 0 { self.first } else { None };
            while let Some(index) = preset.take().or_else(|| pick(group, &tried, &mut rng)) {
                tried[index] = true;
                let candidate = &group.candidates[index];
                let mut retries = 0u32;
                loop {
                    if attempts >= self.routing.max_attempts {
                        return Err(last_error.unwrap_or_else(|| unavailable(self.plan)));
                    }
                    if Instant::now() >= self.deadline {
                        return Err(deadline_passed(self.timeout));
                    }
                    let Some(deployment_call) = candidate.state.begin_within(candidate.max_inflight) else {
                        break;
                    };
                    if candidate.rpm.as_ref().is_some_and(|budget| !budget.try_take()) {
                        // Dropped unjudged: no call was made.
                        drop(deployment_call);
                        break;
                    }
                    attempts += 1;
                    let route = candidate.route.clone();
                    let started = std::time::Instant::now();
                    let Ok(outcome) = tokio::time::timeout_at(self.deadline, call(route.clone())).await
                    else {
                        // The request's own deadline: the call is dropped unjudged.
                        return Err(deadline_passed(self.timeout));
                    };
                    let latency = started.elapsed();
                    metering::provider_call(route.entry.id(), latency);
                    let error = match outcome {
                        Ok(value) => {
                            return Ok(Answered {
                                value,
                                route,
                                call: deployment_call,
                                started,
                                latency,
                                attempts,
                                fallback: (group_index > 0).then(|| group.model.clone()),
                            });
                        }
                        Err(error) => error,
                    };
                    metering::provider_error(route.entry.id(), &error);
                    route.entry.traffic().record(latency, Some(&error));
                    deployment_call.finish(latency, Some(&error));
                    let next = next_after(&error);
                    tracing::info!(
                        provider = %route.entry.id(),
                        model = %route.upstream_model,
                        attempt = attempts,
                        error = error.code(),
                        "provider attempt failed"
                    );
                    let retry_after = error.retry_after();
                    last_error = Some(error);
                    match next {
                        Next::GiveUp => return Err(last_error.unwrap_or_else(|| unavailable(self.plan))),
                        Next::OtherDeployment => break,
                        Next::Retry if retries < self.routing.max_retries => {
                            retries += 1;
                            let wait = backoff(self.routing, retries, retry_after, &mut rng);
                            if wait >= self.deadline.saturating_duration_since(Instant::now()) {
                                break;
                            }
                            tokio::time::sleep(wait).await;
                        }
                        Next::Retry => break,
                    }
                }
            }
        }
        Err(last_error.unwrap_or_else(|| unavailable(self.plan)))
    }
}

/// Nothing could be attempted: every deployment's circuit is open or its limits are reached.
fn unavailable(plan: &RoutePlan) -> LlmError {
    let model = plan.groups.first().map_or("", |group| group.model.as_str());
    let retry_after = plan
        .groups
        .iter()
        .flat_map(|group| group.candidates.iter())
        .filter_map(|candidate| candidate.state.breaker().snapshot().retry_at_ms)
        .min()
        .map(|at| Duration::from_millis(at.saturating_sub(unix_time_millis())));
    LlmError::new(
        ErrorKind::ProviderUnavailable,
        format!("every deployment of `{model}` is unavailable (circuit open or at its limits)"),
    )
    .with_retry_after(retry_after.or(Some(Duration::from_secs(1))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_core::ProviderId;

    #[test]
    fn caller_errors_end_the_request_and_transient_ones_retry() {
        let provider = ProviderId::new("p");
        let error = |kind| LlmError::from_provider(&provider, kind, "x");
        assert_eq!(next_after(&error(ErrorKind::InvalidRequest)), Next::GiveUp);
        assert_eq!(next_after(&error(ErrorKind::ContextLengthExceeded)), Next::GiveUp);
        assert_eq!(next_after(&error(ErrorKind::ContentFiltered)), Next::GiveUp);
        assert_eq!(next_after(&error(ErrorKind::ProviderUnavailable)), Next::Retry);
        assert_eq!(next_after(&error(ErrorKind::Timeout)), Next::Retry);
        assert_eq!(next_after(&error(ErrorKind::RateLimited)), Next::Retry);
        assert_eq!(
            next_after(&error(ErrorKind::Authentication)),
            Next::OtherDeployment
        );
        assert_eq!(
            next_after(&error(ErrorKind::QuotaExceeded)),
            Next::OtherDeployment
        );
        assert_eq!(next_after(&error(ErrorKind::NotFound)), Next::OtherDeployment);
    }

    #[test]
    fn backoff_doubles_within_its_cap_and_honours_retry_after() {
        let routing = RoutingConfig {
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_millis(300),
            ..RoutingConfig::default()
        };
        let mut rng = Rng::seeded(7);
        for retry in 1..=6 {
            let ceiling = Duration::from_millis((100u64 << (retry - 1)).min(300));
            for _ in 0..200 {
                assert!(backoff(&routing, retry, None, &mut rng) <= ceiling);
            }
        }
        let waits: Vec<Duration> = (0..200).map(|_| backoff(&routing, 1, None, &mut rng)).collect();
        assert!(
            waits.iter().any(|wait| *wait < Duration::from_millis(50)),
            "jittered"
        );
        let after = Some(Duration::from_secs(2));
        assert_eq!(backoff(&routing, 1, after, &mut rng), Duration::from_secs(2));
    }
}
