//! Cache key correctness: every answer-changing field flips the key; nothing else does.

use llm_cache::{CacheKey, CachedAnswer, FORMAT_VERSION};
use llm_core::{ChatRequest, ProviderId};
use serde_json::{Value, json};

use crate::common::answer;

/// A request with every answer-changing field set, so each can be changed on its own.
fn full_request() -> Value {
    json!({
        "model": "fast",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "weather in Oslo?"}]}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "response_format": {"type": "json_object"},
        "temperature": 0.2,
        "top_p": 0.9,
        "max_completion_tokens": 100,
        "stop": ["END"],
        "seed": 7,
        "n": 1,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.3,
        "logit_bias": {"50256": -100},
        "user": "u-1",
        "stream": false
    })
}

fn key_of(body: &Value) -> CacheKey {
    key_on("openai", "gpt-4o-mini", body)
}

fn key_on(provider: &str, model: &str, body: &Value) -> CacheKey {
    let request: ChatRequest = serde_json::from_value(body.clone()).unwrap();
    CacheKey::for_request("ns", &ProviderId::new(provider), model, &request)
}

fn with(field: &str, value: Value) -> Value {
    let mut body = full_request();
    body[field] = value;
    body
}

#[test]
fn key_has_namespace_version_and_sha256_hex() {
    let key = key_of(&full_request());
    let prefix = format!("ns:v{FORMAT_VERSION}:");
    assert!(key.as_str().starts_with(&prefix), "{key}");
    let hex = &key.as_str()[prefix.len()..];
    assert_eq!(hex.len(), 64, "{key}");
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{key}"
    );
    assert_eq!(key, key_of(&full_request()), "the key is deterministic");
    let request: ChatRequest = serde_json::from_value(full_request()).unwrap();
    let other_ns = CacheKey::for_request("other", &ProviderId::new("openai"), "gpt-4o-mini", &request);
    assert!(other_ns.as_str().starts_with("other:v1:"));
    assert_eq!(
        other_ns.as_str()[9..],
        key.as_str()[6..],
        "the namespace prefixes the same hash"
    );
}

#[test]
fn every_answer_changing_field_flips_the_key() {
    let base = key_of(&full_request());
    let changed = |what: &str, key: CacheKey| assert_ne!(key, base, "{what} must change the key");

    changed("provider", key_on("azure", "gpt-4o-mini", &full_request()));
    changed("upstream model", key_on("openai", "gpt-4o", &full_request()));
    let mut messages = full_request();
    messages["messages"][1]["content"][0]["text"] = json!("weather in Bergen?");
    changed("message text", key_of(&messages));
    let mut role = full_request();
    role["messages"][0]["role"] = json!("developer");
    changed("message role", key_of(&role));
    let mut tools = full_request();
    tools["tools"][0]["function"]["parameters"]["properties"]["city"]["type"] = json!("integer");
    changed("tools", key_of(&tools));
    changed("tool_choice", key_of(&with("tool_choice", json!("required"))));
    changed(
        "parallel_tool_calls",
        key_of(&with("parallel_tool_calls", json!(false))),
    );
    changed(
        "response_format",
        key_of(&with("response_format", json!({"type": "text"}))),
    );
    changed("temperature", key_of(&with("temperature", json!(0.3))));
    changed("top_p", key_of(&with("top_p", json!(0.8))));
    changed(
        "max_completion_tokens",
        key_of(&with("max_completion_tokens", json!(101))),
    );
    changed("stop", key_of(&with("stop", json!(["STOP"]))));
    changed("seed", key_of(&with("seed", json!(8))));
    changed("n", key_of(&with("n", json!(2))));
    changed("presence_penalty", key_of(&with("presence_penalty", json!(0.0))));
    changed(
        "frequency_penalty",
        key_of(&with("frequency_penalty", json!(0.0))),
    );
    changed(
        "unknown extra field value",
        key_of(&with("logit_bias", json!({"50256": -99}))),
    );
    changed(
        "new unknown extra field",
        key_of(&with("reasoning_effort", json!("low"))),
    );
    let mut message_extra = full_request();
    message_extra["messages"][0]["cache_control"] = json!({"type": "ephemeral"});
    changed("unknown message field", key_of(&message_extra));
}

