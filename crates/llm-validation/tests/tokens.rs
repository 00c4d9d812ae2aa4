//! Token counting against published counts, and the token limit errors.

// Test helpers outside `#[test]` functions fail loudly on broken fixtures, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use llm_core::{ChatRequest, ErrorKind, Message, Role};
use llm_validation::{
    IMAGE_TOKENS_HIGH, IMAGE_TOKENS_LOW, PromptCount, TokenCounter, check_token_limits, known_context_window,
};
use serde_json::json;

/// The example conversation of OpenAI's cookbook "How to count tokens with tiktoken" (section 6),
/// whose prompt the OpenAI API itself counted as 124 tokens for gpt-4o and gpt-4o-mini, and 129 for
/// gpt-4-0613 and gpt-3.5-turbo-0125.
fn cookbook_conversation(model: &str) -> ChatRequest {
    serde_json::from_value(json!({"model": model, "messages": [
        {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
        {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
        {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
        {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
        {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."}
    ]}))
    .unwrap()
}

#[test]
fn openai_models_match_the_counts_the_api_reported() {
    let counter = TokenCounter::new();
    counter.warm_up();
    for (model, tokens) in [
        ("gpt-4o", 124),
        ("gpt-4o-mini", 124),
        ("gpt-4o-2024-08-06", 124),
        ("gpt-4-0613", 129),
        ("gpt-3.5-turbo-0125", 129),
    ] {
        let count = counter.count_prompt(model, &cookbook_conversation(model));
        assert_eq!(count, PromptCount { tokens, exact: true }, "{model}");
    }
}

#[test]
fn a_single_user_message_is_framed_as_the_api_counts_it() {
    let counter = TokenCounter::new();
    // o200k_base: "hello world" is 2 tokens; + 3 framing + 1 for the role "user" + 3 reply priming.
    let hello = ChatRequest::from_prompt("gpt-4o", "hello world");
    assert_eq!(
        counter.count_prompt("gpt-4o", &hello),
        PromptCount {
            tokens: 9,
            exact: true
        }
    );
    // A gpt-4o-mini chat completion with this single question reported `prompt_tokens: 17`.
    let question = ChatRequest::from_prompt("gpt-4o-mini", "Who won the World Cup in 2022?");
    assert_eq!(counter.count_prompt("gpt-4o-mini", &question).tokens, 17);
}

#[test]
fn a_name_costs_its_tokens_plus_one() {
    let counter = TokenCounter::new();
    let mut request = ChatRequest::from_prompt("gpt-4o", "hello world");
    let before = counter.count_prompt("gpt-4o", &request).tokens;
    request.messages[0].name = Some("alice".into()); // one token in o200k_base
    assert_eq!(counter.count_prompt("gpt-4o", &request).tokens, before + 2);
}

#[test]
fn other_models_get_the_four_chars_estimate_with_the_same_framing() {
    let counter = TokenCounter::new();
    let request = ChatRequest::from_prompt("claude-3-5-sonnet", "hello world");
    // 3 framing + ceil(4 / 4) role + ceil(11 / 4) content + 3 priming.
    let expected = PromptCount {
        tokens: 3 + 1 + 3 + 3,
        exact: false,
    };
    for model in ["claude-3-5-sonnet", "gemini-2.0-flash", "llama3.1:8b", "mystery"] {
        assert_eq!(counter.count_prompt(model, &request), expected, "{model}");
    }
}

#[test]
fn images_tools_and_tool_calls_are_estimates() {
    let counter = TokenCounter::new();
    let text_only = counter.count_prompt("gpt-4o", &ChatRequest::from_prompt("gpt-4o", "what is this?"));
    let image = |detail: serde_json::Value| -> ChatRequest {
        serde_json::from_value(
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": detail}}
            ]}]}),
        )
        .unwrap()
    };
    let low = counter.count_prompt("gpt-4o", &image(json!("low")));
    assert_eq!(
        low,
        PromptCount {
            tokens: text_only.tokens + IMAGE_TOKENS_LOW,
            exact: false
        }
    );
    let high = counter.count_prompt("gpt-4o", &image(json!("high")));
    assert_eq!(high.tokens, text_only.tokens + IMAGE_TOKENS_HIGH);
    assert_eq!(
        counter.count_prompt("gpt-4o", &image(json!(null))).tokens,
        high.tokens
    );

    let mut with_tools: ChatRequest = serde_json::from_value(json!({"model": "gpt-4o",
        "messages": [{"role": "user", "content": "what is this?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]}))
    .unwrap();
    let tools = counter.count_prompt("gpt-4o", &with_tools);
    assert!(!tools.exact);
    assert!(tools.tokens > text_only.tokens + 15, "{tools:?}");

    with_tools.tools = None;
    let mut call: Message = serde_json::from_value(json!({"role": "assistant", "content": null,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]}))
    .unwrap();
    with_tools.messages.push(call.clone());
    let calls = counter.count_prompt("gpt-4o", &with_tools);
    assert!(!calls.exact);
    call.tool_calls = None;
    call.content = Some(llm_core::MessageContent::Text(String::new()));
    with_tools.messages.pop();
    with_tools.messages.push(call);
    assert!(calls.tokens > counter.count_prompt("gpt-4o", &with_tools).tokens + 8);
}

#[test]
fn special_token_text_is_counted_as_plain_text() {
    let counter = TokenCounter::new();
    let request = ChatRequest::from_prompt("gpt-4o", "<|endoftext|>");
    let count = counter.count_prompt("gpt-4o", &request);
    assert!(
        count.tokens > 7 + 1,
        "the special token spelled out is several ordinary tokens: {count:?}"
    );
}

#[test]
fn huge_and_pathological_texts_are_counted() {
    let counter = TokenCounter::new();
    for text in [
        "A".repeat(100_000),
        " ".repeat(100_000),
        "^".repeat(100_000),
        "é".repeat(50_000),
    ] {
        let mut request = ChatRequest::from_prompt("gpt-4o", text);
        request.messages.push(Message::text(Role::Assistant, "ok"));
        assert!(counter.count_prompt("gpt-4o", &request).tokens > 500);
    }
}

#[test]
fn context_windows_come_from_the_longest_prefix() {
    for (model, window) in [
        ("gpt-4o", Some(128_000)),
        ("gpt-4o-2024-08-06", Some(128_000)),
        ("gpt-4o-mini", Some(128_000)),
        ("gpt-4.1", Some(1_047_576)),
        ("gpt-4.1-mini", Some(1_047_576)),
        ("gpt-4-turbo", Some(128_000)),
        ("gpt-4", Some(8_192)),
        ("gpt-4-0613", Some(8_192)),
        ("gpt-3.5-turbo", Some(16_385)),
        ("o1", Some(200_000)),
        ("o3-mini", Some(200_000)),
        ("o4-mini", Some(200_000)),
        ("openai/gpt-4o", Some(128_000)),
        ("claude-3-5-sonnet-latest", Some(200_000)),
        ("gemini-1.5-flash", Some(1_048_576)),
        ("gemini-2.0-flash", Some(1_048_576)),
        ("llama3.1:8b", None),
        ("my-model", None),
    ] {
        assert_eq!(known_context_window(model), window, "{model}");
    }
}

#[test]
fn token_limits_refuse_with_the_counts() {
    let exact = |tokens| PromptCount { tokens, exact: true };
    assert!(check_token_limits(exact(127_000), Some(1_000), Some(128_000), None).is_ok());
    assert!(check_token_limits(exact(500_000), Some(1_000), None, None).is_ok());

    let error = check_token_limits(exact(129_000), Some(1_012), Some(128_000), None).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ContextLengthExceeded);
    assert_eq!(error.param(), Some("messages"));
    assert_eq!(
        error.message(),
        "This model's maximum context length is 128000 tokens. However, your messages resulted in \
         129000 tokens. Please reduce the length of the messages."
    );

    let error = check_token_limits(exact(127_500), Some(1_012), Some(128_000), None).unwrap_err();
    assert_eq!(
        error.message(),
        "This model's maximum context length is 128000 tokens. However, you requested 128512 tokens \
         (127500 in the messages, 1012 in the completion). Please reduce the length of the messages or \
         completion."
    );

    let error = check_token_limits(exact(9_000), None, Some(128_000), Some(8_000)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ContextLengthExceeded);
    assert_eq!(
        error.message(),
        "the prompt has 9000 tokens; the limit for this key/model is 8000 tokens"
    );
    assert!(check_token_limits(exact(8_000), None, None, Some(8_000)).is_ok());

    let estimate = PromptCount {
        tokens: 9_000,
        exact: false,
    };
    let error = check_token_limits(estimate, None, None, Some(8_000)).unwrap_err();
    assert!(
        error.message().contains("an estimated 9000 tokens"),
        "{}",
        error.message()
    );
}

#[test]
fn clones_share_the_loaded_tokenizers() {
    let counter = TokenCounter::new();
    counter.warm_up();
    let clone = counter.clone();
    let started = std::time::Instant::now();
    let count = clone.count_prompt("gpt-4", &ChatRequest::from_prompt("gpt-4", "hello world"));
    assert_eq!(
        count,
        PromptCount {
            tokens: 9,
            exact: true
        }
    );
    assert!(
        started.elapsed() < std::time::Duration::from_millis(200),
        "the BPE was loaded again"
    );
}

#[test]
fn warming_up_loads_only_the_tokenizers_the_models_use() {
    let counter = TokenCounter::new();
    assert_eq!(
        counter.warm_up_for(["llama3", "claude-sonnet-4", "bench-model"]),
        0
    );
    assert_eq!(counter.warm_up_for(["gpt-4o-mini", "claude-sonnet-4"]), 1);
    assert_eq!(counter.warm_up_for(["gpt-4o", "openai/gpt-4-turbo"]), 2);
}
