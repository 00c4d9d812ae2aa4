//! Robustness: whatever bytes or request shapes arrive, parsing then validating, counting and
//! filtering never panics.

// Test helpers outside `#[test]` functions fail loudly on broken fixtures, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use llm_core::ChatRequest;
use llm_validation::{
    ContentFilter, FilterRuleConfig, PayloadLimits, TokenCounter, check_token_limits, known_context_window,
    validate_payload,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn content_filter() -> ContentFilter {
    let rules: Vec<FilterRuleConfig> = serde_json::from_value(json!([
        {"name": "pii", "builtin": ["email", "phone", "card_number", "api_key"], "action": "redact"},
        {"name": "terms", "terms": ["secret", "é", "bluebird"], "patterns": [r"\d{3}-\d{2}-\d{4}"], "action": "redact"},
        {"name": "block", "terms": ["forbidden"], "action": "block", "models": ["gpt-4o*"]}
    ]))
    .unwrap();
    ContentFilter::new(rules).unwrap()
}

/// Runs everything a request meets after parsing; only panics matter.
fn exercise(bytes: &[u8]) {
    let Ok(mut request) = serde_json::from_slice::<ChatRequest>(bytes) else {
        return;
    };
    let _ = validate_payload(&request, &PayloadLimits::default());
    let counter = TokenCounter::new();
    for model in [
        "gpt-4o",
        "gpt-4",
        "claude-3-5-sonnet",
        request.model.clone().as_str(),
    ] {
        let count = counter.count_prompt(model, &request);
        let output = request.max_output_tokens().map(u64::from);
        let _ = check_token_limits(count, output, known_context_window(model), Some(1000));
    }
    let model = request.model.clone();
    let _ = content_filter().check_input(&model, Some("k"), &mut request);
    let _ = content_filter().check_input("gpt-4o", None, &mut request);
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z ]{0,40}",
        ".{0,60}",
        Just("mail a@b.co or 4111 1111 1111 1111, sk-abcdefghijklmnopqrstuvwxyz".to_owned()),
        Just("forbidden secret".to_owned()),
        "[ \n\t]{0,300}",
        "(\\^|A|1|é){0,500}",
    ]
}

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("https://example.com/a.png".to_owned()),
        Just("https://[::1]/".to_owned()),
        Just("https://[".to_owned()),
        Just("https://a:b@c".to_owned()),
        Just("data:image/png;base64,AAAA".to_owned()),
        Just("data:,".to_owned()),
        "https://[0-9a-fx.:\\[\\]@%]{0,30}(/.{0,10})?",
        "(https?|data|file):.{0,40}",
        ".{0,30}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn maybe(value: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Null), value]
}

fn part() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => text().prop_map(|text| json!({"type": "text", "text": text})),
        4 => (url(), maybe(prop::sample::select(vec!["low", "high", "auto", "x"]).prop_map(Value::from)))
            .prop_map(|(url, detail)| json!({"type": "image_url", "image_url": {"url": url, "detail": detail}})),
        1 => json_value(),
    ]
}

fn message() -> impl Strategy<Value = Value> {
    let role = prop_oneof![
        20 => prop::sample::select(vec!["system", "developer", "user", "assistant", "tool"]),
        1 => Just("wizard"),
    ];
    let content = prop_oneof![
        1 => Just(Value::Null),
        6 => text().prop_map(Value::from),
        3 => prop::collection::vec(part(), 0..4).prop_map(Value::from),
        1 => json_value(),
    ];
    let call = ("[a-z0-9_]{0,8}", "[a-z_ ]{0,10}", text(), prop::sample::select(vec!["function", "code"])).prop_map(
        |(id, name, arguments, kind)| json!({"id": id, "type": kind, "function": {"name": name, "arguments": arguments}}),
    );
    (
        role,
        content,
        maybe(text().prop_map(Value::from)),
        prop_oneof![4 => Just(Value::Null), 1 => prop::collection::vec(call, 0..3).prop_map(Value::from)],
        maybe("[a-z0-9_]{0,8}".prop_map(Value::from)),
    )
        .prop_map(|(role, content, name, tool_calls, tool_call_id)| {
            json!({"role": role, "content": content, "name": name, "tool_calls": tool_calls, "tool_call_id": tool_call_id})
        })
}

fn float() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => Just(Value::Null),
        3 => (-3.0f64..3.0).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
    ]
}

fn count() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => Just(Value::Null),
        6 => (0u32..20).prop_map(Value::from),
        1 => any::<u32>().prop_map(Value::from),
        1 => (-3i64..0).prop_map(Value::from),
    ]
}

fn response_format() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => Just(Value::Null),
        1 => Just(json!({"type": "json_object"})),
        1 => ("[a-z _]{0,10}", maybe(json_value())).prop_map(|(name, schema)| {
            json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema}})
        }),
        1 => json_value(),
    ]
}

fn request() -> impl Strategy<Value = Value> {
    let tool = ("[a-zA-Z0-9_ -]{0,70}", maybe(json_value()), prop::sample::select(vec!["function", "x"]))
        .prop_map(|(name, parameters, kind)| json!({"type": kind, "function": {"name": name, "parameters": parameters}}));
    let stop = prop_oneof![
        Just(Value::Null),
        text().prop_map(Value::from),
        prop::collection::vec(text(), 0..6).prop_map(Value::from)
    ];
    (
        prop::sample::select(vec![
            "gpt-4o",
            "gpt-4",
            "claude-3-haiku",
            "",
            "gemini-2.0-flash",
            "x/y",
        ]),
        prop::collection::vec(message(), 0..6),
        (float(), float(), count(), count(), count(), float(), float()),
        stop,
        maybe(prop::collection::vec(tool, 0..3).prop_map(Value::from)),
        response_format(),
    )
        .prop_map(|(model, messages, numbers, stop, tools, response_format)| {
            let (temperature, top_p, n, max_tokens, max_completion_tokens, presence, frequency) = numbers;
            json!({
                "model": model, "messages": messages, "temperature": temperature, "top_p": top_p, "n": n,
                "max_tokens": max_tokens, "max_completion_tokens": max_completion_tokens,
                "presence_penalty": presence, "frequency_penalty": frequency, "stop": stop, "tools": tools,
                "response_format": response_format,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn arbitrary_json_ish_strings_never_panic(text in r#"[\{\}\[\]":,a-z0-9 .\-@/\\é]{0,300}"#) {
        exercise(text.as_bytes());
        exercise(format!(r#"{{"model":"gpt-4o","messages":[{{"role":"user","content":"{text}"}}]}}"#).as_bytes());
    }

    #[test]
    fn arbitrary_structured_requests_never_panic(body in request()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        exercise(&bytes);
    }
}

#[test]
fn the_structured_strategy_reaches_parsed_and_valid_requests() {
    // Guard against a generator that only ever produces bodies that serde (or validation) refuses.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = request();
    let (mut parsed, mut valid) = (0, 0);
    for _ in 0..400 {
        let body = strategy.new_tree(&mut runner).unwrap().current();
        if let Ok(request) = serde_json::from_value::<ChatRequest>(body) {
            parsed += 1;
            valid += usize::from(validate_payload(&request, &PayloadLimits::default()).is_ok());
        }
    }
    println!("parsed {parsed} / 400, valid {valid}");
    assert!(parsed >= 40, "only {parsed} of 400 generated bodies parse");
    assert!(valid >= 1, "no generated body passes validation");
}
