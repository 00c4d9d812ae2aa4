//! The settings of one OpenAI-style upstream.

use std::fmt;

use llm_core::ProviderId;
use llm_provider_http::HttpTimeouts;

/// How the API key travels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Authorization: Bearer <key>` (OpenAI and most compatible servers).
    Bearer,
    /// The key alone in the named header (Azure OpenAI's `api-key`).
    Header(String),
}

/// Where OpenAI-compatible servers differ from OpenAI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quirks {
    /// The server refuses `stream_options`; streams then carry usage only if the server sends it
    /// unasked.
    pub no_stream_options: bool,
    /// The server knows `max_tokens` but not `max_completion_tokens`: the cap is sent as `max_tokens`.
    pub max_tokens_only: bool,
}

/// How to reach one OpenAI-style upstream. Secrets are only ever printed redacted.
#[derive(Clone)]
pub struct OpenAiSettings {
    /// The configured id of this provider instance.
    pub id: ProviderId,
    /// The API root, e.g. `https://api.openai.com/v1`; endpoints are appended to it.
    pub base_url: String,
    /// The raw API key, sent as [`auth`](Self::auth) says when set.
    pub api_key: Option<String>,
    /// How the key is sent.
    pub auth: AuthStyle,
    /// The chat endpoint below `base_url`. `{model}` in it is replaced by the upstream model name
    /// (Azure's deployment), which must then be a plain name (letters, digits, `-`, `_`, `.`).
    pub chat_path: String,
    /// The model-listing endpoint below `base_url`.
    pub models_path: String,
    /// Query parameters sent with every request (Azure's `api-version`).
    pub query: Vec<(String, String)>,
    /// Where this server differs from OpenAI.
    pub quirks: Quirks,
    /// Sent as the `OpenAI-Organization` header when set.
    pub organization: Option<String>,
    /// Further headers sent with every request (values are treated as secrets).
    pub extra_headers: Vec<(String, String)>,
    /// The connect, first-byte, idle (between stream events) and whole-exchange deadlines.
    pub timeouts: HttpTimeouts,
}

impl OpenAiSettings {
    /// Settings without credentials or extra headers, with the default timeouts.
    pub fn new(id: ProviderId, base_url: impl Into<String>) -> Self {
        Self {
            id,
            base_url: base_url.into(),
            api_key: None,
            auth: AuthStyle::Bearer,
            chat_path: "/chat/completions".to_owned(),
            models_path: "/models".to_owned(),
            query: Vec::new(),
            quirks: Quirks::default(),
            organization: None,
            extra_headers: Vec::new(),
            timeouts: HttpTimeouts::DEFAULT,
        }
    }
}

impl fmt::Debug for OpenAiSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.extra_headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("OpenAiSettings")
            .field("id", &self.id)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("auth", &self.auth)
            .field("chat_path", &self.chat_path)
            .field("models_path", &self.models_path)
            .field("query", &self.query)
            .field("quirks", &self.quirks)
            .field("organization", &self.organization)
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
    fn debug_redacts_key_and_header_values() {
        let mut settings = OpenAiSettings::new("openai".into(), "https://api.openai.com/v1");
        settings.api_key = Some("sk-very-secret".into());
        settings
            .extra_headers
            .push(("api-key".into(), "azure-secret".into()));
        let printed = format!("{settings:?}");
        assert!(!printed.contains("sk-very-secret"), "{printed}");
        assert!(!printed.contains("azure-secret"), "{printed}");
        assert!(printed.contains("<redacted>"));
        assert!(printed.contains("api-key"));
        assert_eq!(settings.timeouts, HttpTimeouts::DEFAULT);
        assert_eq!(settings.timeouts.request, Duration::from_secs(600));
    }
}
