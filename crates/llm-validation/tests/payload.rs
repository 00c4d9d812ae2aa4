//! Payload rules through the public API: each rule passes a good value and refuses a bad one, naming
//! the parameter.

// Test helpers outside `#[test]` functions fail loudly on broken fixtures, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use llm_core::{ChatRequest, ErrorKind};
use llm_validation::{PayloadLimits, validate_payload};
use serde_json::{Value, json};

/// A valid request exercising every checked field.
fn base() -> Value {
    json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "12 degrees"}
        ],
        "temperature": 0.7, "top_p": 1.0, "n": 1, "max_tokens": 100, "max_completion_tokens": 100,
        "presence_penalty": 0.5, "frequency_penalty": -0.5, "stop": ["END", "STOP"],
        "tools": [{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "weather_v1", "schema": {"type": "object"}}}
    })
}

fn with(pointer: &str, value: Value) -> Value {
    let mut body = base();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = body.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"));
    match target {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        _ => panic!("{parent} is not a container"),
    }
    body
}

fn check(body: Value, limits: &PayloadLimits) -> Result<(), (ErrorKind, Option<String>, String)> {
    let request: ChatRequest = serde_json::from_value(body).expect("the body parses");
    validate_payload(&request, limits).map_err(|error| {
        (
            error.kind(),
            error.param().map(str::to_owned),
            error.message().to_owned(),
        )
    })
}

#[test]
fn the_base_request_is_valid() {
    assert_eq!(check(base(), &PayloadLimits::default()), Ok(()));
}

#[test]
fn every_rule_accepts_good_values() {
    let good = [
        ("/temperature", json!(0.0)),
        ("/temperature", json!(2.0)),
        ("/top_p", json!(0.0)),
        ("/top_p", json!(1)),
        ("/n", json!(8)),
        ("/max_tokens", json!(1)),
        ("/presence_penalty", json!(-2.0)),
        ("/frequency_penalty", json!(2.0)),
        ("/stop", json!("END")),
        ("/stop", json!(["a", "b", "c", "d"])),
        ("/tools/0/function/name", json!("a-Z_09")),
        ("/tools/0/function/name", json!("x".repeat(64))),
        ("/tools/0/function/parameters", json!({"properties": {}})),
        ("/messages/0/content", json!("")),
        ("/messages/2/content", json!("calling")),
    ];
    for (pointer, value) in good {
        let result = check(with(pointer, value.clone()), &PayloadLimits::default());
        assert_eq!(result, Ok(()), "{pointer} = {value}");
    }
}

#[test]
fn every_rule_refuses_bad_values_naming_the_param() {
    let bad = [
        ("/model", json!(""), "model"),
        ("/model", json!("  "), "model"),
        ("/messages", json!([]), "messages"),
        ("/temperature", json!(2.01), "temperature"),
        ("/temperature", json!(-0.1), "temperature"),
        ("/top_p", json!(1.5), "top_p"),
        ("/top_p", json!(-0.5), "top_p"),
        ("/n", json!(0), "n"),
        ("/n", json!(9), "n"),
        ("/max_tokens", json!(0), "max_tokens"),
        ("/max_completion_tokens", json!(0), "max_completion_tokens"),
        ("/presence_penalty", json!(2.5), "presence_penalty"),
        ("/frequency_penalty", json!(-3), "frequency_penalty"),
        ("/stop", json!(["a", "b", "c", "d", "e"]), "stop"),
        ("/stop", json!(["a", ""]), "stop"),
        ("/stop", json!(""), "stop"),
        ("/tools/0/type", json!("retrieval"), "tools[0].type"),
        (
            "/tools/0/function/name",
            json!("get weather"),
            "tools[0].function.name",
        ),
        ("/tools/0/function/name", json!(""), "tools[0].function.name"),
        (
            "/tools/0/function/name",
            json!("x".repeat(65)),
            "tools[0].function.name",
        ),
        (
            "/tools/0/function/name",
            json!("wetter_ü"),
            "tools[0].function.name",
        ),
        (
            "/tools/0/function/parameters",
            json!("object"),
            "tools[0].function.parameters",
        ),
        (
            "/tools/0/function/parameters",
            json!({"type": "array"}),
            "tools[0].function.parameters",
        ),
        ("/messages/3/tool_call_id", json!(""), "messages[3].tool_call_id"),
        (
            "/messages/3/tool_call_id",
            Value::Null,
            "messages[3].tool_call_id",
        ),
        ("/messages/0/content", Value::Null, "messages[0].content"),
        ("/messages/2/tool_calls", json!([]), "messages[2].content"),
        (
            "/messages/0/tool_calls",
            json!([{"id": "c", "type": "function",
            "function": {"name": "f", "arguments": "{}"}}]),
            "messages[0].tool_calls",
        ),
        (
            "/messages/2/tool_calls/0/type",
            json!("code"),
            "messages[2].tool_calls[0].type",
        ),
        (
            "/messages/2/tool_calls/0/id",
            json!(""),
            "messages[2].tool_calls[0].id",
        ),
        (
            "/messages/2/tool_calls/0/function/name",
            json!(""),
            "messages[2].tool_calls[0].function.name",
        ),
        (
            "/response_format/json_schema/name",
            json!("weather v1"),
            "response_format.json_schema.name",
        ),
        (
            "/response_format/json_schema/schema",
            json!([1]),
            "response_format.json_schema.schema",
        ),
    ];
    for (pointer, value, param) in bad {
        let result = check(with(pointer, value.clone()), &PayloadLimits::default());
        let Err((kind, got, message)) = result else {
            panic!("{pointer} = {value} was accepted");
        };
        assert_eq!(kind, ErrorKind::InvalidRequest, "{pointer} = {value}");
        assert_eq!(got.as_deref(), Some(param), "{pointer} = {value}: {message}");
        assert!(!message.is_empty());
    }
}

