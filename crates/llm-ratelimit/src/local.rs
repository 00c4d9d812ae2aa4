//! The local store: TATs in a map under one lock, on an injectable clock, forgotten when idle.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::gcra;
use crate::store::{Adjustment, Charge, Verdict};

/// How often (in clock time) the local store drops state of subjects whose buckets are full again.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// A monotonic clock for the local store: the time since the clock's own epoch.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Duration;
}

/// The process's monotonic clock (`Instant`), from when it was created.
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }
}

/// A clock that moves only when told: deterministic tests of windows without sleeping.
#[derive(Debug, Default)]
pub struct ManualClock {
    micros: AtomicU64,
}

impl ManualClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance(&self, by: Duration) {
        let micros = u64::try_from(by.as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::SeqCst))
    }
}

/// Buckets of this process only. Every decision (all its rules) runs under one lock.
pub(crate) struct LocalLimitStore {
    clock: Arc<dyn Clock>,
    state: Mutex<LocalState>,
}

#[derive(Default)]
struct LocalState {
    tats: HashMap<String, u64>,
    last_sweep: u64,
}

impl fmt::Debug for LocalLimitStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalLimitStore").finish_non_exhaustive()
    }
}

impl LocalLimitStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            state: Mutex::new(LocalState::default()),
        }
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.clock.now().as_micros()).unwrap_or(u64::MAX)
    }

    /// Admits all charges or none: every bucket is checked first, and written only if all admit.
    pub fn admit(&self, charges: &[Charge]) -> Verdict {
        let now = self.now_us();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.sweep(now);
        let tats: Vec<Option<u64>> = charges
            .iter()
            .map(|charge| state.tats.get(&charge.key).copied())
            .collect();
        let admitted = charges.iter().zip(&tats).all(|(charge, tat)| {
            gcra::debt(*tat, now).saturating_add(charge.increment_us) <= charge.burst_us
        });
        let mut debts = Vec::with_capacity(charges.len());
        for (charge, tat) in charges.iter().zip(&tats) {
            if admitted {
                let new_tat = gcra::charged(*tat, now, charge.increment_us);
                if new_tat > now {
                    state.tats.insert(charge.key.clone(), new_tat);
                }
                debts.push(new_tat - now);
            } else {
                debts.push(gcra::debt(*tat, now));
            }
        }
        Verdict { admitted, debts }
    }

    /// Charges (positive) or refunds (negative) each bucket after the fact.
    pub fn adjust(&self, adjustments: &[Adjustment]) {
        let now = self.now_us();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for adjustment in adjustments {
            let tat = state.tats.get(&adjustment.key).copied();
            let new_tat = if adjustment.delta_us >= 0 {
                gcra::charged(tat, now, adjustment.delta_us.unsigned_abs())
            } else if tat.is_some() {
                gcra::refunded(tat, now, adjustment.delta_us.unsigned_abs())
            } else {
                continue;
            };
            if new_tat > now {
                state.tats.insert(adjustment.key.clone(), new_tat);
            } else {
                state.tats.remove(&adjustment.key);
            }
        }
    }

    /// How many subjects hold state (full buckets are forgotten at the next sweep).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .tats
            .len()
    }
}

impl LocalState {
    /// Drops buckets that are full again (their TAT has passed): they are the same as no state.
    fn sweep(&mut self, now: u64) {
        let every = u64::try_from(SWEEP_EVERY.as_micros()).unwrap_or(u64::MAX);
        if now.saturating_sub(self.last_sweep) < every {
            return;
        }
        self.last_sweep = now;
        self.tats.retain(|_, tat| *tat > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_subjects_leave_no_state() {
        let clock = Arc::new(ManualClock::new());
        let store = LocalLimitStore::new(clock.clone());
        let charge = |key: &str| Charge {
            key: key.to_owned(),
            increment_us: 1_000_000,
            burst_us: 60_000_000,
        };
        clock.advance(SWEEP_EVERY);
        assert!(store.admit(&[charge("a"), charge("b")]).admitted);
        assert_eq!(store.len(), 2);
        clock.advance(SWEEP_EVERY);
        assert!(store.admit(&[charge("c")]).admitted);
        assert_eq!(store.len(), 1, "a and b were full again and are forgotten");
    }
}
