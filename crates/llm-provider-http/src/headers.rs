//! Default request headers, with secret values marked sensitive so they never show in debug output.

use llm_core::{LlmError, ProviderId};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// Builds a provider's default headers; every failure names the provider, never the value.
#[derive(Debug)]
pub struct HeaderSet<'a> {
    provider: &'a ProviderId,
    headers: HeaderMap,
}

impl<'a> HeaderSet<'a> {
    /// An empty set for `provider`.
    pub fn new(provider: &'a ProviderId) -> Self {
        Self {
            provider,
            headers: HeaderMap::new(),
        }
    }

    /// Adds a header whose value may be shown (versions, organisations).
    pub fn plain(mut self, name: &str, value: &str, what: &str) -> Result<Self, LlmError> {
        let (name, value) = self.pair(name, value, what)?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Adds a header whose value is a secret (keys, tokens, anything a user configured).
    pub fn secret(mut self, name: &str, value: &str, what: &str) -> Result<Self, LlmError> {
        let (name, mut value) = self.pair(name, value, what)?;
        value.set_sensitive(true);
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Adds the user's extra headers, all treated as secrets.
    pub fn extra(self, headers: &[(String, String)]) -> Result<Self, LlmError> {
        headers.iter().try_fold(self, |set, (name, value)| {
            set.secret(name, value, &format!("extra header {name}"))
        })
    }

    /// The finished map.
    pub fn build(self) -> HeaderMap {
        self.headers
    }

    fn pair(&self, name: &str, value: &str, what: &str) -> Result<(HeaderName, HeaderValue), LlmError> {
        let provider = self.provider;
        let name = HeaderName::try_from(name).map_err(|_| {
            LlmError::internal(format!(
                "provider {provider}: {what}: {name:?} is not a valid header name"
            ))
        })?;
        let value = HeaderValue::try_from(value).map_err(|_| {
            LlmError::internal(format!(
                "provider {provider}: {what} is not a valid HTTP header value"
            ))
        })?;
        Ok((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_sensitive_and_errors_never_show_values() {
        let id = ProviderId::new("p");
        let headers = HeaderSet::new(&id)
            .secret("x-api-key", "sk-secret", "api_key")
            .unwrap()
            .plain("anthropic-version", "2023-06-01", "version")
            .unwrap()
            .extra(&[("x-team".into(), "blue".into())])
            .unwrap()
            .build();
        assert!(headers["x-api-key"].is_sensitive());
        assert!(headers["x-team"].is_sensitive());
        assert!(!headers["anthropic-version"].is_sensitive());
        assert!(!format!("{headers:?}").contains("sk-secret"));
        let error = HeaderSet::new(&id)
            .secret("x-api-key", "bad\nsk-secret", "api_key")
            .unwrap_err();
        assert!(!error.message().contains("sk-secret"));
        assert!(error.message().contains("api_key"));
    }
}
