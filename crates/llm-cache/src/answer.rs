//! What the cache stores: a successful answer, and the exact chunks when it was recorded from a stream.

use llm_core::{ChatChunk, ChatResponse};
use serde::{Deserialize, Serialize};

/// A successful answer as stored in the cache.
///
/// `chunks` holds the stream exactly as it was sent when the answer was recorded from a stream, so a
/// streamed request can be replayed chunk for chunk; `response` is the assembled answer either way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedAnswer {
    pub response: ChatResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<Vec<ChatChunk>>,
}

impl CachedAnswer {
    /// An answer recorded from a non-streamed call.
    pub fn complete(response: ChatResponse) -> Self {
        Self {
            response,
            chunks: None,
        }
    }

    /// An answer recorded from a stream: the assembled response and the chunks as sent.
    pub fn streamed(response: ChatResponse, chunks: Vec<ChatChunk>) -> Self {
        Self {
            response,
            chunks: Some(chunks),
        }
    }
}
