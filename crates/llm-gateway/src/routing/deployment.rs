//! What the balancer knows about one deployment (a provider serving one upstream model).
//!
//! A [`DeploymentState`] counts the calls in flight, keeps an EWMA of successful call latency and
//! owns the deployment's [`CircuitBreaker`]. [`DeploymentState::begin`] starts a call (or refuses
//! while the breaker is open); the [`DeploymentCall`] it returns is finished with the outcome, or
//! dropped when the request is cancelled. [`DeploymentStates`] holds every deployment's state,
//! created on first use and keyed by provider id and upstream model. Weights are configuration and
//! live with the route, not here.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use llm_core::LlmError;
use serde::Serialize;

use super::breaker::{BreakerPermit, BreakerSettings, BreakerSnapshot, CircuitBreaker};

/// The weight of the newest sample in the latency EWMA is `1 / EWMA_DIVISOR` (alpha 0.2).
const EWMA_DIVISOR: u64 = 5;

/// One deployment's load, latency and circuit breaker.
#[derive(Debug)]
pub struct DeploymentState {
    provider: String,
    model: String,
    counters: Arc<Counters>,
    breaker: CircuitBreaker,
}

#[derive(Debug, Default)]
struct Counters {
    inflight: AtomicU32,
    /// Microseconds; 0 until the first successful call.
    ewma_micros: AtomicU64,
}

/// A call in flight to a deployment. Finish it with [`DeploymentCall::finish`]; dropping it
/// unfinished means the call was cancelled (no latency sample, no breaker judgement).
#[derive(Debug)]
#[must_use = "finish the call with its outcome"]
pub struct DeploymentCall {
    counters: Arc<Counters>,
    permit: Option<BreakerPermit>,
}

/// A deployment as `/llm/providers` and health show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeploymentSnapshot {
    /// The provider id.
    pub provider: String,
    /// The upstream model.
    pub model: String,
    /// Calls in flight now.
    pub inflight: u32,
    /// The EWMA of successful call latency in milliseconds; `null` before the first success.
    pub ewma_latency_ms: Option<f64>,
    /// The circuit breaker.
    pub circuit: BreakerSnapshot,
}

impl DeploymentState {
    /// The state of `model` at `provider`, with an idle, closed breaker.
    pub fn new(provider: &str, model: &str, breaker: BreakerSettings) -> Self {
        Self {
            provider: provider.to_owned(),
            model: model.to_owned(),
            counters: Arc::default(),
            breaker: CircuitBreaker::new(provider, model, breaker),
        }
    }

    /// The provider id.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The upstream model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The deployment's circuit breaker.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Starts a call, or `None` while the breaker refuses calls.
    pub fn begin(&self) -> Option<DeploymentCall> {
        self.begin_within(None)
    }

