//! [`RateLimiter`]: every matching rule decided at once, on Redis or locally, all or nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use llm_core::QuotaHeaders;
use llm_redis::ThrottledErrorLog;

use crate::decision::{Admission, Decision, Rejection, offer, whole_seconds};
use crate::error::LimitError;
use crate::gcra::Bucket;
use crate::local::{Clock, LocalLimitStore, SystemClock};
use crate::redis::{RedisLimitStore, SCRIPT_VERSION};
use crate::rule::{OnStoreError, Rule, Subject, Unit, format_window};
use crate::store::{Adjustment, Charge, StoreKind, Verdict};

/// How often a failing Redis is logged (every failure is counted).
const ERROR_LOG_PERIOD: Duration = Duration::from_secs(10);
/// The wait suggested when a `deny` rule's store is unreachable.
const UNAVAILABLE_RETRY: Duration = Duration::from_secs(1);

/// A rule ready to decide: its stable id (part of every key) and its bucket.
#[derive(Debug)]
struct CompiledRule {
    rule: Rule,
    scope: String,
    /// `v{SCRIPT_VERSION}:{id}:`, the start of every key this rule charges; the id depends on what
    /// the rule is (scope, unit, limit, window), not where it is listed.
    key_prefix: String,
    bucket: Bucket,
}

impl CompiledRule {
    /// The bucket `subject` is charged in: `v{SCRIPT_VERSION}:{id}:{parts}`.
    fn charge_key(&self, subject: &Subject) -> String {
        let mut key = String::with_capacity(self.key_prefix.len() + 64);
        key.push_str(&self.key_prefix);
        subject.push_key_parts(self.rule.scope, &mut key);
        key
    }

    fn describe_limit(&self) -> String {
        format!(
            "{} {} per {}",
            self.rule.limit,
            self.rule.unit,
            format_window(self.rule.window)
        )
    }
}

/// Applies a set of rules to requests: admission before the call, token settlement after.
#[derive(Debug)]
pub struct RateLimiter {
    rules: Vec<CompiledRule>,
    local: LocalLimitStore,
    redis: Option<RedisLimitStore>,
    errors: ThrottledErrorLog,
}

impl RateLimiter {
    /// A limiter for `rules`, on `redis` when given, else on this process's local store.
    pub fn new(rules: Vec<Rule>, redis: Option<RedisLimitStore>) -> Self {
        Self::with_clock(rules, redis, Arc::new(SystemClock::new()))
    }

    /// As [`new`](Self::new), with the local store on `clock` (Redis always uses its own server time).
    pub fn with_clock(rules: Vec<Rule>, redis: Option<RedisLimitStore>, clock: Arc<dyn Clock>) -> Self {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let rules = rules
            .into_iter()
            .map(|rule| {
                // The id depends on what the rule is, not where it is listed, so reordering the
                // configuration keeps every bucket; a changed limit or window starts afresh.
                let base = format!(
                    "{}:{}:{}:{}ms",
                    rule.scope,
                    rule.unit,
                    rule.limit,
                    rule.window.as_millis()
                );
                let occurrence = seen.entry(base.clone()).or_insert(0);
                *occurrence += 1;
                let id = if *occurrence == 1 {
                    base
                } else {
                    format!("{base}#{occurrence}")
                };
                CompiledRule {
                    scope: rule.scope.to_string(),
                    bucket: Bucket::new(rule.limit, rule.window),
                    rule,
                    key_prefix: format!("v{SCRIPT_VERSION}:{id}:"),
                }
            })
            .collect();
        Self {
            rules,
            local: LocalLimitStore::new(clock),
            redis,
            errors: ThrottledErrorLog::new(ERROR_LOG_PERIOD),
        }
    }

    /// No rules: the gateway can skip admission entirely.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Some rule counts tokens, so requests need a token estimate.
    pub fn needs_tokens(&self) -> bool {
        self.rules.iter().any(|rule| rule.rule.unit == Unit::Tokens)
    }

