//! What every handler shares.

use std::sync::Arc;

use llm_gateway::Gateway;

use crate::process::ProcessMonitor;

/// Renders the Prometheus text format; installed by the binary that owns the recorder.
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

/// Shared state, registered with `App::app_data(web::Data::new(state))`.
#[derive(Clone)]
pub struct ApiState {
    /// The engine.
    pub gateway: Arc<Gateway>,
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
    /// Renders the metrics for `GET /metrics`; without one that route answers 404.
    pub metrics: Option<MetricsRenderer>,
    /// The process's resources and open connections (for `/llm/health/details`); the server passes
    /// [`ProcessMonitor::on_connect`] to `HttpServer::on_connect` so connections are counted.
    pub process: ProcessMonitor,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("gateway", &self.gateway)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("metrics", &self.metrics.is_some())
            .field("process", &self.process)
            .finish()
    }
}

/// State over one mock provider, for the crate's unit tests of routes.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) async fn mock_state(metrics: Option<MetricsRenderer>) -> actix_web::web::Data<ApiState> {
    let document = "[[providers]]\nid = \"mock\"\ntype = \"mock\"\n";
    let config = llm_gateway::config::from_toml(document, &|_| None).unwrap();
    actix_web::web::Data::new(ApiState {
        gateway: Arc::new(Gateway::new(&config).await.unwrap()),
        max_body_bytes: config.server.max_body_bytes,
        metrics,
        process: ProcessMonitor::default(),
    })
}
