//! What every handler shares.

use std::sync::Arc;

use llm_gateway::Gateway;

/// Shared state, registered with `App::app_data(web::Data::new(state))`.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The engine.
    pub gateway: Arc<Gateway>,
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
}
