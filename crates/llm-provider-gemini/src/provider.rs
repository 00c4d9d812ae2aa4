//! [`GeminiProvider`]: the `Provider` implementation over reqwest.

use std::fmt;
use std::sync::Once;
use std::time::Duration;

use async_trait::async_trait;
use llm_core::{ChatRequest, ChatResponse, ChunkStream, LlmError, ModelInfo, Provider, ProviderId};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{RequestBuilder, Response, Url};

use crate::settings::GeminiSettings;
use crate::wire::{self, GenerateContentRequest};
use crate::{errors, stream};

static CRYPTO_PROVIDER: Once = Once::new();

/// Most pages `models()` follows; Google lists far fewer models than this many pages of 1000.
const MAX_MODEL_PAGES: usize = 10;

/// Installs rustls' ring crypto provider as the process default, once. Without a default provider
/// reqwest (built with `rustls-no-provider`) cannot build a client. Another provider installed
/// first is left in place.
pub fn install_crypto_provider() {
    CRYPTO_PROVIDER.call_once(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

/// One Gemini (Generative Language API) upstream.
pub struct GeminiProvider {
    id: ProviderId,
    client: reqwest::Client,
    /// `{base}/{version}/models`: the model list, and the prefix of every model's endpoints.
    models_url: String,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
    request_timeout: Duration,
}

impl fmt::Debug for GeminiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeminiProvider")
            .field("id", &self.id)
            .field("models_url", &self.models_url)
            .finish_non_exhaustive()
    }
}

