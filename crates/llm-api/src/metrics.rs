//! Request metrics through the `metrics` facade, and `GET /metrics`.
//!
//! The API layer records `llm_requests_total{api,model,provider,status,cache}`,
//! `llm_request_duration_seconds{api}`, `llm_gateway_overhead_seconds{api}` and
//! `llm_inflight_requests` for the LLM APIs only (`/v1/*`, `/llm/complete*`, `/graphql*`); health,
//! provider administration and `/metrics` itself are not counted. Every label value is bounded: the
//! model is the client's model string only when the request routed (the response names a
//! provider), the provider comes from the `x-llm-provider` header, the cache from `x-llm-cache`.
//!
//! The exporter lives in the binary: this crate only calls the renderer it was given.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};

use crate::error::ApiError;
use crate::state::ApiState;

/// Histogram buckets (seconds) for every `*_seconds` metric, fine below 1 ms for the gateway's own
/// overhead; the exporter that renders these metrics should use them (the server does).
pub const DURATION_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0, 60.0,
];

/// The Prometheus text format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4";

/// The label value for anything not known or not bounded.
const UNKNOWN: &str = "unknown";

/// The model the client asked for; handlers insert it into the request's extensions after parsing.
#[derive(Clone, Debug)]
pub(crate) struct RequestedModel(pub String);

/// The `api` label of a path, or `None` for paths whose requests are not counted.
pub(crate) fn api_of(path: &str) -> Option<&'static str> {
    if path == "/v1/messages" {
        Some("anthropic")
    } else if path.starts_with("/v1/") {
        Some("openai")
    } else if path.starts_with("/llm/complete") {
        Some("simple")
    } else if path.starts_with("/graphql") {
        Some("graphql")
    } else {
        None
    }
}

/// The `model` label: the requested model when the request routed, else `unknown`.
pub(crate) fn model_label(requested: Option<&str>, routed: bool) -> &str {
    match requested {
        Some(model) if routed && !model.is_empty() => model,
        _ => UNKNOWN,
    }
}

/// The `cache` label: `hit`, `miss` or `bypass` as the response said, else `none`.
pub(crate) fn cache_label(header: Option<&str>) -> &'static str {
    match header {
        Some("hit") => "hit",
        Some("miss") => "miss",
        Some("bypass") => "bypass",
        _ => "none",
    }
}

/// The labels of one answered request.
pub(crate) struct RequestLabels<'a> {
    pub api: &'static str,
    pub model: &'a str,
    pub provider: &'a str,
    pub status: u16,
    pub cache: &'static str,
}

/// Counts an answered request and records the gateway's overhead.
pub(crate) fn record_response(labels: &RequestLabels<'_>, overhead_seconds: f64) {
    metrics::counter!(
        "llm_requests_total",
        "api" => labels.api,
        "model" => labels.model.to_owned(),
        "provider" => labels.provider.to_owned(),
        "status" => labels.status.to_string(),
        "cache" => labels.cache,
    )
    .increment(1);
    metrics::histogram!("llm_gateway_overhead_seconds", "api" => labels.api).record(overhead_seconds);
}

/// One counted request in flight: `llm_inflight_requests` is raised on creation; on drop it is
/// lowered and `llm_request_duration_seconds` recorded. It rides in the response body, so a stream
/// counts until its body ends or is dropped.
pub(crate) struct InFlight {
    api: &'static str,
    started: Instant,
}

impl InFlight {
    pub(crate) fn enter(api: &'static str, started: Instant) -> Self {
        metrics::gauge!("llm_inflight_requests").increment(1.0);
        Self { api, started }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("llm_inflight_requests").decrement(1.0);
        metrics::histogram!("llm_request_duration_seconds", "api" => self.api)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// A response body carrying the request's [`InFlight`] guard until the body is done.
pub(crate) struct MeteredBody<B> {
    inner: B,
    guard: Option<InFlight>,
}

impl<B> MeteredBody<B> {
    pub(crate) fn new(inner: B, guard: Option<InFlight>) -> Self {
        Self { inner, guard }
    }
}

impl<B: MessageBody + Unpin> MessageBody for MeteredBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        if let Poll::Ready(None) = polled {
            this.guard.take();
        }
        polled
    }
}

/// `GET /metrics`: the Prometheus text format, with process CPU and memory appended; 404 in the
/// error shape when no renderer was installed.
pub(crate) async fn metrics(request: HttpRequest, state: Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let Some(render) = state.metrics.as_ref() else {
        return Err(ApiError::RouteNotFound {
            method: request.method().to_string(),
            path: request.path().to_owned(),
        });
    };
    let mut text = render();
    text.push_str(&process_metrics());
    Ok(HttpResponse::Ok().content_type(TEXT_FORMAT).body(text))
}

