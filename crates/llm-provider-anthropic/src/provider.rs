//! [`AnthropicProvider`]: the `Provider` implementation over reqwest.

use std::fmt;
use std::sync::Once;
use std::time::Duration;

use async_trait::async_trait;
use llm_core::{ChatRequest, ChatResponse, ChunkStream, LlmError, ModelInfo, Provider, ProviderId};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{RequestBuilder, Response, Url};

use crate::settings::AnthropicSettings;
use crate::{errors, stream, wire};

static CRYPTO_PROVIDER: Once = Once::new();

/// Installs rustls' ring crypto provider as the process default, once. Without a default provider
/// reqwest (built with `rustls-no-provider`) cannot build a client. Another provider installed
/// first is left in place.
pub fn install_crypto_provider() {
    CRYPTO_PROVIDER.call_once(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

/// One Anthropic Messages API upstream.
pub struct AnthropicProvider {
    id: ProviderId,
    client: reqwest::Client,
    messages_url: Url,
    models_url: Url,
    default_max_tokens: u32,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
    request_timeout: Duration,
}

impl fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("id", &self.id)
            .field("messages_url", &self.messages_url.as_str())
            .finish_non_exhaustive()
    }
}

impl AnthropicProvider {
    /// Builds the HTTP client. Fails (kind `internal`) on a bad base URL or a header value that is
    /// not valid HTTP; the message never contains a secret.
    pub fn new(settings: AnthropicSettings) -> Result<Self, LlmError> {
        install_crypto_provider();
        let id = settings.id.clone();
        let base = settings.base_url.trim_end_matches('/');
        let messages_url = endpoint(&id, base, "/v1/messages")?;
        // One page of up to 1000 models: every model Anthropic serves.
        let models_url = endpoint(&id, base, "/v1/models?limit=1000")?;
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
            messages_url,
            models_url,
            default_max_tokens: settings.default_max_tokens,
            first_byte_timeout: settings.first_byte_timeout,
            idle_timeout: settings.idle_timeout,
            request_timeout: settings.request_timeout,
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
        tracing::debug!(provider = %self.id, model, stream, body_bytes = body.len(), "messages request");
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        Ok(self
            .client
            .post(self.messages_url.clone())
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

fn endpoint(id: &ProviderId, base: &str, path: &str) -> Result<Url, LlmError> {
    let url = Url::parse(&format!("{base}{path}")).map_err(|error| {
        LlmError::internal(format!("provider {id}: base_url is not a valid URL ({error})"))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(LlmError::internal(format!(
            "provider {id}: base_url must use http or https"
        )));
    }
    Ok(url)
}

fn default_headers(settings: &AnthropicSettings) -> Result<HeaderMap, LlmError> {
    let id = &settings.id;
    let invalid =
        |what: &str| LlmError::internal(format!("provider {id}: {what} is not a valid HTTP header value"));
    let mut headers = HeaderMap::new();
    if let Some(key) = &settings.api_key {
        let mut value = HeaderValue::try_from(key.as_str()).map_err(|_| invalid("api_key"))?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-api-key"), value);
    }
    let version = HeaderValue::try_from(settings.version.as_str()).map_err(|_| invalid("version"))?;
    headers.insert(HeaderName::from_static("anthropic-version"), version);
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
impl Provider for AnthropicProvider {
    fn id(&self) -> &ProviderId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "anthropic"
    }

    async fn complete(&self, model: &str, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let request = self.messages_request(model, request, false)?;
        let message = self.exchange(request, wire::parse_response, "message").await?;
        Ok(wire::chat_response(message))
    }

    async fn stream(&self, model: &str, request: &ChatRequest) -> Result<ChunkStream, LlmError> {
        let request = self.messages_request(model, request, true)?;
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
