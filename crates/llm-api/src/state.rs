//! What every handler shares.

use std::sync::Arc;

use llm_gateway::Gateway;

use crate::metrics::MetricsRenderer;

/// Shared state, registered with `App::app_data(web::Data::new(state))`.
#[derive(Clone)]
pub struct ApiState {
    /// The engine.
    pub gateway: Arc<Gateway>,
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
    /// Renders the metrics for `GET /metrics`; without one that route answers 404.
    pub metrics: Option<MetricsRenderer>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("gateway", &self.gateway)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}
