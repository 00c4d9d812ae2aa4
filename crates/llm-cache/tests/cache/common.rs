//! Shared fixtures: sample requests and answers; Redis discovery and a test-owned redis-server come
//! from `llm_redis::testing`.

use std::sync::atomic::{AtomicU64, Ordering};

use llm_cache::CachedAnswer;
use llm_core::{AssistantMessage, ChatChunk, ChatResponse, Choice, Delta, FinishReason, Usage};
pub use llm_redis::testing::{OwnedRedis, eventually, free_port, shared_redis_url};
use serde_json::Map;

/// A namespace (and Redis key prefix) no other test uses, so tests can run in parallel.
pub fn unique_namespace(test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "llm-cache-test:{test}:{}:{nanos}:{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A realistic answer whose text is `text`, recorded from a stream when `streamed`.
pub fn answer(text: &str, streamed: bool) -> CachedAnswer {
    let response = ChatResponse {
        id: "chatcmpl-test".into(),
        object: "chat.completion".into(),
        created: 1_700_000_000,
        model: "gpt-4o-mini-2024-07-18".into(),
        choices: vec![Choice {
            index: 0,
            message: AssistantMessage::text(text),
            finish_reason: Some(FinishReason::Stop),
            logprobs: None,
        }],
        usage: Some(Usage::new(12, 7)),
        system_fingerprint: Some("fp_1".into()),
        extra: Map::new(),
    };
    let chunks = streamed.then(|| {
        vec![
            ChatChunk::with_delta("chatcmpl-test", "m", 1, Delta::text(text), None),
            ChatChunk::with_delta(
                "chatcmpl-test",
                "m",
                1,
                Delta::default(),
                Some(FinishReason::Stop),
            ),
            ChatChunk::usage_only("chatcmpl-test", "m", 1, Usage::new(12, 7)),
        ]
    });
    CachedAnswer { response, chunks }
}