impl GeminiProvider {
    /// Builds the HTTP client. Fails (kind `internal`) on a bad base URL or API version, or on a
    /// header value that is not valid HTTP; the message never contains a secret.
    pub fn new(settings: GeminiSettings) -> Result<Self, LlmError> {
        install_crypto_provider();
        let id = settings.id.clone();
        let base = settings.base_url.trim_end_matches('/');
        let version = settings.api_version.trim_matches('/');
        if version.is_empty() || version.contains(['/', '?', '#']) || version.contains(char::is_whitespace) {
            return Err(LlmError::internal(format!(
                "provider {id}: api_version {version:?} is not a single path segment"
            )));
        }
        let models_url = format!("{base}/{version}/models");
        let parsed = Url::parse(&models_url).map_err(|error| {
            LlmError::internal(format!("provider {id}: base_url is not a valid URL ({error})"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
            return Err(LlmError::internal(format!(
                "provider {id}: base_url must be an http or https URL without a query"
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .default_headers(default_headers(&settings)?)
            .user_agent(concat!("llm-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| {
                LlmError::internal(format!("provider {id}: could not build the HTTP client"))
                    .with_cause(error.without_url())
            })?;
        Ok(Self {
            id,
            client,
            models_url: parsed.as_str().trim_end_matches('/').to_owned(),
            first_byte_timeout: settings.first_byte_timeout,
            idle_timeout: settings.idle_timeout,
            request_timeout: settings.request_timeout,
        })
    }

    /// The POST for `model`'s `method`, with the body built from `request`. Refuses model names
    /// that could change the URL before anything is sent.
    fn generate_request(
        &self,
        model: &str,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<RequestBuilder, LlmError> {
        let name = wire::model_path_segment(model).map_err(|error| errors::from_request(&self.id, error))?;
        let url = if stream {
            format!("{}/{name}:streamGenerateContent?alt=sse", self.models_url)
        } else {
            format!("{}/{name}:generateContent", self.models_url)
        };
        let url = Url::parse(&url).map_err(|_| {
            LlmError::internal(format!("provider {}: could not build the model URL", self.id))
        })?;
        let body = GenerateContentRequest::from_chat(request)
            .map_err(|error| errors::from_request(&self.id, error))?
            .to_vec()
            .map_err(|error| {
                LlmError::internal("could not serialize the Gemini request").with_cause(error)
            })?;
        tracing::debug!(provider = %self.id, model = name, stream, body_bytes = body.len(), "generateContent request");
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        Ok(self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, accept)
            .body(body))
    }

    /// Sends and waits for the response headers, mapping non-success statuses to errors.
    async fn send(&self, request: RequestBuilder) -> Result<Response, LlmError> {
        let response = match tokio::time::timeout(self.first_byte_timeout, request.send()).await {
            Err(_) => {
                return Err(errors::timeout(
                    &self.id,
                    "the upstream sent no response headers",
                    self.first_byte_timeout,
                ));
            }
            Ok(Err(error)) => return Err(errors::from_transport(&self.id, error)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        tracing::debug!(provider = %self.id, status = status.as_u16(), "upstream response headers");
        if status.is_success() {
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = match tokio::time::timeout(self.idle_timeout, response.bytes()).await {
            Ok(Ok(body)) => body,
            Ok(Err(_)) | Err(_) => bytes::Bytes::new(),
        };
        Err(errors::from_status(&self.id, status.as_u16(), &headers, &body))
    }

    /// Runs a whole non-streaming exchange under the request timeout.
    async fn exchange<T>(
        &self,
        request: RequestBuilder,
        parse: impl FnOnce(&[u8]) -> Result<T, serde_json::Error>,
        what: &str,
    ) -> Result<T, LlmError> {
        let exchange = async {
            let response = self.send(request).await?;
            let body = response
                .bytes()
                .await
                .map_err(|error| errors::from_body(&self.id, error))?;
            parse(&body).map_err(|error| {
                errors::protocol(
                    &self.id,
                    format!("the upstream {what} is not valid JSON of the expected shape"),
                )
                .with_cause(error)
            })
        };
        tokio::time::timeout(self.request_timeout, exchange)
            .await
            .unwrap_or_else(|_elapsed| {
                Err(errors::timeout(
                    &self.id,
                    "the upstream did not finish answering",
                    self.request_timeout,
                ))
            })
    }
}

fn default_headers(settings: &GeminiSettings) -> Result<HeaderMap, LlmError> {
    let id = &settings.id;
    let invalid =
        |what: &str| LlmError::internal(format!("provider {id}: {what} is not a valid HTTP header value"));
    let mut headers = HeaderMap::new();
    if let Some(key) = &settings.api_key {
        let mut value = HeaderValue::try_from(key.as_str()).map_err(|_| invalid("api_key"))?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-goog-api-key"), value);
    }
    for (name, value) in &settings.extra_headers {
        let header = HeaderName::try_from(name.as_str()).map_err(|_| {
            LlmError::internal(format!(
                "provider {id}: extra header name {name:?} is not valid HTTP"
            ))
        })?;
        let mut value =
            HeaderValue::try_from(value.as_str()).map_err(|_| invalid(&format!("extra header {name}")))?;
        value.set_sensitive(true);
        headers.insert(header, value);
    }
    Ok(headers)
}

#[async_trait]
impl Provider for GeminiProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "gemini"
    }

    async fn complete(&self, model: &str, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let http = self.generate_request(model, request, false)?;
        let response = self
            .exchange(http, wire::parse_response, "generateContent answer")
            .await?;
        response
            .into_chat_response(model.strip_prefix("models/").unwrap_or(model))
            .map_err(|fault| errors::from_response_fault(&self.id, fault))
    }

    async fn stream(&self, model: &str, request: &ChatRequest) -> Result<ChunkStream, LlmError> {
        let http = self.generate_request(model, request, true)?;
        let response = self.send(http).await?;
        Ok(stream::chunk_stream(
            self.id.clone(),
            model.strip_prefix("models/").unwrap_or(model),
            Box::pin(response.bytes_stream()),
            self.idle_timeout,
        ))
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let mut models = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_MODEL_PAGES {
            let mut url = Url::parse(&self.models_url)
                .map_err(|_| LlmError::internal(format!("provider {}: bad models URL", self.id)))?;
            url.query_pairs_mut().append_pair("pageSize", "1000");
            if let Some(token) = &page_token {
                url.query_pairs_mut().append_pair("pageToken", token);
            }
            let request = self.client.get(url).header(ACCEPT, "application/json");
            let (page, next) = self.exchange(request, wire::parse_models, "model list").await?;
            models.extend(page);
            match next {
                Some(next) => page_token = Some(next),
                None => return Ok(models),
            }
        }
        tracing::warn!(provider = %self.id, pages = MAX_MODEL_PAGES, "model list truncated");
        Ok(models)
    }
}
