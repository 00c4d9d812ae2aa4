//! Choosing one of a model's deployments for a call.
//!
//! [`pick`] looks only at candidates with a weight above zero whose circuit breaker admits calls,
//! then follows the [`Strategy`]:
//! - `weighted`: a weighted random draw;
//! - `least_inflight`: power of two choices. Two distinct candidates are drawn by weight and the one
//!   with fewer calls in flight wins (tie: the lower latency EWMA, then the first drawn);
//! - `latency`: power of two choices on `(EWMA latency in µs + 1) * (calls in flight + 1)`. A
//!   deployment without a latency yet counts as the best known latency, so it gets tried.
//!
//! Randomness comes from [`Rng`], a small seedable PRNG (SplitMix64), so tests are deterministic.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::deployment::DeploymentState;

/// How a model's deployments share its calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// A weighted random draw.
    #[default]
    Weighted,
    /// Power of two choices on calls in flight.
    LeastInflight,
    /// Power of two choices on latency EWMA times calls in flight.
    #[serde(rename = "latency", alias = "latency_aware")]
    LatencyAware,
}

impl Strategy {
    /// The strategy's configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Weighted => "weighted",
            Self::LeastInflight => "least_inflight",
            Self::LatencyAware => "latency",
        }
    }
}

/// A strategy name that is not one of `weighted`, `least_inflight`, `latency`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown load balancing strategy `{0}` (expected weighted, least_inflight or latency)")]
pub struct UnknownStrategy(pub String);

impl FromStr for Strategy {
    type Err = UnknownStrategy;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "weighted" => Ok(Self::Weighted),
            "least_inflight" => Ok(Self::LeastInflight),
            "latency" | "latency_aware" => Ok(Self::LatencyAware),
            other => Err(UnknownStrategy(other.to_owned())),
        }
    }
}

/// One deployment the balancer may pick, with its configured weight.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// The configured weight; 0 never picks it.
    pub weight: u32,
    /// The deployment's load, latency and breaker.
    pub state: &'a DeploymentState,
}

