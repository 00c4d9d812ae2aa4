//! The Redis backend (fred): a connection pool that reconnects by itself and bounds every call.

mod cache;
mod scripts;
mod settings;

pub use cache::RedisCache;
pub use settings::{RedisSettings, redact_url};
