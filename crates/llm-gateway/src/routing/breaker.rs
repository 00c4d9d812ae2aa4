//! A circuit breaker for one deployment: stop sending it requests while it fails, then probe it.
//!
//! Closed, every call is admitted and its outcome lands in a [`TrafficWindow`]. Once the window
//! holds at least [`BreakerSettings::min_calls`] calls and the provider failed at least
//! [`BreakerSettings::failure_ratio`] of them, the breaker opens: nothing is admitted for
//! [`BreakerSettings::open_for`]. Then it is half-open and lets [`BreakerSettings::half_open_probes`]
//! calls through at once. A probe that succeeds closes it (with a fresh window); a probe that fails
//! opens it again. Errors the caller caused count as answered, as in the traffic window.
//!
//! [`CircuitBreaker::admit`] hands out a [`BreakerPermit`]; the caller records the call's outcome on
//! it. A permit dropped without a record (the request was cancelled) frees its probe slot and
//! judges nothing. The breaker's clock is tokio's, so tests drive it with paused time.
//!
//! The state is exported as the gauge `llm_circuit_state{provider, model}`: 0 closed, 1 half-open,
//! 2 open. Both labels are bounded: the provider is configured, and the model is one the provider
//! lists or an alias deploys (any other name shares the provider's `*` state; see the router).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use llm_core::{LlmError, unix_time_millis};
use serde::Serialize;
use tokio::time::Instant;

use crate::traffic::{TrafficWindow, is_provider_failure};

/// The most calls a breaker's window keeps (more when `min_calls` asks for more).
const WINDOW_CAPACITY: usize = 1024;

/// When a breaker opens and how it recovers.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerSettings {
    /// The share of failed calls in the window (0..=1) that opens the breaker.
    pub failure_ratio: f64,
    /// The fewest calls in the window before the ratio is judged.
    pub min_calls: usize,
    /// How far back the window looks.
    pub window: Duration,
    /// How long an open breaker refuses every call before probing.
    pub open_for: Duration,
    /// How many probe calls a half-open breaker lets through at once (at least one).
    pub half_open_probes: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failure_ratio: 0.5,
            min_calls: 5,
            window: Duration::from_secs(30),
            open_for: Duration::from_secs(30),
            half_open_probes: 1,
        }
    }
}

/// Where a breaker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through; their outcomes are counted.
    Closed,
    /// Calls are refused until the open time is over.
    Open,
    /// A few probe calls go through; their outcome closes or reopens the breaker.
    HalfOpen,
}

impl BreakerState {
    /// The state's name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }

    /// The value of the `llm_circuit_state` gauge.
    fn gauge_value(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open => 2.0,
        }
    }
}

/// A breaker as `/llm/providers` and health show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakerSnapshot {
    /// Where the breaker stands now.
    pub state: BreakerState,
    /// The share of provider failures among the calls in the window, 0 without calls.
    pub failure_ratio: f64,
    /// Calls in the window.
    pub calls_in_window: usize,
    /// When the breaker last opened (unix milliseconds), while it is open or half-open.
    pub opened_at_ms: Option<u64>,
    /// When an open breaker starts probing (unix milliseconds).
    pub retry_at_ms: Option<u64>,
}

/// One deployment's circuit breaker; clones share the state.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    shared: Arc<Shared>,
}

/// Leave to make one call through a breaker. Record the outcome with [`BreakerPermit::record`];
/// dropping it unrecorded means the call was cancelled.
#[derive(Debug)]
#[must_use = "record the call's outcome on the permit"]
pub struct BreakerPermit {
    shared: Option<Arc<Shared>>,
    ticket: Ticket,
}

#[derive(Debug)]
struct Shared {
    /// Names the deployment in logs: `provider/model`.
    label: String,
    provider: String,
    model: String,
    settings: BreakerSettings,
    window: TrafficWindow,
    phase: Mutex<Phase>,
}

