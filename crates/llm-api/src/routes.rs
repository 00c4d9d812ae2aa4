//! The route table: every path, its methods, its handler and who may call it, in one place.

use actix_web::middleware::from_fn;
use actix_web::web::{self, ServiceConfig};
use actix_web::{Resource, Route};

use crate::graphql::handlers as graphql;
use crate::handlers::{
    admin, anthropic, health, method_not_allowed, openai, providers, simple, unknown_route,
};
use crate::headers::stamp_headers;
use crate::metrics::metrics;

/// Registers every route. The caller adds `web::Data<ApiState>` with `App::app_data`.
pub fn configure(config: &mut ServiceConfig) {
    config.service(
        web::scope("")
            .wrap(from_fn(stamp_headers))
            // public
            .service(endpoint("/llm/health", [web::get().to(health::health)]))
            .service(endpoint("/llm/health/live", [web::get().to(health::live)]))
            .service(endpoint("/dashboard", [web::get().to(crate::dashboard::page)]))
            .service(endpoint(
                "/dashboard/data",
                [web::get().to(crate::dashboard::data)],
            ))
            .service(endpoint("/metrics", [web::get().to(metrics)]))
            // the admin key when one is configured, else as a client route
            .service(endpoint("/llm/health/details", [web::get().to(health::details)]))
            // a client key, when client keys are configured
            .service(endpoint("/llm/complete", [web::post().to(simple::complete)]))
            .service(endpoint(
                "/llm/complete/stream",
                [web::post().to(simple::complete_stream)],
            ))
            .service(endpoint(
                "/v1/chat/completions",
                [web::post().to(openai::chat_completions)],
            ))
            .service(endpoint("/v1/models", [web::get().to(openai::list_models)]))
            .service(endpoint("/v1/messages", [web::post().to(anthropic::messages)]))
            // reading needs a client key; changing needs the admin key
            .service(endpoint(
                "/llm/providers",
                [web::get().to(providers::list), web::post().to(admin::add)],
            ))
            .service(endpoint(
                "/llm/providers/{id}",
                [
                    web::get().to(providers::get),
                    web::put().to(admin::update),
                    web::delete().to(admin::remove),
                ],
            ))
            // GraphQL: queries need a client key (when configured), mutations the admin key; the
            // websocket takes the key from `connection_init` or the upgrade headers; GraphiQL is public
            .service(endpoint(
                "/graphql",
                [web::post().to(graphql::post), web::get().to(graphql::get)],
            ))
            .service(endpoint(
                graphql::WS_PATH,
                [web::get().to(graphql::subscriptions)],
            ))
            .default_service(web::to(unknown_route)),
    );
}

/// A path and the methods it serves; any other method gets 405 in the error shape.
fn endpoint<const N: usize>(path: &str, routes: [Route; N]) -> Resource {
    routes
        .into_iter()
        .fold(web::resource(path), Resource::route)
        .default_service(web::to(method_not_allowed))
}
