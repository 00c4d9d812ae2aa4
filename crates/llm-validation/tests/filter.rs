//! The content filter through its public API: block and redact on input and output, streams,
//! built-ins, scoping by model and key, and configuration errors.

// Test helpers outside `#[test]` functions fail loudly on broken fixtures, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use llm_core::{ChatRequest, ContentPart, ErrorKind, MessageContent};
use llm_validation::{Blocked, ContentFilter, FilterConfigError, FilterRuleConfig, OutputVerdict};
use proptest::prelude::*;
use serde_json::json;

fn rule(value: serde_json::Value) -> FilterRuleConfig {
    serde_json::from_value(value).unwrap()
}

fn filter(rules: Vec<serde_json::Value>) -> ContentFilter {
    ContentFilter::new(rules.into_iter().map(rule).collect()).unwrap()
}

fn text_of(request: &ChatRequest, i: usize) -> String {
    request.messages[i].content.as_ref().unwrap().joined_text()
}

#[test]
fn a_block_rule_refuses_the_request_naming_the_rule_but_not_the_text() {
    let filter = filter(vec![
        json!({"name": "project-x", "terms": ["secret project"], "action": "block"}),
    ]);
    let mut request = ChatRequest::from_prompt("gpt-4o", "Tell me about the SECRET Project please");
    let error = filter.check_input("gpt-4o", None, &mut request).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ContentFiltered);
    assert_eq!(error.param(), Some("messages"));
    assert!(error.message().contains("project-x"), "{}", error.message());
    assert!(
        !error.message().to_lowercase().contains("secret"),
        "{}",
        error.message()
    );

    let mut clean = ChatRequest::from_prompt("gpt-4o", "Tell me about the project");
    assert!(filter.check_input("gpt-4o", None, &mut clean).is_ok());
}

#[test]
fn redact_rules_rewrite_every_text_part_in_place() {
    let filter = filter(vec![
        json!({"name": "pii", "builtin": ["email"], "action": "redact"}),
        json!({"name": "codename", "terms": ["bluebird"], "action": "redact", "replacement": "<codename>"}),
    ]);
    let mut request: ChatRequest = serde_json::from_value(json!({"model": "gpt-4o", "messages": [
        {"role": "system", "content": "Operation BlueBird is live."},
        {"role": "user", "content": [
            {"type": "text", "text": "mail jane.doe@example.com about bluebird"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
        ]},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
            "function": {"name": "send", "arguments": "{\"to\":\"jane.doe@example.com\"}"}}]}
    ]}))
    .unwrap();
    filter.check_input("gpt-4o", None, &mut request).unwrap();
    assert_eq!(text_of(&request, 0), "Operation <codename> is live.");
    let Some(MessageContent::Parts(parts)) = &request.messages[1].content else {
        panic!("parts expected");
    };
    assert_eq!(
        parts[0],
        ContentPart::Text {
            text: "mail [REDACTED] about <codename>".into()
        }
    );
    assert!(matches!(parts[1], ContentPart::ImageUrl { .. }));
    let arguments = &request.messages[2].tool_calls.as_ref().unwrap()[0]
        .function
        .arguments;
    assert!(
        arguments.contains("jane.doe@example.com"),
        "tool-call arguments are not message text"
    );
}

