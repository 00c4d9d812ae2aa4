//! The pipeline's futures stay small: each is moved (copied) when the server boxes a request's
//! handler, so a large one costs memory traffic on every request. Redis commands are boxed in
//! `llm_redis::RedisPool::run` for this; inlined, fred's futures made these futures ~16 KiB.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use llm_core::{ChatRequest, RequestId};
use llm_gateway::config::from_toml;
use llm_gateway::{Gateway, RequestContext};

/// Far below the ~16 KiB they were, with room for the pipeline to grow (debug builds are larger).
const LIMIT_BYTES: usize = 8 * 1024;

#[tokio::test]
async fn complete_and_stream_futures_stay_small() {
    let gateway = Gateway::new(&from_toml("", &|_| None).unwrap()).await.unwrap();
    let ctx = RequestContext::new(RequestId::generate());
    let complete = gateway.complete(&ctx, ChatRequest::from_prompt("m", "x"));
    let complete_bytes = std::mem::size_of_val(&complete);
    let stream = gateway.stream(&ctx, ChatRequest::from_prompt("m", "x"));
    let stream_bytes = std::mem::size_of_val(&stream);
    println!("complete: {complete_bytes} bytes, stream: {stream_bytes} bytes");
    assert!(
        complete_bytes < LIMIT_BYTES,
        "complete future is {complete_bytes} bytes"
    );
    assert!(
        stream_bytes < LIMIT_BYTES,
        "stream future is {stream_bytes} bytes"
    );
}
