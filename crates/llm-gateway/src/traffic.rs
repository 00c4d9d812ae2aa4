//! What real traffic says about a provider: the outcome and latency of its recent calls.
//!
//! Every provider call the pipeline makes is recorded here (a complete answer when it arrives; a
//! stream when it ends, with the time it took to open). The default window keeps the last
//! [`WINDOW_CAPACITY`] calls younger than [`WINDOW_SPAN`]; `/llm/health/details` reads a
//! [`TrafficSummary`] of it. Errors the caller caused (an invalid request, a prompt too long, a
//! content rule) say nothing about the provider and count as answered.
//!
//! A circuit breaker (`crate::routing::breaker`) builds its own, shorter window with
//! [`TrafficWindow::new`] and reads [`TrafficWindow::counts`]. The clock is tokio's, so tests with
//! paused time move the window too.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use llm_core::{ErrorKind, ErrorOrigin, LlmError, unix_time_millis};
use serde::Serialize;
use tokio::time::Instant;

/// How far back the window looks.
pub const WINDOW_SPAN: Duration = Duration::from_secs(300);
/// At most this many calls are kept (the most recent).
pub const WINDOW_CAPACITY: usize = 1024;

/// Whether an error says the provider failed, rather than the caller (an invalid request, a prompt
/// too long, a content rule) or a gateway rule (the request's own deadline, a limit).
pub fn is_provider_failure(error: &LlmError) -> bool {
    error.origin() == ErrorOrigin::Provider
        && !matches!(
            error.kind(),
            ErrorKind::InvalidRequest
                | ErrorKind::NotFound
                | ErrorKind::ContextLengthExceeded
                | ErrorKind::ContentFiltered
        )
}

#[derive(Clone, Copy, Debug)]
struct Call {
    at: Instant,
    latency: Duration,
    failed: bool,
}

#[derive(Debug, Default)]
struct Calls {
    recent: VecDeque<Call>,
    /// How many of `recent` failed, kept as calls come and go so counting is O(1).
    failures: usize,
    last_success_ms: Option<u64>,
    last_failure_ms: Option<u64>,
    last_error: Option<String>,
}

impl Calls {
    fn pop_oldest(&mut self) {
        if let Some(call) = self.recent.pop_front() {
            self.failures -= usize::from(call.failed);
        }
    }
}

/// One provider's recent calls.
#[derive(Debug)]
pub struct TrafficWindow {
    span: Duration,
    capacity: usize,
    calls: Mutex<Calls>,
}

impl Default for TrafficWindow {
    /// The provider window: [`WINDOW_SPAN`], [`WINDOW_CAPACITY`].
    fn default() -> Self {
        Self::new(WINDOW_SPAN, WINDOW_CAPACITY)
    }
}

/// How many calls the window holds now, and how many of them the provider failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowCounts {
    /// Calls in the window.
    pub calls: usize,
    /// Calls in the window that the provider failed.
    pub failures: usize,
}

impl WindowCounts {
    /// `failures / calls`, 0 without calls.
    pub fn failure_ratio(&self) -> f64 {
        ratio(self.failures, self.calls)
    }
}

/// A provider's recent traffic, as `/llm/health/details` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrafficSummary {
    /// How far back the numbers look, in seconds.
    pub window_secs: u64,
    /// Calls in the window.
    pub requests: usize,
    /// Calls in the window that the provider failed.
    pub failures: usize,
    /// `failures / requests`, 0 without calls.
    pub error_rate: f64,
    /// Median call latency in milliseconds (streams: until the stream opened); `null` without calls.
    pub p50_ms: Option<f64>,
    /// 99th percentile call latency in milliseconds.
    pub p99_ms: Option<f64>,
    /// When the last call succeeded (unix milliseconds), ever.
    pub last_success_ms: Option<u64>,
    /// When the last call failed (unix milliseconds), ever.
    pub last_failure_ms: Option<u64>,
    /// The last failure's code and client-safe message.
    pub last_error: Option<String>,
}

impl TrafficWindow {
    /// A window that keeps at most `capacity` calls (at least one) younger than `span`.
    pub fn new(span: Duration, capacity: usize) -> Self {
        Self {
            span,
            capacity: capacity.max(1),
            calls: Mutex::default(),
        }
    }

    /// Records one call: its latency and, when it failed, the error.
    pub fn record(&self, latency: Duration, error: Option<&LlmError>) {
        let failure = error.filter(|error| is_provider_failure(error));
        let now = Instant::now();
        let mut calls = self.lock();
        while calls.recent.len() >= self.capacity {
            calls.pop_oldest();
        }
        calls.recent.push_back(Call {
            at: now,
            latency,
            failed: failure.is_some(),
        });
        calls.failures += usize::from(failure.is_some());
        match failure {
            None => calls.last_success_ms = Some(unix_time_millis()),
            Some(error) => {
                calls.last_failure_ms = Some(unix_time_millis());
                calls.last_error = Some(format!("{}: {}", error.code(), error.message()));
            }
        }
    }

    /// How many calls the window holds now and how many failed; cheaper than [`Self::summary`].
    pub fn counts(&self) -> WindowCounts {
        let mut calls = self.lock();
        self.drop_expired(&mut calls);
        WindowCounts {
            calls: calls.recent.len(),
            failures: calls.failures,
        }
    }

    /// Forgets the calls in the window (the last success and failure stay known).
    pub fn clear(&self) {
        let mut calls = self.lock();
        calls.recent.clear();
        calls.failures = 0;
    }

