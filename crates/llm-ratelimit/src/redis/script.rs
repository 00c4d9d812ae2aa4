//! The Lua scripts of the Redis store: the same GCRA as `gcra.rs`, atomic, on Redis server time.
//!
//! A bucket is one string key holding its TAT in µs of Redis time (`TIME`). The increments (`n*T`) and
//! the burst (`B`) are computed by the caller, so the scripts only add, compare and write integers
//! (below 2^53, exact in Lua's numbers). Keys expire once their bucket is full again, plus a margin.
//!
//! The version is in the script text (so in its SHA) and in every key: bump [`SCRIPT_VERSION`] with any
//! change of behaviour or state format, and instances of two releases never share or misread state.

use fred::types::scripts::Script;

/// The version of the scripts and of the key layout; it appears in both.
pub const SCRIPT_VERSION: u32 = 1;

/// Milliseconds a key outlives the moment its bucket is full again.
pub const EXPIRY_MARGIN_MS: u64 = 1_000;

/// KEYS: one bucket per rule. ARGV[1]: expiry margin (ms); then per key, increment and burst (µs).
///
/// All or nothing: every bucket is read and checked first; only if all admit are the new TATs written.
/// Returns `{admitted (1|0), debt_1, ..., debt_n}`: the debts after admission, or before a refusal.
const ADMIT: &str = r"
-- llm-ratelimit gcra admit v1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local margin = tonumber(ARGV[1])
local tats = {}
local admitted = 1
for i = 1, #KEYS do
  local increment = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if tat == nil or tat < now then tat = now end
  tats[i] = tat
  if tat - now + increment > burst then admitted = 0 end
end
local out = {admitted}
for i = 1, #KEYS do
  if admitted == 1 then
    local new = tats[i] + tonumber(ARGV[2 * i])
    local debt = new - now
    if debt > 0 then
      redis.call('SET', KEYS[i], string.format('%.0f', new), 'PX', math.ceil(debt / 1000) + margin)
    end
    out[i + 1] = debt
  else
    out[i + 1] = tats[i] - now
  end
end
return out
";

/// KEYS: buckets. ARGV[1]: expiry margin (ms); then per key a signed delta (µs).
///
/// A positive delta charges (`max(tat, now) + delta`, debt beyond the burst allowed); a negative one
/// refunds (`max(tat + delta, now)`); a bucket full again is deleted. Returns the number of keys.
const ADJUST: &str = r"
-- llm-ratelimit gcra adjust v1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local margin = tonumber(ARGV[1])
for i = 1, #KEYS do
  local delta = tonumber(ARGV[i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]))
  local new = nil
  if delta >= 0 then
    if tat == nil or tat < now then tat = now end
    new = tat + delta
  elseif tat ~= nil then
    new = tat + delta
    if new < now then new = now end
  end
  if new ~= nil then
    if new > now then
      redis.call('SET', KEYS[i], string.format('%.0f', new), 'PX', math.ceil((new - now) / 1000) + margin)
    else
      redis.call('DEL', KEYS[i])
    end
  end
end
return #KEYS
";

/// The scripts, with their SHA1 computed once.
#[derive(Debug)]
pub struct Scripts {
    pub admit: Script,
    pub adjust: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Self {
            admit: Script::from_lua(ADMIT),
            adjust: Script::from_lua(ADJUST),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_text_carries_the_version() {
        let tag = format!(" v{SCRIPT_VERSION}\n");
        assert!(ADMIT.contains(&tag), "bump the version in ADMIT's first line too");
        assert!(
            ADJUST.contains(&tag),
            "bump the version in ADJUST's first line too"
        );
    }
}
