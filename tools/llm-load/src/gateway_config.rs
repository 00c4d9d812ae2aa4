//! The measured gateway configurations and the TOML file each one is started with.

use std::fmt::Write;
use std::net::SocketAddr;

/// A gateway configuration the benchmark measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// The embedded defaults' features: memory cache and a local rate limit; every request misses.
    Default,
    /// The same prompt every time: answered from the memory cache.
    CacheHitMemory,
    /// The same prompt every time: answered from the Redis cache.
    CacheHitRedis,
    /// Cache misses; the rate limit decides on Redis (the cache stays in memory).
    RedisLimits,
}

impl Scenario {
    /// Every configuration, in the order they are measured.
    pub const ALL: [Self; 4] = [
        Self::Default,
        Self::CacheHitMemory,
        Self::CacheHitRedis,
        Self::RedisLimits,
    ];

    /// Its name in the table and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::CacheHitMemory => "cache-hit-memory",
            Self::CacheHitRedis => "cache-hit-redis",
            Self::RedisLimits => "redis-limits",
        }
    }

    /// Whether it needs Redis.
    pub fn needs_redis(self) -> bool {
        matches!(self, Self::CacheHitRedis | Self::RedisLimits)
    }

    /// Whether every request repeats one prompt (so the cache answers after the first).
    pub fn repeats_prompt(self) -> bool {
        matches!(self, Self::CacheHitMemory | Self::CacheHitRedis)
    }
}

/// What goes into a gateway's configuration file.
pub struct ConfigOptions<'a> {
    pub upstream: SocketAddr,
    pub redis_url: &'a str,
    /// The cache off altogether (soak diagnostics).
    pub cache_off: bool,
}

/// The provider id the gateway routes `bench/bench-model` to.
pub const PROVIDER_ID: &str = "bench";

/// The TOML for `scenario`: one `openai_compatible` provider at the mock, a per-user request limit
/// far above what the benchmark sends, and Redis where the scenario asks for it.
pub fn render(scenario: Scenario, options: &ConfigOptions<'_>) -> String {
    let mut toml = String::new();
    let _ = writeln!(
        toml,
        "# Written by llm-load for the `{}` configuration.\n\
         [[providers]]\n\
         id = \"{PROVIDER_ID}\"\n\
         type = \"openai_compatible\"\n\
         base_url = \"http://{}/v1\"\n",
        scenario.name(),
        options.upstream
    );
    let _ = writeln!(
        toml,
        "[[rate_limits]]\n\
         scope = \"user\"\n\
         unit = \"requests\"\n\
         limit = 100000000\n\
         window = \"1h\"\n"
    );
    // A namespace per run keeps one run's Redis entries from answering the next.
    let namespace = format!("llmload{}", std::process::id());
    let backend = match scenario {
        Scenario::Default | Scenario::CacheHitMemory | Scenario::RedisLimits => "memory",
        Scenario::CacheHitRedis => "redis",
    };
    let mode = if options.cache_off { "off" } else { "deterministic" };
    let _ = writeln!(
        toml,
        "[cache]\nbackend = \"{backend}\"\nmode = \"{mode}\"\nnamespace = \"{namespace}\"\n"
    );
    if scenario.needs_redis() {
        let _ = writeln!(toml, "[redis]\nurl = \"{}\"\n", options.redis_url);
    }
    toml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_redis_scenarios_name_redis() {
        let options = ConfigOptions {
            upstream: SocketAddr::from(([127, 0, 0, 1], 9)),
            redis_url: "redis://127.0.0.1:6379",
            cache_off: false,
        };
        let default = render(Scenario::Default, &options);
        assert!(default.contains("base_url = \"http://127.0.0.1:9/v1\""));
        assert!(!default.contains("[redis]"));
        let limits = render(Scenario::RedisLimits, &options);
        assert!(limits.contains("[redis]") && limits.contains("backend = \"memory\""));
        let hit = render(Scenario::CacheHitRedis, &options);
        assert!(hit.contains("backend = \"redis\""));
    }
}