    /// Starts a call unless the breaker refuses it or `cap` calls are already in flight (checked and
    /// counted in one atomic step, so concurrent requests cannot pass the cap together).
    pub fn begin_within(&self, cap: Option<u32>) -> Option<DeploymentCall> {
        let permit = self.breaker.admit()?;
        let limit = cap.unwrap_or(u32::MAX);
        self.counters
            .inflight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |inflight| {
                (inflight < limit).then_some(inflight + 1)
            })
            .ok()?; // the permit drops unjudged
        Some(DeploymentCall {
            counters: Arc::clone(&self.counters),
            permit: Some(permit),
        })
    }

    /// Calls in flight now.
    pub fn inflight(&self) -> u32 {
        self.counters.inflight.load(Ordering::Relaxed)
    }

    /// The EWMA of successful call latency; `None` before the first success.
    pub fn ewma_latency(&self) -> Option<Duration> {
        match self.counters.ewma_micros.load(Ordering::Relaxed) {
            0 => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    /// Whether [`Self::begin`] would start a call now (without taking a half-open probe slot).
    pub fn is_available(&self) -> bool {
        self.breaker.is_available()
    }

    /// The deployment's load, latency and breaker now.
    pub fn snapshot(&self) -> DeploymentSnapshot {
        DeploymentSnapshot {
            provider: self.provider.clone(),
            model: self.model.clone(),
            inflight: self.inflight(),
            ewma_latency_ms: self.ewma_latency().map(|latency| latency.as_secs_f64() * 1000.0),
            circuit: self.breaker.snapshot(),
        }
    }
}

impl DeploymentCall {
    /// Ends the call: its latency and, when it failed, the error. A success feeds the latency
    /// EWMA; every outcome goes to the breaker.
    pub fn finish(mut self, latency: Duration, error: Option<&LlmError>) {
        if error.is_none() {
            self.counters.observe_latency(latency);
        }
        if let Some(permit) = self.permit.take() {
            permit.record(latency, error);
        }
    }

    /// Whether this call is a half-open breaker's probe.
    pub fn is_probe(&self) -> bool {
        self.permit.as_ref().is_some_and(BreakerPermit::is_probe)
    }
}

impl Drop for DeploymentCall {
    fn drop(&mut self) {
        self.counters.inflight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Counters {
    fn observe_latency(&self, latency: Duration) {
        // At least 1 µs, so a real sample is never taken for "no sample yet".
        let sample = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1);
        // The closure always returns Some, so the update cannot fail.
        let _ = self
            .ewma_micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 {
                    sample
                } else {
                    let mixed = (u128::from(old) * u128::from(EWMA_DIVISOR - 1) + u128::from(sample))
                        / u128::from(EWMA_DIVISOR);
                    u64::try_from(mixed).unwrap_or(u64::MAX).max(1)
                })
            });
    }
}

/// Every deployment's state, keyed by provider id and upstream model, created on first use.
#[derive(Debug, Default)]
pub struct DeploymentStates {
    settings: BreakerSettings,
    /// Provider id -> upstream model -> state.
    states: RwLock<HashMap<String, BTreeMap<String, Arc<DeploymentState>>>>,
}

