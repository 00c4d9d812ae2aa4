//! [`GeminiProvider`]: the `Provider` implementation over the shared [`UpstreamClient`].

use std::fmt;

use async_trait::async_trait;
use llm_core::{ChatRequest, ChatResponse, ChunkStream, LlmError, ModelInfo, Provider, ProviderId};
use llm_provider_http::reqwest::RequestBuilder;
use llm_provider_http::{HeaderSet, UpstreamClient, endpoint};

use crate::settings::GeminiSettings;
use crate::wire::{self, GenerateContentRequest};
use crate::{errors, stream};

/// Most pages `models()` follows; Google lists far fewer models than this many pages of 1000.
const MAX_MODEL_PAGES: usize = 10;

/// One Gemini (Generative Language API) upstream.
pub struct GeminiProvider {
    client: UpstreamClient,
    /// `{base}/{version}/models`: the model list, and the prefix of every model's endpoints.
    models_url: String,
}

impl fmt::Debug for GeminiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeminiProvider")
            .field("id", self.client.id())
            .field("models_url", &self.models_url)
            .finish_non_exhaustive()
    }
}

impl GeminiProvider {
    /// Builds the HTTP client. Fails (kind `internal`) on a bad base URL or API version, or on a
    /// header value that is not valid HTTP; the message never contains a secret.
    pub fn new(settings: GeminiSettings) -> Result<Self, LlmError> {
        let id = settings.id.clone();
        let base = settings.base_url.trim_end_matches('/');
        let version = settings.api_version.trim_matches('/');
        if version.is_empty() || version.contains(['/', '?', '#']) || version.contains(char::is_whitespace) {
            return Err(LlmError::internal(format!(
                "provider {id}: api_version {version:?} is not a single path segment"
            )));
        }
        let parsed = endpoint(&id, &format!("{base}/{version}/models"), &[])?;
        if parsed.query().is_some() {
            return Err(LlmError::internal(format!(
                "provider {id}: base_url must be an http or https URL without a query"
            )));
        }
        let mut headers = HeaderSet::new(&id);
        if let Some(key) = &settings.api_key {
            headers = headers.secret("x-goog-api-key", key, "api_key")?;
        }
        let headers = headers.extra(&settings.extra_headers)?.build();
        let client = UpstreamClient::new(id, settings.timeouts, headers, errors::from_status)?;
        Ok(Self {
            client,
            models_url: parsed.as_str().trim_end_matches('/').to_owned(),
        })
    }

    /// The POST for `model`'s `generateContent` (or `streamGenerateContent` when `stream`), with the
    /// body built from `request`. Refuses model names that could change the URL before anything is
    /// sent.
    fn generate_request(
        &self,
        model: &str,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<RequestBuilder, LlmError> {
        let id = self.client.id();
        let name = wire::model_path_segment(model).map_err(|error| errors::from_request(id, error))?;
        let (method, query) = if stream {
            (
                "streamGenerateContent",
                vec![("alt".to_owned(), "sse".to_owned())],
            )
        } else {
            ("generateContent", Vec::new())
        };
        let url = endpoint(id, &format!("{}/{name}:{method}", self.models_url), &query)?;
        let body = GenerateContentRequest::from_chat(request)
            .map_err(|error| errors::from_request(id, error))?
            .to_vec()
            .map_err(|error| {
                LlmError::internal("could not serialize the Gemini request").with_cause(error)
            })?;
        tracing::debug!(provider = %id, model = name, stream, body_bytes = body.len(), "generateContent request");
        Ok(self.client.post_json(url, body, stream))
    }
}

#[async_trait]
impl Provider for GeminiProvider {
    fn id(&self) -> &ProviderId {
        self.client.id()
    }

    fn kind(&self) -> &'static str {
        "gemini"
    }

    async fn complete(&self, model: &str, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let http = self.generate_request(model, request, false)?;
        let response = self
            .client
            .exchange(http, wire::parse_response, "generateContent answer")
            .await?;
        response
            .into_chat_response(model.strip_prefix("models/").unwrap_or(model))
            .map_err(|fault| errors::from_response_fault(self.client.id(), fault))
    }

    async fn stream(&self, model: &str, request: &ChatRequest) -> Result<ChunkStream, LlmError> {
        let http = self.generate_request(model, request, true)?;
        let response = self.client.send(http).await?;
        let id = self.client.id().clone();
        let translator =
            stream::GeminiEvents::new(id.clone(), model.strip_prefix("models/").unwrap_or(model));
        Ok(llm_provider_http::chunk_stream(
            id,
            response,
            self.client.timeouts().idle,
            translator,
        ))
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let mut models = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_MODEL_PAGES {
            let mut query = vec![("pageSize".to_owned(), "1000".to_owned())];
            if let Some(token) = page_token.take() {
                query.push(("pageToken".to_owned(), token));
            }
            let url = endpoint(self.client.id(), &self.models_url, &query)?;
            let request = self.client.get_json(url);
            let (page, next) = self
                .client
                .exchange(request, wire::parse_models, "model list")
                .await?;
            models.extend(page);
            match next {
                Some(next) => page_token = Some(next),
                None => return Ok(models),
            }
        }
        tracing::warn!(provider = %self.client.id(), pages = MAX_MODEL_PAGES, "model list truncated");
        Ok(models)
    }
}
