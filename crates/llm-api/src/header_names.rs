//! The names of the headers the gateway reads and writes beyond HTTP's own.

/// The request id, taken from the request when given.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// The gateway's own time in milliseconds, excluding time spent waiting on the provider.
pub const OVERHEAD_HEADER: &str = "x-llm-overhead-ms";
/// The provider that served (or failed) the request.
pub const PROVIDER_HEADER: &str = "x-llm-provider";
/// What the response cache did: `hit`, `miss` or `bypass`.
pub const CACHE_HEADER: &str = "x-llm-cache";
/// The TTL in seconds a client asks for its answer's cache entry.
pub const CACHE_TTL_HEADER: &str = "x-llm-cache-ttl";
/// The whole request's deadline in milliseconds a client asks for (bounded by configuration).
pub const TIMEOUT_HEADER: &str = "x-llm-timeout-ms";
/// Provider attempts the answer took (retries, other deployments and fallbacks included).
pub const ATTEMPTS_HEADER: &str = "x-llm-attempts";
/// The fallback model that answered, when the requested one could not.
pub const FALLBACK_HEADER: &str = "x-llm-fallback";
