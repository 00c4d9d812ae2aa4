//! The canonical cache key: a hash of everything that changes an answer.

use std::fmt;

use llm_core::{ChatRequest, ProviderId};
use sha2::{Digest, Sha256};

use crate::canonical::{write_integer, write_string};
use crate::canonical_serializer::write_canonical_of;

/// The version of the key and entry format; bumping it orphans every stored entry.
pub const FORMAT_VERSION: u32 = 1;

/// `:v{FORMAT_VERSION}:`, between the namespace and the hash.
const VERSION_TAG: &str = ":v1:";

/// Request fields that never change an answer and stay out of the key.
///
/// `model` is the client's spelling (an alias, `provider/model`); the resolved provider and upstream
/// model are hashed instead. The output cap is hashed once, normalised, in place of its two fields.
const EXCLUDED_FIELDS: [&str; 6] = [
    "model",
    "stream",
    "stream_options",
    "user",
    "max_tokens",
    "max_completion_tokens",
];

/// A cache key: `"{namespace}:v{FORMAT_VERSION}:{hex sha256}"`.
///
/// The hash covers a canonical JSON document (keys sorted at every level, numbers normalised) of the
/// resolved provider id and upstream model, the output cap (`max_completion_tokens`, else `max_tokens`)
/// and every other request field: messages, tools, tool_choice, parallel_tool_calls, response_format,
/// temperature, top_p, stop, seed, n, the penalties and every forwarded unknown field. The client's model
/// string, `stream`, `stream_options` and `user` are left out, so a streamed and a non-streamed request
/// share an entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of `request` when served by `model` on `provider`.
    pub fn for_request(namespace: &str, provider: &ProviderId, model: &str, request: &ChatRequest) -> Self {
        let mut canonical = String::with_capacity(1024);
        write_answer_inputs(provider, model, request, &mut canonical);
        let digest = Sha256::digest(canonical.as_bytes());
        let mut key = String::with_capacity(namespace.len() + 8 + 64);
        key.push_str(namespace);
        key.push_str(VERSION_TAG);
        push_hex(&mut key, &digest);
        Self(key)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Writes the canonical document that is hashed: `{"model", "output_cap", "provider", "request": {...}}`
/// (keys in canonical order).
///
/// The request's own fields (unknown ones included, as serde flattens them) sit under `request`, so no
/// forwarded field can collide with the route fields. The request is serialised straight into its
/// canonical form, with the same bytes `write_canonical` gives its `serde_json::Value`.
fn write_answer_inputs(provider: &ProviderId, model: &str, request: &ChatRequest, out: &mut String) {
    out.push_str("{\"model\":");
    write_string(model, out);
    out.push_str(",\"output_cap\":");
    match request.max_output_tokens() {
        Some(cap) => write_integer(cap, out),
        None => out.push_str("null"),
    }
    out.push_str(",\"provider\":");
    write_string(provider.as_str(), out);
    out.push_str(",\"request\":");
    let request_start = out.len();
    if let Err(error) = write_canonical_of(request, &EXCLUDED_FIELDS, out) {
        // Serialising these types cannot fail; should it ever, the debug form still tells requests apart.
        tracing::error!(%error, "chat request did not serialise for the cache key");
        out.truncate(request_start);
        write_string(&format!("{request:?}"), out);
    }
    out.push('}');
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
}

#[cfg(test)]
mod tests {
    use llm_core::{Message, MessageContent, Role, Stop, Tool};
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::canonical::write_canonical;

    /// The document as keys were first built: through a `serde_json::Value`. Stored keys must not change.
    fn answer_inputs_through_value(provider: &ProviderId, model: &str, request: &ChatRequest) -> String {
        let Ok(Value::Object(mut fields)) = serde_json::to_value(request) else {
            panic!("requests serialise to objects");
        };
        for name in EXCLUDED_FIELDS {
            fields.remove(name);
        }
        let mut document = Map::new();
        document.insert("provider".to_owned(), Value::String(provider.as_str().to_owned()));
        document.insert("model".to_owned(), Value::String(model.to_owned()));
        document.insert(
            "output_cap".to_owned(),
            request.max_output_tokens().map_or(Value::Null, Value::from),
        );
        document.insert("request".to_owned(), Value::Object(fields));
        let mut out = String::new();
        write_canonical(&Value::Object(document), &mut out);
        out
    }

    fn requests() -> Vec<ChatRequest> {
        let mut rich: ChatRequest = serde_json::from_value(json!({
            "model": "alias",
            "messages": [
                {"role": "system", "content": "Be \"brief\"\n\ttabs \u{1} é 😀"},
                {"role": "user", "content": [{"type": "text", "text": "hi"},
                    {"type": "image_url", "image_url": {"url": "data:x", "detail": "low"}}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                    "function": {"name": "f", "arguments": "{\"b\":1,\"a\":2}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"}
            ],
            "temperature": 0.7, "top_p": 1.0, "max_tokens": 64, "n": 1, "seed": -3,
            "stop": ["\n", "END"], "user": "u", "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {"name": "f", "description": "d",
                "parameters": {"type": "object", "properties": {"z": {"type": "number"}, "a": {}}}}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "parallel_tool_calls": false,
            "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"b": 1, "a": [1.5, -0.0, 2.0, 1e300]}}},
            "presence_penalty": -0.5, "frequency_penalty": 0.0,
            "logit_bias": {"50256": -100, "11": 5}, "metadata": {"z": null, "a": {"y": true, "x": false}},
            "reasoning_effort": "low"
        }))
        .unwrap();
        let plain = ChatRequest::from_prompt("m", "hello");
        let mut capped = plain.clone();
        capped.max_completion_tokens = Some(10);
        capped.max_tokens = Some(20);
        capped.stop = Some(Stop(vec!["x".into()]));
        capped.temperature = Some(f64::NAN);
        rich.messages.push(Message::text(Role::User, "again"));
        let mut with_tool = plain.clone();
        with_tool.tools = Some(vec![
            serde_json::from_value::<Tool>(json!({"type": "function",
            "function": {"name": "g"}}))
            .unwrap(),
        ]);
        with_tool.messages.push(Message {
            content: Some(MessageContent::Text(String::new())),
            ..Message::text(Role::Assistant, "")
        });
        vec![ChatRequest::default(), plain, capped, rich, with_tool]
    }

    #[test]
    fn keys_are_the_bytes_the_value_path_hashed() {
        let provider = ProviderId::new("openai");
        for request in requests() {
            let mut direct = String::new();
            write_answer_inputs(&provider, "gpt-4o", &request, &mut direct);
            assert_eq!(direct, answer_inputs_through_value(&provider, "gpt-4o", &request));
        }
    }

    #[test]
    fn the_version_tag_names_the_format_version() {
        assert_eq!(VERSION_TAG, format!(":v{FORMAT_VERSION}:"));
        let key = CacheKey::for_request("llm", &"p".into(), "m", &ChatRequest::default());
        assert!(key.as_str().starts_with(&format!("llm:v{FORMAT_VERSION}:")));
        assert_eq!(key.as_str().len(), "llm:v1:".len() + 64);
    }
}