#[test]
fn range_errors_say_what_was_wrong() {
    let (_, _, message) = check(with("/temperature", json!(3.5)), &PayloadLimits::default()).unwrap_err();
    assert!(
        message.contains("between 0 and 2") && message.contains("3.5"),
        "{message}"
    );
    let (_, _, message) = check(with("/n", json!(9)), &PayloadLimits::default()).unwrap_err();
    assert!(message.contains("between 1 and 8"), "{message}");
}

#[test]
fn non_finite_numbers_are_refused() {
    // JSON cannot carry NaN, but a request built in code can; validator's ranges would let it through.
    let mut request: ChatRequest = serde_json::from_value(base()).unwrap();
    request.temperature = Some(f64::NAN);
    let error = validate_payload(&request, &PayloadLimits::default()).unwrap_err();
    assert_eq!(error.param(), Some("temperature"));
    request.temperature = None;
    request.top_p = Some(f64::INFINITY);
    let error = validate_payload(&request, &PayloadLimits::default()).unwrap_err();
    assert_eq!(error.param(), Some("top_p"));
}

#[test]
fn tool_call_arguments_must_be_strings() {
    let body = with(
        "/messages/2/tool_calls/0/function/arguments",
        json!({"city": "Oslo"}),
    );
    assert!(serde_json::from_value::<ChatRequest>(body).is_err());
}

#[test]
fn count_and_size_limits_name_their_param() {
    let limits = PayloadLimits {
        max_messages: 3,
        ..PayloadLimits::default()
    };
    assert_eq!(check(base(), &limits).unwrap_err().1.as_deref(), Some("messages"));

    let limits = PayloadLimits {
        max_tools: 0,
        ..PayloadLimits::default()
    };
    assert_eq!(check(base(), &limits).unwrap_err().1.as_deref(), Some("tools"));

    let limits = PayloadLimits {
        max_n: 2,
        ..PayloadLimits::default()
    };
    assert_eq!(check(with("/n", json!(2)), &limits), Ok(()));
    assert_eq!(
        check(with("/n", json!(3)), &limits).unwrap_err().1.as_deref(),
        Some("n")
    );

    let limits = PayloadLimits {
        max_stop: 1,
        ..PayloadLimits::default()
    };
    assert_eq!(check(base(), &limits).unwrap_err().1.as_deref(), Some("stop"));

    let limits = PayloadLimits {
        max_message_bytes: 100,
        max_request_text_bytes: 150,
        ..PayloadLimits::default()
    };
    assert_eq!(
        check(with("/messages/0/content", json!("x".repeat(100))), &limits),
        Ok(())
    );
    let too_big = check(with("/messages/0/content", json!("x".repeat(101))), &limits);
    assert_eq!(too_big.unwrap_err().1.as_deref(), Some("messages[0].content"));
    let parts = json!([{"type": "text", "text": "x".repeat(60)}, {"type": "text", "text": "y".repeat(41)}]);
    let too_big = check(with("/messages/1/content", parts), &limits);
    assert_eq!(too_big.unwrap_err().1.as_deref(), Some("messages[1].content"));
    let mut body = with("/messages/0/content", json!("x".repeat(90)));
    body["messages"][3]["content"] = json!("y".repeat(90));
    assert_eq!(check(body, &limits).unwrap_err().1.as_deref(), Some("messages"));
}

