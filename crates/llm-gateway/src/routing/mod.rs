//! Routing within a model: which of its deployments takes a call, and which are left alone.
//!
//! - [`breaker`]: a circuit breaker per deployment. It opens after a failure ratio over a window of
//!   recent calls, lets probes through once the open time is over, and closes on a probe's success.
//! - [`deployment`]: a deployment's live state (calls in flight, latency EWMA, breaker) and the
//!   registry of every deployment's state, keyed by provider id and upstream model.
//! - [`balancer`]: picks a deployment by strategy (weighted, least in flight, latency aware) among
//!   those with a weight and a breaker that admits calls.
//! - [`limits`]: a deployment's own request budget per minute.
//!
//! A call goes: [`pick`] an index among the [`Candidate`]s, [`DeploymentState::begin`] on it (which
//! can still refuse if a half-open probe slot was taken meanwhile; pick again without it), then
//! [`DeploymentCall::finish`] with the outcome. Dropping the call unfinished counts as cancelled.

pub mod balancer;
pub mod breaker;
pub mod deployment;
pub mod limits;

pub use balancer::{Candidate, Rng, Strategy, UnknownStrategy, pick};
pub use breaker::{BreakerPermit, BreakerSettings, BreakerSnapshot, BreakerState, CircuitBreaker};
pub use deployment::{DeploymentCall, DeploymentSnapshot, DeploymentState, DeploymentStates};
