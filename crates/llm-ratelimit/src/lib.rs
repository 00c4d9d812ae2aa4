//! Rate limits of the LLM gateway. This crate owns the rules (a [`Scope`] over user, provider and
//! model, a [`Unit`] of requests or tokens, a limit per window), the decision algorithm (GCRA, a token
//! bucket kept as one theoretical arrival time per rule and subject), and the two stores that hold it:
//! a local store in this process, and a Redis store where one atomic, versioned Lua script per decision
//! runs on Redis server time, so limits stay exact across gateway instances. One decision checks every
//! matching rule and charges all of them or none. When Redis fails, each rule follows its
//! [`OnStoreError`]: decide locally (fail open to a per-instance limit) or refuse as unavailable (fail
//! closed); no decision waits on Redis past its command timeout. Among gateway crates it depends on
//! `llm-core` only, and it knows no HTTP framework: the gateway turns a [`Decision`] into statuses and
//! `x-ratelimit-*` headers.

mod decision;
mod error;
mod gcra;
mod limiter;
mod local;
mod redis;
mod rule;
mod store;

pub use decision::{Admission, Decision, Rejection};
pub use error::{LimitError, RuleError};
pub use limiter::RateLimiter;
pub use llm_core::{Quota, QuotaHeaders};
pub use local::{Clock, ManualClock, SystemClock};
pub use redis::{RedisLimitSettings, RedisLimitStore, SCRIPT_VERSION};
pub use rule::{OnStoreError, Rule, Scope, Subject, Unit, format_window, parse_window};
