//! Span export to an OpenTelemetry collector: OTLP over HTTP with protobuf bodies, POSTed to
//! `<telemetry.otlp_endpoint>/v1/traces` through the workspace's reqwest (rustls with ring).
//!
//! Requests never wait on it: a finished span is handed to a bounded queue (dropped when full) and a
//! batch processor on its own Tokio thread sends the batches. Failed exports are logged, throttled.
//! Only the gateway's own spans (`llm_*` targets, info and above) are exported; their fields are
//! the request id, method, path and the `request finished` event (api, status, model, provider,
//! cache, tokens), never headers, keys, prompts or answers.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use llm_gateway::config::TelemetryConfig;
use llm_provider_http::reqwest;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::runtime::TokioCurrentThread;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{BatchConfigBuilder, Sampler, SdkTracerProvider, SpanData, SpanExporter};
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;

/// The longest one export (with its retries) may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished spans waiting for export; more are dropped.
const MAX_QUEUED_SPANS: usize = 4_096;
/// The most spans sent in one request.
const MAX_BATCH: usize = 512;
/// How often queued spans are sent (the processor's first send comes after two periods).
const EXPORT_INTERVAL: Duration = Duration::from_secs(5);
/// The longest the process waits at exit for queued spans to be sent.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);
/// Between two warnings about failing exports; other failures are logged at debug level.
const WARN_EVERY: Duration = Duration::from_secs(60);
/// The instrumentation scope of the exported spans.
const SCOPE: &str = "llm-gateway";

/// A running span exporter.
pub(crate) struct Exporter {
    provider: SdkTracerProvider,
    traces_url: String,
}

impl Exporter {
    /// Starts the batch processor and its HTTP client; spans go to `<endpoint>/v1/traces`.
    pub(crate) fn start(config: &TelemetryConfig, endpoint: &str) -> anyhow::Result<Self> {
        let traces_url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
        llm_provider_http::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .user_agent(concat!("llm-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the OTLP HTTP client")?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces_url.as_str())
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .context("building the OTLP span exporter")?;
        let batches = BatchConfigBuilder::default()
            .with_max_queue_size(MAX_QUEUED_SPANS)
            .with_max_export_batch_size(MAX_BATCH)
            .with_scheduled_delay(EXPORT_INTERVAL)
            .with_max_export_timeout(EXPORT_TIMEOUT)
            .build();
        let processor = BatchSpanProcessor::builder(Reporting::new(exporter), TokioCurrentThread)
            .with_batch_config(batches)
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                config.sample_ratio,
            ))))
            .with_resource(
                Resource::builder()
                    .with_service_name(config.service_name.clone())
                    .build(),
            )
            .build();
        Ok(Self { provider, traces_url })
    }

    /// Where spans are sent.
    pub(crate) fn traces_url(&self) -> &str {
        &self.traces_url
    }

    /// The subscriber layer turning the gateway's spans into OpenTelemetry spans.
    pub(crate) fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer(SCOPE))
            .with_filter(filter_fn(|metadata| {
                metadata.target().starts_with("llm_") && *metadata.level() <= Level::INFO
            }))
    }

    /// Sends the spans still queued and stops the processor, giving up after [`SHUTDOWN_WAIT`] so
    /// an unresponsive collector cannot hold the process.
    pub(crate) fn shutdown(self) {
        let provider = self.provider;
        let (done, finished) = std::sync::mpsc::channel();
        let flushing = std::thread::Builder::new()
            .name("otlp-shutdown".to_owned())
            .spawn(move || {
                let _receiver_gone = done.send(provider.shutdown());
            });
        if let Err(error) = flushing {
            tracing::warn!(%error, "cannot flush the queued spans");
            return;
        }
        match finished.recv_timeout(SHUTDOWN_WAIT) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "the spans queued at shutdown were not all exported"),
            Err(_) => tracing::warn!(
                wait_secs = SHUTDOWN_WAIT.as_secs(),
                "gave up exporting the spans queued at shutdown"
            ),
        }
    }
}

/// Wraps the OTLP exporter to log failures without flooding the logs: a warning when exports start
/// failing and then at most once a minute, debug lines in between, and a line when they recover.
#[derive(Debug)]
struct Reporting<E> {
    inner: E,
    state: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    /// Consecutive failed exports.
    count: u64,
    /// When a failure was last logged as a warning.
    warned: Option<Instant>,
}

impl<E> Reporting<E> {
    fn new(inner: E) -> Self {
        Self {
            inner,
            state: Mutex::new(Failures::default()),
        }
    }

    fn record(&self, result: &OTelSdkResult, spans: usize) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match result {
            Ok(()) => {
                if state.count > 0 {
                    tracing::info!(failed_exports = state.count, "OTLP span export recovered");
                }
                *state = Failures::default();
            }
            Err(error) => {
                state.count += 1;
                let now = Instant::now();
                if state.warned.is_none_or(|at| now.duration_since(at) >= WARN_EVERY) {
                    state.warned = Some(now);
                    tracing::warn!(
                        %error,
                        spans,
                        failed_exports = state.count,
                        "OTLP span export failed; these spans are lost"
                    );
                } else {
                    tracing::debug!(%error, spans, failed_exports = state.count, "OTLP span export failed");
                }
            }
        }
    }
}

