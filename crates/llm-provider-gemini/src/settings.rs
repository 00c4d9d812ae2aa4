//! The settings of one Gemini upstream.

use std::fmt;

use llm_core::ProviderId;
use llm_provider_http::HttpTimeouts;

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
    /// The connect, first-byte, idle and whole-exchange deadlines.
    pub timeouts: HttpTimeouts,
}

impl GeminiSettings {
    /// Google's public endpoint.
    pub const DEFAULT_BASE_URL: &'static str = "https://generativelanguage.googleapis.com";
    /// The API version with every feature this adapter uses.
    pub const DEFAULT_API_VERSION: &'static str = "v1beta";

    /// Settings without credentials or extra headers, with API version `v1beta` and
    /// [`HttpTimeouts::DEFAULT`].
    pub fn new(id: ProviderId, base_url: impl Into<String>) -> Self {
        Self {
            id,
            base_url: base_url.into(),
            api_version: Self::DEFAULT_API_VERSION.to_owned(),
            api_key: None,
            extra_headers: Vec::new(),
            timeouts: HttpTimeouts::DEFAULT,
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
            .field("timeouts", &self.timeouts)
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
        assert!(printed.contains("timeouts"));
        assert_eq!(settings.api_version, "v1beta");
        assert_eq!(settings.timeouts, HttpTimeouts::DEFAULT);
    }
}
