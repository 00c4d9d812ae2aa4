//! [`OpenAiProvider`]: the `Provider` implementation over reqwest.

use std::fmt;
use std::sync::Once;
use std::time::Duration;

use async_trait::async_trait;
use llm_core::{ChatRequest, ChatResponse, ChunkStream, LlmError, ModelInfo, Provider, ProviderId};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{RequestBuilder, Response, Url};

use crate::settings::{AuthStyle, OpenAiSettings, Quirks};
use crate::wire::{self, ChatCompletionBody};
use crate::{errors, stream};

static CRYPTO_PROVIDER: Once = Once::new();

/// Installs rustls' ring crypto provider as the process default, once. Without a default provider
/// reqwest (built with `rustls-no-provider`) cannot build a client. Another provider installed
/// first is left in place.
pub fn install_crypto_provider() {
    CRYPTO_PROVIDER.call_once(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

/// One OpenAI-style upstream: OpenAI itself or any OpenAI-compatible server.
pub struct OpenAiProvider {
    id: ProviderId,
    client: reqwest::Client,
    chat: ChatEndpoint,
    models_url: Url,
    quirks: Quirks,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
    request_timeout: Duration,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("id", &self.id)
            .field("chat", &self.chat)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// Builds the HTTP client. Fails (kind `internal`) on a bad base URL or a header value that is
    /// not valid HTTP; the message never contains a secret.
    pub fn new(settings: OpenAiSettings) -> Result<Self, LlmError> {
        install_crypto_provider();
        let id = settings.id.clone();
        let base = settings.base_url.trim_end_matches('/');
        let chat = if settings.chat_path.contains(MODEL_PLACEHOLDER) {
            endpoint(
                &id,
                base,
                &settings.chat_path.replace(MODEL_PLACEHOLDER, "model"),
                &settings.query,
            )?;
            ChatEndpoint::PerModel {
                template: format!("{base}{}", settings.chat_path),
                query: settings.query.clone(),
            }
        } else {
            ChatEndpoint::Fixed(endpoint(&id, base, &settings.chat_path, &settings.query)?)
        };
        let models_url = endpoint(&id, base, &settings.models_path, &settings.query)?;
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
            chat,
            models_url,
            quirks: settings.quirks,
            first_byte_timeout: settings.first_byte_timeout,
            idle_timeout: settings.idle_timeout,
            request_timeout: settings.request_timeout,
        })
    }

    fn chat_request(
        &self,
        model: &str,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<RequestBuilder, LlmError> {
        let url = self.chat.url(&self.id, model)?;
        let body = ChatCompletionBody::new(model, request, stream)
            .with_quirks(self.quirks)
            .to_vec()
            .map_err(|error| LlmError::internal("could not serialize the chat request").with_cause(error))?;
        tracing::debug!(provider = %self.id, model, stream, body_bytes = body.len(), "chat completion request");
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
                endpoint_from(id, &template.replace(MODEL_PLACEHOLDER, model), query)
            }
        }
    }
}

fn endpoint(id: &ProviderId, base: &str, path: &str, query: &[(String, String)]) -> Result<Url, LlmError> {
    endpoint_from(id, &format!("{base}{path}"), query)
}

fn endpoint_from(id: &ProviderId, address: &str, query: &[(String, String)]) -> Result<Url, LlmError> {
    let mut url = Url::parse(address).map_err(|error| {
        LlmError::internal(format!("provider {id}: base_url is not a valid URL ({error})"))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(LlmError::internal(format!(
            "provider {id}: base_url must use http or https"
        )));
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Ok(url)
}

fn default_headers(settings: &OpenAiSettings) -> Result<HeaderMap, LlmError> {
    let id = &settings.id;
    let invalid =
        |what: &str| LlmError::internal(format!("provider {id}: {what} is not a valid HTTP header value"));
    let mut headers = HeaderMap::new();
    if let Some(key) = &settings.api_key {
        let (name, value) = match &settings.auth {
            AuthStyle::Bearer => (AUTHORIZATION, format!("Bearer {key}")),
            AuthStyle::Header(name) => (
                HeaderName::try_from(name.as_str()).map_err(|_| invalid("the auth header name"))?,
                key.clone(),
            ),
        };
        let mut value = HeaderValue::try_from(value).map_err(|_| invalid("api_key"))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    if let Some(organization) = &settings.organization {
        let value = HeaderValue::try_from(organization.as_str()).map_err(|_| invalid("organization"))?;
        headers.insert(HeaderName::from_static("openai-organization"), value);
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
impl Provider for OpenAiProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "openai"
    }

    async fn complete(&self, model: &str, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let request = self.chat_request(model, request, false)?;
        self.exchange(request, wire::parse_response, "chat completion")
            .await
    }

    async fn stream(&self, model: &str, request: &ChatRequest) -> Result<ChunkStream, LlmError> {
        let request = self.chat_request(model, request, true)?;
        let response = self.send(request).await?;
        Ok(stream::chunk_stream(
            self.id.clone(),
            Box::pin(response.bytes_stream()),
            self.idle_timeout,
        ))
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        let request = self
            .client
            .get(self.models_url.clone())
            .header(ACCEPT, "application/json");
        self.exchange(request, wire::parse_models, "model list").await
    }
}
