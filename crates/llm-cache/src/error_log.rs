//! A log line for cache failures at most once per period, so a dead backend does not flood the logs.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::CacheError;

/// Logs the first failure of each period and counts the rest, reporting the count with the next line.
#[derive(Debug)]
pub struct ThrottledErrorLog {
    period: Duration,
    state: Mutex<LogState>,
}

#[derive(Debug, Default)]
struct LogState {
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl ThrottledErrorLog {
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            state: Mutex::new(LogState::default()),
        }
    }

    /// Records a failure of `operation`; returns whether a line was written.
    pub fn record(&self, backend: &'static str, operation: &'static str, error: &CacheError) -> bool {
        let suppressed = {
            let mut state = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            let due = state
                .last_logged
                .is_none_or(|last| now.duration_since(last) >= self.period);
            if !due {
                state.suppressed += 1;
                return false;
            }
            state.last_logged = Some(now);
            std::mem::take(&mut state.suppressed)
        };
        if suppressed > 0 {
            tracing::warn!(
                backend, operation, %error,
                "cache {operation} failed; the request goes on without the cache ({suppressed} more cache errors suppressed)"
            );
        } else {
            tracing::warn!(
                backend, operation, %error,
                "cache {operation} failed; the request goes on without the cache"
            );
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_once_per_period_and_counts_the_rest() {
        let log = ThrottledErrorLog::new(Duration::from_millis(50));
        let error = CacheError::Timeout(Duration::from_millis(1));
        assert!(log.record("redis", "lookup", &error));
        assert!(!log.record("redis", "lookup", &error));
        assert!(!log.record("redis", "store", &error));
        std::thread::sleep(Duration::from_millis(60));
        assert!(log.record("redis", "lookup", &error));
        assert!(!log.record("redis", "lookup", &error));
    }
}
