//! The settings of one Anthropic upstream.

use std::fmt;

use llm_core::ProviderId;
use llm_provider_http::HttpTimeouts;

/// How to reach one Anthropic Messages API upstream. Secrets are only ever printed redacted.
#[derive(Clone)]
pub struct AnthropicSettings {
    /// The configured id of this provider instance.
    pub id: ProviderId,
    /// The API root without `/v1`, e.g. `https://api.anthropic.com`.
    pub base_url: String,
    /// The raw API key, sent as `x-api-key` when set.
    pub api_key: Option<String>,
    /// The `anthropic-version` header.
    pub version: String,
    /// `max_tokens` sent when the client gives neither `max_tokens` nor `max_completion_tokens`
    /// (Anthropic requires one).
    pub default_max_tokens: u32,
    /// Further headers sent with every request, e.g. `anthropic-beta` (values are treated as secrets).
    pub extra_headers: Vec<(String, String)>,
    /// The deadlines: connect, first byte, idle gap between stream events, whole exchange.
    pub timeouts: HttpTimeouts,
}

impl AnthropicSettings {
    /// Anthropic's public API root.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com";
    /// The API version the wire format of this crate follows.
    pub const DEFAULT_VERSION: &'static str = "2023-06-01";
    /// Default output cap when the client names none.
    pub const DEFAULT_MAX_TOKENS: u32 = 4096;

    /// Settings without credentials or extra headers, with the default version, output cap and
    /// timeouts ([`HttpTimeouts::DEFAULT`]).
    pub fn new(id: ProviderId, base_url: impl Into<String>) -> Self {
        Self {
            id,
            base_url: base_url.into(),
            api_key: None,
            version: Self::DEFAULT_VERSION.to_owned(),
            default_max_tokens: Self::DEFAULT_MAX_TOKENS,
            extra_headers: Vec::new(),
            timeouts: HttpTimeouts::DEFAULT,
        }
    }
}

impl fmt::Debug for AnthropicSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.extra_headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("AnthropicSettings")
            .field("id", &self.id)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("version", &self.version)
            .field("default_max_tokens", &self.default_max_tokens)
            .field("extra_headers", &header_names)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults_and_debug_redacts_key_and_header_values() {
        let mut settings = AnthropicSettings::new("claude".into(), AnthropicSettings::DEFAULT_BASE_URL);
        settings.api_key = Some("sk-ant-very-secret".into());
        settings
            .extra_headers
            .push(("anthropic-beta".into(), "beta-secret-value".into()));
        let printed = format!("{settings:?}");
        assert!(!printed.contains("sk-ant-very-secret"), "{printed}");
        assert!(!printed.contains("beta-secret-value"), "{printed}");
        assert!(printed.contains("<redacted>"));
        assert!(printed.contains("anthropic-beta"));
        assert_eq!(settings.version, "2023-06-01");
        assert_eq!(settings.default_max_tokens, 4096);
        assert_eq!(settings.base_url, "https://api.anthropic.com");
        assert_eq!(settings.timeouts, HttpTimeouts::DEFAULT);
        assert_eq!(settings.timeouts.request, Duration::from_secs(600));
    }
}
