//! The route table: every path, its method and its handler, in one place.

use actix_web::middleware::from_fn;
use actix_web::web::{self, ServiceConfig};
use actix_web::{Resource, Route};

use crate::handlers::{anthropic, health, method_not_allowed, openai, providers, simple, unknown_route};
use crate::headers::stamp_headers;

/// Registers every route. The caller adds `web::Data<ApiState>` with `App::app_data`.
pub fn configure(config: &mut ServiceConfig) {
    config.service(
        web::scope("")
            .wrap(from_fn(stamp_headers))
            .service(endpoint("/llm/complete", web::post().to(simple::complete)))
            .service(endpoint(
                "/llm/complete/stream",
                web::post().to(simple::complete_stream),
            ))
            .service(endpoint("/llm/providers", web::get().to(providers::list)))
            .service(endpoint("/llm/providers/{id}", web::get().to(providers::get)))
            .service(endpoint("/llm/health", web::get().to(health::health)))
            .service(endpoint(
                "/v1/chat/completions",
                web::post().to(openai::chat_completions),
            ))
            .service(endpoint("/v1/models", web::get().to(openai::list_models)))
            .service(endpoint("/v1/messages", web::post().to(anthropic::messages)))
            .default_service(web::to(unknown_route)),
    );
}

/// A path served by one method; any other method gets 405 in the error shape.
fn endpoint(path: &str, route: Route) -> Resource {
    web::resource(path)
        .route(route)
        .default_service(web::to(method_not_allowed))
}
