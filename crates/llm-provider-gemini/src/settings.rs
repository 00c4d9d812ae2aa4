//! The settings of one Gemini upstream.

use std::fmt;
use std::time::Duration;

use llm_core::ProviderId;

/// How to reach one Gemini (Generative Language API) upstream. Secrets are only ever printed redacted.
#[derive(Clone)]
pub struct GeminiSettings {
    /// The configured id of this provider instance.
    pub id: ProviderId,
    /// The API root without a version, e.g. `https://generativelanguage.googleapis.com`.
    pub base_url: String,
    /// The API version path segment, `v1beta` by default.
    pub api_version: String,
    /// The raw API key, sent as the `x-goog-api-key` header (never in the URL) when set.
    pub api_key: Option<String>,
    /// Further headers sent with every request (values are treated as secrets).
    pub extra_headers: Vec<(String, String)>,
    /// Deadline for establishing the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Deadline from sending the request until the response headers arrive.
    pub first_byte_timeout: Duration,
    /// Longest gap allowed between two events of a stream.
    pub idle_timeout: Duration,
    /// Deadline for a whole non-streaming exchange, body included.
    pub request_timeout: Duration,
}

impl GeminiSettings {
    /// Google's public endpoint.
    pub const DEFAULT_BASE_URL: &'static str = "https://generativelanguage.googleapis.com";
    /// The API version with every feature this adapter uses.
    pub const DEFAULT_API_VERSION: &'static str = "v1beta";
    /// Default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default first-byte timeout.
    pub const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default idle timeout between stream events.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default timeout of a whole non-streaming exchange.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

    /// Settings without credentials or extra headers, with API version `v1beta` and the default timeouts.
    pub fn new(id: ProviderId, base_url: impl Into<String>) -> Self {
        Self {
            id,
            base_url: base_url.into(),
            api_version: Self::DEFAULT_API_VERSION.to_owned(),
            api_key: None,
            extra_headers: Vec::new(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            first_byte_timeout: Self::DEFAULT_FIRST_BYTE_TIMEOUT,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl fmt::Debug for GeminiSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.extra_headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("GeminiSettings")
            .field("id", &self.id)
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("extra_headers", &header_names)
            .field("connect_timeout", &self.connect_timeout)
            .field("first_byte_timeout", &self.first_byte_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_debug_redacts_key_and_header_values() {
        let mut settings = GeminiSettings::new("gemini".into(), GeminiSettings::DEFAULT_BASE_URL);
        settings.api_key = Some("AIzaSy-very-secret".into());
        settings
            .extra_headers
            .push(("x-goog-user-project".into(), "project-secret".into()));
        let printed = format!("{settings:?}");
        assert!(!printed.contains("AIzaSy-very-secret"), "{printed}");
        assert!(!printed.contains("project-secret"), "{printed}");
        assert!(printed.contains("<redacted>"));
        assert!(printed.contains("x-goog-user-project"));
        assert_eq!(settings.api_version, "v1beta");
        assert_eq!(settings.connect_timeout, Duration::from_secs(5));
        assert_eq!(settings.first_byte_timeout, Duration::from_secs(60));
        assert_eq!(settings.idle_timeout, Duration::from_secs(60));
        assert_eq!(settings.request_timeout, Duration::from_secs(600));
    }
}