/// `process_cpu_seconds_total` and `process_resident_memory_bytes` from `/proc` (Linux); empty where
/// `/proc` is not readable.
fn process_metrics() -> String {
    let mut text = String::new();
    if let Some(seconds) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| cpu_seconds(&stat))
    {
        text.push_str("# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n");
        text.push_str("# TYPE process_cpu_seconds_total counter\n");
        text.push_str(&format!("process_cpu_seconds_total {seconds}\n"));
    }
    if let Some(bytes) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| resident_bytes(&status))
    {
        text.push_str("# HELP process_resident_memory_bytes Resident memory size in bytes.\n");
        text.push_str("# TYPE process_resident_memory_bytes gauge\n");
        text.push_str(&format!("process_resident_memory_bytes {bytes}\n"));
    }
    text
}

/// Clock ticks per second in `/proc/self/stat` (`USER_HZ`, 100 on every mainstream Linux).
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// utime + stime (fields 14 and 15) of `/proc/self/stat`, in seconds. The command name (field 2)
/// may hold spaces, so fields are counted after its closing parenthesis.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / CLOCK_TICKS_PER_SECOND)
}

/// `VmRSS` of `/proc/self/status` (in kB there), in bytes.
fn resident_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MetricsRenderer;
    use crate::state::mock_state;
    use std::sync::Arc;

    #[test]
    fn only_the_llm_apis_are_counted() {
        assert_eq!(api_of("/v1/chat/completions"), Some("openai"));
        assert_eq!(api_of("/v1/models"), Some("openai"));
        assert_eq!(api_of("/v1/messages"), Some("anthropic"));
        assert_eq!(api_of("/llm/complete"), Some("simple"));
        assert_eq!(api_of("/llm/complete/stream"), Some("simple"));
        assert_eq!(api_of("/graphql"), Some("graphql"));
        assert_eq!(api_of("/metrics"), None);
        assert_eq!(api_of("/llm/health"), None);
        assert_eq!(api_of("/llm/providers/x"), None);
        assert_eq!(api_of("/anything/else"), None);
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(model_label(Some("mock/echo"), true), "mock/echo");
        assert_eq!(model_label(Some("whatever the user typed"), false), "unknown");
        assert_eq!(model_label(Some(""), true), "unknown");
        assert_eq!(model_label(None, true), "unknown");
        assert_eq!(cache_label(Some("hit")), "hit");
        assert_eq!(cache_label(Some("miss")), "miss");
        assert_eq!(cache_label(Some("bypass")), "bypass");
        assert_eq!(cache_label(Some("HIT; drop table")), "none");
        assert_eq!(cache_label(None), "none");
    }

    #[test]
    fn proc_files_parse() {
        let stat = "1234 (llm server) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1 2 3";
        assert_eq!(cpu_seconds(stat), Some(3.0));
        assert_eq!(cpu_seconds("garbage"), None);
        let status = "Name:\tllm\nVmPeak:\t  9000 kB\nVmRSS:\t  2048 kB\n";
        assert_eq!(resident_bytes(status), Some(2048 * 1024));
        assert_eq!(resident_bytes("Name: x\n"), None);
    }

    #[actix_web::test]
    async fn metrics_answer_the_renderer_text_or_404_without_one() {
        let renderer: MetricsRenderer = Arc::new(|| "# TYPE x counter\nx 1\n".to_owned());
        let app = actix_web::test::init_service(
            actix_web::App::new()
                .app_data(mock_state(Some(renderer)).await)
                .configure(crate::configure),
        )
        .await;
        let request = actix_web::test::TestRequest::get().uri("/metrics").to_request();
        let response = actix_web::test::call_service(&app, request).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers().get("content-type").unwrap(), TEXT_FORMAT);
        let body = actix_web::test::read_body(response).await;
        assert!(body.starts_with(b"# TYPE x counter\nx 1\n"));

        let app = actix_web::test::init_service(
            actix_web::App::new()
                .app_data(mock_state(None).await)
                .configure(crate::configure),
        )
        .await;
        let request = actix_web::test::TestRequest::get().uri("/metrics").to_request();
        let response = actix_web::test::call_service(&app, request).await;
        assert_eq!(response.status(), 404);
        let body: serde_json::Value = actix_web::test::read_body_json(response).await;
        assert_eq!(body["error"]["code"], "unknown_url");
    }
}
