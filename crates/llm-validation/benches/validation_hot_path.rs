//! The validation hot path: payload rules and prompt counting for a typical and a large request, and
//! the content filter on a 10 KB text.
// A bench is a test harness: failing loudly on a broken fixture is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use llm_core::{ChatRequest, Message, Role};
use llm_validation::{ContentFilter, FilterRuleConfig, PayloadLimits, TokenCounter, validate_payload};
use serde_json::json;

const PROSE: &str = "The gateway validates every request before it is routed: sampling ranges, stop sequences, \
tools and their schemas, image URLs and sizes. Then it counts the prompt's tokens to check the context window \
and to charge the rate limits, and it applies the content rules. ";

/// Six messages of about 2 KB in total (`scale` = 1), or about 200 KB (`scale` = 140).
fn request(scale: usize) -> ChatRequest {
    let mut request = ChatRequest::from_prompt("gpt-4o", "");
    request.messages = vec![
        Message::text(
            Role::System,
            "You are a concise assistant. Answer in English.".repeat(scale),
        ),
        Message::text(Role::User, PROSE.repeat(2 * scale)),
        Message::text(Role::Assistant, PROSE.repeat(scale)),
        Message::text(Role::User, PROSE.repeat(scale)),
        Message::text(Role::Assistant, PROSE.repeat(scale)),
        Message::text(
            Role::User,
            "And what about streams? Summarise in three bullet points.".repeat(scale),
        ),
    ];
    request.temperature = Some(0.7);
    request.max_tokens = Some(512);
    request
}

fn filter() -> ContentFilter {
    let rules: Vec<FilterRuleConfig> = serde_json::from_value(json!([
        {"name": "pii", "builtin": ["email", "phone", "card_number", "api_key"], "action": "redact", "output": true},
        {"name": "codenames", "terms": ["bluebird", "nightingale", "project x"], "action": "redact", "output": true},
        {"name": "weapons", "terms": ["nerve agent", "enriched uranium"], "patterns": [r"(?i)\bbioweapon\b"],
            "action": "block", "output": true}
    ]))
    .unwrap();
    ContentFilter::new(rules).unwrap()
}

fn bench(c: &mut Criterion) {
    let counter = TokenCounter::new();
    counter.warm_up();
    let limits = PayloadLimits::default();
    for (name, scale) in [("typical_2kb", 1), ("large_200kb", 140)] {
        let request = request(scale);
        let bytes = serde_json::to_vec(&request).unwrap().len();
        eprintln!("{name}: {bytes} bytes of JSON");
        c.bench_function(&format!("validate_payload/{name}"), |b| {
            b.iter(|| validate_payload(black_box(&request), &limits).unwrap());
        });
        c.bench_function(&format!("count_prompt/{name}"), |b| {
            b.iter(|| counter.count_prompt("gpt-4o", black_box(&request)));
        });
        c.bench_function(&format!("count_prompt_estimate/{name}"), |b| {
            b.iter(|| counter.count_prompt("claude-3-5-sonnet", black_box(&request)));
        });
    }

    let filter = filter();
    let text = format!("{} Mail me at jane@example.com. ", PROSE).repeat(40);
    assert!((9_000..12_000).contains(&text.len()), "{}", text.len());
    let clean = ChatRequest::from_prompt("gpt-4o", PROSE.repeat(10_000 / PROSE.len() + 1));
    c.bench_function("filter/check_input_10kb_clean", |b| {
        b.iter_batched(
            || clean.clone(),
            |mut request| filter.check_input("gpt-4o", None, &mut request).unwrap(),
            BatchSize::SmallInput,
        );
    });
    let dirty = ChatRequest::from_prompt("gpt-4o", text.clone());
    c.bench_function("filter/check_input_10kb_40_redactions", |b| {
        b.iter_batched(
            || dirty.clone(),
            |mut request| filter.check_input("gpt-4o", None, &mut request).unwrap(),
            BatchSize::SmallInput,
        );
    });
    let output = filter.output("gpt-4o", None).unwrap();
    c.bench_function("filter/output_text_10kb", |b| {
        b.iter_batched(
            || text.clone(),
            |mut answer| output.filter_text(&mut answer),
            BatchSize::SmallInput,
        );
    });
    c.bench_function("filter/stream_10kb_in_20_byte_deltas", |b| {
        b.iter(|| {
            let mut stream = filter.output("gpt-4o", None).unwrap();
            let mut emitted = 0;
            for chunk in text.as_bytes().chunks(20) {
                emitted += stream
                    .push_delta(std::str::from_utf8(chunk).unwrap())
                    .unwrap()
                    .len();
            }
            emitted + stream.finish().unwrap().len()
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