#[test]
fn builtins_find_emails_phones_valid_cards_and_keys() {
    let filter = filter(vec![
        json!({"name": "pii", "builtin": ["email", "phone", "card_number", "api_key"],
        "action": "redact", "output": true}),
    ]);
    let output = filter.output("gpt-4o", None).unwrap();
    let redacted = [
        "write to a.b+c@mail.example.co.uk",
        "call +44 20 7946 0958 now",
        "call (202) 555-0143 now",
        "call 202-555-0143 now",
        "card 4111 1111 1111 1111 ok",
        "card 5500-0000-0000-0004 ok",
        "card 4111111111111111 ok",
        "key sk-proj-abcdefghijklmnopqrstuvwxyz0123",
        "key AKIAIOSFODNN7EXAMPLE",
        "token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "api_key = \"0123456789abcdef0123456789abcdef\"",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",
    ];
    for input in redacted {
        let mut text = input.to_owned();
        assert_eq!(output.filter_text(&mut text), OutputVerdict::Redacted, "{input}");
        assert!(text.contains("[REDACTED]"), "{input} -> {text}");
    }
    // A greedy candidate that fails the check must not hide a valid card right after it.
    let mut text = "call 555-0143 4111 1111 1111 1111".to_owned();
    assert_eq!(output.filter_text(&mut text), OutputVerdict::Redacted);
    assert!(!text.contains("4111 1111 1111 1111"), "{text}");
    let clean = [
        "card 4111 1111 1111 1112 fails the Luhn check",
        "order 1234567890123 and version 1.2.3",
        "call me at noon; 42 is the answer",
        "the task-force met; sk- is a prefix; risk-free",
        "an @ sign alone, user@localhost",
        "tokens_per_message_configuration_value_is_three",
    ];
    for input in clean {
        let mut text = input.to_owned();
        assert_eq!(
            output.filter_text(&mut text),
            OutputVerdict::Clean,
            "{input} -> {text}"
        );
        assert_eq!(text, input);
    }
}

#[test]
fn complete_answers_are_redacted_or_blocked() {
    let filter = filter(vec![
        json!({"name": "no-weapons", "terms": ["nerve agent"], "action": "block", "output": true}),
        json!({"name": "pii", "builtin": ["email"], "action": "redact", "output": true}),
        json!({"name": "input-only", "terms": ["hello"], "action": "block"}),
    ]);
    let output = filter.output("gpt-4o", None).unwrap();
    let mut text = "Hello, write to bob@example.org.".to_owned();
    assert_eq!(output.filter_text(&mut text), OutputVerdict::Redacted);
    assert_eq!(text, "Hello, write to [REDACTED].");
    let mut text = "Synthesising a Nerve Agent requires...".to_owned();
    assert_eq!(
        output.filter_text(&mut text),
        OutputVerdict::Blocked {
            rule: "no-weapons".into()
        }
    );
    let mut text = "Nothing to see".to_owned();
    assert_eq!(output.filter_text(&mut text), OutputVerdict::Clean);
}

#[test]
fn a_match_split_across_deltas_is_redacted_and_finish_releases_the_tail() {
    let filter = filter(vec![
        json!({"name": "pii", "builtin": ["email"], "terms": ["bluebird"],
        "action": "redact", "output": true}),
    ]);
    let mut output = filter.output("gpt-4o", None).unwrap();
    let mut emitted = String::new();
    for delta in [
        "Contact jo",
        "hn.smith@exam",
        "ple.com about blue",
        "bird. ",
        "Thanks!",
    ] {
        emitted += &output.push_delta(delta).unwrap();
    }
    assert!(emitted.len() < "Contact john.smith@example.com about bluebird. Thanks!".len());
    let tail = output.finish().unwrap();
    assert!(!tail.is_empty(), "the held tail comes out at the end");
    emitted += &tail;
    assert_eq!(emitted, "Contact [REDACTED] about [REDACTED]. Thanks!");
    assert_eq!(output.finish().unwrap(), "", "the tail is released once");
}

#[test]
fn long_streams_emit_before_the_end_and_hold_a_bounded_tail() {
    let filter = filter(vec![
        json!({"name": "pii", "builtin": ["email"], "action": "redact", "output": true}),
    ]);
    let mut output = filter.output("gpt-4o", None).unwrap();
    let hold = output.hold_bytes();
    let mut emitted = String::new();
    let mut sent = 0;
    for i in 0..200 {
        let delta = format!("word{i} ");
        sent += delta.len();
        emitted += &output.push_delta(&delta).unwrap();
        assert!(
            sent - emitted.len() <= hold + delta.len(),
            "held more than the tail"
        );
    }
    assert!(emitted.len() >= sent - hold);
    emitted += &output.finish().unwrap();
    assert_eq!(emitted.len(), sent);
}