#[test]
fn max_tokens_counts_as_the_output_cap() {
    let mut legacy = full_request();
    legacy.as_object_mut().unwrap().remove("max_completion_tokens");
    legacy["max_tokens"] = json!(100);
    assert_eq!(
        key_of(&legacy),
        key_of(&full_request()),
        "either spelling of the same cap"
    );
    legacy["max_tokens"] = json!(50);
    assert_ne!(
        key_of(&legacy),
        key_of(&full_request()),
        "max_tokens must change the key"
    );
    let mut none = full_request();
    none.as_object_mut().unwrap().remove("max_completion_tokens");
    assert_ne!(
        key_of(&none),
        key_of(&full_request()),
        "no cap differs from a cap"
    );
}

#[test]
fn absent_and_present_fields_differ() {
    let mut no_temperature = full_request();
    no_temperature.as_object_mut().unwrap().remove("temperature");
    assert_ne!(key_of(&no_temperature), key_of(&full_request()));
}

#[test]
fn client_model_stream_stream_options_and_user_do_not_change_the_key() {
    let base = key_of(&full_request());
    assert_eq!(
        key_of(&with("model", json!("openai/gpt-4o-mini"))),
        base,
        "client model"
    );
    assert_eq!(key_of(&with("stream", json!(true))), base, "stream");
    assert_eq!(
        key_of(&with("stream_options", json!({"include_usage": true}))),
        base,
        "stream_options"
    );
    assert_eq!(key_of(&with("user", json!("someone-else"))), base, "user");
    let mut no_user = full_request();
    no_user.as_object_mut().unwrap().remove("user");
    assert_eq!(key_of(&no_user), base, "absent user");
}

#[test]
fn json_field_order_does_not_change_the_key_at_any_depth() {
    let one = r#"{"model": "fast", "temperature": 0.5, "seed": 3,
        "messages": [{"role": "user", "content": "hi", "name": "ann"}],
        "tools": [{"type": "function", "function": {"name": "f", "description": "d",
            "parameters": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}, "b": {"type": "number"}}}}}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "s", "strict": true,
            "schema": {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "string"}}}}},
        "metadata": {"team": "a", "nested": {"k1": 1, "k2": [{"p": 1, "q": 2}]}},
        "tool_choice": {"type": "function", "function": {"name": "f"}}}"#;
    let two = r#"{"tool_choice": {"function": {"name": "f"}, "type": "function"},
        "metadata": {"nested": {"k2": [{"q": 2, "p": 1}], "k1": 1}, "team": "a"},
        "response_format": {"json_schema": {"schema": {"properties": {"y": {"type": "string"}, "x": {"type": "integer"}}, "type": "object"},
            "strict": true, "name": "s"}, "type": "json_schema"},
        "tools": [{"function": {"parameters": {"properties": {"b": {"type": "number"}, "a": {"type": "string"}}, "required": ["a"], "type": "object"},
            "description": "d", "name": "f"}, "type": "function"}],
        "messages": [{"name": "ann", "content": "hi", "role": "user"}],
        "seed": 3, "temperature": 0.5, "model": "fast"}"#;
    let parse = |text: &str| -> Value { serde_json::from_str(text).unwrap() };
    assert_eq!(key_of(&parse(one)), key_of(&parse(two)));
    // ...while a nested value still matters.
    let changed = one.replace(r#""k1": 1"#, r#""k1": 2"#);
    assert_ne!(key_of(&parse(one)), key_of(&parse(&changed)));
}

#[test]
fn zero_and_zero_point_zero_give_the_same_key() {
    assert_eq!(
        key_of(&with("temperature", json!(0))),
        key_of(&with("temperature", json!(0.0)))
    );
    assert_eq!(
        key_of(&with("logit_bias", json!({"50256": -100}))),
        key_of(&with("logit_bias", json!({"50256": -100.0})))
    );
    assert_eq!(
        key_of(&with("frequency_penalty", json!(1))),
        key_of(&with("frequency_penalty", json!(1.0)))
    );
}

#[test]
fn cached_answer_round_trips_through_json() {
    for streamed in [false, true] {
        let stored = answer("Oslo: 4 °C, \"cloudy\"\nwindy", streamed);
        let text = serde_json::to_string(&stored).unwrap();
        let back: CachedAnswer = serde_json::from_str(&text).unwrap();
        assert_eq!(back, stored);
        assert_eq!(back.chunks.is_some(), streamed);
    }
}
