//! Rate-limit quotas as clients see them in OpenAI's `x-ratelimit-*` headers.

use std::time::Duration;

use serde::Serialize;

/// One limit's state after a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Quota {
    /// The rule's limit per window.
    pub limit: u64,
    /// What is left right now.
    pub remaining: u64,
    /// Time until the limit is fully restored.
    pub reset: Duration,
}

/// The tightest request and token quotas of a limited request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QuotaHeaders {
    /// `x-ratelimit-*-requests`.
    pub requests: Option<Quota>,
    /// `x-ratelimit-*-tokens`.
    pub tokens: Option<Quota>,
}

impl QuotaHeaders {
    /// Whether there is anything to report.
    pub fn is_empty(&self) -> bool {
        self.requests.is_none() && self.tokens.is_none()
    }

    /// `(name, value)` pairs in OpenAI's format (`x-ratelimit-reset-requests: 1.5s`, `6m0s`).
    pub fn header_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::with_capacity(6);
        for (quota, limit, remaining, reset) in [
            (
                self.requests,
                "x-ratelimit-limit-requests",
                "x-ratelimit-remaining-requests",
                "x-ratelimit-reset-requests",
            ),
            (
                self.tokens,
                "x-ratelimit-limit-tokens",
                "x-ratelimit-remaining-tokens",
                "x-ratelimit-reset-tokens",
            ),
        ] {
            if let Some(quota) = quota {
                pairs.push((limit, quota.limit.to_string()));
                pairs.push((remaining, quota.remaining.to_string()));
                pairs.push((reset, format_reset(quota.reset)));
            }
        }
        pairs
    }
}

/// OpenAI's reset format: `20ms`, `1.5s`, `6m0s`, `1h2m3s`.
pub fn format_reset(reset: Duration) -> String {
    let millis = reset.as_millis();
    if millis < 1_000 {
        return format!("{millis}ms");
    }
    let seconds = reset.as_secs();
    let (hours, minutes, secs) = (seconds / 3_600, (seconds % 3_600) / 60, seconds % 60);
    if hours > 0 {
        format!("{hours}h{minutes}m{secs}s")
    } else if minutes > 0 {
        format!("{minutes}m{secs}s")
    } else {
        let tenths = (millis % 1_000) / 100;
        if tenths == 0 {
            format!("{secs}s")
        } else {
            format!("{secs}.{tenths}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_read_like_openai() {
        assert_eq!(format_reset(Duration::from_millis(20)), "20ms");
        assert_eq!(format_reset(Duration::from_millis(1_500)), "1.5s");
        assert_eq!(format_reset(Duration::from_secs(360)), "6m0s");
        assert_eq!(format_reset(Duration::from_secs(3_723)), "1h2m3s");
        let headers = QuotaHeaders {
            requests: Some(Quota {
                limit: 60,
                remaining: 59,
                reset: Duration::from_secs(1),
            }),
            tokens: None,
        };
        assert_eq!(
            headers.header_pairs(),
            [
                ("x-ratelimit-limit-requests", "60".to_owned()),
                ("x-ratelimit-remaining-requests", "59".to_owned()),
                ("x-ratelimit-reset-requests", "1s".to_owned()),
            ]
        );
    }
}