#[test]
fn a_block_match_split_across_deltas_blocks_the_stream_for_good() {
    let filter = filter(vec![
        json!({"name": "pw", "terms": ["swordfish"], "action": "block", "output": true}),
    ]);
    let mut output = filter.output("gpt-4o", None).unwrap();
    let first = output.push_delta("The password is swo").unwrap();
    assert_eq!(output.hold_bytes(), "swordfish".len());
    assert_eq!(
        first, "The passwo",
        "the last 9 bytes, where a match may start, are held back"
    );
    let blocked = Blocked { rule: "pw".into() };
    assert_eq!(output.push_delta("rdfish."), Err(blocked.clone()));
    assert_eq!(output.push_delta("more"), Err(blocked.clone()));
    assert_eq!(output.finish(), Err(blocked));
}

#[test]
fn a_block_match_in_the_tail_is_caught_by_finish() {
    let filter = filter(vec![
        json!({"name": "key", "builtin": ["api_key"], "action": "block", "output": true}),
    ]);
    let mut output = filter.output("gpt-4o", None).unwrap();
    assert_eq!(output.push_delta("here: sk-abcdefghij").unwrap(), "");
    assert_eq!(output.push_delta("klmnopqrstuvwxyz").unwrap_err().rule, "key");

    let mut output = filter.output("gpt-4o", None).unwrap();
    assert_eq!(output.push_delta("here: sk-abcdefghij").unwrap(), "");
    assert_eq!(
        output.finish().unwrap(),
        "here: sk-abcdefghij",
        "too short to be a key"
    );
}

#[test]
fn rules_apply_per_model_and_per_key() {
    let filter = filter(vec![
        json!({"name": "openai-only", "terms": ["foo"], "action": "block", "models": ["gpt-4o*"]}),
        json!({"name": "team-a", "terms": ["bar"], "action": "block", "keys": ["team-a"], "output": true}),
        json!({"name": "exact-model", "terms": ["baz"], "action": "block", "models": ["claude-3-haiku"]}),
    ]);
    let blocked = |model: &str, key: Option<&str>, text: &str| {
        let mut request = ChatRequest::from_prompt(model, text);
        filter.check_input(model, key, &mut request).is_err()
    };
    assert!(blocked("gpt-4o-mini", None, "foo"));
    assert!(blocked("gpt-4o", Some("team-b"), "foo"));
    assert!(!blocked("claude-3-haiku", None, "foo"));
    assert!(blocked("claude-3-haiku", Some("team-a"), "bar"));
    assert!(!blocked("claude-3-haiku", Some("team-b"), "bar"));
    assert!(!blocked("claude-3-haiku", None, "bar"));
    assert!(blocked("claude-3-haiku", None, "baz"));
    assert!(!blocked("claude-3-haiku-2", None, "baz"));

    assert!(filter.has_output_rules("any", Some("team-a")));
    assert!(!filter.has_output_rules("any", Some("team-b")));
    assert!(filter.output("any", None).is_none());
    assert!(filter.output("any", Some("team-a")).is_some());
    assert!(!filter.is_empty());
    assert!(ContentFilter::new(Vec::new()).unwrap().is_empty());
}

