//! A log line for store failures at most once per period, so a dead Redis does not flood the logs.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::LimitError;

/// Logs the first failure of each period and counts the rest, reporting the count with the next line.
#[derive(Debug)]
pub(crate) struct ThrottledErrorLog {
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

    /// Records a failure of `operation` and what happens instead; returns whether a line was written.
    pub fn record(&self, operation: &'static str, consequence: &'static str, error: &LimitError) -> bool {
        let suppressed = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
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
        tracing::warn!(
            operation, %error, suppressed,
            "rate limit {operation} failed on redis; {consequence} ({suppressed} more such errors suppressed)"
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_once_per_period_and_counts_the_rest() {
        let log = ThrottledErrorLog::new(Duration::from_millis(50));
        let error = LimitError::Timeout(Duration::from_millis(1));
        assert!(log.record("admit", "deciding locally", &error));
        assert!(!log.record("admit", "deciding locally", &error));
        assert!(!log.record("settle", "dropped", &error));
        std::thread::sleep(Duration::from_millis(60));
        assert!(log.record("admit", "deciding locally", &error));
    }
}
