//! What a decision returns: [`Decision`], with the quotas a client sees as `x-ratelimit-*` headers
//! ([`Quota`] and [`QuotaHeaders`] are llm-core's, so the gateway renders them without knowing this crate).

use std::time::Duration;

use llm_core::{Quota, QuotaHeaders};

use crate::rule::Unit;
use crate::store::StoreKind;

/// Takes `quota` of a rule counting `unit` into account: the headers keep the tightest quota per unit,
/// the lowest `remaining / limit` (ties: the lowest `remaining`).
pub(crate) fn offer(headers: &mut QuotaHeaders, unit: Unit, quota: Quota) {
    let slot = match unit {
        Unit::Requests => &mut headers.requests,
        Unit::Tokens => &mut headers.tokens,
    };
    let tighter = match slot {
        None => true,
        Some(current) => is_tighter(&quota, current),
    };
    if tighter {
        *slot = Some(quota);
    }
}

/// `a` is tighter than `b`: a lower share left (compared exactly), or the same share and fewer left.
fn is_tighter(a: &Quota, b: &Quota) -> bool {
    let left_a = u128::from(a.remaining) * u128::from(b.limit);
    let left_b = u128::from(b.remaining) * u128::from(a.limit);
    left_a < left_b || (left_a == left_b && a.remaining < b.remaining)
}

/// A request that passed every rule; keep it to [`settle`](crate::RateLimiter::settle) its tokens.
#[derive(Clone, Debug)]
pub struct Admission {
    pub headers: QuotaHeaders,
    pub(crate) store: StoreKind,
    pub(crate) estimated_tokens: u64,
    /// The token rules' buckets, with each rule's emission interval (µs per token).
    pub(crate) token_buckets: Vec<(String, u64)>,
}

impl Admission {
    /// An admission that charged nothing.
    pub(crate) fn nothing(store: StoreKind, estimated_tokens: u64) -> Self {
        Self {
            headers: QuotaHeaders::default(),
            store,
            estimated_tokens,
            token_buckets: Vec::new(),
        }
    }

    /// Which store decided: `"redis"`, or `"local"` (no Redis configured, or Redis failed and every
    /// rule falls back locally).
    pub fn decided_by(&self) -> &'static str {
        self.store.as_str()
    }
}

/// A request refused by a rule, or by a `deny` rule whose store could not be reached.
#[derive(Clone, Debug)]
pub struct Rejection {
    /// The refusing rule's scope, e.g. `user+model`.
    pub scope: String,
    /// Safe to show the client: which limit, and when to retry.
    pub message: String,
    pub retry_after: Duration,
    /// The quotas before this request (a refusal spends nothing).
    pub headers: QuotaHeaders,
    /// The store of a `deny` rule could not be reached (the gateway answers 503, not 429).
    pub unavailable: bool,
}

/// The outcome of [`admit`](crate::RateLimiter::admit).
#[derive(Clone, Debug)]
pub enum Decision {
    Admitted(Admission),
    Rejected(Rejection),
}

impl Decision {
    pub fn is_admitted(&self) -> bool {
        matches!(self, Self::Admitted(_))
    }

    /// The quotas to send back, either way.
    pub fn headers(&self) -> &QuotaHeaders {
        match self {
            Self::Admitted(admission) => &admission.headers,
            Self::Rejected(rejection) => &rejection.headers,
        }
    }
}

/// A wait in whole seconds for people: rounded up, at least 1.
pub(crate) fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(limit: u64, remaining: u64) -> Quota {
        Quota {
            limit,
            remaining,
            reset: Duration::ZERO,
        }
    }

    #[test]
    fn headers_keep_the_tightest_rule_per_unit() {
        let mut headers = QuotaHeaders::default();
        offer(&mut headers, Unit::Requests, quota(100, 50));
        offer(&mut headers, Unit::Requests, quota(10, 6));
        assert_eq!(
            headers.requests,
            Some(quota(100, 50)),
            "50% left is tighter than 60%"
        );
        offer(&mut headers, Unit::Requests, quota(10, 5));
        assert_eq!(headers.requests, Some(quota(10, 5)), "same share, fewer left");
        offer(&mut headers, Unit::Requests, quota(1000, 500));
        assert_eq!(headers.requests, Some(quota(10, 5)));
        assert_eq!(headers.tokens, None);
        offer(&mut headers, Unit::Tokens, quota(1000, 999));
        assert_eq!(headers.tokens, Some(quota(1000, 999)));
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(3)), 3);
        assert_eq!(whole_seconds(Duration::from_millis(2_001)), 3);
    }
}