#[test]
fn image_url_errors_give_the_reason() {
    let reason = |url: &str| {
        let body = with("/messages/1/content/1/image_url/url", json!(url));
        check(body, &PayloadLimits::default()).unwrap_err().2
    };
    for (url, expected) in [
        ("https://user:pw@example.com/a.png", "credentials"),
        ("https://user@example.com/a.png", "credentials"),
        ("http://example.com/a.png", "https://"),
        ("https://10.0.0.1/a.png", "private"),
        ("https://[::1]/a.png", "private"),
        ("https://localhost/a.png", "localhost"),
        ("data:text/html;base64,PGgxPg==", "image/"),
    ] {
        let message = reason(url);
        assert!(message.contains(expected), "{url}: {message}");
    }
}

#[test]
fn image_urls_are_https_to_public_hosts_or_inline_images() {
    let cases = [
        ("https://example.com/a.png", true),
        ("HTTPS://Example.com/a.png?x=1#y", true),
        ("https://example.com:8443/a.png", true),
        ("https://172.32.0.1/a.png", true),
        ("https://8.8.8.8/a.png", true),
        ("https://[2606:4700::1111]/a.png", true),
        ("data:image/png;base64,iVBORw0KGgo=", true),
        ("data:image/svg+xml;base64,PHN2Zz4=", true),
        ("DATA:IMAGE/JPEG;BASE64,/9j/4AAQ", true),
        ("http://example.com/a.png", false),
        ("file:///etc/passwd", false),
        ("ftp://example.com/a.png", false),
        ("javascript:alert(1)", false),
        ("gopher://example.com", false),
        ("example.com/a.png", false),
        ("https://127.0.0.1/a.png", false),
        ("https://127.1/a.png", false),
        ("https://2130706433/a.png", false),
        ("https://0x7f.0.0.1/a.png", false),
        ("https://10.0.0.1/a.png", false),
        ("https://172.16.0.1/a.png", false),
        ("https://192.168.1.1:443/a.png", false),
        ("https://100.64.0.1/a.png", false),
        ("https://0.0.0.0/a.png", false),
        ("https://169.254.169.254/latest/meta-data", false),
        ("https://[::1]/a.png", false),
        ("https://[::]/a.png", false),
        ("https://[fe80::1]/a.png", false),
        ("https://[fd00::1]/a.png", false),
        ("https://[::ffff:127.0.0.1]/a.png", false),
        ("https://[::ffff:a9fe:a9fe]/a.png", false),
        ("https://[64:ff9b::a00:1]/a.png", false),
        ("https://localhost/a.png", false),
        ("https://LOCALHOST./a.png", false),
        ("https://api.localhost/a.png", false),
        ("https://user:pw@example.com/a.png", false),
        ("https://user@example.com/a.png", false),
        ("https://example.com\\@127.0.0.1/a.png", false),
        ("https://exa mple.com/a.png", false),
        ("https://ｅxample.com/a.png", false),
        ("https:///a.png", false),
        ("https://example..com/a.png", false),
        ("https://example.com:99999/a.png", false),
        ("https://1.2.3.4.5/a.png", false),
        ("data:text/html;base64,PGgxPg==", false),
        ("data:image/png,raw", false),
        ("data:image/png;base64,", false),
        ("data:image/png;base64,not base64!", false),
        ("data:;base64,iVBORw0KGgo=", false),
    ];
    for (url, ok) in cases {
        let body = with("/messages/1/content/1/image_url/url", json!(url));
        let result = check(body, &PayloadLimits::default());
        if ok {
            assert_eq!(result, Ok(()), "{url}");
        } else {
            let Err((kind, param, _)) = result else {
                panic!("{url} was accepted");
            };
            assert_eq!(kind, ErrorKind::InvalidRequest);
            assert_eq!(
                param.as_deref(),
                Some("messages[1].content[1].image_url.url"),
                "{url}"
            );
        }
    }
}
