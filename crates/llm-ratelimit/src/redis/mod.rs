//! The Redis store (fred): one atomic Lua script per decision on Redis server time, a pool that
//! reconnects by itself, and every call bounded by the command timeout.

mod script;
mod settings;
mod store;

pub use script::SCRIPT_VERSION;
pub use settings::RedisLimitSettings;
pub use store::RedisLimitStore;