    /// The window's numbers now.
    pub fn summary(&self) -> TrafficSummary {
        let mut calls = self.lock();
        self.drop_expired(&mut calls);
        let mut latencies: Vec<Duration> = calls.recent.iter().map(|call| call.latency).collect();
        let failures = calls.failures;
        let summary = TrafficSummary {
            window_secs: self.span.as_secs(),
            requests: latencies.len(),
            failures,
            error_rate: ratio(failures, latencies.len()),
            p50_ms: None,
            p99_ms: None,
            last_success_ms: calls.last_success_ms,
            last_failure_ms: calls.last_failure_ms,
            last_error: calls.last_error.clone(),
        };
        drop(calls);
        latencies.sort_unstable();
        TrafficSummary {
            p50_ms: percentile_ms(&latencies, 0.50),
            p99_ms: percentile_ms(&latencies, 0.99),
            ..summary
        }
    }

    fn drop_expired(&self, calls: &mut Calls) {
        let now = Instant::now();
        while calls
            .recent
            .front()
            .is_some_and(|call| now.duration_since(call.at) > self.span)
        {
            calls.pop_oldest();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        #[allow(clippy::cast_precision_loss)] // counts are at most a window's capacity
        let ratio = part as f64 / whole as f64;
        ratio
    }
}

/// The nearest-rank percentile of sorted latencies, in milliseconds.
fn percentile_ms(sorted: &[Duration], quantile: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )] // a rank within 0..=last
    let rank = ((quantile * sorted.len() as f64).ceil() as usize)
        .saturating_sub(1)
        .min(last);
    Some(sorted[rank].as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_core::ProviderId;

    fn provider_error(kind: ErrorKind) -> LlmError {
        LlmError::from_provider(&ProviderId::new("p"), kind, "upstream said no")
    }

    #[test]
    fn an_empty_window_has_no_percentiles() {
        let summary = TrafficWindow::default().summary();
        assert_eq!(summary.requests, 0);
        assert_eq!(summary.error_rate, 0.0);
        assert_eq!(summary.p50_ms, None);
        assert_eq!(summary.p99_ms, None);
        assert_eq!(summary.last_success_ms, None);
    }

    #[test]
    fn percentiles_and_error_rate_come_from_the_recorded_calls() {
        let window = TrafficWindow::default();
        for millis in 1..=100 {
            window.record(Duration::from_millis(millis), None);
        }
        window.record(
            Duration::from_millis(500),
            Some(&provider_error(ErrorKind::Timeout)),
        );
        let summary = window.summary();
        assert_eq!(summary.requests, 101);
        assert_eq!(summary.failures, 1);
        assert!((summary.error_rate - 1.0 / 101.0).abs() < 1e-9);
        assert_eq!(summary.p50_ms, Some(51.0));
        assert_eq!(summary.p99_ms, Some(100.0));
        assert!(summary.last_success_ms.is_some());
        assert!(summary.last_failure_ms.is_some());
        assert_eq!(summary.last_error.as_deref(), Some("timeout: upstream said no"));
    }

    #[test]
    fn caller_errors_do_not_count_against_the_provider() {
        let window = TrafficWindow::default();
        window.record(
            Duration::from_millis(3),
            Some(&provider_error(ErrorKind::ContextLengthExceeded)),
        );
        let summary = window.summary();
        assert_eq!((summary.requests, summary.failures), (1, 0));
        assert!(summary.last_failure_ms.is_none());
        assert!(summary.last_success_ms.is_some());
    }

    #[test]
    fn the_window_keeps_only_the_most_recent_calls() {
        let window = TrafficWindow::default();
        window.record(
            Duration::from_secs(9),
            Some(&provider_error(ErrorKind::ProviderUnavailable)),
        );
        for _ in 0..WINDOW_CAPACITY {
            window.record(Duration::from_millis(1), None);
        }
        let summary = window.summary();
        assert_eq!(summary.requests, WINDOW_CAPACITY);
        assert_eq!(summary.failures, 0);
        assert_eq!(summary.p99_ms, Some(1.0));
        // The failure left the window but is still the last one seen.
        assert!(summary.last_failure_ms.is_some());
    }

    #[test]
    fn a_custom_window_keeps_its_own_capacity_and_span() {
        let window = TrafficWindow::new(Duration::from_secs(10), 3);
        window.record(
            Duration::from_millis(1),
            Some(&provider_error(ErrorKind::Timeout)),
        );
        for _ in 0..3 {
            window.record(Duration::from_millis(1), None);
        }
        assert_eq!(
            window.counts(),
            WindowCounts {
                calls: 3,
                failures: 0
            }
        );
        assert_eq!(window.summary().window_secs, 10);
        window.clear();
        assert_eq!(window.counts().calls, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn calls_older_than_the_span_leave_the_window() {
        let window = TrafficWindow::new(Duration::from_secs(10), 100);
        window.record(
            Duration::from_millis(1),
            Some(&provider_error(ErrorKind::Timeout)),
        );
        tokio::time::advance(Duration::from_secs(6)).await;
        window.record(Duration::from_millis(1), None);
        let counts = window.counts();
        assert_eq!((counts.calls, counts.failures), (2, 1));
        assert!((counts.failure_ratio() - 0.5).abs() < 1e-9);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(
            window.counts(),
            WindowCounts {
                calls: 1,
                failures: 0
            }
        );
    }
}