    /// Decides a request against every rule at once: request rules cost 1, token rules
    /// `estimated_tokens`. Either every rule is charged or none is. Never fails: when Redis cannot
    /// decide, each rule follows its [`OnStoreError`].
    pub async fn admit(&self, subject: &Subject, estimated_tokens: u64) -> Decision {
        if self.rules.is_empty() {
            return Decision::Admitted(Admission::nothing(StoreKind::Local, estimated_tokens));
        }
        let costs: Vec<u64> = self
            .rules
            .iter()
            .map(|rule| match rule.rule.unit {
                Unit::Requests => 1,
                Unit::Tokens => estimated_tokens,
            })
            .collect();
        if let Some((rule, cost)) = self
            .rules
            .iter()
            .zip(&costs)
            .find(|(rule, cost)| **cost > rule.rule.limit)
        {
            return self.count(Decision::Rejected(Rejection {
                scope: rule.scope.clone(),
                message: format!(
                    "request needs {cost} {} but {} allows at most {}; it can never pass",
                    rule.rule.unit,
                    rule.scope,
                    rule.describe_limit()
                ),
                retry_after: rule.rule.window,
                headers: QuotaHeaders::default(),
                unavailable: false,
            }));
        }
        let charges: Vec<Charge> = self
            .rules
            .iter()
            .zip(&costs)
            .map(|(rule, cost)| Charge {
                key: rule.charge_key(subject),
                increment_us: rule.bucket.increment(*cost),
                burst_us: rule.bucket.burst_us,
            })
            .collect();
        let (store, verdict) = match &self.redis {
            None => (StoreKind::Local, self.local.admit(&charges)),
            Some(redis) => match redis.admit(&charges).await {
                Ok(verdict) => (StoreKind::Redis, verdict),
                Err(error) => {
                    return self.count(self.admit_without_redis(&charges, &costs, estimated_tokens, &error));
                }
            },
        };
        self.count(self.conclude(store, &charges, &costs, estimated_tokens, &verdict))
    }

    /// Redis failed: refuse as unavailable if any rule is `deny`, else decide every rule locally.
    fn admit_without_redis(
        &self,
        charges: &[Charge],
        costs: &[u64],
        estimated_tokens: u64,
        error: &LimitError,
    ) -> Decision {
        for rule in &self.rules {
            metrics::counter!("llm_ratelimit_decisions_total", "scope" => rule.scope.clone(), "result" => "error")
                .increment(1);
        }
        if let Some(rule) = self
            .rules
            .iter()
            .find(|rule| rule.rule.on_store_error == OnStoreError::Deny)
        {
            self.log_store_error("admit", "refusing (on_store_error = deny)", error);
            return Decision::Rejected(Rejection {
                scope: rule.scope.clone(),
                message: format!(
                    "rate limit for {} ({}) cannot be checked right now; retry in {}s",
                    rule.scope,
                    rule.describe_limit(),
                    whole_seconds(UNAVAILABLE_RETRY)
                ),
                retry_after: UNAVAILABLE_RETRY,
                headers: QuotaHeaders::default(),
                unavailable: true,
            });
        }
        self.log_store_error("admit", "deciding locally", error);
        let verdict = self.local.admit(charges);
        self.conclude(StoreKind::Local, charges, costs, estimated_tokens, &verdict)
    }

