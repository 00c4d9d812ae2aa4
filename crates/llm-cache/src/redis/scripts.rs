//! The Lua scripts of the Redis backend. Each touches an entry's value key and its companion meta hash
//! (`hits`, and `ttl`: the TTL the entry was stored with); both keys share a hash tag, so they live in
//! one cluster slot and each script is atomic.

use fred::types::scripts::Script;

/// KEYS: value, meta. ARGV: encoded answer, TTL in ms. Stores the answer and resets its hit count.
const STORE: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'ttl', ARGV[2], 'hits', 0)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
";

/// KEYS: value, meta. ARGV: adaptive max TTL in ms, 0 when adaptive TTL is off.
///
/// Counts a hit and returns the count (0 when the entry is gone). Adaptive: both keys live for
/// min(ttl * (1 + hits), max) from now, and never less than the stored ttl.
const RECORD_HIT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  return 0
end
local hits = redis.call('HINCRBY', KEYS[2], 'hits', 1)
local base = tonumber(redis.call('HGET', KEYS[2], 'ttl'))
local max = tonumber(ARGV[1])
local ttl
if max > 0 and base then
  if max < base then max = base end
  ttl = math.min(base * (1 + hits), max)
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  ttl = redis.call('PTTL', KEYS[1])
end
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return hits
";

/// KEYS: value, meta. Deletes both; returns 1 when the value existed.
const DELETE: &str = r"
local removed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
return removed
";

/// The scripts, with their SHA1 computed once.
#[derive(Debug)]
pub struct Scripts {
    pub store: Script,
    pub record_hit: Script,
    pub delete: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Self {
            store: Script::from_lua(STORE),
            record_hit: Script::from_lua(RECORD_HIT),
            delete: Script::from_lua(DELETE),
        }
    }
}
