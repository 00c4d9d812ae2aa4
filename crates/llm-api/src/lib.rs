//! The HTTP surface of the LLM gateway, on actix-web.
//!
//! It owns the one route table ([`configure`]), turning HTTP bodies into canonical requests, the
//! OpenAI-compatible wire format (JSON and SSE), the seed's simple `/llm/*` REST API, request ids and
//! overhead headers, and the single [`ApiError`] -> HTTP mapping.
//!
//! It holds no business logic: every request goes through [`llm_gateway::Gateway`]. Nothing below this
//! crate knows actix.

mod body;
mod dashboard;
mod error;
mod graphql;
mod handlers;
mod header_names;
mod headers;
mod metrics;
mod process;
mod routes;
mod sse;
mod state;

pub use error::{ApiError, ErrorBody};
pub use header_names::{
    ATTEMPTS_HEADER, CACHE_HEADER, CACHE_TTL_HEADER, FALLBACK_HEADER, OVERHEAD_HEADER, PROVIDER_HEADER,
    REQUEST_ID_HEADER, TIMEOUT_HEADER,
};
pub use metrics::DURATION_BUCKETS;
pub use process::{ProcessMonitor, ProcessReport};
pub use routes::configure;
pub use sse::{encode_openai_chunk, openai_sse};
pub use state::{ApiState, MetricsRenderer};
