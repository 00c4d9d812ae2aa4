//! [`UpstreamClient`]: one provider's reqwest client, its deadlines and its error mapping.

use std::fmt;
use std::sync::Once;
use std::time::Duration;

use bytes::Bytes;
use llm_core::{LlmError, ProviderId};
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response, Url};
use thread_local::ThreadLocal;

use crate::errors;
use crate::timeouts::HttpTimeouts;

static CRYPTO_PROVIDER: Once = Once::new();

/// Installs rustls' ring crypto provider as the process default, once. reqwest (built with
/// `rustls-no-provider`) cannot build a client without one. A provider installed first is kept.
pub fn install_crypto_provider() {
    CRYPTO_PROVIDER.call_once(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Maps a non-success answer (status, headers, body) onto the error taxonomy; vendor-specific.
pub type StatusMapper = fn(&ProviderId, u16, &HeaderMap, &[u8]) -> LlmError;

/// One upstream's HTTP client.
///
/// Each thread gets its own reqwest client, so its own connection pool. A pooled connection's task
/// lives on the runtime that opened it; shared between an actix server's workers (one single-thread
/// runtime each), a request on one worker would hand its exchange to the connection's worker and
/// back, two cross-thread wake-ups per request. Per thread, a request stays on its worker.
pub struct UpstreamClient {
    id: ProviderId,
    /// What every thread's client is built from.
    settings: ClientSettings,
    /// The client built when the provider was created (proving the settings build); used by a thread
    /// whose own client failed to build.
    fallback: reqwest::Client,
    clients: ThreadLocal<reqwest::Client>,
    timeouts: HttpTimeouts,
    on_status: StatusMapper,
}

/// What a thread's client is built from.
struct ClientSettings {
    headers: HeaderMap,
    connect_timeout: Duration,
}

impl ClientSettings {
    fn build(&self, id: &ProviderId) -> Result<reqwest::Client, LlmError> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .default_headers(self.headers.clone())
            .user_agent(concat!("llm-gateway/", env!("CARGO_PKG_VERSION")))
            // Redirects are not followed: an upstream must not send the gateway to an address the
            // configuration did not name (and skipping the redirect layer spares a URL parse per
            // request).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| {
                LlmError::internal(format!("provider {id}: could not build the HTTP client"))
                    .with_cause(error.without_url())
            })
    }
}

impl fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamClient")
            .field("id", &self.id)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl UpstreamClient {
    /// A client sending `headers` with every request; `on_status` turns error answers into errors.
    pub fn new(
        id: ProviderId,
        timeouts: HttpTimeouts,
        headers: HeaderMap,
        on_status: StatusMapper,
    ) -> Result<Self, LlmError> {
        install_crypto_provider();
        let settings = ClientSettings {
            headers,
            connect_timeout: timeouts.connect,
        };
        let fallback = settings.build(&id)?;
        Ok(Self {
            id,
            settings,
            fallback,
            clients: ThreadLocal::new(),
            timeouts,
            on_status,
        })
    }

    /// This thread's client, built on its first request.
    fn client(&self) -> &reqwest::Client {
        self.clients.get_or(|| {
            self.settings.build(&self.id).unwrap_or_else(|error| {
                // The same settings built once already; should it ever fail, share that client.
                tracing::warn!(provider = %self.id, %error, "using the shared HTTP client");
                self.fallback.clone()
            })
        })
    }

    /// The provider this client serves.
    pub fn id(&self) -> &ProviderId {
        &self.id
    }

    /// The deadlines.
    pub fn timeouts(&self) -> HttpTimeouts {
        self.timeouts
    }

    /// A POST of a JSON body that accepts JSON, or SSE when `stream`.
    pub fn post_json(&self, url: Url, body: Vec<u8>, stream: bool) -> RequestBuilder {
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        self.client()
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, accept)
            .body(body)
    }

    /// A GET that accepts JSON.
    pub fn get_json(&self, url: Url) -> RequestBuilder {
        self.client()
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// Sends and waits for the response headers (first-byte deadline); a non-success answer becomes
    /// the vendor's error, its body read within the idle deadline.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, LlmError> {
        let response = match tokio::time::timeout(self.timeouts.first_byte, request.send()).await {
            Err(_) => {
                return Err(errors::timeout(
                    &self.id,
                    "the upstream sent no response headers",
                    self.timeouts.first_byte,
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
        let body = match tokio::time::timeout(self.timeouts.idle, response.bytes()).await {
            Ok(Ok(body)) => body,
            Ok(Err(_)) | Err(_) => Bytes::new(),
        };
        Err((self.on_status)(&self.id, status.as_u16(), &headers, &body))
    }

    /// A whole non-streaming exchange under the request deadline; `parse` reads the body, and a body
    /// it refuses is an upstream protocol error naming `what`.
    pub async fn exchange<T, E>(
        &self,
        request: RequestBuilder,
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
        what: &str,
    ) -> Result<T, LlmError>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
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
        tokio::time::timeout(self.timeouts.request, exchange)
            .await
            .unwrap_or_else(|_elapsed| {
                Err(errors::timeout(
                    &self.id,
                    "the upstream did not finish answering",
                    self.timeouts.request,
                ))
            })
    }
}

/// Parses `address` (base URL + path) into an http(s) URL with `query` appended. A bad URL is the
/// configuration's fault: kind `internal`, naming the provider.
pub fn endpoint(id: &ProviderId, address: &str, query: &[(String, String)]) -> Result<Url, LlmError> {
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