#[derive(Debug)]
struct Phase {
    state: State,
    /// Counts state changes, so a probe permit from an earlier half-open phase is ignored.
    epoch: u64,
    /// When the breaker last opened (unix milliseconds).
    opened_at_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
enum State {
    Closed,
    Open { until: Instant, retry_at_ms: u64 },
    HalfOpen { probes_out: u32 },
}

/// What a permit was handed out as.
#[derive(Clone, Copy, Debug)]
enum Ticket {
    /// A call while the breaker was closed.
    Call,
    /// A probe of the half-open phase with this epoch.
    Probe { epoch: u64 },
}

impl CircuitBreaker {
    /// A closed breaker for the deployment of `model` at `provider` (both from configuration).
    pub fn new(provider: &str, model: &str, settings: BreakerSettings) -> Self {
        let window = TrafficWindow::new(settings.window, WINDOW_CAPACITY.max(settings.min_calls));
        let shared = Shared {
            label: format!("{provider}/{model}"),
            provider: provider.to_owned(),
            model: model.to_owned(),
            settings,
            window,
            phase: Mutex::new(Phase {
                state: State::Closed,
                epoch: 0,
                opened_at_ms: None,
            }),
        };
        shared.publish(BreakerState::Closed);
        Self {
            shared: Arc::new(shared),
        }
    }

    /// The settings this breaker was built with.
    pub fn settings(&self) -> &BreakerSettings {
        &self.shared.settings
    }

    /// Leave to make a call: always while closed, never while open, and up to
    /// `half_open_probes` concurrent probes while half-open.
    pub fn admit(&self) -> Option<BreakerPermit> {
        let mut phase = self.shared.lock();
        self.shared.refresh(&mut phase);
        let ticket = match &mut phase.state {
            State::Closed => Ticket::Call,
            State::Open { .. } => return None,
            State::HalfOpen { probes_out } => {
                if *probes_out >= self.shared.max_probes() {
                    return None;
                }
                *probes_out += 1;
                Ticket::Probe { epoch: phase.epoch }
            }
        };
        drop(phase);
        Some(BreakerPermit {
            shared: Some(Arc::clone(&self.shared)),
            ticket,
        })
    }

    /// Whether [`Self::admit`] would hand out a permit now (without taking one).
    pub fn is_available(&self) -> bool {
        let mut phase = self.shared.lock();
        self.shared.refresh(&mut phase);
        match phase.state {
            State::Closed => true,
            State::Open { .. } => false,
            State::HalfOpen { probes_out } => probes_out < self.shared.max_probes(),
        }
    }

    /// Where the breaker stands now (an open breaker whose time is over is half-open).
    pub fn state(&self) -> BreakerState {
        let mut phase = self.shared.lock();
        self.shared.refresh(&mut phase);
        phase.state.public()
    }

    /// The breaker's state and window, for `/llm/providers` and health.
    pub fn snapshot(&self) -> BreakerSnapshot {
        let (state, opened_at_ms, retry_at_ms) = {
            let mut phase = self.shared.lock();
            self.shared.refresh(&mut phase);
            let retry_at_ms = match phase.state {
                State::Open { retry_at_ms, .. } => Some(retry_at_ms),
                State::Closed | State::HalfOpen { .. } => None,
            };
            (phase.state.public(), phase.opened_at_ms, retry_at_ms)
        };
        let counts = self.shared.window.counts();
        BreakerSnapshot {
            state,
            failure_ratio: counts.failure_ratio(),
            calls_in_window: counts.calls,
            opened_at_ms,
            retry_at_ms,
        }
    }
}

impl BreakerPermit {
    /// Records the call's outcome: its latency and, when it failed, the error.
    pub fn record(mut self, latency: Duration, error: Option<&LlmError>) {
        if let Some(shared) = self.shared.take() {
            shared.settle(self.ticket, Some((latency, error)));
        }
    }

    /// Whether this permit is a half-open probe.
    pub fn is_probe(&self) -> bool {
        matches!(self.ticket, Ticket::Probe { .. })
    }
}

impl Drop for BreakerPermit {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.settle(self.ticket, None);
        }
    }
}