#[test]
fn bad_rules_are_config_errors_naming_the_rule() {
    let error = |value: serde_json::Value| ContentFilter::new(vec![rule(value)]).unwrap_err();

    let bad = error(json!({"name": "broken", "patterns": ["ok", "(unclosed"], "action": "block"}));
    assert!(
        matches!(&bad, FilterConfigError::InvalidPattern { rule, pattern, .. }
        if rule == "broken" && pattern == "(unclosed")
    );
    let shown = bad.to_string();
    assert!(shown.contains("broken") && shown.contains("(unclosed"), "{shown}");

    let bad = error(json!({"name": "r1", "builtin": ["ssn"], "action": "redact"}));
    assert!(
        bad.to_string().contains("r1") && bad.to_string().contains("ssn"),
        "{bad}"
    );
    let bad = error(json!({"name": "r2", "terms": ["x"], "action": "warn"}));
    assert!(matches!(bad, FilterConfigError::UnknownAction { .. }), "{bad}");
    let bad = error(json!({"name": "r3", "action": "block"}));
    assert!(matches!(bad, FilterConfigError::NothingToMatch { .. }), "{bad}");
    let bad = error(json!({"name": "r4", "terms": [""], "action": "block"}));
    assert!(matches!(bad, FilterConfigError::EmptyTerm { .. }), "{bad}");
    let bad = error(json!({"name": "r5", "patterns": ["a*"], "action": "redact"}));
    assert!(matches!(bad, FilterConfigError::EmptyMatch { .. }), "{bad}");

    let twice = vec![
        rule(json!({"name": "same", "terms": ["a"], "action": "block"})),
        rule(json!({"name": "same", "terms": ["b"], "action": "block"})),
    ];
    assert!(matches!(
        ContentFilter::new(twice),
        Err(FilterConfigError::BadName { .. })
    ));
}

#[test]
fn rule_configs_default_their_optional_keys_and_refuse_unknown_ones() {
    let minimal = rule(json!({"name": "r", "terms": ["x"], "action": "redact"}));
    assert!(minimal.patterns.is_empty() && minimal.builtin.is_empty() && minimal.models.is_empty());
    assert!(minimal.keys.is_empty() && minimal.replacement.is_none() && !minimal.output);
    let typo = json!({"name": "r", "terms": ["x"], "action": "redact", "replacment": "*"});
    assert!(serde_json::from_value::<FilterRuleConfig>(typo).is_err());
}

#[test]
fn patterns_are_user_regexes() {
    let filter = filter(vec![
        json!({"name": "ticket", "patterns": [r"(?i)\bTICKET-\d{4,}\b"],
        "action": "redact", "replacement": "[ticket]", "output": true}),
    ]);
    let mut request = ChatRequest::from_prompt("m", "see ticket-12345 and TICKET-99");
    filter.check_input("m", None, &mut request).unwrap();
    assert_eq!(text_of(&request, 0), "see [ticket] and TICKET-99");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// However an answer is cut into deltas, the stream emits exactly what the complete answer becomes.
    #[test]
    fn streaming_equals_filtering_the_whole(
        words in prop::collection::vec(prop::sample::select(vec![
            "hello", "Bluebird", "blue", "bird", "x@example.com", "4111 1111 1111 1111", "sk-abcdefghijklmnopqrstuvwxyz",
            "world", "é", "ünïcødé", "\n", "(202) 555-0143", "42",
        ]), 0..120),
        cuts in prop::collection::vec(0usize..4000, 0..30),
    ) {
        let filter = filter(vec![
            json!({"name": "pii", "builtin": ["email", "card_number", "api_key", "phone"], "action": "redact", "output": true}),
            json!({"name": "bird", "terms": ["bluebird"], "action": "redact", "replacement": "<b>", "output": true}),
        ]);
        let whole = words.join(" ");
        let mut expected = whole.clone();
        let mut output = filter.output("m", None).unwrap();
        output.filter_text(&mut expected);

        let mut points: Vec<usize> = cuts.into_iter().filter(|&c| c < whole.len() && whole.is_char_boundary(c)).collect();
        points.sort_unstable();
        points.dedup();
        let mut emitted = String::new();
        let mut start = 0;
        for point in points.into_iter().chain([whole.len()]) {
            emitted += &output.push_delta(&whole[start..point]).unwrap();
            start = point;
        }
        emitted += &output.finish().unwrap();
        prop_assert_eq!(emitted, expected);
    }
}
