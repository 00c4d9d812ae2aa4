//! A log line for Redis failures at most once per period, so a dead backend does not flood the logs.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Lets the first failure of each period be logged and counts the rest, handing the count to the next
/// line.
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

    /// Records a failure: when a line is due, calls `write` with the number of failures suppressed
    /// since the last line (outside the lock) and returns `true`; otherwise counts it and returns `false`.
    pub fn record(&self, write: impl FnOnce(u64)) -> bool {
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
        write(suppressed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_once_per_period_and_counts_the_rest() {
        let log = ThrottledErrorLog::new(Duration::from_millis(50));
        let mut written = Vec::new();
        assert!(log.record(|suppressed| written.push(suppressed)));
        assert!(!log.record(|suppressed| written.push(suppressed)));
        assert!(!log.record(|suppressed| written.push(suppressed)));
        std::thread::sleep(Duration::from_millis(60));
        assert!(log.record(|suppressed| written.push(suppressed)));
        assert!(!log.record(|suppressed| written.push(suppressed)));
        assert_eq!(written, [0, 2]);
    }
}
