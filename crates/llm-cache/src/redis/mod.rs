//! The Redis backend (fred): a connection pool that reconnects by itself and bounds every call.

mod cache;
mod scripts;

pub use cache::RedisCache;
pub use llm_redis::{RedisSettings, redact_url};