    /// Turns a store's verdict into a decision with the client's quotas.
    fn conclude(
        &self,
        store: StoreKind,
        charges: &[Charge],
        costs: &[u64],
        estimated_tokens: u64,
        verdict: &Verdict,
    ) -> Decision {
        let mut headers = QuotaHeaders::default();
        for (rule, debt) in self.rules.iter().zip(&verdict.debts) {
            offer(&mut headers, rule.rule.unit, rule.bucket.quota(*debt));
        }
        if verdict.admitted {
            let token_buckets = self
                .rules
                .iter()
                .zip(charges)
                .filter(|(rule, _)| rule.rule.unit == Unit::Tokens)
                .map(|(rule, charge)| (charge.key.clone(), rule.bucket.emission_us))
                .collect();
            return Decision::Admitted(Admission {
                headers,
                store,
                estimated_tokens,
                token_buckets,
            });
        }
        // The refusing rule with the longest wait: after it, every refusing rule would admit.
        let refusing = self
            .rules
            .iter()
            .zip(costs.iter().zip(&verdict.debts))
            .filter(|(rule, (cost, debt))| !rule.bucket.admits(**debt, **cost))
            .map(|(rule, (cost, debt))| (rule, rule.bucket.retry_after(*debt, *cost)))
            .max_by_key(|(_, wait)| *wait)
            // Unreachable (the store refuses by the same arithmetic); retrying at once is the answer.
            .or_else(|| self.rules.first().map(|rule| (rule, Duration::ZERO)));
        let Some((rule, retry_after)) = refusing else {
            return Decision::Admitted(Admission::nothing(store, estimated_tokens));
        };
        Decision::Rejected(Rejection {
            scope: rule.scope.clone(),
            message: format!(
                "rate limit exceeded for {} ({}); retry in {}s",
                rule.scope,
                rule.describe_limit(),
                whole_seconds(retry_after)
            ),
            retry_after,
            headers,
            unavailable: false,
        })
    }

    /// Counts a decision: every rule when admitted, the refusing rule's scope when rejected.
    fn count(&self, decision: Decision) -> Decision {
        match &decision {
            Decision::Admitted(_) => {
                for rule in &self.rules {
                    metrics::counter!("llm_ratelimit_decisions_total", "scope" => rule.scope.clone(), "result" => "admitted")
                        .increment(1);
                }
            }
            // An unavailable store was counted as `error` for every rule already.
            Decision::Rejected(rejection) if rejection.unavailable => {}
            Decision::Rejected(rejection) => {
                metrics::counter!("llm_ratelimit_decisions_total", "scope" => rejection.scope.clone(), "result" => "rejected")
                    .increment(1);
            }
        }
        decision
    }

    /// Corrects the token rules once the real usage is known: refunds what was over-estimated, charges
    /// what was under-estimated (a bucket may go into debt; later requests wait). Request rules are
    /// untouched. Never fails: a store error is logged and counted.
    pub async fn settle(&self, admission: &Admission, actual_tokens: u64) {
        if actual_tokens == admission.estimated_tokens || admission.token_buckets.is_empty() {
            return;
        }
        let refund = actual_tokens < admission.estimated_tokens;
        let tokens = actual_tokens.abs_diff(admission.estimated_tokens);
        let adjustments: Vec<Adjustment> = admission
            .token_buckets
            .iter()
            .map(|(key, emission_us)| {
                let micros = i64::try_from(tokens.saturating_mul(*emission_us).min(1 << 50)).unwrap_or(0);
                Adjustment {
                    key: key.clone(),
                    delta_us: if refund { -micros } else { micros },
                }
            })
            .collect();
        match (admission.store, &self.redis) {
            (StoreKind::Redis, Some(redis)) => {
                if let Err(error) = redis.adjust(&adjustments).await {
                    metrics::counter!("llm_ratelimit_store_errors_total", "operation" => "settle")
                        .increment(1);
                    self.log_store_error("settle", "the token correction is dropped", &error);
                }
            }
            _ => self.local.adjust(&adjustments),
        }
    }

    /// Logs a Redis failure of `operation` and what happens instead, at most once per log period.
    fn log_store_error(&self, operation: &'static str, consequence: &'static str, error: &LimitError) {
        self.errors.record(|suppressed| {
            tracing::warn!(
                operation, %error, suppressed,
                "rate limit {operation} failed on redis; {consequence} ({suppressed} more such errors suppressed)"
            );
        });
    }
}
