//! [`AnthropicProvider`]: the `Provider` implementation over the shared upstream HTTP toolkit.

use std::fmt;

use async_trait::async_trait;
use llm_core::{ChatRequest, ChatResponse, ChunkStream, LlmError, ModelInfo, Provider, ProviderId};
use llm_provider_http::reqwest::{RequestBuilder, Url};
use llm_provider_http::{HeaderSet, UpstreamClient, endpoint};

use crate::settings::AnthropicSettings;
use crate::{errors, stream, wire};

/// One Anthropic Messages API upstream.
pub struct AnthropicProvider {
    http: UpstreamClient,
    messages_url: Url,
    models_url: Url,
    default_max_tokens: u32,
}

impl fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("id", self.http.id())
            .field("messages_url", &self.messages_url.as_str())
            .finish_non_exhaustive()
    }
}

impl AnthropicProvider {
    /// Builds the HTTP client. Fails (kind `internal`) on a bad base URL or a header value that is
    /// not valid HTTP; the message never contains a secret.
    pub fn new(settings: AnthropicSettings) -> Result<Self, LlmError> {
        let id = settings.id;
        let base = settings.base_url.trim_end_matches('/');
        let messages_url = endpoint(&id, &format!("{base}/v1/messages"), &[])?;
        // One page of up to 1000 models: every model Anthropic serves.
        let models_url = endpoint(
            &id,
            &format!("{base}/v1/models"),
            &[("limit".to_owned(), "1000".to_owned())],
        )?;
        let mut headers = HeaderSet::new(&id);
        if let Some(key) = &settings.api_key {
            headers = headers.secret("x-api-key", key, "api_key")?;
        }
        let headers = headers
            .plain("anthropic-version", &settings.version, "version")?
            .extra(&settings.extra_headers)?
            .build();
        let http = UpstreamClient::new(id, settings.timeouts, headers, errors::from_status)?;
        Ok(Self {
            http,
            messages_url,
            models_url,
            default_max_tokens: settings.default_max_tokens,
        })
    }

    fn messages_request(
        &self,
        model: &str,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<RequestBuilder, LlmError> {
        let body = wire::messages_body(model, request, self.default_max_tokens, stream)?;
        let body = serde_json::to_vec(&body).map_err(|error| {
            LlmError::internal("could not serialize the messages request").with_cause(error)
        })?;
        tracing::debug!(provider = %self.http.id(), model, stream, body_bytes = body.len(), "messages request");
        Ok(self.http.post_json(self.messages_url.clone(), body, stream))
    }
}

#[async_trait]
impl Provider for AnthropicProvider {
    fn id(&self) -> &ProviderId {
        self.http.id()
    }

    fn kind(&self) -> &'static str {
        "anthropic"
    }

    async fn complete(&self, model: &str, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let request = self.messages_request(model, request, false)?;
        let message = self
            .http
            .exchange(request, wire::parse_response, "message")
            .await?;
        Ok(wire::chat_response(message))
    }

    async fn stream(&self, model: &str, request: &ChatRequest) -> Result<ChunkStream, LlmError> {
        let request = self.messages_request(model, request, true)?;
        let response = self.http.send(request).await?;
        Ok(stream::chunk_stream(
            self.http.id().clone(),
            response,
            self.http.timeouts().idle,
        ))
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let request = self.http.get_json(self.models_url.clone());
        self.http
            .exchange(request, wire::parse_models, "model list")
            .await
    }
}

#[cfg(test)]
mod tests {
    use llm_core::ErrorKind;

    use super::*;

    #[test]
    fn bad_settings_are_internal_errors_that_never_show_secrets() {
        let settings = |base_url: &str| AnthropicSettings::new("claude".into(), base_url);
        let error = AnthropicProvider::new(settings("not a url")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Internal);
        assert!(error.message().contains("base_url"), "{}", error.message());
        let error = AnthropicProvider::new(settings("ftp://example.com")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Internal);

        let mut bad_key = settings("https://example.com/");
        bad_key.api_key = Some("sk-ant-secret\n".into());
        let error = AnthropicProvider::new(bad_key).unwrap_err();
        assert!(error.message().contains("api_key"), "{}", error.message());
        assert!(!format!("{error:?}").contains("sk-ant-secret"));

        let mut good = settings("https://example.com/");
        good.api_key = Some("sk-ant-secret".into());
        let provider = AnthropicProvider::new(good).unwrap();
        assert_eq!(provider.messages_url.as_str(), "https://example.com/v1/messages");
        assert_eq!(
            provider.models_url.as_str(),
            "https://example.com/v1/models?limit=1000"
        );
        assert!(!format!("{provider:?}").contains("sk-ant-secret"));
    }
}
