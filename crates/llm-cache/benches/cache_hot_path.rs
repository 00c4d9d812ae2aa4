//! The cache's hot path: key derivation, memory hits and misses through AnswerCache, and a Redis hit
//! when Redis answers at 127.0.0.1:6379 (that group is skipped otherwise).

// A bench fails loudly on a broken fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use llm_cache::{
    AnswerCache, CacheKey, CachePolicy, CachedAnswer, Lookup, MemoryCache, RedisCache, RedisSettings,
};
use llm_core::{AssistantMessage, ChatRequest, ChatResponse, Choice, FinishReason, ProviderId, Usage};
use serde_json::{Map, json};
use tokio::runtime::Runtime;

/// A realistic request of about 2 KB: a system prompt, a short conversation, a tool and sampling fields.
fn realistic_request() -> ChatRequest {
    let body = json!({
        "model": "fast",
        "messages": [
            {"role": "system", "content": "You are a support assistant for an online bookshop. Answer briefly, \
                cite order numbers exactly, never invent tracking data, and escalate refunds above 200 EUR to a \
                human. Use the lookup_order tool whenever the customer mentions an order."},
            {"role": "user", "content": "Hi, my order 48213 has not arrived yet and the tracking page has shown \
                'in transit' for nine days. Can you check what is going on and whether it can be resent?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "lookup_order", "arguments": "{\"order_id\":\"48213\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"status\":\"in_transit\",\"carrier\":\"DHL\",\
                \"shipped\":\"2024-05-02\",\"items\":[{\"title\":\"The Rust Programming Language\",\"qty\":1},\
                {\"title\":\"Designing Data-Intensive Applications\",\"qty\":1}],\"total_eur\":89.9}"},
            {"role": "assistant", "content": "Your order 48213 shipped with DHL on 2 May and is still in transit. \
                Nine days is longer than usual for this route."},
            {"role": "user", "content": "That is far too long. I need the books for a course starting Monday. \
                Please resend them with express shipping, or refund me so I can buy them locally."}
        ],
        "tools": [{"type": "function", "function": {"name": "lookup_order",
            "description": "Look up an order's status, carrier, items and total by its number.",
            "parameters": {"type": "object", "required": ["order_id"],
                "properties": {"order_id": {"type": "string", "description": "The order number"}}}}},
            {"type": "function", "function": {"name": "request_resend",
            "description": "Ask the warehouse to resend an order, optionally with express shipping.",
            "parameters": {"type": "object", "required": ["order_id"],
                "properties": {"order_id": {"type": "string"}, "express": {"type": "boolean"}}}}}],
        "tool_choice": "auto",
        "temperature": 0.0,
        "top_p": 1.0,
        "max_completion_tokens": 400,
        "seed": 42,
        "user": "customer-8812",
        "metadata": {"tenant": "bookshop", "channel": "chat"}
    });
    serde_json::from_value(body).unwrap()
}

fn realistic_answer() -> CachedAnswer {
    let text = "I'm sorry about the delay. I've asked the warehouse to resend order 48213 with express \
        shipping; it should arrive before Monday. You'll get a new tracking number by email within the hour.";
    CachedAnswer {
        response: ChatResponse {
            id: "chatcmpl-bench".into(),
            object: "chat.completion".into(),
            created: 1_715_000_000,
            model: "gpt-4o-mini-2024-07-18".into(),
            choices: vec![Choice {
                index: 0,
                message: AssistantMessage::text(text),
                finish_reason: Some(FinishReason::Stop),
                logprobs: None,
            }],
            usage: Some(Usage::new(612, 58)),
            system_fingerprint: Some("fp_bench".into()),
            extra: Map::new(),
        },
        chunks: None,
    }
}

fn key_derivation(c: &mut Criterion) {
    let request = realistic_request();
    let size = serde_json::to_vec(&request).unwrap().len();
    let provider = ProviderId::new("openai");
    c.bench_function(&format!("cache_key/for_request_{size}b"), |b| {
        b.iter(|| CacheKey::for_request("llm", black_box(&provider), "gpt-4o-mini", black_box(&request)))
    });
}

fn lookups(c: &mut Criterion, group_name: &str, runtime: &Runtime, cache: &AnswerCache, with_miss: bool) {
    let provider = ProviderId::new("openai");
    let request = realistic_request();
    let hit_key = CacheKey::for_request(group_name, &provider, "gpt-4o-mini", &request);
    let miss_key = CacheKey::for_request(group_name, &provider, "gpt-4o", &request);
    runtime.block_on(cache.store(&hit_key, realistic_answer(), Duration::from_secs(600)));
    assert!(matches!(runtime.block_on(cache.lookup(&hit_key)), Lookup::Hit(_)));

    let mut group = c.benchmark_group(group_name);
    group.bench_function("hit", |b| {
        b.iter(|| runtime.block_on(async { assert!(matches!(cache.lookup(&hit_key).await, Lookup::Hit(_))) }))
    });
    if with_miss {
        group.bench_function("miss", |b| {
            b.iter(|| {
                runtime.block_on(async { assert!(matches!(cache.lookup(&miss_key).await, Lookup::Miss)) })
            })
        });
    }
    group.finish();
}

fn memory_lookups(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cache = AnswerCache::new(Arc::new(MemoryCache::new(64 << 20)), CachePolicy::default());
    lookups(c, "answer_cache_memory", &runtime, &cache, true);
}

fn redis_lookups(c: &mut Criterion) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 6379));
    if TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err() {
        eprintln!("*** SKIPPED answer_cache_redis: no Redis at 127.0.0.1:6379 ***");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let backend = runtime
        .block_on(RedisCache::connect(RedisSettings::new("redis://127.0.0.1:6379")))
        .unwrap();
    let cache = AnswerCache::new(Arc::new(backend), CachePolicy::default());
    lookups(c, "answer_cache_redis", &runtime, &cache, true);
}

criterion_group!(benches, key_derivation, memory_lookups, redis_lookups);
criterion_main!(benches);
