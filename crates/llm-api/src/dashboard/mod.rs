//! The built-in dashboard: `GET /dashboard`, one self-contained page (inline CSS and JS, no external
//! resource of any kind), and `GET /dashboard/data`, the JSON the page polls.
//!
//! The numbers are read back from the same Prometheus renderer `GET /metrics` answers with (parsed by
//! [`exposition`], summed by [`data`]), so the dashboard and a scrape always agree. The data is
//! cumulative: the page turns two polls into rates and windowed percentiles. Health is the engine's
//! current report. Both routes are public, like `/metrics` and `/llm/health`, and neither is counted
//! in the request metrics.

mod data;
mod exposition;

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::HttpResponse;
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::web::Data;
use serde::Serialize;

use crate::state::ApiState;

/// The page, embedded in the binary.
const PAGE: &str = include_str!("page.html");

/// Inline script and style only; the page may fetch from its own origin and nothing else.
const CONTENT_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
    connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The body of `GET /dashboard/data`.
#[derive(Serialize)]
struct Snapshot {
    /// When the snapshot was taken, in Unix milliseconds.
    at_ms: u64,
    /// Whether a metrics renderer is installed; without one every total reads zero.
    metrics: bool,
    #[serde(flatten)]
    totals: data::Totals,
    /// The engine's health report, as `GET /llm/health` shows it.
    health: serde_json::Value,
}

/// `GET /dashboard`: the page.
pub(crate) async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CONTENT_SECURITY_POLICY, CONTENT_POLICY))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((REFERRER_POLICY, "no-referrer"))
        .body(PAGE)
}

/// `GET /dashboard/data`: the current totals and health; zeros (and `"metrics": false`) when no
/// renderer is installed.
pub(crate) async fn data(state: Data<ApiState>) -> HttpResponse {
    let (metrics, totals) = match state.metrics.as_ref() {
        Some(render) => (true, data::aggregate(&exposition::parse(&render()))),
        None => (false, data::Totals::default()),
    };
    let at_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
    let snapshot = Snapshot {
        at_ms,
        metrics,
        totals,
        health: serde_json::to_value(state.gateway.health()).unwrap_or_default(),
    };
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(snapshot)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use actix_web::test::{TestRequest, call_service, init_service, read_body, read_body_json};

    use super::*;
    use crate::MetricsRenderer;
    use crate::state::mock_state;

    #[actix_web::test]
    async fn the_dashboard_page_is_self_contained_html() {
        let app = init_service(
            actix_web::App::new()
                .app_data(mock_state(None).await)
                .configure(crate::configure),
        )
        .await;
        let response = call_service(&app, TestRequest::get().uri("/dashboard").to_request()).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers.get("content-type").unwrap(), "text/html; charset=utf-8");
        assert_eq!(headers.get("content-security-policy").unwrap(), CONTENT_POLICY);
        assert!(headers.contains_key("x-request-id"));
        let body = String::from_utf8(read_body(response).await.to_vec()).unwrap();
        assert!(body.starts_with("<!doctype html>"));
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "no external resources"
        );
        assert!(!body.contains("innerHTML"), "data goes into the DOM as text only");
        for id in [
            "requests-total",
            "tokens-total",
            "request-rate",
            "cache-hit-ratio",
            "health-status",
        ] {
            assert!(body.contains(&format!("id=\"{id}\"")), "{id}");
        }
    }

    #[actix_web::test]
    async fn dashboard_data_sums_the_rendered_metrics() {
        let renderer: MetricsRenderer = Arc::new(|| {
            "llm_requests_total{api=\"openai\",status=\"200\"} 3\n\
             llm_requests_total{api=\"openai\",status=\"429\"} 1\n\
             llm_tokens_total{provider=\"mock\",model=\"echo\",kind=\"prompt\"} 4\n"
                .to_owned()
        });
        let app = init_service(
            actix_web::App::new()
                .app_data(mock_state(Some(renderer)).await)
                .configure(crate::configure),
        )
        .await;
        let response = call_service(&app, TestRequest::get().uri("/dashboard/data").to_request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
        let body: serde_json::Value = read_body_json(response).await;
        assert_eq!(body["metrics"], true);
        assert!(body["at_ms"].as_u64().is_some_and(|at| at > 1_600_000_000_000));
        assert_eq!(body["requests"]["total"], 4.0);
        assert_eq!(body["requests"]["by_status"]["429"], 1.0);
        assert_eq!(body["tokens"]["prompt"], 4.0);
        assert_eq!(body["tokens"]["completion"], 0.0);
        assert_eq!(body["health"]["providers"][0]["id"], "mock");
        assert!(body["health"]["status"].is_string());
    }

    #[actix_web::test]
    async fn dashboard_data_reads_zero_without_a_renderer() {
        let app = init_service(
            actix_web::App::new()
                .app_data(mock_state(None).await)
                .configure(crate::configure),
        )
        .await;
        let response = call_service(&app, TestRequest::get().uri("/dashboard/data").to_request()).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = read_body_json(response).await;
        assert_eq!(body["metrics"], false);
        assert_eq!(body["requests"]["total"], 0.0);
        assert_eq!(body["cache"]["hit"], 0.0);
        assert_eq!(body["inflight"], 0.0);
        assert!(body["health"]["ready"].is_boolean());
    }
}