impl<E: SpanExporter> SpanExporter for Reporting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        self.record(&result, spans);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::Arc;

    use actix_web::web::Data;
    use actix_web::{App, test};
    use llm_api::{ApiState, ProcessMonitor};
    use llm_gateway::{Config, Gateway};
    use tracing_subscriber::layer::SubscriberExt;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    use super::*;

    /// A collector accepting every export, and an exporter sending to it.
    async fn collector_and_exporter(service_name: &str) -> (MockServer, Exporter) {
        let collector = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/traces"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&collector)
            .await;
        let config = TelemetryConfig {
            otlp_endpoint: Some(collector.uri()),
            service_name: service_name.to_owned(),
            sample_ratio: 1.0,
        };
        let exporter = Exporter::start(&config, &collector.uri()).unwrap();
        assert_eq!(exporter.traces_url(), format!("{}/v1/traces", collector.uri()));
        (collector, exporter)
    }

    /// Stops the exporter (which flushes: no sleeping) and returns every export body it sent.
    async fn flushed_exports(collector: &MockServer, exporter: Exporter) -> Vec<Vec<u8>> {
        exporter.shutdown();
        let requests: Vec<Request> = collector.received_requests().await.unwrap();
        assert!(!requests.is_empty(), "no export reached the collector");
        requests
            .into_iter()
            .map(|request| {
                assert_eq!(request.method.as_str(), "POST");
                assert_eq!(request.url.path(), "/v1/traces");
                let content_type = request.headers.get("content-type").unwrap().to_str().unwrap();
                assert_eq!(content_type, "application/x-protobuf");
                assert!(!request.body.is_empty());
                request.body
            })
            .collect()
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spans_are_posted_to_v1_traces_when_the_provider_shuts_down() {
        let (collector, exporter) = collector_and_exporter("gw-otlp-test").await;
        let subscriber = tracing_subscriber::registry().with(exporter.layer());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                target: "llm_api::headers",
                "request",
                request_id = "req-otlp-unit",
                method = "POST",
                path = "/v1/chat/completions"
            );
            span.in_scope(|| {
                tracing::info!(
                    target: "llm_api::headers",
                    api = "openai",
                    status = 200_u16,
                    model = "echo",
                    provider = "mock",
                    cache = "miss",
                    prompt_tokens = 3_u64,
                    "request finished"
                );
                // Spans of other crates (HTTP clients, the exporter's own) are not exported.
                tracing::info_span!(target: "hyper_util::client", "foreign-span-not-exported")
                    .in_scope(|| {});
            });
        });
        let all = flushed_exports(&collector, exporter).await.concat();
        for expected in [
            "gw-otlp-test",
            "request",
            "request_id",
            "req-otlp-unit",
            "request finished",
            "provider",
            "mock",
            "cache",
            "miss",
        ] {
            assert!(contains(&all, expected), "`{expected}` was not exported");
        }
        assert!(!contains(&all, "foreign-span-not-exported"));
    }

    /// The real middleware's `request` span is exported, and the client's key is not.
    #[actix_web::test]
    async fn a_served_request_is_exported_without_its_secrets() {
        let (collector, exporter) = collector_and_exporter("gw-otlp-e2e").await;
        let _logs = tracing::subscriber::set_default(tracing_subscriber::registry().with(exporter.layer()));
        let config = Config::embedded_default().unwrap();
        let state = ApiState {
            gateway: Arc::new(Gateway::new(&config).await.unwrap()),
            max_body_bytes: config.server.max_body_bytes,
            metrics: None,
            process: ProcessMonitor::default(),
        };
        let app = test::init_service(
            App::new()
                .app_data(Data::new(state))
                .configure(llm_api::configure),
        )
        .await;
        let request = test::TestRequest::post()
            .uri("/v1/chat/completions")
            .insert_header(("authorization", "Bearer sk-otlp-secret-key"))
            .insert_header(("x-api-key", "sk-otlp-secret-key"))
            .insert_header(("x-request-id", "req-otlp-e2e"))
            .insert_header(("content-type", "application/json"))
            .set_payload(r#"{"model":"echo","messages":[{"role":"user","content":"a private prompt"}]}"#)
            .to_request();
        let response = test::call_service(&app, request).await;
        assert!(response.status().is_success(), "{}", response.status());
        let body = test::read_body(response).await;
        assert!(!body.is_empty());
        drop(app);

        let all = flushed_exports(&collector, exporter).await.concat();
        for expected in [
            "gw-otlp-e2e",
            "req-otlp-e2e",
            "/v1/chat/completions",
            "request finished",
            "echo",
        ] {
            assert!(contains(&all, expected), "`{expected}` was not exported");
        }
        for secret in [
            "sk-otlp-secret-key",
            "a private prompt",
            "authorization",
            "x-api-key",
        ] {
            assert!(!contains(&all, secret), "`{secret}` was exported");
        }
    }
}