impl State {
    fn public(self) -> BreakerState {
        match self {
            Self::Closed => BreakerState::Closed,
            Self::Open { .. } => BreakerState::Open,
            Self::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn max_probes(&self) -> u32 {
        self.settings.half_open_probes.max(1)
    }

    /// Turns an open breaker whose time is over half-open.
    fn refresh(&self, phase: &mut Phase) {
        if let State::Open { until, .. } = phase.state
            && Instant::now() >= until
        {
            self.enter(phase, State::HalfOpen { probes_out: 0 });
            tracing::debug!(deployment = %self.label, "circuit half-open");
        }
    }

    /// Takes a permit back: judges the outcome when there is one, frees a probe slot.
    fn settle(&self, ticket: Ticket, outcome: Option<(Duration, Option<&LlmError>)>) {
        let mut phase = self.lock();
        match (ticket, phase.state) {
            (Ticket::Call, State::Closed) => {
                let Some((latency, error)) = outcome else {
                    return;
                };
                self.window.record(latency, error);
                let counts = self.window.counts();
                if counts.failures > 0
                    && counts.calls >= self.settings.min_calls
                    && counts.failure_ratio() >= self.settings.failure_ratio
                {
                    self.open(&mut phase);
                    tracing::warn!(
                        deployment = %self.label,
                        failure_ratio = counts.failure_ratio(),
                        calls = counts.calls,
                        open_for_ms = self.settings.open_for.as_millis(),
                        "circuit opened"
                    );
                }
            }
            (Ticket::Probe { epoch }, State::HalfOpen { probes_out }) if epoch == phase.epoch => {
                phase.state = State::HalfOpen {
                    probes_out: probes_out.saturating_sub(1),
                };
                let Some((_, error)) = outcome else {
                    return;
                };
                if error.is_some_and(is_provider_failure) {
                    self.open(&mut phase);
                    tracing::debug!(deployment = %self.label, "circuit probe failed, open again");
                } else {
                    self.window.clear();
                    phase.opened_at_ms = None;
                    self.enter(&mut phase, State::Closed);
                    tracing::info!(deployment = %self.label, "circuit closed");
                }
            }
            // A call that began in another phase says nothing about this one.
            _ => {}
        }
    }

    fn open(&self, phase: &mut Phase) {
        let opened_at_ms = unix_time_millis();
        let open_for_ms = u64::try_from(self.settings.open_for.as_millis()).unwrap_or(u64::MAX);
        phase.opened_at_ms = Some(opened_at_ms);
        self.enter(
            phase,
            State::Open {
                until: Instant::now() + self.settings.open_for,
                retry_at_ms: opened_at_ms.saturating_add(open_for_ms),
            },
        );
    }

    fn enter(&self, phase: &mut Phase, state: State) {
        phase.state = state;
        phase.epoch = phase.epoch.wrapping_add(1);
        self.publish(state.public());
    }

    fn publish(&self, state: BreakerState) {
        metrics::gauge!(
            "llm_circuit_state",
            "provider" => self.provider.clone(),
            "model" => self.model.clone()
        )
        .set(state.gauge_value());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_core::{ErrorKind, ProviderId};

    const MS: Duration = Duration::from_millis(10);

    fn error(kind: ErrorKind) -> LlmError {
        LlmError::from_provider(&ProviderId::new("p"), kind, "upstream said no")
    }

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new("p", "m", BreakerSettings::default())
    }

    fn fail(breaker: &CircuitBreaker) {
        let permit = breaker.admit().expect("admitted");
        permit.record(MS, Some(&error(ErrorKind::ProviderUnavailable)));
    }

    fn succeed(breaker: &CircuitBreaker) {
        breaker.admit().expect("admitted").record(MS, None);
    }

    /// Opens the breaker with five failures and waits out the open time.
    async fn half_open(breaker: &CircuitBreaker) {
        for _ in 0..5 {
            fail(breaker);
        }
        assert_eq!(breaker.state(), BreakerState::Open);
        tokio::time::advance(breaker.settings().open_for).await;
    }

    #[tokio::test(start_paused = true)]
    async fn opens_once_min_calls_fail_at_the_ratio_and_not_before() {
        let breaker = breaker();
        for _ in 0..4 {
            fail(&breaker);
        }
        assert_eq!(breaker.state(), BreakerState::Closed, "below min_calls");
        fail(&breaker);
        assert_eq!(breaker.state(), BreakerState::Open);
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.calls_in_window, 5);
        assert!((snapshot.failure_ratio - 1.0).abs() < 1e-9);
        assert!(snapshot.opened_at_ms.is_some());
        assert!(snapshot.retry_at_ms >= snapshot.opened_at_ms);
    }

    #[tokio::test(start_paused = true)]
    async fn stays_closed_below_the_failure_ratio() {
        let breaker = breaker();
        for _ in 0..6 {
            succeed(&breaker);
        }
        for _ in 0..5 {
            fail(&breaker);
        }
        assert_eq!(breaker.state(), BreakerState::Closed, "5 of 11 failed");
        fail(&breaker);
        assert_eq!(breaker.state(), BreakerState::Open, "6 of 12 failed");
    }

    #[tokio::test(start_paused = true)]
    async fn refuses_every_call_while_open() {
        let breaker = breaker();
        for _ in 0..5 {
            fail(&breaker);
        }
        assert!(breaker.admit().is_none());
        assert!(!breaker.is_available());
        tokio::time::advance(breaker.settings().open_for - MS).await;
        assert!(breaker.admit().is_none());
        assert_eq!(breaker.state(), BreakerState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_admits_one_probe_at_a_time() {
        let breaker = breaker();
        half_open(&breaker).await;
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(breaker.is_available());
        let probe = breaker.admit().expect("a probe");
        assert!(probe.is_probe());
        assert!(breaker.admit().is_none(), "a second concurrent probe");
        assert!(!breaker.is_available());
        drop(probe);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_opens_the_breaker_again() {
        let breaker = breaker();
        half_open(&breaker).await;
        let probe = breaker.admit().expect("a probe");
        probe.record(MS, Some(&error(ErrorKind::Timeout)));
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(breaker.admit().is_none());
        tokio::time::advance(breaker.settings().open_for).await;
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn a_successful_probe_closes_the_breaker_with_a_fresh_window() {
        let breaker = breaker();
        half_open(&breaker).await;
        breaker.admit().expect("a probe").record(MS, None);
        assert_eq!(breaker.state(), BreakerState::Closed);
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.calls_in_window, 0);
        assert_eq!(snapshot.opened_at_ms, None);
        // A fresh window: four failures are below min_calls again.
        for _ in 0..4 {
            fail(&breaker);
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn caller_errors_never_open_the_breaker() {
        let breaker = breaker();
        for _ in 0..50 {
            breaker
                .admit()
                .expect("admitted")
                .record(MS, Some(&error(ErrorKind::InvalidRequest)));
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert_eq!(breaker.snapshot().failure_ratio, 0.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_probe_frees_its_slot_without_judging() {
        let breaker = breaker();
        half_open(&breaker).await;
        drop(breaker.admit().expect("a probe"));
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let probe = breaker.admit().expect("the slot is free again");
        probe.record(MS, None);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn old_failures_leave_the_window() {
        let breaker = breaker();
        for _ in 0..4 {
            fail(&breaker);
        }
        tokio::time::advance(breaker.settings().window + MS).await;
        fail(&breaker);
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert_eq!(breaker.snapshot().calls_in_window, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_from_before_the_opening_does_not_close_it() {
        let breaker = breaker();
        let slow = breaker.admit().expect("admitted");
        half_open(&breaker).await;
        slow.record(MS, None);
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
    }

    #[test]
    fn states_serialize_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&BreakerState::HalfOpen).expect("json"),
            "\"half_open\""
        );
        assert_eq!(BreakerState::HalfOpen.as_str(), "half_open");
        assert_eq!(BreakerState::Open.as_str(), "open");
    }
}
