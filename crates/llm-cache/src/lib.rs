//! The response cache of the LLM gateway.
//!
//! This crate owns everything about cached answers: the canonical [`CacheKey`] (a hash of every field
//! that changes an answer, plus the resolved route), the stored [`CachedAnswer`] (a response, and the
//! exact chunks when it was recorded from a stream), the [`ResponseCache`] backends ([`MemoryCache`] on
//! quick_cache, bounded by the memory its answers hold; [`RedisCache`] on fred, shared by every gateway instance), adaptive TTL, and
//! the fault-tolerant front [`AnswerCache`] with its stats and health: a cache failure is counted,
//! logged sparingly and never fails a request. Among the gateway's crates it depends on `llm-core` only,
//! and it knows no HTTP framework.

mod answer;
mod backend;
mod canonical;
mod canonical_serializer;
mod error;
mod footprint;
mod front;
mod key;
mod memory;
mod redis;

pub use answer::CachedAnswer;
pub use backend::{ResponseCache, adaptive_ttl};
pub use error::CacheError;
pub use front::{AnswerCache, CacheHealth, CachePolicy, CacheStats, Lookup};
pub use key::{CacheKey, FORMAT_VERSION};
pub use memory::{MemoryCache, MemoryFootprint};
pub use redis::{RedisCache, RedisSettings, redact_url};