/// A small, fast, seedable PRNG (SplitMix64); not for secrets.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator that always yields the same sequence for the same seed.
    pub fn seeded(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator seeded from the clock and a process-wide counter, different on every call.
    pub fn from_entropy() -> Self {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        let count = CALLS.fetch_add(1, Ordering::Relaxed);
        #[allow(clippy::cast_possible_truncation)] // the low 64 bits of the nanoseconds suffice
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        let mut mixer = Self::seeded(nanos ^ count.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        Self::seeded(mixer.next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0), without modulo bias worth noting.
    pub fn below(&mut self, bound: u64) -> u64 {
        #[allow(clippy::cast_possible_truncation)] // the high half of a 64x64 product fits in u64
        let scaled = ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64;
        scaled
    }
}

/// The index in `candidates` of the deployment to call, or `None` when none can take it (all
/// weights 0 or all breakers open).
pub fn pick(strategy: Strategy, candidates: &[Candidate<'_>], rng: &mut Rng) -> Option<usize> {
    let eligible: Vec<usize> = candidates
        .iter()
        .enumerate()
        .filter(|(_, candidate)| candidate.weight > 0 && candidate.state.is_available())
        .map(|(index, _)| index)
        .collect();
    let first = draw(candidates, &eligible, None, rng)?;
    if strategy == Strategy::Weighted {
        return Some(first);
    }
    let Some(second) = draw(candidates, &eligible, Some(first), rng) else {
        return Some(first);
    };
    let (a, b) = (candidates[first].state, candidates[second].state);
    let second_wins = if strategy == Strategy::LatencyAware {
        let unknown = best_known_latency_micros(candidates, &eligible);
        score(b, unknown) < score(a, unknown)
    } else {
        match b.inflight().cmp(&a.inflight()) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal => {
                matches!((a.ewma_latency(), b.ewma_latency()), (Some(a), Some(b)) if b < a)
            }
        }
    };
    Some(if second_wins { second } else { first })
}

/// A weighted random draw among `eligible`, leaving out `skip`.
fn draw(
    candidates: &[Candidate<'_>],
    eligible: &[usize],
    skip: Option<usize>,
    rng: &mut Rng,
) -> Option<usize> {
    let weight = |index: &usize| -> u64 {
        if Some(*index) == skip {
            0
        } else {
            u64::from(candidates[*index].weight)
        }
    };
    let total: u64 = eligible.iter().map(weight).sum();
    if total == 0 {
        return None;
    }
    let mut ticket = rng.below(total);
    for index in eligible {
        let weight = weight(index);
        if ticket < weight {
            return Some(*index);
        }
        ticket -= weight;
    }
    None
}

fn latency_micros(state: &DeploymentState) -> Option<u64> {
    state
        .ewma_latency()
        .map(|latency| u64::try_from(latency.as_micros()).unwrap_or(u64::MAX))
}

/// The lowest latency EWMA among the eligible deployments, 0 when none has one.
fn best_known_latency_micros(candidates: &[Candidate<'_>], eligible: &[usize]) -> u64 {
    eligible
        .iter()
        .filter_map(|index| latency_micros(candidates[*index].state))
        .min()
        .unwrap_or(0)
}

/// Lower is better: expected wait, roughly latency times the queue in front of the call.
fn score(state: &DeploymentState, unknown_latency_micros: u64) -> u128 {
    let latency = latency_micros(state).unwrap_or(unknown_latency_micros);
    (u128::from(latency) + 1) * (u128::from(state.inflight()) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::breaker::BreakerSettings;
    use crate::routing::deployment::DeploymentCall;
    use llm_core::{ErrorKind, LlmError, ProviderId};
    use std::time::Duration;

    fn deployment(model: &str) -> DeploymentState {
        DeploymentState::new("p", model, BreakerSettings::default())
    }

    fn busy(state: &DeploymentState, calls: usize) -> Vec<DeploymentCall> {
        (0..calls).map(|_| state.begin().expect("closed")).collect()
    }

    fn with_latency(state: &DeploymentState, latency: Duration) {
        state.begin().expect("closed").finish(latency, None);
    }

    fn open(state: &DeploymentState) {
        let error = LlmError::from_provider(&ProviderId::new("p"), ErrorKind::Timeout, "slow");
        for _ in 0..5 {
            state
                .begin()
                .expect("closed")
                .finish(Duration::from_millis(1), Some(&error));
        }
        assert!(!state.is_available());
    }

    fn counts(strategy: Strategy, candidates: &[Candidate<'_>], picks: usize, seed: u64) -> Vec<usize> {
        let mut rng = Rng::seeded(seed);
        let mut counts = vec![0; candidates.len()];
        for _ in 0..picks {
            counts[pick(strategy, candidates, &mut rng).expect("a pick")] += 1;
        }
        counts
    }

    /// Candidates of weight 1 over `states`.
    fn equal<'a>(states: &[&'a DeploymentState]) -> Vec<Candidate<'a>> {
        states
            .iter()
            .map(|state| Candidate { weight: 1, state })
            .collect()
    }

    #[test]
    fn weighted_splits_three_to_one_within_tolerance() {
        let (a, b) = (deployment("a"), deployment("b"));
        let candidates = [
            Candidate { weight: 3, state: &a },
            Candidate { weight: 1, state: &b },
        ];
        for seed in [1, 42, 7_777] {
            let counts = counts(Strategy::Weighted, &candidates, 20_000, seed);
            #[allow(clippy::cast_precision_loss)] // small counts
            let share = counts[0] as f64 / 20_000.0;
            assert!((share - 0.75).abs() <= 0.03, "seed {seed}: share {share}");
        }
    }

    #[test]
    fn a_zero_weight_is_never_picked() {
        let (a, b, c) = (deployment("a"), deployment("b"), deployment("c"));
        let candidates = [
            Candidate { weight: 0, state: &a },
            Candidate { weight: 1, state: &b },
            Candidate { weight: 2, state: &c },
        ];
        for strategy in [
            Strategy::Weighted,
            Strategy::LeastInflight,
            Strategy::LatencyAware,
        ] {
            assert_eq!(counts(strategy, &candidates, 2_000, 3)[0], 0, "{strategy:?}");
        }
        let only_zero = [Candidate { weight: 0, state: &a }];
        assert_eq!(pick(Strategy::Weighted, &only_zero, &mut Rng::seeded(1)), None);
    }

    #[test]
    fn least_inflight_prefers_the_idle_deployment() {
        let (loaded, idle) = (deployment("loaded"), deployment("idle"));
        let _calls = busy(&loaded, 5);
        let candidates = equal(&[&loaded, &idle]);
        let counts = counts(Strategy::LeastInflight, &candidates, 1_000, 9);
        assert_eq!(counts, [0, 1_000]);
    }

    #[test]
    fn least_inflight_breaks_ties_on_latency() {
        let (slow, fast) = (deployment("slow"), deployment("fast"));
        with_latency(&slow, Duration::from_millis(400));
        with_latency(&fast, Duration::from_millis(40));
        let candidates = equal(&[&slow, &fast]);
        assert_eq!(counts(Strategy::LeastInflight, &candidates, 500, 5), [0, 500]);
    }

    #[test]
    fn least_inflight_with_one_available_candidate_picks_it() {
        let only = deployment("only");
        let _calls = busy(&only, 3);
        let candidates = [Candidate {
            weight: 1,
            state: &only,
        }];
        assert_eq!(
            pick(Strategy::LeastInflight, &candidates, &mut Rng::seeded(2)),
            Some(0)
        );
    }

    #[test]
    fn latency_aware_prefers_the_faster_deployment() {
        let (slow, fast) = (deployment("slow"), deployment("fast"));
        with_latency(&slow, Duration::from_millis(800));
        with_latency(&fast, Duration::from_millis(50));
        let candidates = equal(&[&slow, &fast]);
        assert_eq!(counts(Strategy::LatencyAware, &candidates, 1_000, 11), [0, 1_000]);
        // Enough calls queued on the fast one make the slow one the better bet: 50 * 17 > 800 * 1.
        let _calls = busy(&fast, 16);
        assert_eq!(counts(Strategy::LatencyAware, &candidates, 1_000, 11), [1_000, 0]);
    }

    #[test]
    fn latency_aware_tries_a_deployment_without_latency() {
        let (known, new) = (deployment("known"), deployment("new"));
        with_latency(&known, Duration::from_millis(100));
        let _calls = busy(&known, 1);
        let candidates = equal(&[&known, &new]);
        assert_eq!(counts(Strategy::LatencyAware, &candidates, 200, 13), [0, 200]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_deployment_is_skipped_and_all_open_picks_none() {
        let (broken, healthy) = (deployment("broken"), deployment("healthy"));
        open(&broken);
        let candidates = [
            Candidate {
                weight: 100,
                state: &broken,
            },
            Candidate {
                weight: 1,
                state: &healthy,
            },
        ];
        for strategy in [
            Strategy::Weighted,
            Strategy::LeastInflight,
            Strategy::LatencyAware,
        ] {
            assert_eq!(
                counts(strategy, &candidates, 1_000, 17),
                [0, 1_000],
                "{strategy:?}"
            );
        }
        open(&healthy);
        assert_eq!(pick(Strategy::Weighted, &candidates, &mut Rng::seeded(1)), None);
        assert_eq!(
            pick(Strategy::LeastInflight, &candidates, &mut Rng::seeded(1)),
            None
        );
    }

    #[test]
    fn strategies_parse_from_config_names() {
        assert_eq!("weighted".parse(), Ok(Strategy::Weighted));
        assert_eq!("least_inflight".parse(), Ok(Strategy::LeastInflight));
        assert_eq!("latency".parse(), Ok(Strategy::LatencyAware));
        assert!("random".parse::<Strategy>().is_err());
        let parsed: Strategy = serde_json::from_str("\"latency\"").expect("json");
        assert_eq!(parsed, Strategy::LatencyAware);
        let parsed: Strategy = serde_json::from_str("\"least_inflight\"").expect("json");
        assert_eq!(parsed, Strategy::LeastInflight);
        assert_eq!(Strategy::default(), Strategy::Weighted);
        assert_eq!(Strategy::LatencyAware.as_str(), "latency");
    }

    #[test]
    fn seeded_rngs_repeat_and_entropy_rngs_differ() {
        let (mut a, mut b) = (Rng::seeded(5), Rng::seeded(5));
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(Rng::from_entropy().next_u64(), Rng::from_entropy().next_u64());
        let mut rng = Rng::seeded(0);
        assert!((0..1_000).all(|_| rng.below(7) < 7));
        assert_eq!(rng.below(0), 0);
    }
}