impl DeploymentStates {
    /// An empty registry whose deployments get breakers with `settings`.
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings,
            states: RwLock::default(),
        }
    }

    /// The breaker settings new deployments get.
    pub fn settings(&self) -> &BreakerSettings {
        &self.settings
    }

    /// The state of `model` at `provider`, created when it is the first call.
    pub fn get_or_create(&self, provider: &str, model: &str) -> Arc<DeploymentState> {
        if let Some(state) = self.get(provider, model) {
            return state;
        }
        let mut states = self.states.write().unwrap_or_else(PoisonError::into_inner);
        let models = states.entry(provider.to_owned()).or_default();
        Arc::clone(
            models
                .entry(model.to_owned())
                .or_insert_with(|| Arc::new(DeploymentState::new(provider, model, self.settings.clone()))),
        )
    }

    /// The state of `model` at `provider`, when it has one.
    pub fn get(&self, provider: &str, model: &str) -> Option<Arc<DeploymentState>> {
        let states = self.states.read().unwrap_or_else(PoisonError::into_inner);
        states.get(provider)?.get(model).map(Arc::clone)
    }

    /// The provider's deployments, by model.
    pub fn for_provider(&self, provider: &str) -> Vec<Arc<DeploymentState>> {
        let states = self.states.read().unwrap_or_else(PoisonError::into_inner);
        states
            .get(provider)
            .map(|models| models.values().map(Arc::clone).collect())
            .unwrap_or_default()
    }

    /// The snapshots of one provider's deployments, by model.
    pub fn snapshots(&self, provider: &str) -> Vec<DeploymentSnapshot> {
        self.for_provider(provider)
            .iter()
            .map(|state| state.snapshot())
            .collect()
    }

    /// Every deployment, by provider and model.
    pub fn all(&self) -> Vec<Arc<DeploymentState>> {
        let states = self.states.read().unwrap_or_else(PoisonError::into_inner);
        let mut providers: Vec<_> = states.iter().collect();
        providers.sort_unstable_by(|a, b| a.0.cmp(b.0));
        providers
            .into_iter()
            .flat_map(|(_, models)| models.values().map(Arc::clone))
            .collect()
    }

    /// Forgets the provider's deployments (it was removed or reconfigured). Calls in flight
    /// finish against the states they began with.
    pub fn remove_provider(&self, provider: &str) {
        self.states
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(provider);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::breaker::BreakerState;
    use llm_core::{ErrorKind, ProviderId};

    fn state() -> DeploymentState {
        DeploymentState::new("p", "m", BreakerSettings::default())
    }

    fn failure() -> LlmError {
        LlmError::from_provider(&ProviderId::new("p"), ErrorKind::ProviderUnavailable, "down")
    }

    #[test]
    fn a_cap_on_calls_in_flight_is_never_passed() {
        let state = DeploymentState::new("p", "m", BreakerSettings::default());
        let first = state.begin_within(Some(2)).unwrap();
        let second = state.begin_within(Some(2)).unwrap();
        assert!(state.begin_within(Some(2)).is_none());
        assert_eq!(state.inflight(), 2);
        drop(first);
        let third = state.begin_within(Some(2)).unwrap();
        assert!(state.begin_within(Some(2)).is_none());
        drop((second, third));
        assert_eq!(state.inflight(), 0);
    }

    #[test]
    fn calls_in_flight_are_counted_until_finished_or_dropped() {
        let state = state();
        let first = state.begin().expect("closed");
        let second = state.begin().expect("closed");
        assert_eq!(state.inflight(), 2);
        first.finish(Duration::from_millis(5), None);
        assert_eq!(state.inflight(), 1);
        drop(second);
        assert_eq!(state.inflight(), 0);
    }

    #[test]
    fn the_latency_ewma_starts_at_the_first_success_and_moves_by_a_fifth() {
        let state = state();
        assert_eq!(state.ewma_latency(), None);
        state
            .begin()
            .expect("closed")
            .finish(Duration::from_millis(100), None);
        assert_eq!(state.ewma_latency(), Some(Duration::from_millis(100)));
        state
            .begin()
            .expect("closed")
            .finish(Duration::from_millis(200), None);
        assert_eq!(state.ewma_latency(), Some(Duration::from_millis(120)));
        state
            .begin()
            .expect("closed")
            .finish(Duration::from_secs(9), Some(&failure()));
        assert_eq!(
            state.ewma_latency(),
            Some(Duration::from_millis(120)),
            "failures leave it"
        );
        assert_eq!(state.snapshot().ewma_latency_ms, Some(120.0));
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_breaker_refuses_to_begin() {
        let state = state();
        for _ in 0..5 {
            state
                .begin()
                .expect("closed")
                .finish(Duration::from_millis(1), Some(&failure()));
        }
        assert!(!state.is_available());
        assert!(state.begin().is_none());
        assert_eq!(state.inflight(), 0);
        let snapshot = state.snapshot();
        assert_eq!(snapshot.circuit.state, BreakerState::Open);
        tokio::time::advance(BreakerSettings::default().open_for).await;
        let probe = state.begin().expect("a probe");
        assert!(probe.is_probe());
        probe.finish(Duration::from_millis(1), None);
        assert_eq!(state.breaker().state(), BreakerState::Closed);
    }

    #[test]
    fn the_registry_creates_once_and_lists_by_model() {
        let states = DeploymentStates::new(BreakerSettings::default());
        let first = states.get_or_create("p", "b");
        assert!(Arc::ptr_eq(&first, &states.get_or_create("p", "b")));
        states.get_or_create("p", "a");
        states.get_or_create("q", "a");
        let models: Vec<_> = states
            .for_provider("p")
            .iter()
            .map(|state| state.model().to_owned())
            .collect();
        assert_eq!(models, ["a", "b"]);
        assert_eq!(states.all().len(), 3);
        states.remove_provider("p");
        assert!(states.for_provider("p").is_empty());
        assert!(states.get("p", "b").is_none());
        assert!(states.get("q", "a").is_some());
    }

    #[test]
    fn snapshots_serialize_for_the_api() {
        let json = serde_json::to_value(state().snapshot()).expect("json");
        assert_eq!(json["provider"], "p");
        assert_eq!(json["inflight"], 0);
        assert_eq!(json["ewma_latency_ms"], serde_json::Value::Null);
        assert_eq!(json["circuit"]["state"], "closed");
    }
}
