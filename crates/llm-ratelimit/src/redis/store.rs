//! [`RedisLimitStore`]: decisions as one EVALSHA round trip, every call bounded by the command timeout.

use std::fmt;

use llm_redis::RedisPool;

use super::script::{EXPIRY_MARGIN_MS, Scripts};
use super::settings::RedisLimitSettings;
use crate::error::LimitError;
use crate::store::{Adjustment, Charge, Verdict};

/// Rate limit buckets in Redis (single node, cluster or sentinel), shared by every gateway instance that
/// uses the same Redis and namespace.
///
/// All keys share the hash tag `{<namespace>:rl}`, so every decision's keys are in one cluster slot and
/// one script can check and write them atomically. The pool reconnects with exponential backoff for as
/// long as it lives, including when Redis was down at start.
pub struct RedisLimitStore {
    pool: RedisPool,
    scripts: Scripts,
    prefix: String,
}

impl fmt::Debug for RedisLimitStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimitStore")
            .field("url", &self.pool.shown_url())
            .field("pool_size", &self.pool.size())
            .field("timeout", &self.pool.timeout())
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisLimitStore {
    /// Builds the pool and starts connecting.
    ///
    /// Waits at most `command_timeout` for the first connection; when Redis is not reachable yet this
    /// still succeeds (with a warning) and the pool keeps reconnecting in the background. Only a
    /// malformed URL or configuration is an error.
    pub async fn connect(settings: RedisLimitSettings) -> Result<Self, LimitError> {
        Ok(Self {
            pool: RedisPool::connect(&settings.connection(), "redis rate limit store").await?,
            scripts: Scripts::new(),
            prefix: key_prefix(&settings.namespace),
        })
    }

    /// The Redis key of a bucket: the namespace's hash tag, then the store-independent key.
    fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Checks and, if all admit, charges every bucket: one EVALSHA (plus a load after NOSCRIPT).
    pub(crate) async fn admit(&self, charges: &[Charge]) -> Result<Verdict, LimitError> {
        let keys: Vec<String> = charges.iter().map(|charge| self.redis_key(&charge.key)).collect();
        let mut args = Vec::with_capacity(1 + 2 * charges.len());
        args.push(EXPIRY_MARGIN_MS.to_string());
        for charge in charges {
            args.push(charge.increment_us.to_string());
            args.push(charge.burst_us.to_string());
        }
        let client = self.pool.next();
        let call = self
            .scripts
            .admit
            .evalsha_with_reload::<Vec<i64>, _, _>(client, keys, args);
        let answer = self.pool.run("ratelimit_admit", call).await?;
        let Some((&admitted, debts)) = answer.split_first() else {
            return Err(LimitError::Store(
                "redis ratelimit_admit: empty answer".to_owned(),
            ));
        };
        if debts.len() != charges.len() {
            return Err(LimitError::Store(format!(
                "redis ratelimit_admit: {} debts for {} keys",
                debts.len(),
                charges.len()
            )));
        }
        Ok(Verdict {
            admitted: admitted == 1,
            debts: debts
                .iter()
                .map(|debt| u64::try_from(*debt).unwrap_or(0))
                .collect(),
        })
    }

    /// Charges or refunds buckets after the fact: one EVALSHA.
    pub(crate) async fn adjust(&self, adjustments: &[Adjustment]) -> Result<(), LimitError> {
        if adjustments.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = adjustments
            .iter()
            .map(|adjustment| self.redis_key(&adjustment.key))
            .collect();
        let mut args = Vec::with_capacity(1 + adjustments.len());
        args.push(EXPIRY_MARGIN_MS.to_string());
        args.extend(
            adjustments
                .iter()
                .map(|adjustment| adjustment.delta_us.to_string()),
        );
        let client = self.pool.next();
        let call = self
            .scripts
            .adjust
            .evalsha_with_reload::<i64, _, _>(client, keys, args);
        self.pool.run("ratelimit_adjust", call).await?;
        Ok(())
    }
}

/// `{<namespace>:rl}:`, with `{`, `}` and `%` of the namespace percent-encoded so the hash tag holds.
fn key_prefix(namespace: &str) -> String {
    let mut tag = String::with_capacity(namespace.len() + 3);
    for c in namespace.chars() {
        match c {
            '{' => tag.push_str("%7B"),
            '}' => tag.push_str("%7D"),
            '%' => tag.push_str("%25"),
            _ => tag.push(c),
        }
    }
    format!("{{{tag}:rl}}:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_namespace_cannot_break_the_hash_tag() {
        assert_eq!(key_prefix("llm"), "{llm:rl}:");
        assert_eq!(key_prefix("team:a"), "{team:a:rl}:");
        assert_eq!(key_prefix("a}b{c%"), "{a%7Db%7Bc%25:rl}:");
    }
}
