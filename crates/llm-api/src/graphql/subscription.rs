//! Subscriptions: `completeStream` streams an answer chunk by chunk over a websocket.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use juniper::{FieldResult, graphql_subscription};

use super::input::CompletionInput;
use super::types::CompletionChunk;
use super::{GraphQLContext, gql};

/// Chunks, then the end; a failure mid-stream is an error item, after which the stream ends.
type ChunkStream = Pin<Box<dyn Stream<Item = FieldResult<CompletionChunk>> + Send>>;

/// The root subscription type.
#[derive(Clone, Copy, Debug)]
pub struct Subscription;

#[graphql_subscription(context = GraphQLContext)]
impl Subscription {
    /// A streamed chat completion. The last chunk carries `finishReason` and `usage`; a provider
    /// failure arrives as a GraphQL error with the REST code. Stopping the subscription (or closing
    /// the socket) drops the upstream call.
    async fn complete_stream(context: &GraphQLContext, input: CompletionInput) -> FieldResult<ChunkStream> {
        let ctx = context.request_context(input.no_cache.unwrap_or(false))?;
        let chat = input.into_chat_request(true).map_err(gql)?;
        let opened = context.state.gateway.stream(&ctx, chat).await.map_err(gql)?;
        Ok(Box::pin(opened.chunks.map(|item| {
            item.map(|chunk| CompletionChunk::from(&chunk)).map_err(gql)
        })))
    }
}
