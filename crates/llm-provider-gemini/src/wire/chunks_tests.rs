use super::*;
use serde_json::{Value, json};

fn sse(events: &[Value], separator: &str) -> Vec<u8> {
    events
        .iter()
        .map(|event| format!("data: {event}{separator}{separator}"))
        .collect::<String>()
        .into_bytes()
}

fn text_event(text: &str, finish: Option<&str>) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": [{"text": text}]}, "index": 0});
    if let Some(finish) = finish {
        candidate["finishReason"] = json!(finish);
    }
    json!({"candidates": [candidate], "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
        "modelVersion": "gemini-2.0-flash", "responseId": "r-1"})
}

#[test]
fn crlf_text_stream_yields_role_text_finish_and_usage() {
    let mut last = text_event(" is Cheyenne.", Some("STOP"));
    last["usageMetadata"] = json!({"promptTokenCount": 7, "candidatesTokenCount": 10, "totalTokenCount": 17});
    let body = sse(&[text_event("The capital", None), last], "\r\n");
    let chunks = translate_stream_bytes("requested", &body).unwrap();
    assert_eq!(chunks.len(), 4);
    assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
    assert_eq!(chunks[0].text_delta(), Some("The capital"));
    assert_eq!(chunks[1].choices[0].delta.role, None);
    assert_eq!(chunks[1].text_delta(), Some(" is Cheyenne."));
    assert_eq!(chunks[2].choices[0].delta, Delta::default());
    assert_eq!(chunks[2].finish_reason(), Some(FinishReason::Stop));
    assert!(chunks[3].choices.is_empty());
    assert_eq!(chunks[3].usage, Some(Usage::new(7, 10)));
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk.id == "r-1" && chunk.model == "gemini-2.0-flash")
    );
}

#[test]
fn repeated_finish_reasons_finish_once_at_the_end() {
    let body = sse(
        &[text_event("a", Some("STOP")), text_event("b", Some("STOP"))],
        "\n",
    );
    let chunks = translate_stream_bytes("m", &body).unwrap();
    let finishes: Vec<_> = chunks.iter().filter_map(ChatChunk::finish_reason).collect();
    assert_eq!(finishes, vec![FinishReason::Stop]);
    assert_eq!(chunks[1].text_delta(), Some("b"));
}

#[test]
fn function_calls_are_whole_deltas_indexed_over_the_stream() {
    let call = |name: &str, args: Value| json!({"functionCall": {"name": name, "args": args}});
    let events = [
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Checking.", "thought": true}, call("a", json!({"x": 1}))]}}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [call("b", json!({}))]}, "finishReason": "STOP"}]}),
    ];
    let chunks = translate_stream_bytes("gemini-x", &sse(&events, "\n")).unwrap();
    assert_eq!(chunks.len(), 3);
    let first = chunks[0].choices[0].delta.tool_calls.as_ref().unwrap();
    let second = chunks[1].choices[0].delta.tool_calls.as_ref().unwrap();
    assert_eq!(chunks[0].choices[0].delta.role, Some(Role::Assistant));
    assert_eq!(chunks[0].text_delta(), None);
    assert_eq!((first[0].index, second[0].index), (0, 1));
    let function = first[0].function.as_ref().unwrap();
    assert_eq!(function.name.as_deref(), Some("a"));
    assert_eq!(function.arguments.as_deref(), Some(r#"{"x":1}"#));
    assert_ne!(first[0].id, second[0].id);
    assert_eq!(chunks[2].finish_reason(), Some(FinishReason::ToolCalls));
    assert_eq!(chunks[2].model, "gemini-x");
}

#[test]
fn faults() {
    let unfinished = translate_stream_bytes("m", &sse(&[text_event("a", None)], "\n"));
    assert!(matches!(unfinished, Err(StreamFault::Unfinished)));
    assert!(matches!(
        translate_stream_bytes("m", b""),
        Err(StreamFault::Unfinished)
    ));
    let mut cut = sse(&[text_event("a", Some("STOP"))], "\n");
    cut.extend_from_slice(b"data: {\"candid");
    assert!(matches!(
        translate_stream_bytes("m", &cut),
        Err(StreamFault::Unfinished)
    ));
    let malformed = translate_stream_bytes("m", b"data: {not json\n\n");
    assert!(matches!(malformed, Err(StreamFault::Malformed(_))));
    let blocked = sse(&[json!({"promptFeedback": {"blockReason": "SAFETY"}})], "\n");
    assert!(
        matches!(translate_stream_bytes("m", &blocked), Err(StreamFault::PromptBlocked(reason)) if reason == "SAFETY")
    );
    let error = sse(
        &[json!({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}})],
        "\n",
    );
    assert!(
        matches!(translate_stream_bytes("m", &error), Err(StreamFault::Error(status)) if status.code == Some(500))
    );
}

#[test]
fn two_candidates_each_need_a_finish() {
    let both = json!({"candidates": [
        {"content": {"parts": [{"text": "x"}]}, "index": 0, "finishReason": "STOP"},
        {"content": {"parts": [{"text": "y"}]}, "index": 1}
    ]});
    assert!(matches!(
        translate_stream_bytes("m", &sse(std::slice::from_ref(&both), "\n")),
        Err(StreamFault::Unfinished)
    ));
    let rest = json!({"candidates": [{"content": {"parts": [{"text": "z"}]}, "index": 1, "finishReason": "MAX_TOKENS"}]});
    let chunks = translate_stream_bytes("m", &sse(&[both, rest], "\n")).unwrap();
    let finishes: Vec<_> = chunks
        .iter()
        .filter_map(|chunk| Some((chunk.choices.first()?.index, chunk.finish_reason()?)))
        .collect();
    assert_eq!(finishes, vec![(0, FinishReason::Stop), (1, FinishReason::Length)]);
    assert_eq!(chunks[1].choices[0].delta.role, Some(Role::Assistant));
    assert_eq!(chunks[2].choices[0].delta.role, None);
}
