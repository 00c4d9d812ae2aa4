//! [`OpenAiProvider`]: the `Provider` implementation over the shared [`UpstreamClient`].

use std::fmt;

use async_trait::async_trait;
use llm_core::{ChatRequest, ChatResponse, ChunkStream, LlmError, ModelInfo, Provider, ProviderId};
use llm_provider_http::reqwest::header::HeaderMap;
use llm_provider_http::reqwest::{RequestBuilder, Url};
use llm_provider_http::{HeaderSet, UpstreamClient, chunk_stream, endpoint};

use crate::errors;
use crate::settings::{AuthStyle, OpenAiSettings, Quirks};
use crate::stream::OpenAiEvents;
use crate::wire::{self, ChatCompletionBody};

/// One OpenAI-style upstream: OpenAI itself or any OpenAI-compatible server.
pub struct OpenAiProvider {
    client: UpstreamClient,
    chat: ChatEndpoint,
    models_url: Url,
    quirks: Quirks,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("id", self.client.id())
            .field("chat", &self.chat)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// Builds the HTTP client. Fails (kind `internal`) on a bad base URL or a header value that is
    /// not valid HTTP; the message never contains a secret.
    pub fn new(settings: OpenAiSettings) -> Result<Self, LlmError> {
        let id = settings.id.clone();
        let base = settings.base_url.trim_end_matches('/');
        let chat = if settings.chat_path.contains(MODEL_PLACEHOLDER) {
            let template = format!("{base}{}", settings.chat_path);
            // Checks the template once with a placeholder name, so a bad base URL fails here.
            endpoint(
                &id,
                &template.replace(MODEL_PLACEHOLDER, "model"),
                &settings.query,
            )?;
            ChatEndpoint::PerModel {
                template,
                query: settings.query.clone(),
            }
        } else {
            ChatEndpoint::Fixed(endpoint(
                &id,
                &format!("{base}{}", settings.chat_path),
                &settings.query,
            )?)
        };
        let models_url = endpoint(&id, &format!("{base}{}", settings.models_path), &settings.query)?;
        let headers = default_headers(&settings)?;
        let client = UpstreamClient::new(id, settings.timeouts, headers, errors::from_status)?;
        Ok(Self {
            client,
            chat,
            models_url,
            quirks: settings.quirks,
        })
    }

    fn chat_request(
        &self,
        model: &str,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<RequestBuilder, LlmError> {
        let id = self.client.id();
        let url = self.chat.url(id, model)?;
        let body = ChatCompletionBody::new(model, request, stream)
            .with_quirks(self.quirks)
            .to_vec()
            .map_err(|error| LlmError::internal("could not serialize the chat request").with_cause(error))?;
        tracing::debug!(provider = %id, model, stream, body_bytes = body.len(), "chat completion request");
        Ok(self.client.post_json(url, body, stream))
    }
}

const MODEL_PLACEHOLDER: &str = "{model}";

/// The chat endpoint: one URL, or one per model (Azure deployments).
#[derive(Debug)]
enum ChatEndpoint {
    Fixed(Url),
    PerModel {
        template: String,
        query: Vec<(String, String)>,
    },
}

impl ChatEndpoint {
    fn url(&self, id: &ProviderId, model: &str) -> Result<Url, LlmError> {
        match self {
            Self::Fixed(url) => Ok(url.clone()),
            Self::PerModel { template, query } => {
                let plain = !model.is_empty()
                    && model
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
                if !plain {
                    return Err(LlmError::invalid_param(
                        "model",
                        format!("`{model}` is not a valid deployment name for provider {id}"),
                    ));
                }
                endpoint(id, &template.replace(MODEL_PLACEHOLDER, model), query)
            }
        }
    }
}

/// The key as [`AuthStyle`] says (a secret), the organization (plain) and the extra headers.
fn default_headers(settings: &OpenAiSettings) -> Result<HeaderMap, LlmError> {
    let mut headers = HeaderSet::new(&settings.id);
    if let Some(key) = &settings.api_key {
        headers = match &settings.auth {
            AuthStyle::Bearer => headers.secret("authorization", &format!("Bearer {key}"), "api_key")?,
            AuthStyle::Header(name) => headers.secret(name, key, "api_key")?,
        };
    }
    if let Some(organization) = &settings.organization {
        headers = headers.plain("openai-organization", organization, "organization")?;
    }
    Ok(headers.extra(&settings.extra_headers)?.build())
}

#[async_trait]
impl Provider for OpenAiProvider {
    fn id(&self) -> &ProviderId {
        self.client.id()
    }

    fn kind(&self) -> &'static str {
        "openai"
    }

    async fn complete(&self, model: &str, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let request = self.chat_request(model, request, false)?;
        self.client
            .exchange(request, wire::parse_response, "chat completion")
            .await
    }

    async fn stream(&self, model: &str, request: &ChatRequest) -> Result<ChunkStream, LlmError> {
        let request = self.chat_request(model, request, true)?;
        let response = self.client.send(request).await?;
        let id = self.client.id().clone();
        let idle = self.client.timeouts().idle;
        Ok(chunk_stream(id.clone(), response, idle, OpenAiEvents::new(id)))
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let request = self.client.get_json(self.models_url.clone());
        self.client
            .exchange(request, wire::parse_models, "model list")
            .await
    }
}
